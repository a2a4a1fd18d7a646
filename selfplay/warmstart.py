"""Warm start: teach a base model the two roles' formats on the shapes world's `source` domain.

Self-play cannot start from a model that never produces a parseable question. With real
checkpoints an instruction-tuned VLM already follows the format; a random tiny model does not, so
this recipe fine-tunes it (TRL's SFTTrainer, full weights) on source-domain captions and
ground-truth QA written in exactly the roles' formats. The result is an ordinary checkpoint folder.
Target domains (scan, aerial) give nothing, not even their words: no target image is seen here, no
answer about one, and no caption in their vocabulary; adapting to them is what self-play is for.
What the built-in model knows beyond source comes from a broad vocabulary (selfplay/shapes_base.py).
"""

from __future__ import annotations

import logging
import random
import tempfile
from collections.abc import Callable
from pathlib import Path

from rewards.grounding import grounded_in
from roles.answerer import answerer_messages, format_answer
from roles.formats import ANSWER_TYPES
from roles.questioner import format_candidate, questioner_messages

from .records import read_jsonl

log = logging.getLogger("selfplay.warmstart")


# The world's question frame: a warm-start question is grounded on the objects and colours it names;
# its relations and its "A or B" alternatives need not be in the caption.
WORLD_QUESTION_WORDS = frozenset("""what which how many is are there the a an of in on colour color more than
    left right above below further higher lower or shapes and intensity""".split())


def questioner_row(text: str, question: str, answer: str, image) -> dict:
    return {"prompt": questioner_messages(text, ANSWER_TYPES),
            "completion": [{"role": "assistant", "content": format_candidate(question, answer)}],
            "image": image}


def answerer_row(question: str, answer: str, image) -> dict:
    return {"prompt": answerer_messages(question),
            "completion": [{"role": "assistant", "content": format_answer(answer)}],
            "image": image}


def warmstart_rows(data_dir: str | Path, seed: int = 0, per_image: int = 4) -> list[dict]:
    """Prompt-completion rows for both roles from a world folder (manifest.jsonl + qa.jsonl)."""
    from PIL import Image

    data_dir = Path(data_dir)
    manifest = {row["id"]: row for row in read_jsonl(data_dir / "manifest.jsonl")}
    qa_by_id: dict[str, list[dict]] = {}
    for row in read_jsonl(data_dir / "qa.jsonl"):
        qa_by_id.setdefault(row["id"], []).append(row)
    rows = []
    for item_id, item in manifest.items():
        qas = qa_by_id.get(item_id, [])[:per_image]
        if not qas:
            continue
        image = Image.open(data_dir / item["image"]).convert("RGB")
        # The questioner learns to ask about what its context mentions, so that on a new domain it
        # copies the new domain's words from the report or caption instead of its own old vocabulary.
        text = item.get("text") or ""
        rows += [questioner_row(text, qa["question"], qa["answer"], image)
                 for qa in qas if grounded_in(qa["question"], text, WORLD_QUESTION_WORDS)]
        rows += [answerer_row(qa["question"], qa["answer"], image) for qa in qas]
    random.Random(seed).shuffle(rows)
    return rows


def warm_start(base_path: str | Path, data_dir: str | Path, out_dir: str | Path, *, steps: int = 300,
               mix_in: Callable[[int], list[dict]] | None = None, batch_size: int = 32, learning_rate: float = 1e-3,
               seed: int = 0) -> Path:
    """Fine-tune `base_path` on the world at `data_dir` and save the result to `out_dir`. `mix_in(n)`
    returns rows added to the world's `n` (selfplay/shapes_base.py adds colour questions and broad
    reading)."""
    def train(model, processor) -> None:
        rows = warmstart_rows(data_dir, seed)
        if mix_in:
            rows += mix_in(len(rows))
        random.Random(seed).shuffle(rows)
        log.info("warm start: %d SFT rows, %d steps of %d", len(rows), steps, batch_size)
        train_sft(model, processor, rows, steps, "cosine", batch_size=batch_size, learning_rate=learning_rate,
                  seed=seed)

    return fine_tuned(base_path, out_dir, train, seed)


def fine_tuned(base_path: str | Path, out_dir: str | Path, train: Callable, seed: int) -> Path:
    """Load the checkpoint at `base_path` in float32 (torch seeded by `seed` first), run `train(model,
    processor)` on it and save both to `out_dir` (which may be `base_path`): each warm-start stage."""
    import torch
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from .modeling import NO_HUB_KERNELS

    torch.manual_seed(seed)
    model = AutoModelForImageTextToText.from_pretrained(base_path, dtype=torch.float32, **NO_HUB_KERNELS)
    processor = AutoProcessor.from_pretrained(base_path)
    train(model, processor)
    out = Path(out_dir)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    return out


def train_sft(model, processor, rows: list[dict], steps: int, schedule: str, *, batch_size: int,
              learning_rate: float, seed: int, callbacks: list | None = None) -> None:
    """SFT with TRL's SFTTrainer: full weights, loss on the completion only; `callbacks` are
    transformers TrainerCallbacks (a benchmark measuring the model as it trains)."""
    import torch
    from datasets import Dataset
    from transformers import PrinterCallback
    from trl import SFTConfig, SFTTrainer

    from .progress import training_progress

    with tempfile.TemporaryDirectory(prefix="selfplay-warmstart-") as scratch:
        args = SFTConfig(output_dir=scratch, max_steps=steps, per_device_train_batch_size=batch_size,
                         learning_rate=learning_rate, lr_scheduler_type=schedule, warmup_steps=max(1, steps // 20),
                         logging_steps=max(1, steps // 10), save_strategy="no", report_to="none",
                         seed=seed, max_length=None, dataloader_pin_memory=False, gradient_checkpointing=False,
                         disable_tqdm=True, bf16=torch.cuda.is_available(), use_cpu=not torch.cuda.is_available())
        trainer = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(rows),
                             processing_class=processor, callbacks=[training_progress("warm start", estimate_after=10, logger=log),
                                                                     *(callbacks or [])])
        trainer.remove_callback(PrinterCallback)
        trainer.train()
        losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
        log.info("warm start: loss %.3f -> %.3f", losses[0], losses[-1])

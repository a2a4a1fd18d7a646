"""Warm start: teach a base model the two roles' formats on the shapes world's `source` domain.

Self-play cannot start from a model that never produces a parseable question. With real
checkpoints an instruction-tuned VLM already follows the format; a random tiny model does not, so
this recipe fine-tunes it (TRL's SFTTrainer, full weights) on source-domain captions and
ground-truth QA written in exactly the roles' formats. The result is an ordinary checkpoint folder.
Target domains (scan, aerial) are never seen here: they are what self-play adapts to.
"""

from __future__ import annotations

import logging
import random
import re
import tempfile
from pathlib import Path

from roles.answerer import answerer_messages, format_answer
from roles.formats import ANSWER_TYPES
from roles.questioner import format_candidate, questioner_messages

from .records import read_jsonl

log = logging.getLogger("selfplay.warmstart")


_QUESTION_WORDS = frozenset("""what which how many is are there the a an of in on colour color more than
    left right above below further higher lower or shapes and intensity""".split())


def content_words(question: str) -> set[str]:
    """The object names and colours of a question, singular."""
    return {w.rstrip("s") for w in re.findall(r"[a-z]+", question.lower()) if w not in _QUESTION_WORDS}


def grounded_in(question: str, text: str) -> bool:
    """True when every content word of the question (object names, colours) occurs in the text."""
    words = {w.rstrip("s") for w in re.findall(r"[a-z]+", text.lower())}
    content = content_words(question)
    return bool(content) and content <= words


def _nonce(rng: random.Random) -> str:
    consonants, vowels = "bdfgklmnprstvz", "aeiou"
    return "".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(rng.randint(2, 3)))


def renamed(texts: list[str], words: list[str], rng: random.Random) -> list[str]:
    """The same texts with each content word (and its plural) swapped for one made-up word.

    Why: a questioner that has only seen the source domain's words keeps asking about circles and
    squares on a scan. Asking about made-up words that only its context contains teaches it to take
    the subject of a question from the context, whatever the domain's vocabulary.
    """
    mapping = {word: _nonce(rng) for word in words}
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, mapping)) + r")(s?)\b", re.IGNORECASE)
    return [pattern.sub(lambda m: mapping[m.group(1).lower()] + m.group(2), text) for text in texts]


def warmstart_rows(data_dir: str | Path, seed: int = 0, per_image: int = 4, renamed_copies: int = 0) -> list[dict]:
    """Prompt-completion rows for both roles from a world folder (manifest.jsonl + qa.jsonl).

    `renamed_copies` adds that many copies of each questioner row with made-up object words. Off by
    default: with 300 steps it taught the tiny questioner to invent words, not to copy them (see
    docs/learning.md).
    """
    from PIL import Image

    data_dir = Path(data_dir)
    manifest = {row["id"]: row for row in read_jsonl(data_dir / "manifest.jsonl")}
    qa_by_id: dict[str, list[dict]] = {}
    for row in read_jsonl(data_dir / "qa.jsonl"):
        qa_by_id.setdefault(row["id"], []).append(row)
    rng = random.Random(seed)
    rows = []
    for item_id, item in manifest.items():
        image = Image.open(data_dir / item["image"]).convert("RGB")
        qas = qa_by_id.get(item_id, [])[:per_image]
        # The questioner learns to ask about what its context mentions, so that on a new domain it
        # copies the new domain's words from the report or caption instead of its own old vocabulary.
        text = item.get("text") or ""
        for qa in [qa for qa in qas if grounded_in(qa["question"], text)]:
            variants = [(text, qa["question"], qa["answer"])]
            content = sorted(content_words(qa["question"]))
            variants += [tuple(renamed([text, qa["question"], qa["answer"]], content, rng))
                         for _ in range(renamed_copies)]
            for context, question, answer in variants:
                rows.append({"prompt": questioner_messages(context, ANSWER_TYPES),
                             "completion": [{"role": "assistant", "content": format_candidate(question, answer)}],
                             "image": image})
        for qa in qas:
            rows.append({"prompt": answerer_messages(qa["question"]),
                         "completion": [{"role": "assistant", "content": format_answer(qa["answer"])}],
                         "image": image})
    rng.shuffle(rows)
    return rows


def _progress_callback():
    from transformers import TrainerCallback

    class Progress(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                log.info("warm start: step %d/%d, loss %.3f", state.global_step, state.max_steps, logs["loss"])

    return Progress()


def warm_start(base_path: str | Path, data_dir: str | Path, out_dir: str | Path, *, steps: int = 300,
               batch_size: int = 32, learning_rate: float = 1e-3, seed: int = 0) -> Path:
    """Fine-tune `base_path` on the world at `data_dir` and save the result to `out_dir`."""
    import torch
    from datasets import Dataset
    from transformers import AutoModelForImageTextToText, AutoProcessor, PrinterCallback
    from trl import SFTConfig, SFTTrainer

    torch.manual_seed(seed)
    model = AutoModelForImageTextToText.from_pretrained(base_path, dtype=torch.float32)
    processor = AutoProcessor.from_pretrained(base_path)
    rows = warmstart_rows(data_dir, seed)
    log.info("warm start: %d SFT rows from %s, %d steps of %d", len(rows), data_dir, steps, batch_size)
    with tempfile.TemporaryDirectory(prefix="selfplay-warmstart-") as scratch:
        args = SFTConfig(output_dir=scratch, max_steps=steps, per_device_train_batch_size=batch_size,
                         learning_rate=learning_rate, lr_scheduler_type="cosine", warmup_steps=max(1, steps // 20),
                         logging_steps=max(1, steps // 10), save_strategy="no", report_to="none",
                         seed=seed, max_length=None, dataloader_pin_memory=False, gradient_checkpointing=False,
                         disable_tqdm=True, bf16=torch.cuda.is_available(), use_cpu=not torch.cuda.is_available())
        trainer = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(rows),
                             processing_class=processor, callbacks=[_progress_callback()])
        trainer.remove_callback(PrinterCallback)
        trainer.train()
        losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
        log.info("warm start: loss %.3f -> %.3f", losses[0], losses[-1])
    out = Path(out_dir)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    return out

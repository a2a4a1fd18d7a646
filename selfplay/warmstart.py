"""Warm start: teach a base model the two roles' formats on the shapes world's `source` domain.

Self-play cannot start from a model that never produces a parseable question. With real
checkpoints an instruction-tuned VLM already follows the format; a random tiny model does not, so
this recipe fine-tunes it (TRL's SFTTrainer, full weights) on source-domain captions and
ground-truth QA written in exactly the roles' formats. The result is an ordinary checkpoint folder.
Target domains (scan, aerial) give at most text (`language_rows`): no target image is ever seen
here, and no answer about one; adapting to them is what self-play is for.
"""

from __future__ import annotations

import logging
import random
import tempfile
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


def _questioner_row(text: str, question: str, answer: str, image) -> dict:
    return {"prompt": questioner_messages(text, ANSWER_TYPES),
            "completion": [{"role": "assistant", "content": format_candidate(question, answer)}],
            "image": image}


def _answerer_row(question: str, answer: str, image) -> dict:
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
        rows += [_questioner_row(text, qa["question"], qa["answer"], image)
                 for qa in qas if grounded_in(qa["question"], text, WORLD_QUESTION_WORDS)]
        rows += [_answerer_row(qa["question"], qa["answer"], image) for qa in qas]
    random.Random(seed).shuffle(rows)
    return rows


def language_rows(domains: tuple[str, ...], n: int, seed: int = 0, per_scene: int = 2) -> list[dict]:
    """Questioner rows from the captions and questions of `domains`, with a blank image: text only.

    Why: a pretrained VLM has read the language of radiology reports and remote-sensing captions, so
    on such data its questioner can ask about what the text names. The tiny model has read nothing,
    and it does not learn to copy unseen words from its context in a few CPU minutes (made-up-word
    copies taught it to invent words: docs/learning.md). These rows give it that reading knowledge
    and nothing more: scenes are drawn but never rendered, the image is blank grey, and there are
    no answerer rows, so it sees no target image and no answer about one.
    """
    from PIL import Image

    from .ground_truth import questions
    from .scene import caption, make_scene

    blank = Image.new("RGB", (56, 56), (128, 128, 128))
    rows = []
    for domain in domains:
        for i in range(n):
            key = f"warmstart-language/{domain}/{seed}/{i}"
            scene = make_scene(random.Random(f"{key}/scene"), domain)
            text = caption(scene, random.Random(f"{key}/text"))
            rows += [_questioner_row(text, qa.question, qa.answer, blank)
                     for qa in questions(scene, random.Random(f"{key}/qa"), per_scene)
                     if grounded_in(qa.question, text, WORLD_QUESTION_WORDS)]
    random.Random(seed).shuffle(rows)
    return rows


def _progress_callback():
    from transformers import TrainerCallback

    class Progress(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                log.info("warm start: step %d/%d, loss %.3f", state.global_step, state.max_steps, logs["loss"])

    return Progress()


def colour_rows(n: int, seed: int = 0, every_form: bool = True, varied: bool = False) -> list[dict]:
    """Answerer rows about one large circle of a source colour, asked in every answer form the world
    uses: "What colour is the circle?", "Is the circle red?", "Is there a red circle?",
    "How many red circles are there?" (yes and no, 1 and 0, come out even), and "Is the circle red
    or blue?", whose answer is one of the words the question offers (as "Is the nodule bright or
    dark?" asks on scan).

    Why: a tiny model learns to read its image tokens through a sudden transition, which this one
    visual task crosses in under a hundred steps and the world's full mixture does not cross in 700
    (docs/learning.md). Asking only for a colour word taught the model to answer every question with
    one; asking in every form ties the skill to reading the image, not to one kind of answer.
    With `varied`, backgrounds are noisy fields of a random colour instead of white, as a pretrained
    model's images are, so that colour reading does not hinge on a white page.
    """
    from PIL import Image, ImageDraw

    from .scene import PALETTE, article

    colours = sorted(PALETTE["source"])
    rng = random.Random(f"warmstart-colour/{seed}")
    rows = []
    for _ in range(n):
        colour, radius = rng.choice(colours), rng.randint(10, 16)
        x, y = rng.randint(radius, 55 - radius), rng.randint(radius, 55 - radius)
        image = _background(rng) if varied else Image.new("RGB", (56, 56), (255, 255, 255))
        ImageDraw.Draw(image).ellipse([x - radius, y - radius, x + radius, y + radius], fill=PALETTE["source"][colour])
        other = rng.choice([c for c in colours if c != colour])
        asked = colour if rng.random() < 0.5 else other
        forms = [("What colour is the circle?", colour)]
        if every_form:
            forms += [
                (f"Is the circle {asked}?", "yes" if asked == colour else "no"),
                (f"Is there {article(asked)} {asked} circle?", "yes" if asked == colour else "no"),
                (f"How many {asked} circles are there?", "1" if asked == colour else "0"),
                (f"Is the circle {' or '.join(rng.sample([colour, other], 2))}?", colour),
            ]
        question, answer = rng.choice(forms)
        rows.append(_answerer_row(question, answer, image))
    return rows


def _background(rng: random.Random):
    """A 56 px field of a random colour with smooth shading and pixel noise (no two pixels alike)."""
    import numpy as np
    from PIL import Image

    noise = np.random.default_rng(rng.getrandbits(32))
    base = np.array([rng.randint(40, 230) for _ in range(3)], dtype=float)
    shade = np.kron(noise.uniform(-25, 25, (4, 4)), np.ones((14, 14)))[..., None]
    pixels = base + shade + noise.normal(0, 8, (56, 56, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).round().astype(np.uint8), "RGB")


def warm_start(base_path: str | Path, data_dir: str | Path, out_dir: str | Path, *, steps: int = 300,
               look_steps: int = 0, language_domains: tuple[str, ...] = (), batch_size: int = 32,
               learning_rate: float = 1e-3, seed: int = 0) -> Path:
    """Fine-tune `base_path` on the world at `data_dir` (plus `language_rows(language_domains)`, one
    row in nine) and save the result to `out_dir`. With `look_steps`, a look stage on `colour_rows`
    alone comes first (a third colour words on white, then every form on varied backgrounds), and
    the main stage keeps one colour row in eight."""
    import torch
    from transformers import AutoModelForImageTextToText, AutoProcessor

    torch.manual_seed(seed)
    model = AutoModelForImageTextToText.from_pretrained(base_path, dtype=torch.float32)
    processor = AutoProcessor.from_pretrained(base_path)
    if look_steps:
        # Colour words on white cross the transition fastest (a third of the steps); every form on
        # varied backgrounds then ties the skill to reading the image, not to one answer or page.
        for every_form, stage_steps in ((False, look_steps // 3), (True, look_steps - look_steps // 3)):
            log.info("warm start, look stage: %d steps of %d colour questions%s", stage_steps, batch_size,
                     " in every answer form, on varied backgrounds" if every_form else "")
            _train(model, processor, colour_rows(4000, seed + every_form, every_form, varied=every_form), stage_steps,
                   "constant_with_warmup", batch_size=batch_size, learning_rate=learning_rate, seed=seed)
    rows = warmstart_rows(data_dir, seed)
    if language_domains:
        rows += language_rows(language_domains, n=len(rows) // 8, seed=seed)
    if look_steps:
        rows += colour_rows(len(rows) // 8, seed + 2, varied=True)
    random.Random(seed).shuffle(rows)
    log.info("warm start: %d SFT rows, %d steps of %d", len(rows), steps, batch_size)
    _train(model, processor, rows, steps, "cosine", batch_size=batch_size, learning_rate=learning_rate, seed=seed)
    out = Path(out_dir)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    return out


def _train(model, processor, rows: list[dict], steps: int, schedule: str, *, batch_size: int, learning_rate: float,
           seed: int) -> None:
    """SFT with TRL's SFTTrainer: full weights, loss on the completion only."""
    import torch
    from datasets import Dataset
    from transformers import PrinterCallback
    from trl import SFTConfig, SFTTrainer

    with tempfile.TemporaryDirectory(prefix="selfplay-warmstart-") as scratch:
        args = SFTConfig(output_dir=scratch, max_steps=steps, per_device_train_batch_size=batch_size,
                         learning_rate=learning_rate, lr_scheduler_type=schedule, warmup_steps=max(1, steps // 20),
                         logging_steps=max(1, steps // 10), save_strategy="no", report_to="none",
                         seed=seed, max_length=None, dataloader_pin_memory=False, gradient_checkpointing=False,
                         disable_tqdm=True, bf16=torch.cuda.is_available(), use_cpu=not torch.cuda.is_available())
        trainer = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(rows),
                             processing_class=processor, callbacks=[_progress_callback()])
        trainer.remove_callback(PrinterCallback)
        trainer.train()
        losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
        log.info("warm start: loss %.3f -> %.3f", losses[0], losses[-1])

"""The look stage of the built-in shapes model's warm start (selfplay/shapes_base.py).

The look stage trains on colour questions about one circle (`colour_rows`) alone before the warm
start's main stage, then keeps one colour row in eight in it: a tiny model learns to read its image
tokens through a sudden transition that this one visual task crosses in under a hundred steps and
the world's full mixture does not cross in 700 (docs/learning.md, "A look stage makes it see").
"""

from __future__ import annotations

import logging
import random
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from .scene import PALETTE, article
from .warmstart import answerer_row, fine_tuned, train_sft, warm_start

log = logging.getLogger("selfplay.warmstart.look")


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
    colours = sorted(PALETTE["source"])
    rng = random.Random(f"warmstart-colour/{seed}")
    rows = []
    for _ in range(n):
        colour, radius = rng.choice(colours), rng.randint(10, 16)
        x, y = rng.randint(radius, 55 - radius), rng.randint(radius, 55 - radius)
        image = background(rng) if varied else Image.new("RGB", (56, 56), (255, 255, 255))
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
        rows.append(answerer_row(question, answer, image))
    return rows


def background(rng: random.Random):
    """A 56 px field of a random colour with smooth shading and pixel noise (no two pixels alike)."""
    noise = np.random.default_rng(rng.getrandbits(32))
    base = np.array([rng.randint(40, 230) for _ in range(3)], dtype=float)
    shade = np.kron(noise.uniform(-25, 25, (4, 4)), np.ones((14, 14)))[..., None]
    pixels = base + shade + noise.normal(0, 8, (56, 56, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).round().astype(np.uint8), "RGB")


def look_stage(base_path: str | Path, out_dir: str | Path, steps: int, *, batch_size: int = 32,
               learning_rate: float = 1e-3, seed: int = 0) -> Path:
    """Train `base_path` on `colour_rows` alone for `steps` and save it to `out_dir`.

    Colour words on white cross the transition fastest (a third of the steps); every form on varied
    backgrounds then ties the skill to reading the image, not to one answer or page.
    """
    def train(model, processor) -> None:
        for every_form, stage_steps in ((False, steps // 3), (True, steps - steps // 3)):
            log.info("warm start, look stage: %d steps of %d colour questions%s", stage_steps, batch_size,
                     " in every answer form, on varied backgrounds" if every_form else "")
            train_sft(model, processor, colour_rows(4000, seed + every_form, every_form, varied=every_form),
                      stage_steps, "constant_with_warmup", batch_size=batch_size, learning_rate=learning_rate,
                      seed=seed)

    return fine_tuned(base_path, out_dir, train, seed)


def warm_start_with_look(base_path: str | Path, data_dir: str | Path, out_dir: str | Path, *, look_steps: int,
                         steps: int = 300, batch_size: int = 32, learning_rate: float = 1e-3, seed: int = 0,
                         mix_in: Callable[[int], list[dict]] | None = None) -> Path:
    """`look_stage` for `look_steps`, then `selfplay.warmstart.warm_start` from its result, with one
    colour row on a varied background per eight of the recipe's rows (and what `mix_in` adds)."""
    with tempfile.TemporaryDirectory(prefix="selfplay-look-") as scratch:
        looked = look_stage(base_path, scratch, look_steps, batch_size=batch_size, learning_rate=learning_rate,
                            seed=seed)
        def look_rows(n: int) -> list[dict]:
            return colour_rows(n // 8, seed + 2, varied=True) + (mix_in(n) if mix_in else [])

        return warm_start(looked, data_dir, out_dir, batch_size=batch_size, learning_rate=learning_rate, seed=seed,
                          steps=steps, mix_in=look_rows)

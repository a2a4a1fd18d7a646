"""The answer stage of the built-in shapes model's warm start (selfplay/shapes_base.py): after the main
stage, the source world's own rows at a quarter of its rate, with copy, answering and looks rows mixed
in (always, whatever the recipe's other keys say).

Why: the main stage (1000 steps at 1e-3, cosine) crosses the look stage's colour transition and no
other; the base it leaves reads colour on source and counts, existence and comparisons not at all
(0.41 / 0.41, 0.58 / 0.54, 0.51 / 0.49 with / without the image). Plain SFT on source's labels at
2.5e-4 from such a base (looks1) took source's sight from +7.4 to +20 in 1500 steps (benchmarks/label_ceiling.py
--domain source, docs/learning.md "stop 46"). This stage is that SFT made part of the recipe: the
answerer rows are the world's own, the looks rows (selfplay/broad_looks.py) keep a named thing bound to
a look, and the questioner's rows, copy rows and answering rows stay in so that neither role's formats,
its copying from the context nor its answers on new nouns are traded away for source's answers.
"""

from __future__ import annotations

import logging
import random
from pathlib import Path

from .warmstart import fine_tuned, train_sft, warmstart_rows

log = logging.getLogger("selfplay.warmstart.answer")

LEARNING_RATE = 2.5e-4  # label_ceiling.py: 1e-3 first unlearns the warm base (source sight +16 -> +4.5)


def answer_stage_rows(world: str | Path, seed: int) -> list[dict]:
    """The world's rows for both roles, then one copy-row scene (selfplay/broad_reading.py) per sixteen
    rows, one answering scene (two or three rows) and one looks scene (two) per eight, shuffled by `seed`.

    The answering rows (renamed shapes and colours, varied styles) stay in because without them the
    stage forgets to answer a new domain's "A or B?" with one of the offered words: scan's attribute
    questions went to 0.00 with the image and without (two seeds, docs/learning.md "stop 47")."""
    from .broad_looks import looks_rows
    from .broad_reading import answering_rows, copy_rows

    rows = warmstart_rows(world, seed)
    n = len(rows)
    rows += (copy_rows(n // 16, seed=seed + 11) + answering_rows(n // 8, seed=seed + 11)
             + looks_rows(n // 8, seed=seed + 11))
    random.Random(seed).shuffle(rows)
    return rows


def answer_stage(model_dir: str | Path, world: str | Path, steps: int, *, batch_size: int = 32, seed: int = 0) -> Path:
    """Train the checkpoint at `model_dir` on `answer_stage_rows` for `steps` at LEARNING_RATE
    (constant after a warm-up) and save it back to `model_dir`."""
    def train(model, processor) -> None:
        rows = answer_stage_rows(world, seed)
        log.info("warm start, answer stage: %d SFT rows, %d steps of %d at %g", len(rows), steps, batch_size,
                 LEARNING_RATE)
        train_sft(model, processor, rows, steps, "constant_with_warmup", batch_size=batch_size,
                  learning_rate=LEARNING_RATE, seed=seed)

    return fine_tuned(model_dir, model_dir, train, seed)

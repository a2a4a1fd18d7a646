"""The built-in shapes model (`builtin:shapes-<family>`): a tiny VLM warm-started on the shapes world's
source domain, so that self-play starts from a base that reads its image and speaks both roles'
formats, and that knows nothing of the target domains' words (issue 16, parts 1 and 5).

SHAPES_RECIPE names the stages; a cached model built by another recipe is built again.

1. A look stage (selfplay/look_stage.py): colour questions about one circle, which carry a tiny model
   across the sudden transition by which it learns to read its image tokens.
2. The main stage (selfplay/warmstart.py): both roles' formats on source scenes, with one colour row
   in eight and broad reading mixed in (selfplay/broad_reading.py): text-only questioner rows in a
   broad vocabulary, half of them naming a made-up word new in every scene so that only copying
   from the context lowers the loss, and answerer rows on renamed scenes in varied styles and on
   blank pages.
3. Where a recipe has "answer_steps" (benchmarks/warmstart_probe.py --answer-steps; not the built-in's
   yet), an answer stage (selfplay/answer_stage.py): the world's own rows at a quarter of the rate.

Nothing here names a target's word: on scan and aerial the base meets their nouns for the first
time, as it would on a domain nobody planned for. Its figures hold for the thread count it was built
at (builds at 1 and 2 threads differ by up to 10 points of sight); benchmarks/warmstart_probe.py
builds a recipe and probes the result.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

# "rows" numbers the code that writes the rows: raised when it changes what it writes, so that a cached
# model is built again (2: questions about plurals in -es, "How many boxes?", match their caption's "box";
# 3: the answering rows' light and dark words drawn apart, so "bright or dark?" is asked).
SHAPES_RECIPE = {"scenes": 2000, "scene_seed": 1, "look_steps": 600, "steps": 1000, "reading": True,
                 "copying": True, "copy_frames": False, "answering": True, "seed": 0, "rows": 3}


def broad_rows(recipe: dict) -> Callable[[int], list[dict]]:
    """The rows the main stage mixes into its `n` world rows: reading rows of an eighth as many scenes
    (half of them copy rows when `copying`), answering rows of an eighth as many scenes, and where
    `recipe` has "looks" (benchmarks/warmstart_probe.py --looks; not yet the built-in's) looks rows of an
    eighth as many scenes, two a scene."""
    from .broad_looks import looks_rows
    from .broad_reading import answering_rows, copy_rows, reading_rows

    def rows(n: int) -> list[dict]:
        share = n // 16 if recipe["copying"] else n // 8
        return ((reading_rows(share, seed=1) if recipe["reading"] else [])
                + (copy_rows(share, seed=7, frames=recipe["copy_frames"]) if recipe["copying"] else [])
                + (answering_rows(n // 8, seed=1) if recipe["answering"] else [])
                + (looks_rows(n // 8, seed=1) if recipe.get("looks") else []))

    return rows


def build_shapes_base(base: str | Path, work: str | Path, out: str | Path, recipe: dict = SHAPES_RECIPE) -> Path:
    """Warm-start `base` by `recipe` into `out`; the source scenes are generated under `work`."""
    from .answer_stage import answer_stage
    from .look_stage import warm_start_with_look
    from .warmstart import warm_start
    from .world import generate

    world = generate(Path(work) / f"source-{recipe['scenes']}", "source", n=recipe["scenes"], seed=recipe["scene_seed"])
    if recipe["look_steps"]:
        built = warm_start_with_look(base, world, out, look_steps=recipe["look_steps"], steps=recipe["steps"],
                                     mix_in=broad_rows(recipe), seed=recipe["seed"])
    else:
        built = warm_start(base, world, out, steps=recipe["steps"], mix_in=broad_rows(recipe), seed=recipe["seed"])
    if recipe.get("answer_steps"):
        return answer_stage(built, world, recipe["answer_steps"], seed=recipe["seed"])
    return built

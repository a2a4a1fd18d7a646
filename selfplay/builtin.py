"""What the `builtin:` names mean: models and data sets built once into `cache_dir`, offline.

No VLM or data set can be downloaded where this project is built, so a run's defaults name things
it can make itself:

* `builtin:tiny-<family>`: a tiny model of that family with random weights (selfplay/tiny_model.py);
* `builtin:shapes-<family>`: that model warm-started by SHAPES_RECIPE (selfplay/shapes_base.py),
  about 10 minutes on 2 CPU cores the first time;
* `builtin:shapes-<domain>[-eval]`: a split of the shapes world (selfplay/world.py), as WORLD_SPLITS
  gives it; `data.source` plays on its manifest, `eval.data` evaluates on its qa.jsonl.

Each is built on first use and found in the cache after that; anything else is a path.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from .config import BUILTIN_PREFIX, ModelConfig
from .shapes_base import SHAPES_RECIPE

# A cached `builtin:shapes-<family>` built by another recipe than SHAPES_RECIPE is built again, so a
# change there reaches every user's cache.
RECIPE_FILE = "selfplay_recipe.json"
# Seed and size of each built-in split. The eval split's 500 images (2000 questions) let an evaluation's
# sight be read to about 1 point (selfplay.evaluate.sight_error); its first 100 are the 100 it held
# before (world.generate draws each item from its own index), so the first 400 questions are unchanged.
WORLD_SPLITS = {"train": (0, 2000), "eval": (99, 500)}
log = logging.getLogger("selfplay.builtin")


def resolve_model_path(cfg: ModelConfig, cache_dir: str | Path) -> Path:
    """A checkpoint folder. Built-in names are built once into the cache, offline:
    `builtin:tiny-<family>` has random weights; `builtin:shapes-<family>` is that model warm-started
    by SHAPES_RECIPE (about 10 minutes on 2 CPU cores the first time)."""
    if not cfg.path.startswith(BUILTIN_PREFIX):
        return Path(cfg.path).expanduser()
    from .tiny_model import FAMILIES, build_tiny_vlm

    name = cfg.path[len(BUILTIN_PREFIX):]
    kind, _, family = name.partition("-")
    if kind not in ("tiny", "shapes") or family not in FAMILIES:
        choices = [f"{BUILTIN_PREFIX}{k}-{f}" for k in ("tiny", "shapes") for f in FAMILIES]
        raise ValueError(f"model.path: unknown built-in model {cfg.path!r}; use one of {', '.join(choices)}")
    models = Path(cache_dir).expanduser() / "models"
    tiny = models / f"tiny-{family}"
    if not (tiny / "config.json").is_file():
        log.info("building the tiny offline model %s into %s", family, tiny)
        build_tiny_vlm(tiny, family)
    if kind == "tiny":
        return tiny
    warm = models / name
    recipe = warm / RECIPE_FILE
    if not recipe.is_file() or json.loads(recipe.read_text()) != SHAPES_RECIPE:
        from .shapes_base import build_shapes_base

        log.info("warm-starting %s on the shapes world's source domain into %s (first use only: %d look and %d "
                 "main steps, about 10 minutes on 2 CPU cores)", tiny, warm, SHAPES_RECIPE["look_steps"],
                 SHAPES_RECIPE["steps"])
        build_shapes_base(tiny, Path(cache_dir).expanduser() / "data" / "warmstart", warm, SHAPES_RECIPE)
        recipe.write_text(json.dumps(SHAPES_RECIPE))
    return warm


def resolve_world(value: str, cache_dir: str | Path, key: str) -> Path:
    """The folder of a built-in shapes-world split, `builtin:shapes-<domain>[-eval]`, generated once."""
    from .scene import DOMAINS
    from .world import generate

    name = value[len(BUILTIN_PREFIX):]
    domain = name.removeprefix("shapes-").removesuffix("-eval") if name != "shapes" else "source"
    split = "eval" if name.endswith("-eval") else "train"
    if not name.startswith("shapes") or domain not in DOMAINS:
        choices = ", ".join(f"{BUILTIN_PREFIX}shapes-{d}[-eval]" for d in DOMAINS)
        raise ValueError(f"{key}: unknown built-in data set {value!r}; use one of {choices}")
    seed, n = WORLD_SPLITS[split]
    folder = Path(cache_dir).expanduser() / "data" / f"shapes-{domain}-{split}-{n}"
    if not (folder / "manifest.jsonl").is_file():
        log.info("generating the shapes world's %s %s split (%d images) into %s", domain, split, n, folder)
        generate(folder, domain=domain, n=n, seed=seed)
    return folder


def resolve_data_source(source: str, cache_dir: str | Path) -> Path:
    """The manifest or imagefolder to play on."""
    if not source.startswith(BUILTIN_PREFIX):
        return Path(source).expanduser()
    return resolve_world(source, cache_dir, "data.source") / "manifest.jsonl"


def resolve_eval_data(value: str, cache_dir: str | Path) -> Path | None:
    """The ground-truth QA file evaluated on, or None when evaluation is off."""
    if not value:
        return None
    if not value.startswith(BUILTIN_PREFIX):
        return Path(value).expanduser()
    return resolve_world(value, cache_dir, "eval.data") / "qa.jsonl"

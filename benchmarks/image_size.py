"""Play a checkpoint at another image side than its processor keeps: the benchmarks' one way to try
more image tokens (112 px: 16 tokens instead of 4 on the Qwen2-VL family, patch 14, merge 2)."""

from __future__ import annotations

import shutil
from pathlib import Path


def with_image_size(model_dir: Path, side: int, out: Path) -> Path:
    """A copy of a checkpoint whose image processor keeps `side` x `side` pixels: the processor resizes
    again after the run's loader, and the tiny shapes models' processors keep 56 x 56 at most. The
    weights are linked, not copied."""
    from transformers import AutoProcessor

    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    for path in model_dir.iterdir():
        if path.suffix == ".safetensors":
            (out / path.name).symlink_to(path.resolve())
        elif path.is_file():
            shutil.copy2(path, out / path.name)
    processor = AutoProcessor.from_pretrained(model_dir)
    pixels = side * side
    processor.image_processor.size = {"shortest_edge": pixels, "longest_edge": pixels}
    processor.save_pretrained(out)
    return out


def played_at(model: str, side: int, out: Path, cache: str) -> tuple[str, dict]:
    """The model path and `model.*` options that play `model` (a folder or a built-in name) at `side`
    x `side` pixels: a copy whose processor keeps that size, and the run's pixel budget set to it."""
    from selfplay.builtin import resolve_model_path
    from selfplay.config import ModelConfig

    path = with_image_size(resolve_model_path(ModelConfig(path=model), cache), side, out)
    return str(path), {"max_pixels": side * side, "min_pixels": side * side}

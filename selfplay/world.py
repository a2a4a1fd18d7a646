"""A shapes-world data set on disk: images, the captions training reads, and the hidden ground truth.

The scenes, their images and captions come from selfplay/scene.py; the question-answer pairs from
selfplay/ground_truth.py. They go to separate files, so that a training run (which reads only the
manifest) never sees an answer. All randomness flows from the seed: the same seed gives
byte-identical files.
"""

from __future__ import annotations

import io
import random
from dataclasses import asdict
from pathlib import Path

from .ground_truth import questions
from .records import read_jsonl, write_bytes_atomic, write_jsonl
from .scene import Scene, caption, check_domain_and_size, make_scene, render


def generate(out_dir: str | Path, domain: str, n: int, seed: int, size: int = 56,
             qa_per_image: int = 4, omit: float = 0.3) -> Path:
    """Write ``n`` scenes of ``domain`` under ``out_dir`` and return ``out_dir``.

    ``images/<id>.png``; ``manifest.jsonl`` (``{"id", "image", "text"}``, what training reads);
    ``qa.jsonl`` (``{"id", "image", "question", "answer", "qtype", "choices"}``, for evaluation
    only); ``scenes.jsonl`` (``{"id", "image", "scene"}``). Scene, caption and questions draw from
    separate streams, so changing ``omit`` or ``qa_per_image`` leaves the images unchanged.
    """
    check_domain_and_size(domain, size)
    if n < 0 or qa_per_image < 0 or not 0 <= omit <= 1:
        raise ValueError(f"need n >= 0, qa_per_image >= 0 and 0 <= omit <= 1; got {n}, {qa_per_image}, {omit}")
    out = Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    manifest, qa_rows, scene_rows = [], [], []
    for i in range(n):
        item_id, key = f"{domain}-{i:05d}", f"shapes-world/{domain}/{seed}/{i}"
        image = f"images/{item_id}.png"
        scene = make_scene(random.Random(f"{key}/scene"), domain, size)
        png = io.BytesIO()
        render(scene).save(png, format="PNG")
        write_bytes_atomic(out / image, png.getvalue())  # a run reading the split never meets a half-written image
        manifest.append({"id": item_id, "image": image, "text": caption(scene, random.Random(f"{key}/text"), omit)})
        for qa in questions(scene, random.Random(f"{key}/qa"), qa_per_image):
            qa_rows.append({"id": item_id, "image": image, **asdict(qa)})
        scene_rows.append({"id": item_id, "image": image, "scene": scene.to_dict()})
    write_jsonl(out / "manifest.jsonl", manifest)
    write_jsonl(out / "qa.jsonl", qa_rows)
    write_jsonl(out / "scenes.jsonl", scene_rows)
    return out


def load_scenes(folder: str | Path) -> dict[str, Scene]:
    """The scenes ``generate`` wrote under ``folder`` (or to the ``scenes.jsonl`` given), by item id."""
    path = Path(folder)
    if path.is_dir():
        path = path / "scenes.jsonl"
    return {row["id"]: Scene.from_dict(row["scene"]) for row in read_jsonl(path)}

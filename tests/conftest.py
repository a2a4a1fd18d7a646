"""Shared fixtures: tiny checkpoints built offline once per test session."""

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def tiny_qwen(tmp_path_factory):
    from selfplay.tiny_model import build_tiny_vlm

    return build_tiny_vlm(tmp_path_factory.mktemp("tiny") / "qwen2_vl", "qwen2_vl")


@pytest.fixture(scope="session")
def shapes_world(tmp_path_factory):
    """A small source-domain world on disk: images, manifest.jsonl, qa.jsonl."""
    from selfplay.world import generate

    return generate(tmp_path_factory.mktemp("world") / "source", "source", n=48, seed=0)


@pytest.fixture(scope="session")
def worlds(tmp_path_factory):
    """Every domain's world, generated once: (root, scenes by id, manifest rows, qa rows) by domain."""
    from selfplay.scene import DOMAINS, Scene
    from selfplay.world import generate
    from world_files import N, rows

    out = {}
    for domain in DOMAINS:
        root = generate(tmp_path_factory.mktemp(domain), domain, N[domain], seed=7)
        scenes = {r["id"]: Scene.from_dict(r["scene"]) for r in rows(root / "scenes.jsonl")}
        out[domain] = (root, scenes, rows(root / "manifest.jsonl"), rows(root / "qa.jsonl"))
    return out


@pytest.fixture(scope="session")
def warm_qwen(tiny_qwen, shapes_world, tmp_path_factory):
    """The tiny model briefly warm-started so that some of its questions parse (real TRL SFT)."""
    from selfplay.warmstart import warm_start

    return warm_start(tiny_qwen, shapes_world, tmp_path_factory.mktemp("warm") / "qwen2_vl", steps=120,
                      batch_size=16, learning_rate=2e-3)

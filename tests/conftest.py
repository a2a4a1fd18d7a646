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
def warm_qwen(tiny_qwen, shapes_world, tmp_path_factory):
    """The tiny model briefly warm-started so that some of its questions parse (real TRL SFT)."""
    from selfplay.warmstart import warm_start

    return warm_start(tiny_qwen, shapes_world, tmp_path_factory.mktemp("warm") / "qwen2_vl", steps=120,
                      batch_size=16, learning_rate=2e-3)

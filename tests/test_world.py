"""The shapes world on disk: files are deterministic per seed, the manifest is the user format with
no answer in it, bad arguments are refused, and scenes load back as they were drawn."""

import json
from pathlib import Path

import pytest

from selfplay.manifest import read_items
from selfplay.scene import DOMAINS, Scene, render
from selfplay.world import generate, load_scenes
from world_files import N, rows


def tree_bytes(root):
    root = Path(root)
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_generate_is_deterministic_per_seed(tmp_path):
    first = tree_bytes(generate(tmp_path / "a", "aerial", 6, seed=3))
    again = tree_bytes(generate(tmp_path / "b", "aerial", 6, seed=3))
    other = tree_bytes(generate(tmp_path / "c", "aerial", 6, seed=4))
    images = {f"images/aerial-{i:05d}.png" for i in range(6)}
    assert set(first) == {"manifest.jsonl", "qa.jsonl", "scenes.jsonl"} | images
    assert first == again
    assert set(other) == set(first)
    assert other["manifest.jsonl"] != first["manifest.jsonl"]
    assert all(other[k] != first[k] for k in first if k.startswith("images/"))


def test_a_larger_split_begins_with_the_smaller_one(tmp_path):
    """Each item is drawn from its own index, so growing a split (the built-in eval split went from 100
    images to 500) keeps every earlier image, text and question: figures on its first questions carry over."""
    small, large = generate(tmp_path / "small", "scan", n=3, seed=99), generate(tmp_path / "large", "scan", n=5, seed=99)
    for name in ("manifest.jsonl", "qa.jsonl", "scenes.jsonl"):
        before = (small / name).read_text().splitlines()
        assert (large / name).read_text().splitlines()[:len(before)] == before
    kept = sorted((small / "images").iterdir())
    assert len(kept) == 3 and all((large / "images" / f.name).read_bytes() == f.read_bytes() for f in kept)


@pytest.mark.parametrize("domain", DOMAINS)
def test_manifest_rows_are_the_user_format(worlds, domain):
    root, _, manifest, qa = worlds[domain]
    assert len(manifest) == N[domain]
    for row in manifest:
        assert set(row) == {"id", "image", "text"}
        assert row["image"] == f"images/{row['id']}.png" and (root / row["image"]).is_file()
        assert isinstance(row["text"], str) and row["text"]
    items, skipped = read_items(root / "manifest.jsonl", require_text=True)
    assert not skipped and [i.id for i in items] == [r["id"] for r in manifest]
    text = (root / "manifest.jsonl").read_text()
    assert "qa.jsonl" not in text
    assert not any(r["question"] in text for r in qa)
    assert all(set(r) == {"id", "image", "question", "answer", "qtype", "choices"} for r in qa)


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match="domain"):
        generate(tmp_path, "xray", 1, seed=0)
    with pytest.raises(ValueError, match="size"):
        generate(tmp_path, "source", 1, seed=0, size=16)
    with pytest.raises(ValueError, match="omit"):
        generate(tmp_path, "source", 1, seed=0, omit=1.5)


def test_load_scenes_round_trips_generated_scenes(tmp_path):
    for domain in DOMAINS:
        root = generate(tmp_path / domain, domain, 5, seed=9)
        scenes = load_scenes(root)
        raw = rows(root / "scenes.jsonl")
        assert list(scenes) == [r["id"] for r in raw] == [r["id"] for r in rows(root / "manifest.jsonl")]
        assert load_scenes(root / "scenes.jsonl") == scenes
        for r in raw:
            scene = scenes[r["id"]]
            assert isinstance(scene, Scene) and json.loads(json.dumps(scene.to_dict())) == r["scene"]
            assert all(isinstance(o.bbox, tuple) for o in scene.objects)
            assert (scene.organ is not None) == (domain == "scan")
            png = tmp_path / "again.png"
            render(scene).save(png, format="PNG")
            assert png.read_bytes() == (root / r["image"]).read_bytes()

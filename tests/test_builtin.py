"""`builtin:` names: built once into the cache, found there after that; other values are paths."""

from pathlib import Path

import pytest

from selfplay.builtin import WORLD_SPLITS, resolve_data_source, resolve_eval_data, resolve_model_path, resolve_world
from selfplay.config import ModelConfig
from selfplay.records import read_jsonl


def test_paths_pass_through_and_empty_eval_data_turns_evaluation_off(tmp_path):
    assert resolve_data_source("~/data/manifest.jsonl", tmp_path) == Path("~/data/manifest.jsonl").expanduser()
    assert resolve_eval_data("qa.jsonl", tmp_path) == Path("qa.jsonl")
    assert resolve_eval_data("", tmp_path) is None
    assert resolve_model_path(ModelConfig(path="~/models/qwen"), tmp_path) == Path("~/models/qwen").expanduser()
    assert not any(tmp_path.iterdir())  # nothing was built


def test_world_splits_are_generated_once_into_the_cache(tmp_path):
    manifest = resolve_data_source("builtin:shapes-aerial", tmp_path)
    # the size is in the folder's name, so a cache made when a split was another size is not reused
    assert manifest == tmp_path / "data" / f"shapes-aerial-train-{WORLD_SPLITS['train'][1]}" / "manifest.jsonl"
    assert len(read_jsonl(manifest)) == WORLD_SPLITS["train"][1]
    qa = resolve_eval_data("builtin:shapes-aerial-eval", tmp_path)
    assert qa == tmp_path / "data" / f"shapes-aerial-eval-{WORLD_SPLITS['eval'][1]}" / "qa.jsonl"
    assert {row["id"] for row in read_jsonl(qa)} == {f"aerial-{i:05d}" for i in range(WORLD_SPLITS["eval"][1])}
    written = manifest.stat().st_mtime_ns
    assert resolve_world("builtin:shapes-aerial", tmp_path, "data.source") == manifest.parent
    assert manifest.stat().st_mtime_ns == written  # found in the cache, not generated again


def test_unknown_builtin_names_are_refused_with_the_choices(tmp_path):
    with pytest.raises(ValueError, match=r"data.source: unknown built-in data set .*builtin:shapes-scan\[-eval\]"):
        resolve_data_source("builtin:shapes-xray", tmp_path)
    with pytest.raises(ValueError, match=r"model.path: unknown built-in model .*builtin:tiny-qwen2_vl"):
        resolve_model_path(ModelConfig(path="builtin:huge-qwen2_vl"), tmp_path)


def test_writers_sharing_a_cache_never_trip_over_each_others_partial_file(tmp_path):
    # Two runs started together on one cache write the same files (a manifest, a split's rows) at the
    # same moment; each whole-file write must go through a partial file of its own.
    from concurrent.futures import ThreadPoolExecutor

    from selfplay.records import write_text_atomic

    target = tmp_path / "manifest.jsonl"

    def write(i: int) -> None:
        for _ in range(200):
            write_text_atomic(target, f"writer {i}\n" * 100)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(write, range(8)))  # re-raises any writer's error
    assert target.read_text() in {f"writer {i}\n" * 100 for i in range(8)}
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.jsonl"]  # no partial file left behind


def test_the_shapes_model_is_built_by_its_recipe_once_and_again_when_the_recipe_changes(tmp_path, monkeypatch,
                                                                                         caplog):
    # the real SHAPES_RECIPE takes about 10 minutes; a recipe of a few steps goes through the same stages
    import json

    from selfplay import builtin

    recipe = {"scenes": 8, "scene_seed": 1, "look_steps": 3, "steps": 2, "reading": True, "copying": True,
              "copy_frames": False, "answering": True, "looks": True, "answer_steps": 2, "seed": 0}
    monkeypatch.setattr(builtin, "SHAPES_RECIPE", recipe)
    caplog.set_level("INFO", logger="selfplay")
    model = ModelConfig(path="builtin:shapes-qwen2_vl")
    warm = resolve_model_path(model, tmp_path)
    assert warm == tmp_path / "models" / "shapes-qwen2_vl" and (warm / "model.safetensors").is_file()
    assert json.loads((warm / builtin.RECIPE_FILE).read_text()) == recipe
    stages = [r.getMessage() for r in caplog.records if "stage" in r.getMessage()]
    assert "look stage" in stages[0] and "answer stage" in stages[-1]  # the look stage first, the answer stage last
    built = (warm / "model.safetensors").stat().st_mtime_ns
    assert resolve_model_path(model, tmp_path) == warm and (warm / "model.safetensors").stat().st_mtime_ns == built
    monkeypatch.setattr(builtin, "SHAPES_RECIPE", {**recipe, "steps": 3})
    resolve_model_path(model, tmp_path)
    assert (warm / "model.safetensors").stat().st_mtime_ns != built  # another recipe: built again

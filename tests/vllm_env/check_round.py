"""A self-play round with `engine: vllm` on vLLM's CPU build: it plays, learns with TRL's importance-sampling
correction, writes the same kinds of records as `engine: hf`, and resumes (run by tests/test_vllm.py)."""

import json

import pytest

from selfplay.config_parser import from_dict
from selfplay.runner import main

pytest.importorskip("vllm")


def _config(model, data, out, engine, rounds, resume=""):
    return from_dict({
        "output_dir": str(out), "cache_dir": str(out.parent / "cache"), "engine": engine,
        "model": {"path": str(model)}, "data": {"source": str(data / "manifest.jsonl")},
        "game": {"rounds": rounds, "items_per_round": 6, "questions_per_item": 4, "answers_per_question": 4,
                 "blind_answers": 2,
                 # vLLM over every token, as this check was written for: at top_k 50 (the default since
                 # game.top_k reaches vLLM) this briefly warm-started answerer kept nothing in two rounds
                 **({"top_k": 0} if engine == "vllm" else {})},
        "rewards": {"keep_band": [0.0, 1.0]},  # the briefly warm-started model always leaves questions
        "train": {"learning_rate": 5e-3, "seed": 3},
        "eval": {"data": str(data / "qa.jsonl"), "max_questions": 8},
        "checkpoint": {"resume": resume, "keep_last": 0},
        "vllm": {"max_lora_rank": 8},
    })


def _rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_vllm_round_records_like_hf_and_resumes(warm_model, world, tmp_path):
    hf, vllm = tmp_path / "hf", tmp_path / "vllm"
    main(_config(warm_model, world, hf, "hf", 1))
    main(_config(warm_model, world, vllm, "vllm", 1))
    for name in ("metrics.jsonl", "games.jsonl", "eval.jsonl", "config.yaml", "report/index.html"):
        assert (vllm / name).is_file(), name
    assert sorted(p.name for p in (vllm / "rounds" / "0000").iterdir()) == \
        sorted(p.name for p in (hf / "rounds" / "0000").iterdir())
    games = {engine: _rows(out / "games.jsonl") for engine, out in (("hf", hf), ("vllm", vllm))}
    assert len(games["vllm"]) >= 6 * 4 and {frozenset(g) for g in games["vllm"]} == {frozenset(games["hf"][0])}
    asked = [g for g in games["vllm"] if g["question"] is not None]
    assert asked and all(len(g["answers"]) == 4 and len(g["blind_answers"]) == 2 for g in asked)
    first = {engine: _rows(out / "metrics.jsonl")[0] for engine, out in (("hf", hf), ("vllm", vllm))}
    assert {k for k in first["hf"] if not k.startswith("trl/")} <= set(first["vllm"])
    assert first["vllm"]["generate/calls"] == 3  # ask, sighted answers, blind answers: one vLLM call each

    main(_config(warm_model, world, vllm, "vllm", 2, resume="auto"))
    metrics = _rows(vllm / "metrics.jsonl")
    assert [m["round"] for m in metrics] == [0, 1] and metrics[0] == first["vllm"]
    assert [e["round"] for e in _rows(vllm / "eval.jsonl")] == [-1, 0, 1]
    assert (vllm / "rounds" / "0001" / "adapters" / "answerer" / "adapter_model.safetensors").is_file()
    correction = "sampling/importance_sampling_ratio/mean"  # TRL's correction ran on the vLLM rollouts
    for role in ("questioner", "answerer"):
        trained = [m for m in metrics if f"trl/{role}/loss" in m]
        assert trained, f"the {role} never learned in two rounds"
        assert all(f"trl/{role}/{correction}" in m for m in trained)
        assert f"trl/{role}/{correction}" not in first["hf"]

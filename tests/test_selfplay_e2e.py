"""End to end: rounds of self-play on the tiny model with the real TRL trainer, PEFT adapters and
images on disk."""

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from selfplay import learner as learner_module
from selfplay import runner as runner_module
from selfplay.config_parser import from_dict
from selfplay.evaluate import evaluate, load_for_eval, read_qa
from selfplay.modeling import role_parameters
from selfplay.runner import main

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


def _config(model, data, out, **game):
    return from_dict({
        "output_dir": str(out), "cache_dir": str(out / "cache"),
        "model": {"path": str(model)}, "data": {"source": str(data / "manifest.jsonl")},
        "game": {"rounds": 2, "items_per_round": 6, "questions_per_item": 4, "answers_per_question": 4,
                 "blind_answers": 2, **game},
        # A wide band so the briefly warm-started model always leaves questions for the answerer.
        "rewards": {"keep_band": [0.0, 1.0]},
        "train": {"learning_rate": 5e-3, "seed": 3},
        "eval": {"data": str(data / "qa.jsonl"), "max_questions": 24},
    })


@pytest.fixture()
def phase_log(monkeypatch):
    """Record which adapters each learning phase changed, around the real RoleLearner.learn."""
    phases = []
    real_learn = learner_module.RoleLearner.learn

    def learn(self, groups, round_index):
        before = {role: {n: p.detach().clone() for n, p in role_parameters(self.model, role).items()}
                  for role in ("questioner", "answerer")}
        out = real_learn(self, groups, round_index)
        changed = {role for role, params in before.items()
                   if any(not torch.equal(p, role_parameters(self.model, role)[n]) for n, p in params.items())}
        signal = any(len(set(g.rewards)) > 1 for g in groups)  # GRPO moves nothing on flat groups
        phases.append((self.role, len(groups), changed, signal))
        return out

    monkeypatch.setattr(learner_module.RoleLearner, "learn", learn)
    return phases


def _strip_times(rows):
    return [{k: v for k, v in row.items() if not k.startswith("time/") and "runtime" not in k
             and "per_second" not in k and "step_time" not in k} for row in rows]


def test_two_rounds_train_each_role_in_its_phase_and_record(warm_qwen, shapes_world, tmp_path, phase_log, caplog):
    caplog.set_level(logging.INFO, logger="selfplay")
    out = tmp_path / "run"
    history = main(_config(warm_qwen, shapes_world, out))
    assert len(history) == 2
    assert [role for role, *_ in phase_log] == ["questioner", "answerer"] * 2
    for role, n_groups, changed, signal in phase_log:
        assert n_groups > 0, f"{role} had nothing to learn from"
        assert changed == ({role} if signal else set()), f"the {role} phase changed {changed}"
    for role in ("questioner", "answerer"):
        assert any(r == role and signal for r, _, _, signal in phase_log), f"{role} never had a reward signal"

    metrics = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [m["round"] for m in metrics] == [0, 1]
    for m in metrics:
        for key in ("questioner/reward_mean", "questioner/reward_std", "questioner/blind_penalty_mean",
                    "questioner/repetition_mean", "questioner/format_mean", "p_histogram", "kept_share",
                    "questioner/blind_agreement_mean", "question_diversity", "questioner/format_failures",
                    "questioner/text_states", "questioner/text_read",
                    "answerer/reward_mean", "answerer/format_failures", "time/ask", "time/answer",
                    "time/score", "time/learn_questioner", "time/learn_answerer", "trl/questioner/loss"):
            assert key in m, key
        assert sum(m["p_histogram"]) == m["candidates"] - m["questioner/format_failures"] + m["borrowed"]
        assert m["candidates"] == 6 * 4 and 0 < m["borrowed"] <= 6 * 4
        # batched: one generate call to ask, one for sighted and one for blind answers, not one per question
        assert m["generate/calls"] == 3 and m["generate/sequences"] > 6 * 4

    games = [json.loads(line) for line in (out / "games.jsonl").read_text().splitlines()]
    assert len([g for g in games if not g["borrowed"]]) == 2 * 6 * 4
    assert sum(g["borrowed"] for g in games) == sum(m["borrowed"] for m in metrics)
    asked = [g for g in games if g["question"] is not None]
    assert asked and all(len(g["answers"]) == 4 and len(g["blind_answers"]) == 2 for g in asked)
    assert all(Path(g["image"]).is_file() and g["text"] for g in games)
    assert all(g["terms"]["reward"] == -1.0 for g in games if g["question"] is None)
    assert all(len(g["answer_rewards"]) == 4 for g in asked)

    for index in (0, 1):
        folder = out / "rounds" / f"{index:04d}"
        for role in ("questioner", "answerer"):
            assert (folder / "adapters" / role / "adapter_model.safetensors").is_file()
            state = torch.load(folder / f"optimizer_{role}.pt", weights_only=True)
            assert state["optimizer"]["state"], f"{role} optimizer state is empty"
    assert (out / "config.yaml").is_file()
    evals = [json.loads(line) for line in (out / "eval.jsonl").read_text().splitlines()]
    assert [e["round"] for e in evals] == [-1, 0, 1]
    for e in evals:
        assert e["questions"] == 24 and 0 < e["chance"]["all"] < 1
        assert set(e["accuracy"]) == set(e["blind_accuracy"]) and "count" in e["accuracy"]
    assert metrics[1]["eval/accuracy/all"] == evals[2]["accuracy"]["all"]
    # the round's log line gives sight per question type, as eval.jsonl holds it
    logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("eval after round 2")]
    last = evals[2]
    assert len(logged) == 1 and (f"count {last['sight']['count']:+.3f} ({last['accuracy']['count']:.3f} / "
                                 f"{last['blind_accuracy']['count']:.3f})") in logged[0]
    # the last evaluation is that of the saved round's answerer, loaded on its own
    model, processor, role = load_for_eval(out / "rounds" / "0001")
    again = evaluate(model, processor, read_qa(shapes_world / "qa.jsonl")[:24], role=role, max_pixels=56 * 56,
                     min_pixels=56 * 56)
    assert role == "answerer" and {"round": 1, **again} == evals[2]


def test_fixed_seed_gives_identical_metrics(warm_qwen, shapes_world, tmp_path):
    first = main(_config(warm_qwen, shapes_world, tmp_path / "a"))
    second = main(_config(warm_qwen, shapes_world, tmp_path / "b"))
    assert _strip_times(first) == _strip_times(second)
    games_a = (tmp_path / "a" / "games.jsonl").read_text()
    assert games_a == (tmp_path / "b" / "games.jsonl").read_text()


def test_saved_adapters_load_with_peft(warm_qwen, shapes_world, tmp_path, monkeypatch):
    from peft import PeftModel
    from transformers import AutoModelForImageTextToText

    saved = {}
    real_save = runner_module.save_checkpoint

    def save_checkpoint(output_dir, round_index, model, *args, **kwargs):
        saved.update({n: p.detach().clone() for n, p in role_parameters(model, "answerer").items()})
        return real_save(output_dir, round_index, model, *args, **kwargs)

    monkeypatch.setattr(runner_module, "save_checkpoint", save_checkpoint)
    main(_config(warm_qwen, shapes_world, tmp_path / "run", rounds=1))
    base = AutoModelForImageTextToText.from_pretrained(warm_qwen)
    adapter = tmp_path / "run" / "rounds" / "0000" / "adapters" / "answerer"
    model = PeftModel.from_pretrained(base, adapter, adapter_name="answerer")
    loaded = role_parameters(model, "answerer")
    # tensor for tensor the adapter the run trained, and no longer the zero-initialised B of a fresh one
    assert saved and loaded.keys() == saved.keys()
    assert all(torch.equal(loaded[n], saved[n]) for n in saved)
    assert any(p.abs().sum() > 0 for n, p in loaded.items() if "lora_B" in n)


def test_two_processes_shard_the_round(warm_qwen, shapes_world, tmp_path):
    out = tmp_path / "ddp"
    config = tmp_path / "ddp.yaml"
    cfg = _config(warm_qwen, shapes_world, out)
    import yaml
    from selfplay.config_parser import to_dict
    config.write_text(yaml.safe_dump(to_dict(cfg)))
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29533",
         str(ROOT / "selfplay" / "run.py"), str(config)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "2 process(es)" in result.stderr
    metrics = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert len(metrics) == 2, "only the main process writes records"
    games = [json.loads(line) for line in (out / "games.jsonl").read_text().splitlines()]
    assert len([g for g in games if not g["borrowed"]]) == 2 * 6 * 4
    assert len({(g["round"], g["item_id"]) for g in games}) == 2 * 6
    # the borrowed questions come from the whole round, so some were asked on the other process's items
    # (gathered in rank order: the first 3 items of a round's games played on rank 0, the last 3 on rank 1)
    rank_of = {item_id: i // 3 for i, item_id in enumerate(dict.fromkeys(g["item_id"] for g in games if g["round"] == 0))}
    asked_on = {}
    for g in games:
        if g["question"] and not g["borrowed"]:
            asked_on.setdefault((g["round"], g["question"]), set()).add(rank_of.get(g["item_id"]))
    borrowed = [g for g in games if g["borrowed"] and g["round"] == 0]
    assert borrowed and any(rank_of[g["item_id"]] not in asked_on[0, g["question"]] for g in borrowed)

"""Checkpointed rounds: exact resume after SIGKILL, fallback past a corrupt round, safe refusals, export."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file

from selfplay.checkpoint import CheckpointError, verify
from selfplay.config_parser import from_dict
from selfplay.runner import main

ROOT = Path(__file__).resolve().parent.parent
ROLES = ("questioner", "answerer")


def _raw(model_path, data, out, rounds=3, **extra):
    raw = {
        "output_dir": str(out), "cache_dir": str(out.parent / "cache"),
        "model": {"path": str(model_path)}, "data": {"source": str(data / "manifest.jsonl")},
        "game": {"rounds": rounds, "items_per_round": 6},
        "rewards": {"keep_band": [0.0, 1.0]},
        "train": {"learning_rate": 5e-3, "seed": 5},
        "eval": {"data": str(data / "qa.jsonl"), "max_questions": 12},
        "checkpoint": {"keep_last": 0},
    }
    for section, values in extra.items():
        raw.setdefault(section, {}).update(values)
    return raw


def _final_state(out: Path, last_round: int):
    folder = out / "rounds" / f"{last_round:04d}"
    adapters = {role: load_file(folder / "adapters" / role / "adapter_model.safetensors") for role in ROLES}
    optimizers = {role: torch.load(folder / f"optimizer_{role}.pt", weights_only=True) for role in ROLES}
    metrics = [{k: v for k, v in json.loads(line).items() if not k.startswith("time/") and "runtime" not in k
                and "per_second" not in k and "step_time" not in k}
               for line in (out / "metrics.jsonl").read_text().splitlines()]
    return adapters, optimizers, metrics, (out / "games.jsonl").read_text(), (out / "eval.jsonl").read_text()


def _assert_same(a, b):
    adapters_a, optim_a, metrics_a, games_a, eval_a = a
    adapters_b, optim_b, metrics_b, games_b, eval_b = b
    for role in ROLES:
        assert adapters_a[role].keys() == adapters_b[role].keys()
        for name in adapters_a[role]:
            assert torch.equal(adapters_a[role][name], adapters_b[role][name]), f"{role} {name} differs"
        for index, state in optim_a[role]["optimizer"]["state"].items():
            for key, value in state.items():
                assert torch.equal(value, optim_b[role]["optimizer"]["state"][index][key])
    assert metrics_a == metrics_b
    assert games_a == games_b
    assert eval_a == eval_b


@pytest.fixture(scope="module")
def reference(warm_qwen, shapes_world, tmp_path_factory):
    """An uninterrupted run of 3 rounds."""
    out = tmp_path_factory.mktemp("reference") / "run"
    main(from_dict(_raw(warm_qwen, shapes_world, out)))
    return _final_state(out, 2)


@pytest.fixture(scope="module")
def long_reference(warm_qwen, shapes_world, tmp_path_factory):
    """An uninterrupted run of 6 rounds, long enough to be killed at several moments."""
    out = tmp_path_factory.mktemp("long") / "run"
    main(from_dict(_raw(warm_qwen, shapes_world, out, rounds=6)))
    return _final_state(out, 5)


def _launch(config: Path):
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    return subprocess.Popen([sys.executable, str(ROOT / "selfplay" / "run.py"), str(config), "--resume"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_sigkill_at_random_moments_then_resume_is_bit_exact(warm_qwen, shapes_world, tmp_path, long_reference):
    out = tmp_path / "run"
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump(_raw(warm_qwen, shapes_world, out, rounds=6)))
    rng = random.Random(1234)
    kills = 0
    for _ in range(4):
        process = _launch(config)
        # Start-up takes ~3.5 s here and a round ~1 s, so these land in generation, a GRPO step or a save.
        time.sleep(rng.uniform(3.5, 7.0))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait()
    assert kills >= 2, "the run finished before it could be killed; raise the delays"
    process = _launch(config)
    _, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr[-3000:]
    assert not list((out / "rounds").glob("*.tmp"))
    _assert_same(_final_state(out, 5), long_reference)


def test_corrupt_newest_round_falls_back_with_a_warning(warm_qwen, shapes_world, tmp_path, reference, caplog):
    out = tmp_path / "run"
    main(from_dict(_raw(warm_qwen, shapes_world, out, rounds=3)))
    weights = out / "rounds" / "0002" / "adapters" / "answerer" / "adapter_model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])  # truncated, as by a dying disk
    assert "checksum" in verify(out / "rounds" / "0002")
    (out / "rounds" / "0003.tmp").mkdir()  # a save that was killed half way
    caplog.set_level("WARNING")
    main(from_dict(_raw(warm_qwen, shapes_world, out, rounds=3, checkpoint={"resume": "auto"})))
    assert "0002 is not usable" in caplog.text and "falling back" in caplog.text
    _assert_same(_final_state(out, 2), reference)


def test_breaking_changes_are_refused_and_safe_ones_accepted(warm_qwen, shapes_world, tmp_path, caplog):
    out = tmp_path / "run"
    main(from_dict(_raw(warm_qwen, shapes_world, out, rounds=1)))
    played_by = (out / "config.yaml").read_text()
    with pytest.raises(CheckpointError, match="model.lora_rank"):
        main(from_dict(_raw(warm_qwen, shapes_world, out, rounds=2, model={"lora_rank": 4},
                            checkpoint={"resume": "auto"})))
    assert (out / "config.yaml").read_text() == played_by  # a refused resume does not rewrite the run's settings
    with pytest.raises(CheckpointError, match="already holds rounds"):
        main(from_dict(_raw(warm_qwen, shapes_world, out, rounds=2)))
    history = main(from_dict(_raw(warm_qwen, shapes_world, out, rounds=2, checkpoint={"resume": "auto"},
                                  eval={"max_questions": 6})))
    assert [m["round"] for m in history] == [1]
    assert [json.loads(line)["round"] for line in (out / "metrics.jsonl").read_text().splitlines()] == [0, 1]
    caplog.set_level("INFO")
    caplog.clear()
    config = (out / "config.yaml").read_text()
    again = main(from_dict(_raw(warm_qwen, shapes_world, out, rounds=2, checkpoint={"resume": "auto"})))
    assert again == [] and "2 rounds are played and game.rounds is 2, nothing to do" in caplog.text
    assert "done: played" not in caplog.text and "evaluation:" not in caplog.text
    assert [json.loads(line)["round"] for line in (out / "metrics.jsonl").read_text().splitlines()] == [0, 1]
    older = main(from_dict(_raw(warm_qwen, shapes_world, out, rounds=1,
                                checkpoint={"resume": str(out / "rounds" / "0000")})))
    assert older == [] and "1 rounds are played and game.rounds is 1, nothing to do" in caplog.text
    with pytest.raises(CheckpointError, match="model.lora_rank"):  # refused as any resume is, nothing to play or not
        main(from_dict(_raw(warm_qwen, shapes_world, out, rounds=2, model={"lora_rank": 4},
                            checkpoint={"resume": "auto"})))
    assert (out / "config.yaml").read_text() == config  # the run's settings are still the ones it played by
    assert [json.loads(line)["round"] for line in (out / "metrics.jsonl").read_text().splitlines()] == [0, 1]


def test_failed_save_stops_clearly_and_keeps_the_previous_round(warm_qwen, shapes_world, tmp_path, monkeypatch):
    out = tmp_path / "run"
    main(from_dict(_raw(warm_qwen, shapes_world, out, rounds=1)))
    real_save = torch.save

    def disk_full(obj, path, *args, **kwargs):
        if ".tmp" in str(path):
            raise OSError(28, "No space left on device")
        return real_save(obj, path, *args, **kwargs)

    monkeypatch.setattr(torch, "save", disk_full)
    with pytest.raises(CheckpointError, match="No space left on device.*intact"):
        main(from_dict(_raw(warm_qwen, shapes_world, out, rounds=2, checkpoint={"resume": "auto"})))
    assert verify(out / "rounds" / "0000") is None
    assert not (out / "rounds" / "0001").exists() and not (out / "rounds" / "0001.tmp").exists()


def test_keep_last_prunes_old_rounds_but_not_the_newest(warm_qwen, shapes_world, tmp_path):
    out = tmp_path / "run"
    main(from_dict(_raw(warm_qwen, shapes_world, out, rounds=3, checkpoint={"keep_last": 1})))
    assert sorted(p.name for p in (out / "rounds").iterdir()) == ["0002"]
    assert verify(out / "rounds" / "0002") is None


def test_checkpoint_holds_only_safetensors_json_and_plain_state(warm_qwen, shapes_world, tmp_path):
    out = tmp_path / "run"
    main(from_dict(_raw(warm_qwen, shapes_world, out, rounds=1)))
    folder = out / "rounds" / "0000"
    suffixes = {p.suffix for p in folder.rglob("*") if p.is_file()}
    assert suffixes <= {".safetensors", ".json", ".yaml", ".pt", ".md"}
    for path in folder.glob("*.pt"):
        torch.load(path, weights_only=True)  # refuses anything but tensors and plain containers
    state = json.loads((folder / "state.json").read_text())
    # exactly what resume reads: where to go on, whose RNG states these are, where to cut the records back to
    sizes = {name: (out / name).stat().st_size for name in ("metrics.jsonl", "games.jsonl", "eval.jsonl")}
    assert state == {"next_round": 1, "world_size": 1, "record_bytes": sizes}


def test_merged_export_answers_exactly_as_base_plus_adapter(warm_qwen, shapes_world, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForImageTextToText

    from selfplay.cli import main as cli
    from selfplay.engine import HFEngine, Prompt, render_prompt
    from selfplay.modeling import load_model_and_processor
    from PIL import Image

    out = tmp_path / "run"
    main(from_dict(_raw(warm_qwen, shapes_world, out, rounds=2)))
    folder = out / "rounds" / "0001"
    trained = load_file(folder / "adapters" / "answerer" / "adapter_model.safetensors")
    assert any(t.abs().sum() > 0 for n, t in trained.items() if "lora_B" in n), "the answerer never trained"
    assert cli(["export", str(folder), str(tmp_path / "adapter"), "--role", "answerer"]) == 0
    assert cli(["export", str(folder), str(tmp_path / "merged"), "--role", "answerer", "--merge"]) == 0
    assert (tmp_path / "adapter" / "adapter_model.safetensors").is_file()
    assert not list((tmp_path / "merged").glob("adapter_*"))

    base, processor = load_model_and_processor(warm_qwen, torch.float32)
    with_adapter = PeftModel.from_pretrained(base, tmp_path / "adapter")
    merged = AutoModelForImageTextToText.from_pretrained(tmp_path / "merged")
    image = Image.open(next((shapes_world / "images").glob("*.png"))).convert("RGB")
    prompts = [Prompt([{"role": "user", "content": q}], image)
               for q in ("How many circles are there?", "Is there a red square?", "What colour is the circle?")]
    answers = {}
    for name, model, role in (("adapter", with_adapter, "default"), ("merged", merged, None)):
        answers[name] = [g[0].completion_ids for g in HFEngine(model, processor, temperature=0.0).generate(
            role, prompts, 1, 8)]
    assert answers["adapter"] == answers["merged"]

    inputs = processor(text=[render_prompt(prompts[0].messages, image, processor)], images=[image],
                       return_tensors="pt")
    with torch.no_grad():
        merged_logits = merged(**inputs).logits
        adapter_logits = with_adapter(**inputs).logits
        with with_adapter.disable_adapter():
            base_logits = with_adapter(**inputs).logits
    assert torch.allclose(merged_logits, adapter_logits, atol=1e-5)
    assert not torch.allclose(merged_logits, base_logits, atol=1e-3), "the adapter changed nothing; test is vacuous"

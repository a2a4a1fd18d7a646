"""The learner under DeepSpeed ZeRO-2 on CPU (DS_ACCELERATOR=cpu, gloo), against the same phases under
DDP: launch/deepspeed_zero2.yaml with use_cpu and two processes. Needs `pip install -e ".[deepspeed]"`
and a C++ compiler (DeepSpeed builds its shared-memory collective the first time, about 2 minutes
here); skipped without deepspeed. docs/scaling.md records what it showed."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from safetensors import safe_open
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parent.parent
PHASES = str(ROOT / "tests" / "learner_phases.py")

pytestmark = pytest.mark.skipif(importlib.util.find_spec("deepspeed") is None,
                                reason="deepspeed is not installed (pip install -e '.[deepspeed]')")


def _run(command: list[str], log: Path, **env: str) -> None:
    environment = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")} | env
    with log.open("w") as handle:
        result = subprocess.run(command, cwd=ROOT, env=environment, stdout=handle, stderr=subprocess.STDOUT,
                                timeout=900)
    assert result.returncode == 0, log.read_text()[-3000:]


def _zero2_on_cpu(folder: Path) -> Path:
    """launch/deepspeed_zero2.yaml as it runs here: on the CPU, two processes."""
    config = yaml.safe_load((ROOT / "launch" / "deepspeed_zero2.yaml").read_text())
    config.update(use_cpu=True, num_processes=2)
    config["deepspeed_config"]["deepspeed_config_file"] = str(ROOT / "launch" / "deepspeed" / "zero2.json")
    path = folder / "zero2_cpu.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def adapters(warm_qwen, tmp_path_factory):
    """Both adapters after answerer, questioner, answerer phases: under DDP and under ZeRO-2."""
    tmp = tmp_path_factory.mktemp("deepspeed")
    _run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", PHASES,
          str(warm_qwen), str(tmp / "ddp.safetensors")], tmp / "ddp.log")
    _run([sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(_zero2_on_cpu(tmp)), PHASES,
          str(warm_qwen), str(tmp / "zero2.safetensors")], tmp / "zero2.log", DS_ACCELERATOR="cpu")
    with safe_open(tmp / "zero2.safetensors", "pt") as handle:
        assert handle.metadata()["distributed_type"] == "DistributedType.DEEPSPEED"
    return load_file(tmp / "ddp.safetensors"), load_file(tmp / "zero2.safetensors")


def _largest_difference(adapters, role: str) -> float:
    ddp, zero2 = adapters
    return max((ddp[k] - zero2[k]).abs().max().item() for k in ddp if k.startswith(role))


def test_one_phase_under_zero2_equals_ddp(adapters):
    """The questioner trains once: one ZeRO-2 engine over the two-adapter model gives DDP's update."""
    assert _largest_difference(adapters, "questioner") < 1e-6


@pytest.mark.xfail(strict=True, reason="the answerer's second phase lands 0.017 away from DDP's: each phase's "
                   "GRPOTrainer makes a new DeepSpeed engine around the role's AdamW, whose parameters and state "
                   "ZeRO-2 had moved into its own flat partitions (inferred; docs/scaling.md). One engine across "
                   "phases is the fix; until then the runner refuses DeepSpeed")
def test_a_roles_second_phase_under_zero2_equals_ddp(adapters):
    assert _largest_difference(adapters, "answerer") < 1e-6


def test_the_run_refuses_deepspeed_naming_the_key(tmp_path):
    """Until a role's phases share one engine, a run under DeepSpeed stops before loading anything (the
    built-in names are not built: nothing is resolved before the check)."""
    environment = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    command = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(_zero2_on_cpu(tmp_path)),
               str(ROOT / "selfplay" / "run.py"), "--model.path", "builtin:tiny-qwen2_vl", "--data.source",
               "builtin:shapes-scan", "--cache_dir", str(tmp_path / "cache"), "--output_dir", str(tmp_path / "run")]
    result = subprocess.run(command, cwd=ROOT, env=environment | {"DS_ACCELERATOR": "cpu"}, capture_output=True,
                            text=True, timeout=900)
    assert result.returncode != 0
    assert "config error: distributed_type: DEEPSPEED" in result.stderr
    assert not (tmp_path / "cache").exists() and not (tmp_path / "run").exists()

"""Runs of several processes on CPU (gloo), started as a cluster starts them: torchrun on one machine
with two processes, SIGKILLed and resumed; and two torchrun "nodes" on loopback, as SLURM starts one
per machine (launch/slurm.sbatch)."""

import json
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import torch
import yaml
from safetensors.torch import load_file

from selfplay.checkpoint import set_rng_state
from selfplay.config import GameConfig
from test_resume import _assert_same, _final_state, _raw

ROOT = Path(__file__).resolve().parent.parent
RUN = str(ROOT / "selfplay" / "run.py")


def _env() -> dict:
    return {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR",
                                                             "MASTER_PORT")}


def _torchrun(log: Path, *args: str, cwd: Path = ROOT) -> subprocess.Popen:
    """torchrun with `args` (its own, then run.py's), its output in `log`: a pipe nobody reads while the
    test waits would fill and stall the run."""
    with log.open("w") as handle:
        return subprocess.Popen([sys.executable, "-m", "torch.distributed.run", *args], cwd=cwd, env=_env(),
                                stdout=handle, stderr=subprocess.STDOUT)


def _finish(process: subprocess.Popen, log: Path) -> str:
    process.wait(timeout=600)
    output = log.read_text()
    assert process.returncode == 0, output[-3000:]
    return output


def _kill_all(process: subprocess.Popen) -> None:
    """SIGKILL torchrun and every worker at once, as a lost machine would: torchrun starts its workers in
    sessions of their own, so killing its process group would leave them running."""
    try:
        workers = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        workers = []
    process.kill()
    for worker in workers:
        try:
            worker.kill()
        except psutil.NoSuchProcess:
            pass
    process.wait()


def _wait_for_round(out: Path, round_index: int, process: subprocess.Popen, timeout: float = 600) -> None:
    manifest = out / "rounds" / f"{round_index:04d}" / "manifest.json"
    deadline = time.monotonic() + timeout
    while not manifest.is_file():
        assert process.poll() is None, f"the run stopped before saving round {round_index}"
        assert time.monotonic() < deadline, f"round {round_index} not saved after {timeout} s"
        time.sleep(0.1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_processes_sigkilled_then_resumed_are_bit_exact(warm_qwen, shapes_world, tmp_path):
    """torchrun --nproc_per_node 2, killed whole at random moments and resumed, ends exactly where an
    uninterrupted two-process run ends: both adapters, both optimizer states, every record."""
    def config(name: str) -> Path:
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(_raw(warm_qwen, shapes_world, tmp_path / name, rounds=4)))
        return path

    def launch(name: str) -> subprocess.Popen:
        return _torchrun(tmp_path / f"{name}.log", "--standalone", "--nproc_per_node", "2", RUN, str(config(name)),
                         "--resume")

    assert "2 process(es)" in _finish(launch("reference"), tmp_path / "reference.log")

    rng = random.Random(19)
    for saved in (0, 1):
        # Killed at a random moment after round `saved` is on disk: in the next round's generation, a
        # GRPO step, the evaluation or a save (progress, not a clock, picks the moment: CI shares its cores).
        process = launch("killed")
        _wait_for_round(tmp_path / "killed", saved, process)
        time.sleep(rng.uniform(0.0, 2.0))
        assert process.poll() is None, "the run finished before it could be killed"
        _kill_all(process)
    assert "resuming from" in _finish(launch("killed"), tmp_path / "killed.log")
    _assert_same(_final_state(tmp_path / "killed", 3), _final_state(tmp_path / "reference", 3))

    # Each process's RNG state is its own, and restoring a rank's file gives that rank's stream back.
    folder = tmp_path / "reference" / "rounds" / "0003"
    streams = []
    for rank in (0, 1):
        state = {"json": json.loads((folder / f"rng_rank{rank}.json").read_text()),
                 "tensors": load_file(folder / f"rng_rank{rank}.safetensors")}
        set_rng_state(state)
        streams.append(torch.rand(4))
        set_rng_state(state)
        assert torch.equal(torch.rand(4), streams[-1])
    assert not torch.equal(streams[0], streams[1])


def test_two_nodes_on_loopback_shard_gather_and_write_once(warm_qwen, shapes_world, tmp_path):
    """Two torchrun invocations, one per "node" (--nnodes 2 --node_rank 0/1, one process each), on
    127.0.0.1: each node plays its shard of every round, the plays are gathered, and only the global
    main process writes. The nodes run in separate folders with a relative output_dir, so anything the
    second node wrote would land in its own folder."""
    raw = _raw(warm_qwen, shapes_world, Path("run"), rounds=2)
    raw["cache_dir"] = str(tmp_path / "cache")
    config = tmp_path / "two_nodes.yaml"
    config.write_text(yaml.safe_dump(raw))
    port = str(_free_port())
    nodes = []
    for node_rank in (0, 1):
        folder = tmp_path / f"node{node_rank}"
        folder.mkdir()
        nodes.append(_torchrun(tmp_path / f"node{node_rank}.log", "--nnodes", "2", "--node_rank", str(node_rank),
                               "--nproc_per_node", "1", "--master_addr", "127.0.0.1", "--master_port", port, RUN,
                               str(config), cwd=folder))
    outputs = [_finish(node, tmp_path / f"node{rank}.log") for rank, node in enumerate(nodes)]
    assert "2 process(es)" in outputs[0]

    assert not [p for p in (tmp_path / "node1").rglob("*") if p.is_file()], "the second node wrote files"
    out = tmp_path / "node0" / "run"
    metrics = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    games = [json.loads(line) for line in (out / "games.jsonl").read_text().splitlines()]
    assert [m["round"] for m in metrics] == [0, 1], "one line per round: written once"
    assert sorted(p.name for p in (out / "rounds").iterdir()) == ["0000", "0001"]
    assert {f"rng_rank{r}.json" for r in (0, 1)} <= {p.name for p in (out / "rounds" / "0001").iterdir()}
    g = GameConfig()  # the run's G, K and B are the defaults
    for round_index, m in enumerate(metrics):
        rows = [row for row in games if row["round"] == round_index]
        items = list(dict.fromkeys(row["item_id"] for row in rows))  # gathered in rank order
        assert len(items) == 6 and len([row for row in rows if not row["borrowed"]]) == 6 * 4
        # The main process generated for its own three items only: their questions and the answers to
        # every question put to them; the other three items' came from the second node.
        mine = items[:3]
        posed = sum(1 for row in rows if row["item_id"] in mine and row["question"] is not None)
        expected = 3 * g.questions_per_item + posed * (g.answers_per_question + g.blind_answers)
        assert m["generate/sequences"] == expected

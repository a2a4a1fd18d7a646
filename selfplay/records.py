"""What a round leaves on disk: metrics.jsonl, games.jsonl and rounds/NNNN/ (adapters, optimizer state).

Written by the main process only. Adapters go out through PEFT's save_pretrained (safetensors, one
subfolder per role, loadable by PEFT and vLLM's LoRARequest); optimizer state is a plain state dict
that `torch.load(weights_only=True)` reads back, so nothing is unpickled.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch

METRICS_FILE = "metrics.jsonl"
GAMES_FILE = "games.jsonl"
ROUNDS_DIR = "rounds"


def round_dir(output_dir: str | Path, round_index: int) -> Path:
    return Path(output_dir) / ROUNDS_DIR / f"{round_index:04d}"


def append_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def read_jsonl(path: Path) -> list[dict]:
    with Path(path).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def save_round(output_dir: str | Path, round_index: int, model, learners: dict, games: list[dict],
               metrics: dict) -> Path:
    """Write the round's adapters and optimizer states, then append its games and metrics."""
    started = time.perf_counter()
    output_dir = Path(output_dir)
    folder = round_dir(output_dir, round_index)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder / "adapters", selected_adapters=list(learners))
    for role, learner in learners.items():
        torch.save(learner.state_dict(), folder / f"optimizer_{role}.pt")
    append_jsonl(output_dir / GAMES_FILE, games)
    metrics["time/record"] = time.perf_counter() - started
    append_jsonl(output_dir / METRICS_FILE, [metrics])
    return folder

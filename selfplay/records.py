"""The run's history files (metrics.jsonl, games.jsonl, eval.jsonl) and where round folders live.

Written by the main process only; checkpoint.py writes the round folders themselves.
"""

from __future__ import annotations

import json
from pathlib import Path

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


def append_round_records(output_dir: str | Path, games: list[dict], metrics: dict) -> None:
    """The round's games and metrics, appended to the run's history."""
    append_jsonl(Path(output_dir) / GAMES_FILE, games)
    append_jsonl(Path(output_dir) / METRICS_FILE, [metrics])

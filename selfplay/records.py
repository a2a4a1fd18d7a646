"""The project's JSONL files, written one way: the run's history (metrics.jsonl, games.jsonl,
eval.jsonl), the skipped-items list, the shapes world's and `selfplay prepare`'s manifests.

One row per line, UTF-8, `ensure_ascii=False`, "\n" line ends. Appends add whole lines; a
whole-file write goes beside the file and is renamed into place, so a crash never leaves half a
file. The run's history is written by the main process only; checkpoint.py writes the round
folders themselves.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

METRICS_FILE = "metrics.jsonl"
GAMES_FILE = "games.jsonl"
EVAL_FILE = "eval.jsonl"
SKIPPED_FILE = "skipped.jsonl"  # unreadable items or files, each with the reason (runs and `selfplay prepare`)
ROUNDS_DIR = "rounds"


def round_dir(output_dir: str | Path, round_index: int) -> Path:
    return Path(output_dir) / ROUNDS_DIR / f"{round_index:04d}"


def jsonl_lines(rows: Iterable[dict]) -> str:
    """The rows as JSONL text.

    Example:
        >>> jsonl_lines([{"a": 1}, {"b": "é"}])
        '{"a": 1}\\n{"b": "é"}\\n'
    """
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def append_jsonl(path: Path, rows: list[dict]) -> None:
    """Append rows to `path` (created with its folder if missing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8", newline="\n") as handle:
        handle.write(jsonl_lines(rows))


def write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    """Write `path` whole: beside it first, fsynced, then renamed into place."""
    write_text_atomic(Path(path), jsonl_lines(rows))


def write_text_atomic(path: Path, text: str) -> None:
    """`write_bytes_atomic` of `text` in UTF-8."""
    write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write beside `path` and rename into place, so a crash never leaves a half-written file. The
    partial file is this call's own: two runs started together on one cache write the same manifest
    (or image) at the same moment, and a shared partial name made one rename the other's file away."""
    handle = tempfile.NamedTemporaryFile("wb", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False)
    with handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(handle.name, path)


def read_jsonl(path: Path) -> list[dict]:
    with Path(path).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def append_round_records(output_dir: str | Path, games: list[dict], metrics: dict) -> None:
    """The round's games and metrics, appended to the run's history."""
    append_jsonl(Path(output_dir) / GAMES_FILE, games)
    append_jsonl(Path(output_dir) / METRICS_FILE, [metrics])

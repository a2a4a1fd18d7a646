"""A round is the unit of checkpoint: written whole or not at all, verified before it is trusted.

rounds/NNNN/ holds both adapters (PEFT safetensors), both optimizer and scheduler states (plain
state dicts read back with `torch.load(weights_only=True)`), each process's RNG states (JSON and
safetensors), state.json (what resume reads: the next round, the number of processes whose RNG
states these are, the length of every record file) and the resolved config. The data order needs
no state: a round's items are a pure function of the seed and the round (runner.round_items). manifest.json, with the
SHA-256 of every other file, is written last; the folder is assembled under NNNN.tmp and renamed
into place, so a round without a complete manifest never appears. Nothing is unpickled.

Rounds are short (seconds to minutes), so there is no checkpoint inside a round: a kill costs at
most the round in progress, which is replayed exactly.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import shutil
from dataclasses import fields
from pathlib import Path

import numpy as np
import torch
import yaml
from safetensors.torch import load_file, save_file

from .config import RunConfig, VLLMConfig
from .config_parser import to_dict
from .records import EVAL_FILE, GAMES_FILE, METRICS_FILE, ROUNDS_DIR, round_dir, write_text_atomic

MANIFEST = "manifest.json"
STATE = "state.json"
RECORD_FILES = (METRICS_FILE, GAMES_FILE, EVAL_FILE)
# Changing these makes the saved adapters meaningless or unloadable.
BREAKING_KEYS = ("model.path", "model.lora_rank", "model.lora_alpha", "model.lora_target_modules",
                 "model.lora_dropout", "model.dtype")
# Safe to change between a run and its resumption.
FREE_KEYS = ("game.rounds", "output_dir", "cache_dir", "checkpoint.resume", "checkpoint.keep_last",
             "eval.data", "eval.every", "eval.max_questions", "engine",
             *(f"vllm.{f.name}" for f in fields(VLLMConfig)))  # how rollouts are served, not what is learned

log = logging.getLogger("selfplay.checkpoint")


class CheckpointError(RuntimeError):
    """A round could not be written or read; the message names the folder and the reason."""


def rng_state() -> dict:
    """This process's RNG states: JSON-able parts and tensors."""
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    tensors = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        tensors.update({f"cuda_{i}": s for i, s in enumerate(torch.cuda.get_rng_state_all())})
    return {"json": {"python": [version, list(internal), gauss],
                     "numpy": [name, keys.tolist(), pos, has_gauss, cached]}, "tensors": tensors}


def set_rng_state(state: dict) -> None:
    version, internal, gauss = state["json"]["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = state["json"]["numpy"]
    np.random.set_state((name, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["tensors"]["torch"])
    cuda = [state["tensors"][k] for k in sorted(state["tensors"]) if k.startswith("cuda_")]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_checkpoint(output_dir: Path, round_index: int, model, learners: dict, cfg: RunConfig,
                    rng_states: list[dict]) -> Path:
    """Write rounds/NNNN/ whole; on any failure the previous rounds stay as they were."""
    output_dir = Path(output_dir)
    final = round_dir(output_dir, round_index)
    partial = final.with_name(final.name + ".tmp")
    try:
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        model.save_pretrained(partial / "adapters", selected_adapters=list(learners))
        for role, learner in learners.items():
            torch.save(learner.state_dict(), partial / f"optimizer_{role}.pt")
        for rank, state in enumerate(rng_states):
            (partial / f"rng_rank{rank}.json").write_text(json.dumps(state["json"]))
            save_file({k: v.contiguous() for k, v in state["tensors"].items()}, partial / f"rng_rank{rank}.safetensors")
        records = {name: (output_dir / name).stat().st_size if (output_dir / name).is_file() else 0
                   for name in RECORD_FILES}
        state = {"next_round": round_index + 1, "world_size": len(rng_states),
                 "record_bytes": records}
        (partial / STATE).write_text(json.dumps(state, indent=1))
        (partial / "config.yaml").write_text(yaml.safe_dump(to_dict(cfg), sort_keys=False))
        files = sorted(p for p in partial.rglob("*") if p.is_file())
        for path in files:
            _fsync(path)
        manifest = {"round": round_index, "files": {str(p.relative_to(partial)): _sha256(p) for p in files}}
        write_text_atomic(partial / MANIFEST, json.dumps(manifest, indent=1))
        if final.exists():  # a round replayed after a resume from an earlier one
            shutil.rmtree(final)
        os.replace(partial, final)
        _fsync(final.parent)
    except OSError as error:
        shutil.rmtree(partial, ignore_errors=True)
        raise CheckpointError(f"could not save round {round_index} to {final}: {error}. "
                              f"Earlier rounds in {final.parent} are intact.") from error
    return final


def verify(folder: Path) -> str | None:
    """None when the round is complete and every checksum matches, else the reason it is not."""
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        return "no manifest (the save did not finish)"
    try:
        manifest = json.loads(manifest_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return "manifest is not valid JSON"
    for name, digest in manifest.get("files", {}).items():
        path = folder / name
        if not path.is_file():
            return f"{name} is missing"
        if _sha256(path) != digest:
            return f"{name} does not match its checksum"
    return None


def complete_rounds(output_dir: Path) -> list[Path]:
    """Round folders, newest first (complete or not)."""
    root = Path(output_dir) / ROUNDS_DIR
    if not root.is_dir():
        return []
    return sorted((p for p in root.iterdir() if p.is_dir() and p.name.isdigit()), reverse=True)


def find_resume_point(output_dir: Path, resume: str) -> Path | None:
    """The round to resume from: the newest verified one for "auto", or the folder given."""
    if resume != "auto":
        folder = Path(resume).expanduser()
        problem = verify(folder) if folder.is_dir() else "no such folder"
        if problem:
            raise CheckpointError(f"--resume {folder}: cannot resume from it: {problem}")
        return folder
    for folder in complete_rounds(output_dir):
        problem = verify(folder)
        if problem is None:
            return folder
        log.warning("round %s is not usable (%s); falling back to the one before", folder, problem)
    return None


def check_compatible(saved: dict, cfg: RunConfig, folder: Path) -> None:
    """Refuse what breaks resuming; warn about other changes, which break bit-exactness only."""
    now = to_dict(cfg)
    changed = []
    for section, values in saved.items():
        items = values.items() if isinstance(values, dict) else [(None, values)]
        for key, old in items:
            dotted = f"{section}.{key}" if key else section
            new = now.get(section, {}).get(key) if key else now.get(section)
            if old != new:
                changed.append((dotted, old, new))
    for dotted, old, new in changed:
        if dotted in BREAKING_KEYS:
            raise CheckpointError(f"{dotted}: changed from {old!r} to {new!r} since {folder} was saved; "
                                  "the saved adapters do not fit. Start a new output_dir or restore the value.")
    drift = [d for d, _, _ in changed if d not in FREE_KEYS]
    if drift:
        log.warning("resuming with changed settings (%s): the run continues but is no longer the exact "
                    "continuation of the saved one", ", ".join(drift))


def check_resumable(folder: Path, cfg: RunConfig) -> None:
    """`check_compatible` against the config saved with the round at `folder`."""
    check_compatible(yaml.safe_load((Path(folder) / "config.yaml").read_text()), cfg, Path(folder))


def rounds_played(folder: Path) -> int:
    """How many rounds the run had played when `folder` was saved (state.json's next round)."""
    return json.loads((Path(folder) / STATE).read_text())["next_round"]


def load_checkpoint(folder: Path, model, learners: dict, rank: int, world_size: int) -> dict:
    """Restore adapters, optimizer states and this process's RNG; returns state.json. The caller has
    checked its config against the round's own (`check_resumable`)."""
    from peft import set_peft_model_state_dict

    state = json.loads((folder / STATE).read_text())
    for role, learner in learners.items():
        weights = load_file(folder / "adapters" / role / "adapter_model.safetensors")
        result = set_peft_model_state_dict(model, weights, adapter_name=role)
        if getattr(result, "unexpected_keys", None):
            raise CheckpointError(f"{folder}: adapter {role} has unexpected weights {result.unexpected_keys[:3]}")
        learner.load_state_dict(torch.load(folder / f"optimizer_{role}.pt", weights_only=True))
    if state["world_size"] == world_size:
        set_rng_state({"json": json.loads((folder / f"rng_rank{rank}.json").read_text()),
                       "tensors": load_file(folder / f"rng_rank{rank}.safetensors")})
    else:
        log.warning("saved with %d processes, resuming with %d: RNG states are not restored",
                    state["world_size"], world_size)
    return state


def truncate_records(output_dir: Path, record_bytes: dict) -> None:
    """Drop what rounds after the checkpoint appended to the record files (they are replayed)."""
    for name, size in record_bytes.items():
        path = Path(output_dir) / name
        if path.is_file() and path.stat().st_size > size:
            with path.open("r+b") as handle:
                handle.truncate(size)
        elif size and not path.is_file():
            raise CheckpointError(f"{path} is missing; it held {size} bytes when the round was saved")


def prune(output_dir: Path, keep_last: int) -> None:
    """Keep the newest `keep_last` complete rounds (0 keeps all); drop leftovers of failed saves."""
    root = Path(output_dir) / ROUNDS_DIR
    for leftover in root.glob("*.tmp"):
        shutil.rmtree(leftover, ignore_errors=True)
    if keep_last <= 0:
        return
    complete = [p for p in complete_rounds(output_dir) if (p / MANIFEST).is_file()]
    for folder in complete[keep_last:]:
        shutil.rmtree(folder)

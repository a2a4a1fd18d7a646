"""Export one role of a saved round for serving.

Without --merge: a PEFT adapter folder (adapter_config.json + adapter_model.safetensors), what vLLM's
LoRARequest and `PeftModel.from_pretrained` load. With --merge: the base model with the adapter
folded in, a plain transformers checkpoint in safetensors (plus the processor) that needs no PEFT.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml

from .builtin import resolve_model_path
from .checkpoint import CheckpointError, verify
from .config_parser import from_dict
from .modeling import ROLES, load_model_and_processor, resolve_dtype


def export_round(round_folder: str | Path, role: str, out_dir: str | Path, merge: bool = False) -> Path:
    round_folder, out_dir = Path(round_folder), Path(out_dir)
    if role not in ROLES:
        raise ValueError(f"--role must be one of {', '.join(ROLES)}, got {role!r}")
    problem = verify(round_folder) if round_folder.is_dir() else "no such folder"
    if problem:
        raise CheckpointError(f"{round_folder}: cannot export: {problem}")
    adapter = round_folder / "adapters" / role
    if not merge:
        shutil.copytree(adapter, out_dir, dirs_exist_ok=True)
        return out_dir
    import torch
    from peft import PeftModel

    cfg = from_dict(yaml.safe_load((round_folder / "config.yaml").read_text()))
    base_path = resolve_model_path(cfg.model, cfg.cache_dir)
    dtype = resolve_dtype(cfg.model.dtype, torch.device("cpu"))
    base, processor = load_model_and_processor(base_path, dtype, cfg.model.trust_remote_code)
    merged = PeftModel.from_pretrained(base, adapter).merge_and_unload()
    merged.save_pretrained(out_dir)
    processor.save_pretrained(out_dir)
    (out_dir / "selfplay_export.json").write_text(json.dumps(
        {"round": str(round_folder), "role": role, "base_model": str(base_path)}, indent=1))
    return out_dir

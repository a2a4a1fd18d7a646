"""Export one role of a saved round for serving.

Without --merge: a PEFT adapter folder (adapter_config.json + adapter_model.safetensors), what vLLM's
LoRARequest and `PeftModel.from_pretrained` load. With --merge: the base model with the adapter
folded in, a plain transformers checkpoint in safetensors (plus the processor) that needs no PEFT.

The merged weights are stored in the base checkpoint's own dtype (bf16 for a bf16 Qwen2.5-VL, half
the size of fp32) unless ``dtype`` asks for another. The merge itself runs in fp32 whatever the run
trained in, so each weight is W + scale * B A rounded once to the stored dtype.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml

from .builtin import resolve_model_path
from .checkpoint import CheckpointError, verify
from .config_parser import from_dict
from .modeling import ROLES, load_model_and_processor

MERGE_DTYPES = ("float32", "bfloat16", "float16")


def checkpoint_dtype(path: str | Path) -> str:
    """The dtype a checkpoint folder stores its weights in: its config.json says (``dtype``, or the
    older ``torch_dtype``, at the top or in ``text_config``), else its first floating safetensors tensor."""
    path = Path(path)
    config = json.loads((path / "config.json").read_text())
    for section in (config, config.get("text_config") or {}):
        named = section.get("dtype") or section.get("torch_dtype")
        if named in MERGE_DTYPES:
            return named
    from safetensors import safe_open

    names = {"F32": "float32", "BF16": "bfloat16", "F16": "float16"}
    for weights in sorted(path.glob("*.safetensors")):
        with safe_open(weights, "pt") as f:
            for key in f.keys():
                stored = f.get_slice(key).get_dtype()
                if stored in names:
                    return names[stored]
    raise CheckpointError(f"{path}: cannot tell the weights' dtype (no dtype in config.json, no float tensors)")


def export_round(round_folder: str | Path, role: str, out_dir: str | Path, merge: bool = False,
                 dtype: str | None = None) -> Path:
    round_folder, out_dir = Path(round_folder), Path(out_dir)
    if role not in ROLES:
        raise ValueError(f"--role must be one of {', '.join(ROLES)}, got {role!r}")
    if dtype is not None and (not merge or dtype not in MERGE_DTYPES):
        raise ValueError(f"--dtype {dtype}: only with --merge, one of {', '.join(MERGE_DTYPES)}")
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
    stored = dtype or checkpoint_dtype(base_path)
    base, processor = load_model_and_processor(base_path, torch.float32, cfg.model.trust_remote_code)
    merged = PeftModel.from_pretrained(base, adapter).merge_and_unload().to(getattr(torch, stored))
    merged.save_pretrained(out_dir)
    processor.save_pretrained(out_dir)
    (out_dir / "selfplay_export.json").write_text(json.dumps(
        {"round": str(round_folder), "role": role, "base_model": str(base_path), "dtype": stored}, indent=1))
    return out_dir

"""Load a VLM checkpoint by path and give it the two role adapters.

One frozen backbone, two LoRA adapters (`questioner`, `answerer`) built from the same LoraConfig:
the self-play pair costs one model's memory plus two small adapters. LoRA B starts at zero, so both
roles start as the base model, which is also the KL reference (adapters disabled).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import torch

from .config import BUILTIN_PREFIX, ModelConfig

ROLES = ("questioner", "answerer")
# How `builtin:shapes-<family>` is warm-started (selfplay/warmstart.py). A cached model that was built
# with another recipe is built again, so a change here reaches every user's cache.
SHAPES_RECIPE = {"scenes": 2000, "seed": 1, "steps": 1000, "language_domains": ["scan", "aerial"]}
RECIPE_FILE = "selfplay_recipe.json"
log = logging.getLogger("selfplay.model")


def resolve_dtype(name: str, device: torch.device) -> torch.dtype:
    """bf16 on CUDA and fp32 on CPU unless the config names a dtype."""
    if name == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    return getattr(torch, name)


def resolve_model_path(cfg: ModelConfig, cache_dir: str | Path) -> Path:
    """A checkpoint folder. Built-in names are built once into the cache, offline:
    `builtin:tiny-<family>` has random weights; `builtin:shapes-<family>` is that model warm-started
    by SHAPES_RECIPE (about 7 CPU minutes the first time)."""
    if not cfg.path.startswith(BUILTIN_PREFIX):
        return Path(cfg.path).expanduser()
    from .tiny_model import FAMILIES, build_tiny_vlm

    name = cfg.path[len(BUILTIN_PREFIX):]
    kind, _, family = name.partition("-")
    if kind not in ("tiny", "shapes") or family not in FAMILIES:
        choices = [f"{BUILTIN_PREFIX}{k}-{f}" for k in ("tiny", "shapes") for f in FAMILIES]
        raise ValueError(f"model.path: unknown built-in model {cfg.path!r}; use one of {', '.join(choices)}")
    models = Path(cache_dir).expanduser() / "models"
    tiny = models / f"tiny-{family}"
    if not (tiny / "config.json").is_file():
        log.info("building the tiny offline model %s into %s", family, tiny)
        build_tiny_vlm(tiny, family)
    if kind == "tiny":
        return tiny
    warm = models / name
    recipe = warm / RECIPE_FILE
    if not recipe.is_file() or json.loads(recipe.read_text()) != SHAPES_RECIPE:
        from .warmstart import warm_start
        from .world import generate

        log.info("warm-starting %s on the shapes world's source domain into %s (first use only: about %d "
                 "steps, 7 minutes on 2 CPU cores)", tiny, warm, SHAPES_RECIPE["steps"])
        world = generate(Path(cache_dir).expanduser() / "data" / f"warmstart-source-{SHAPES_RECIPE['scenes']}",
                         "source", n=SHAPES_RECIPE["scenes"], seed=SHAPES_RECIPE["seed"])
        warm_start(tiny, world, warm, steps=SHAPES_RECIPE["steps"],
                   language_domains=tuple(SHAPES_RECIPE["language_domains"]))
        recipe.write_text(json.dumps(SHAPES_RECIPE))
    return warm


def load_model_and_processor(path: str | Path, dtype: torch.dtype, trust_remote_code: bool = False):
    """The same loading code for a tiny test model and a real Qwen2.5-VL folder."""
    from transformers import AutoModelForImageTextToText, AutoProcessor

    path = Path(path)
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"model.path: {path} has no config.json; is it a checkpoint folder?")
    model = AutoModelForImageTextToText.from_pretrained(path, dtype=dtype, trust_remote_code=trust_remote_code)
    processor = AutoProcessor.from_pretrained(path, trust_remote_code=trust_remote_code)
    tokenizer = processor.tokenizer
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, processor


def lora_config(cfg: ModelConfig):
    from peft import LoraConfig

    return LoraConfig(r=cfg.lora_rank, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                      target_modules=cfg.lora_target_modules, bias="none")


def attach_role_adapters(model: torch.nn.Module, cfg: ModelConfig):
    """Wrap the backbone in a PeftModel holding one adapter per role; the backbone stays frozen."""
    from peft import get_peft_model

    config = lora_config(cfg)
    try:
        peft_model = get_peft_model(model, config, adapter_name=ROLES[0])
    except ValueError as error:
        raise ValueError(f"model.lora_target_modules: {cfg.lora_target_modules!r}: {error}") from error
    for role in ROLES[1:]:
        peft_model.add_adapter(role, config)
    return peft_model


def role_parameters(model: torch.nn.Module, role: str) -> dict[str, torch.nn.Parameter]:
    """The adapter weights of one role, by name."""
    marker = f".{role}."
    return {name: p for name, p in model.named_parameters() if marker in name}

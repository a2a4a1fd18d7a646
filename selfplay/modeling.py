"""Load a VLM checkpoint by path and give it the two role adapters.

One frozen backbone, two LoRA adapters (`questioner`, `answerer`) built from the same LoraConfig:
the self-play pair costs one model's memory plus two small adapters. LoRA B starts at zero, so both
roles start as the base model, which is also the KL reference (adapters disabled).
"""

from __future__ import annotations

from pathlib import Path

import torch

from .config import ModelConfig

ROLES = ("questioner", "answerer")
# transformers 5.2x swaps layers for the Hub's compiled kernels by default wherever the `kernels` package is
# installed (a dependency of transformers 5.25): on CUDA the first model.train() then fetches them from the Hub,
# and with no network the run fails. Nothing here may download at run time, so every load turns it off.
NO_HUB_KERNELS = {"use_kernels": False}


def resolve_dtype(name: str, device: torch.device) -> torch.dtype:
    """bf16 on CUDA and fp32 on CPU unless the config names a dtype."""
    if name == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    return getattr(torch, name)


def load_model_and_processor(path: str | Path, dtype: torch.dtype, trust_remote_code: bool = False):
    """The same loading code for a tiny test model and a real Qwen2.5-VL folder."""
    from transformers import AutoModelForImageTextToText, AutoProcessor

    path = Path(path)
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"model.path: {path} has no config.json; is it a checkpoint folder?")
    model = AutoModelForImageTextToText.from_pretrained(path, dtype=dtype, trust_remote_code=trust_remote_code,
                                                         **NO_HUB_KERNELS)
    processor = AutoProcessor.from_pretrained(path, trust_remote_code=trust_remote_code)
    tokenizer = processor.tokenizer
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, processor


def processor_pixel_cap(processor) -> int | None:
    """The most pixels the checkpoint's own image processor lets an image keep (its `max_pixels`, or
    the `longest_edge` of its `size`, which the Qwen-VL processors count in pixels), or None.

    Why: the processor resizes again after our loader, so `model.max_pixels` above this cap is
    silently undone: the tiny shapes models cap at 56 x 56, and a run asking for 112 x 112 got 4 image
    tokens, not 16.
    """
    image_processor = getattr(processor, "image_processor", None)
    cap = getattr(image_processor, "max_pixels", None)
    if cap is None:
        cap = (getattr(image_processor, "size", None) or {}).get("longest_edge")
    return int(cap) if cap else None


def pixel_cap_warning(max_pixels: int, processor, model_path) -> str | None:
    """What a run says when `model.max_pixels` asks for more than the processor keeps, else None."""
    cap = processor_pixel_cap(processor)
    if cap is None or max_pixels <= cap:
        return None
    return (f"model.max_pixels is {max_pixels}, but the image processor of {model_path} keeps at most {cap} "
            "pixels of an image: images will be shrunk to that. Raise max_pixels (or size.longest_edge) in its "
            "preprocessor_config.json, or lower model.max_pixels.")


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

import json

import pytest
import torch
from PIL import Image

from selfplay.engine import HFEngine, Prompt
from selfplay.modeling import ROLES, attach_role_adapters, load_model_and_processor, role_parameters
from selfplay.config import ModelConfig
from selfplay.tiny_model import FAMILIES, build_tiny_vlm


@pytest.mark.parametrize("family", FAMILIES)
def test_tiny_checkpoint_loads_and_generates_for_an_image(tmp_path, family):
    folder = build_tiny_vlm(tmp_path / family, family)
    assert (folder / "model.safetensors").is_file()
    assert json.loads((folder / "config.json").read_text())["model_type"] == family
    model, processor = load_model_and_processor(folder, torch.float32)
    engine = HFEngine(model, processor)
    image = Image.new("RGB", (56, 56), (200, 30, 30))
    messages = [{"role": "user", "content": "What colour is the circle?"}]
    torch.manual_seed(0)
    out = engine.generate(None, [Prompt(messages, image), Prompt(messages, image)], n=3, max_new_tokens=5)
    assert [len(group) for group in out] == [3, 3]
    sample = out[0][0]
    assert 1 <= len(sample.completion_ids) <= 5 and len(sample.logprobs) == len(sample.completion_ids)
    assert all(lp <= 0 for lp in sample.logprobs)


def test_role_adapters_target_language_layers_only(tiny_qwen):
    model, _ = load_model_and_processor(tiny_qwen, torch.float32)
    model = attach_role_adapters(model, ModelConfig())
    for role in ROLES:
        names = role_parameters(model, role)
        assert names and all("language_model" in n for n in names)
    assert not [n for n, p in model.named_parameters() if p.requires_grad and "lora_" not in n]


def test_bad_target_modules_is_named(tiny_qwen):
    model, _ = load_model_and_processor(tiny_qwen, torch.float32)
    with pytest.raises(ValueError, match="lora_target_modules"):
        attach_role_adapters(model, ModelConfig(lora_target_modules=r".*no_such_module"))


def test_a_loaded_model_never_swaps_in_hub_kernels(tiny_qwen):
    """transformers 5.2x turns Hub kernels on by default where the `kernels` package is installed; on CUDA the
    first train() then downloads them (seen on a lent H200: no network, the run failed). Loads turn them off."""
    model, _ = load_model_and_processor(tiny_qwen, torch.float32)
    assert getattr(model, "use_kernels", False) is False
    model.train()
    assert getattr(model, "use_kernels", False) is False


def test_missing_checkpoint_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="model.path"):
        load_model_and_processor(tmp_path, torch.float32)


def test_the_processors_own_pixel_cap_is_read(tiny_qwen):
    """The tiny processor keeps at most 56 x 56 pixels whatever model.max_pixels asks: the run warns of it."""
    from transformers import AutoProcessor

    from selfplay.modeling import pixel_cap_warning, processor_pixel_cap

    processor = AutoProcessor.from_pretrained(tiny_qwen)
    assert processor_pixel_cap(processor) == 56 * 56
    assert pixel_cap_warning(56 * 56, processor, tiny_qwen) is None
    assert "model.max_pixels is 12544" in pixel_cap_warning(112 * 112, processor, tiny_qwen)
    assert "keeps at most 3136" in pixel_cap_warning(112 * 112, processor, tiny_qwen)
    grid = processor.image_processor(images=[Image.new("RGB", (112, 112))], return_tensors="pt")["image_grid_thw"]
    assert grid.tolist() == [[1, 4, 4]]  # 4 x 4 patches of 14: the 112-pixel image was shrunk to 56

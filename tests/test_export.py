"""`selfplay export --merge` in the base checkpoint's own dtype: a bf16 checkpoint merges to bf16 (half
the bytes of fp32), or to the dtype asked for; the merged folder, loaded with transformers alone, holds
base plus adapter rounded once and answers as base plus adapter does."""

import json
import shutil

import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from selfplay.cli import main as cli
from selfplay.config_parser import from_dict
from selfplay.engine import HFEngine, Prompt
from selfplay.export import checkpoint_dtype
from selfplay.runner import main


@pytest.fixture(scope="module")
def bf16_round(warm_qwen, shapes_world, tmp_path_factory):
    """A bf16 copy of the warm tiny model (as Qwen2.5-VL ships) and one round played on it (in fp32 on CPU)."""
    from transformers import AutoModelForImageTextToText, AutoProcessor

    root = tmp_path_factory.mktemp("bf16")
    base = root / "base"
    AutoModelForImageTextToText.from_pretrained(warm_qwen, dtype=torch.float32).to(torch.bfloat16).save_pretrained(base)
    AutoProcessor.from_pretrained(warm_qwen).save_pretrained(base)
    main(from_dict({
        "output_dir": str(root / "run"), "model": {"path": str(base)},
        "data": {"source": str(shapes_world / "manifest.jsonl")},
        "game": {"rounds": 1, "items_per_round": 6}, "rewards": {"keep_band": [0.0, 1.0]},
        "train": {"learning_rate": 5e-3, "seed": 5}, "eval": {"data": ""},
    }))
    return base, root / "run" / "rounds" / "0000"


def _tensor_bytes(folder):
    """Bytes of tensor data in a folder's safetensors files: each file's size less its 8-byte length and
    JSON header."""
    return sum(p.stat().st_size - 8 - int.from_bytes(p.read_bytes()[:8], "little")
               for p in folder.glob("*.safetensors"))


def test_merge_keeps_a_bf16_checkpoint_bf16_and_answers_as_base_plus_adapter(bf16_round, shapes_world, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForImageTextToText

    base_path, folder = bf16_round
    adapter = folder / "adapters" / "answerer"
    assert any(t.abs().sum() > 0 for n, t in load_file(adapter / "adapter_model.safetensors").items()
               if "lora_B" in n), "the answerer never trained: the test would be vacuous"
    assert checkpoint_dtype(base_path) == "bfloat16"
    assert cli(["export", str(folder), str(tmp_path / "bf16"), "--role", "answerer", "--merge"]) == 0
    assert cli(["export", str(folder), str(tmp_path / "fp32"), "--role", "answerer", "--merge",
                "--dtype", "float32"]) == 0
    merged = AutoModelForImageTextToText.from_pretrained(tmp_path / "bf16", dtype="auto")
    assert {p.dtype for p in merged.parameters()} == {torch.bfloat16}
    assert json.loads((tmp_path / "bf16" / "config.json").read_text())["dtype"] == "bfloat16"
    assert json.loads((tmp_path / "bf16" / "selfplay_export.json").read_text())["dtype"] == "bfloat16"
    wide = AutoModelForImageTextToText.from_pretrained(tmp_path / "fp32", dtype="auto")
    assert {p.dtype for p in wide.parameters()} == {torch.float32}
    assert 2 * _tensor_bytes(tmp_path / "bf16") == _tensor_bytes(tmp_path / "fp32")  # half the bytes

    # each merged weight is base + adapter computed in fp32 and rounded once to bf16
    base = AutoModelForImageTextToText.from_pretrained(base_path, dtype=torch.float32)
    reference = PeftModel.from_pretrained(base, adapter).merge_and_unload().to(torch.bfloat16).state_dict()
    assert all(torch.equal(t, reference[n]) for n, t in merged.state_dict().items())
    changed = [n for n, t in merged.state_dict().items() if not torch.equal(t, wide.state_dict()[n].bfloat16())]
    assert not changed  # and the fp32 export is the same merge, only not rounded

    # greedy answers of the merged bf16 model equal those of the bf16 base with the adapter on top
    from selfplay.modeling import load_model_and_processor

    bf16_base, processor = load_model_and_processor(base_path, torch.bfloat16)
    with_adapter = PeftModel.from_pretrained(bf16_base, adapter)
    image = Image.open(next((shapes_world / "images").glob("*.png"))).convert("RGB")
    prompts = [Prompt([{"role": "user", "content": q}], image)
               for q in ("How many circles are there?", "Is there a red square?", "What colour is the circle?")]
    answers = [[g[0].completion_ids for g in HFEngine(model, processor, temperature=0.0).generate(
        role, prompts, 1, 8)] for model, role in ((with_adapter, "default"), (merged, None))]
    assert answers[0] == answers[1]


def test_checkpoint_dtype_from_the_weights_when_the_config_does_not_say(tiny_qwen, tmp_path):
    folder = shutil.copytree(tiny_qwen, tmp_path / "model")
    config = json.loads((folder / "config.json").read_text())
    for section in (config, config.get("text_config", {})):
        section.pop("dtype", None)
        section.pop("torch_dtype", None)
    (folder / "config.json").write_text(json.dumps(config))
    assert checkpoint_dtype(folder) == "float32"


def test_dtype_without_merge_is_refused(capsys, tmp_path):
    with pytest.raises(SystemExit):
        cli(["export", str(tmp_path), str(tmp_path / "out"), "--dtype", "bfloat16"])
    assert "--dtype applies to --merge only" in capsys.readouterr().err

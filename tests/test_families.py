"""The current families, each built offline: Qwen3-VL and Qwen3.5 load through the Auto classes, their
adapters hit every language layer and nothing else, and one self-play round trains each role."""

import json
import re

import pytest
import torch

from selfplay import learner as learner_module
from selfplay.config import ModelConfig
from selfplay.config_parser import from_dict
from selfplay.modeling import ROLES, attach_role_adapters, load_model_and_processor, role_parameters
from selfplay.runner import main
from selfplay.tiny_model import build_tiny_vlm

NEW_FAMILIES = ("qwen3_vl", "qwen3_5")


@pytest.fixture(scope="module", params=NEW_FAMILIES)
def warm_family(request, shapes_world, tmp_path_factory):
    """A tiny model of the family, briefly warm-started (real TRL SFT) so that some questions parse."""
    from selfplay.warmstart import warm_start

    family = request.param
    tiny = build_tiny_vlm(tmp_path_factory.mktemp("tiny") / family, family)
    warm = warm_start(tiny, shapes_world, tmp_path_factory.mktemp("warm") / family, steps=40, batch_size=8,
                      learning_rate=3e-3)
    return family, tiny, warm


def test_adapters_hit_the_attention_of_every_language_layer_and_nothing_else(warm_family):
    family, tiny, _ = warm_family
    model, _ = load_model_and_processor(tiny, torch.float32)
    assert type(model).__name__ == {"qwen3_vl": "Qwen3VLForConditionalGeneration",
                                    "qwen3_5": "Qwen3_5ForConditionalGeneration"}[family]
    layers = model.config.text_config.num_hidden_layers
    model = attach_role_adapters(model, ModelConfig())
    for role in ROLES:
        names = role_parameters(model, role)
        assert names and all("language_model" in n and "visual" not in n for n in names)
        hit = {int(re.search(r"layers\.(\d+)\.", n).group(1)) for n in names}
        assert hit == set(range(layers))
    kinds = {re.search(r"\.(self_attn|linear_attn)\.", n).group(1) for n in role_parameters(model, "answerer")}
    # Qwen3.5's layers 0-2 are Gated DeltaNet linear attention, layer 3 full attention
    assert kinds == ({"self_attn"} if family == "qwen3_vl" else {"self_attn", "linear_attn"})


def test_one_selfplay_round_trains_each_role(warm_family, shapes_world, tmp_path, monkeypatch):
    family, _, warm = warm_family
    phases = []
    real_learn = learner_module.RoleLearner.learn

    def learn(self, groups, round_index):
        before = {role: {n: p.detach().clone() for n, p in role_parameters(self.model, role).items()}
                  for role in ROLES}
        out = real_learn(self, groups, round_index)
        changed = {role for role, params in before.items()
                   if any(not torch.equal(p, role_parameters(self.model, role)[n]) for n, p in params.items())}
        phases.append((self.role, len(groups), changed, any(len(set(g.rewards)) > 1 for g in groups)))
        return out

    monkeypatch.setattr(learner_module.RoleLearner, "learn", learn)
    out = tmp_path / "run"
    main(from_dict({
        "output_dir": str(out), "model": {"path": str(warm)}, "data": {"source": str(shapes_world / "manifest.jsonl")},
        "game": {"rounds": 1, "items_per_round": 8, "questions_per_item": 4, "answers_per_question": 4,
                 "blind_answers": 2},
        "rewards": {"keep_band": [0.0, 1.0]},
        "train": {"learning_rate": 5e-3, "seed": 3},
        "eval": {"data": str(shapes_world / "qa.jsonl"), "max_questions": 8},
    }))
    assert [role for role, *_ in phases] == ["questioner", "answerer"]
    for role, n_groups, changed, signal in phases:
        assert n_groups > 0 and signal, f"{family}: the {role} had nothing to learn from"
        assert changed == {role}, f"{family}: the {role} phase changed {changed}"
    metrics = json.loads((out / "metrics.jsonl").read_text())
    assert metrics["candidates"] == 32 and metrics["questioner/format_failures"] < 32
    assert json.loads((out / "rounds" / "0000" / "adapters" / "answerer" / "adapter_config.json").read_text())[
        "base_model_name_or_path"]

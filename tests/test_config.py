import pytest
import yaml

from selfplay.config import ConfigError, RunConfig
from selfplay.config_parser import build_parser, from_dict, parse_args, write_resolved


def test_defaults_are_the_cpu_job():
    cfg = parse_args([])
    assert cfg == RunConfig()
    assert cfg.model.path == "builtin:shapes-qwen2_vl" and cfg.data.source == "builtin:shapes-scan"
    assert cfg.checkpoint.resume == ""


def test_yaml_then_cli_override(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("game:\n  rounds: 5\n  answers_per_question: 3\ntrain:\n  beta: 0.04\n")
    cfg = parse_args([str(path), "--game.rounds", "7", "--game.answer_types", "yes_no,number"])
    assert cfg.game.rounds == 7 and cfg.game.answers_per_question == 3 and cfg.train.beta == 0.04
    assert cfg.game.answer_types == ["yes_no", "number"]


def test_resume_flag_forms():
    assert parse_args(["--resume"]).checkpoint.resume == "auto"
    assert parse_args(["--resume", "runs/x/rounds/0003"]).checkpoint.resume == "runs/x/rounds/0003"


@pytest.mark.parametrize("raw, key", [
    ({"game": {"rounds": 2, "roundz": 3}}, "game.roundz"),
    ({"gmae": {}}, "gmae"),
    ({"game": {"rounds": "many"}}, "game.rounds"),
    ({"train": {"beta": True}}, "train.beta"),
    ({"game": {"questions_per_item": 1}}, "game.questions_per_item"),
    ({"game": {"answers_per_question": 1}}, "game.answers_per_question"),
    ({"game": {"answer_types": ["yes_no", "essay"]}}, "game.answer_types"),
    ({"game": {"blind_mode": "closed_eyes"}}, "game.blind_mode"),
    ({"game": {"blind_answers": -1}}, "game.blind_answers"),
    ({"rewards": {"reference_trust": "either"}}, "rewards.reference_trust"),  # removed: unknown key
    ({"game": {"borrowed_questions": -1}}, "game.borrowed_questions"),
    ({"rewards": {"keep_band": [0.9, 0.1]}}, "rewards.keep_band"),
    ({"model": {"path": "/no/such/model"}}, "model.path"),
    ({"model": {"min_pixels": 10**9}}, "model.min_pixels"),
    ({"data": {"source": "/no/such/manifest.jsonl"}}, "data.source"),
    ({"train": {"phase_order": ["answerer", "answerer"]}}, "train.phase_order"),
    ({"train": {"micro_batch_sequences": 0}}, "train.micro_batch_sequences"),
    ({"train": {"vision_learning_rate": -1e-3}}, "train.vision_learning_rate"),
    ({"game": {"top_k": -1}}, "game.top_k"),
    ({"engine": "sglang"}, "engine"),
    ({"engine": "vllm", "vllm": {"max_lora_rank": 12}}, "vllm.max_lora_rank"),  # not one of vLLM's ranks
    ({"engine": "vllm", "model": {"lora_rank": 16}, "vllm": {"max_lora_rank": 8}}, "vllm.max_lora_rank"),
    ({"engine": "vllm", "vllm": {"gpu_memory_utilization": 1.5}}, "vllm.gpu_memory_utilization"),
    ({"engine": "vllm", "model": {"lora_target_modules": r".*visual.*\.qkv"}}, "model.lora_target_modules"),
])
def test_errors_name_the_key(raw, key):
    with pytest.raises(ConfigError) as error:
        from_dict(raw, "test.yaml")
    assert str(error.value).startswith(key)


def test_unknown_cli_option_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="--game.roundz"):
        parse_args(["--game.roundz", "3"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("game: [unclosed\n")
    with pytest.raises(ConfigError, match="bad.yaml"):
        parse_args([str(bad)])
    with pytest.raises(ConfigError, match="missing.yaml"):
        parse_args([str(tmp_path / "missing.yaml")])


def test_help_lists_every_field():
    text = build_parser().format_help()
    for section, cls in RunConfig().__dict__.items():
        if hasattr(cls, "__dataclass_fields__"):
            for name in cls.__dataclass_fields__:
                assert f"--{section}.{name}" in text


def test_resolved_config_round_trips(tmp_path):
    cfg = from_dict({"game": {"rounds": 4}, "rewards": {"blind_weight": 0.25}})
    write_resolved(cfg, tmp_path / "config.yaml")
    assert from_dict(yaml.safe_load((tmp_path / "config.yaml").read_text())) == cfg


def test_shipped_configs_parse():
    from pathlib import Path

    for path in sorted(Path(__file__).parent.parent.joinpath("configs").glob("*.yaml")):
        raw = yaml.safe_load(path.read_text())
        raw.get("model", {}).pop("path", None)  # presets name real checkpoints and data that are not here
        raw.get("data", {}).pop("source", None)
        from_dict(raw, str(path))


def test_cpu_config_spells_out_the_defaults():
    from pathlib import Path

    path = Path(__file__).parent.parent / "configs" / "cpu.yaml"
    assert parse_args([str(path)]) == RunConfig()


def test_vllm_settings_are_checked_only_for_the_vllm_engine():
    assert from_dict({"vllm": {"max_lora_rank": 12}}).engine == "hf"  # the HF engine ignores the section
    cfg = from_dict({"engine": "vllm", "model": {"lora_rank": 64}, "vllm": {"max_lora_rank": 64}})
    assert cfg.engine == "vllm" and cfg.vllm.max_lora_rank == 64

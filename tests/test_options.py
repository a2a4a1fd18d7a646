"""Options that reach their place: each one a user may set changes what it says it changes.

The reward options are checked on a scored round (tests/test_round.py), the game's and the data's
through runs and their own modules; these are the ones whose effect lies in a library call."""

import pytest
import torch
from PIL import Image

from selfplay.config import ModelConfig
from selfplay.config_parser import from_dict
from selfplay.engine import HFEngine, Prompt
from selfplay.runner import make_engine
from selfplay.modeling import load_model_and_processor, lora_config
from selfplay.runner import _shared_learner_args
from teacher_forcing import teacher_forced


def test_lora_alpha_and_dropout_reach_the_adapters_config():
    config = lora_config(ModelConfig(lora_rank=4, lora_alpha=32, lora_dropout=0.1))
    assert (config.r, config.lora_alpha, config.lora_dropout) == (4, 32, 0.1)


def test_the_train_options_reach_both_learners():
    cfg = from_dict({"train": {"learning_rate": 1e-3, "vision_learning_rate": 4e-3, "weight_decay": 0.01,
                               "max_grad_norm": 0.5, "beta": 0.04, "loss_type": "grpo", "gradient_checkpointing": True,
                               "micro_batch_sequences": 16, "seed": 7}})
    assert _shared_learner_args(cfg, 2) == dict(learning_rate=1e-3, vision_learning_rate=4e-3, weight_decay=0.01,
                                                max_grad_norm=0.5, beta=0.04, loss_type="grpo",
                                                gradient_checkpointing=True, micro_batch_sequences=16,
                                                world_size=2, seed=7, correct_sampler=False)
    # vLLM's rollouts come from another sampler: TRL's importance-sampling correction is on for them
    assert _shared_learner_args(from_dict({"engine": "vllm"}), 1)["correct_sampler"] is True


def test_top_p_near_zero_samples_the_greedy_answer(tiny_qwen):
    """game.top_p: a nucleus of one token is greedy decoding, however hot the temperature."""
    model, processor = load_model_and_processor(tiny_qwen, torch.float32)
    prompts = [Prompt([{"role": "user", "content": "What colour is the circle?"}], Image.new("RGB", (56, 56), "red"))]
    greedy = HFEngine(model, processor, temperature=0.0).generate(None, prompts, 1, 6)[0][0].completion_ids
    torch.manual_seed(0)
    narrow = HFEngine(model, processor, temperature=2.0, top_p=1e-6).generate(None, prompts, 4, 6)[0]
    assert [sample.completion_ids for sample in narrow] == [greedy] * 4
    torch.manual_seed(0)
    wide = HFEngine(model, processor, temperature=2.0, top_p=1.0).generate(None, prompts, 4, 6)[0]
    assert any(sample.completion_ids != greedy for sample in wide)  # the random tiny model samples widely
    # game.top_k: one token is greedy too, and the option reaches the run's engine
    top_one = HFEngine(model, processor, temperature=2.0, top_k=1).generate(None, prompts, 4, 6)[0]
    assert [sample.completion_ids for sample in top_one] == [greedy] * 4
    assert make_engine(from_dict({"game": {"top_k": 7}}), model, processor, tiny_qwen).top_k == 7


@pytest.mark.parametrize("raw", [{"game": {"mode": "supervised"}}, {"data": {"labels": "/no/such/qa.jsonl"}}])
def test_the_supervised_baseline_needs_a_labels_file(raw):
    with pytest.raises(ValueError, match="^data.labels"):
        from_dict(raw)


def test_with_top_k_0_the_hf_engine_samples_the_whole_distribution_the_learner_trains(tiny_qwen):
    """game.top_k 0 and top_p 1 cut nothing: a sample's recorded log-probs are the model's own (the full
    softmax, less the markup tokens the engine suppresses), as the learner's forward pass computes them,
    whatever sampling defaults the checkpoint ships."""
    model, processor = load_model_and_processor(tiny_qwen, torch.float32)
    model.generation_config.top_k, model.generation_config.repetition_penalty = 1, 1.05  # as Qwen2-VL ships
    engine = HFEngine(model, processor, top_k=0)
    prompt = Prompt([{"role": "user", "content": "What colour is the circle?"}], Image.new("RGB", (56, 56), "red"))
    torch.manual_seed(0)
    samples = engine.generate(None, [prompt], 4, 6)[0]
    for sample in samples:
        own = teacher_forced(model, processor, prompt, sample.completion_ids, 1.0, engine.suppressed)
        assert own.tolist() == pytest.approx(sample.logprobs, abs=1e-4)
    assert len({tuple(sample.completion_ids) for sample in samples}) > 1  # sampled, not the top token each time

"""VLLMEngine against PEFT on the tiny Qwen2-VL, for real on vLLM's CPU build (run in the vLLM environment
by tests/test_vllm.py): both adapters served per request, an adapter updated by a GRPO step served next,
log-probs of the sampled tokens, and prompt ids as TRL renders them."""

import pytest
import torch
from PIL import Image

from selfplay.config import VLLMConfig
from selfplay.engine import HFEngine, Prompt, render_prompt
from selfplay.learner import Group, RoleLearner
from selfplay.modeling import ROLES, attach_role_adapters, load_model_and_processor, role_parameters
from selfplay.config import ModelConfig
from selfplay.vllm_engine import VLLMEngine
from roles.answerer import answerer_messages
from teacher_forcing import teacher_forced

pytest.importorskip("vllm")
MAX_NEW = 8


def _prompts() -> list[Prompt]:
    colours = [(200, 40, 40), (40, 200, 40), (40, 40, 200), (220, 220, 40)]
    questions = ["Is there a red circle?", "How many squares are there?", "What colour is the star?",
                 "Is the triangle left of the ring?"]
    prompts = [Prompt(answerer_messages(q), Image.new("RGB", (56, 56), c)) for q, c in zip(questions, colours)]
    return prompts + [Prompt(answerer_messages("Is there a cross?"), None)]  # blind_mode none: no image


@pytest.fixture(scope="module")
def served(tiny_model):
    """The tiny model with two different random adapters, and both engines over it."""
    model, processor = load_model_and_processor(tiny_model, torch.float32)
    model = attach_role_adapters(model, ModelConfig(path=str(tiny_model)))
    torch.manual_seed(0)
    for role in ROLES:
        for name, p in role_parameters(model, role).items():
            if "lora_B" in name:  # B starts at zero: make each role differ from the base and from the other
                torch.nn.init.normal_(p, std=0.5)
    model.eval()
    # top_k 0: every token, so that a sample's log-probs are the model's whole softmax (test_logprobs_...)
    engine = VLLMEngine(model, processor, tiny_model, VLLMConfig(max_lora_rank=8), temperature=1.0, top_p=1.0,
                        top_k=0, max_sequences=64, seed=0)
    return model, processor, engine


def _greedy(engine, role):
    saved = engine.temperature
    engine.temperature = 0.0
    try:
        return engine.generate(role, _prompts(), 1, MAX_NEW)
    finally:
        engine.temperature = saved


def _peft_greedy(model, processor, role):
    return HFEngine(model, processor, temperature=0.0).generate(role, _prompts(), 1, MAX_NEW)


def test_each_adapter_gives_peft_greedy_tokens_and_they_differ(served):
    model, processor, engine = served
    ids = {}
    for role in (*ROLES, None):
        ours = [g[0].completion_ids for g in _greedy(engine, role)]
        peft = [g[0].completion_ids for g in _peft_greedy(model, processor, role)]
        assert ours == peft, f"{role or 'base'}: vLLM {ours} != PEFT {peft}"
        ids[role] = ours
    assert ids["questioner"] != ids["answerer"] and ids["questioner"] != ids[None] and ids["answerer"] != ids[None]


def test_prompt_ids_are_what_trl_renders(served):
    model, processor, engine = served
    for prompt, group in zip(_prompts(), engine.generate("answerer", _prompts(), 2, MAX_NEW)):
        text = render_prompt(prompt.messages, prompt.image, processor)
        rendered = processor(text=[text], images=[prompt.image] if prompt.image else None,
                             return_tensors="pt")["input_ids"][0].tolist()
        assert all(s.prompt_ids == rendered for s in group)


def test_both_roles_in_one_call_match_separate_calls(served):
    _, _, engine = served
    engine.temperature, calls = 0.0, engine.stats.calls
    try:
        together = engine.generate_batch([(role, _prompts(), 1, MAX_NEW) for role in ROLES])
        assert engine.stats.calls == calls + 1
        apart = [engine.generate(role, _prompts(), 1, MAX_NEW) for role in ROLES]
    finally:
        engine.temperature = 1.0
    ids = lambda groups: [g[0].completion_ids for g in groups]  # noqa: E731
    assert [ids(x) for x in together] == [ids(x) for x in apart] and ids(together[0]) != ids(together[1])
    assert engine.generate("answerer", [], 4, MAX_NEW) == []  # a shard with nothing to ask


def test_logprobs_are_the_sampled_tokens(served):
    """At temperature 0.7 and top_k 0: vLLM's log-probs are taken after temperature, as the learner computes them."""
    model, processor, engine = served
    suppressed = sorted(set(processor.tokenizer.all_special_ids) - set(engine.eos_ids))
    model.set_adapter("answerer")
    checked = 0
    engine.temperature = 0.7
    try:
        groups = engine.generate("answerer", _prompts(), 4, MAX_NEW)
    finally:
        engine.temperature = 1.0
    for prompt, group in zip(_prompts(), groups):
        for sample in group:
            assert len(sample.logprobs) == len(sample.completion_ids) > 0
            assert not set(sample.completion_ids[:-1]) & set(engine.eos_ids)
            assert not set(sample.completion_ids) & set(suppressed)
            expected = teacher_forced(model, processor, prompt, sample.completion_ids, 0.7, suppressed)
            assert torch.allclose(torch.tensor(sample.logprobs), expected, atol=1e-3), (sample.logprobs, expected)
            checked += 1
    assert checked == len(_prompts()) * 4


def test_adapter_updated_by_a_grpo_step_is_served_next(served):
    model, processor, engine = served
    role = "questioner"
    before = [g[0] for g in _greedy(engine, role)]
    groups = [engine.generate(role, [p], 4, MAX_NEW)[0] for p in _prompts()[:2]]
    learner = RoleLearner(role, model, processor, group_size=4, steps=1, learning_rate=0.05,
                          max_completion_length=MAX_NEW, correct_sampler=True)
    weights = {n: p.detach().clone() for n, p in role_parameters(model, role).items()}
    logs = learner.learn([Group(p.messages, p.image, g, [1.0, 0.0, 0.0, 1.0])
                          for p, g in zip(_prompts()[:2], groups)], 0)
    assert "sampling/importance_sampling_ratio/mean" in logs  # TRL's correction ran on these rollouts
    assert any(not torch.equal(w, role_parameters(model, role)[n]) for n, w in weights.items())
    model.eval()
    stale = [g[0] for g in _greedy(engine, role)]
    engine.refresh(role)
    after = [g[0] for g in _greedy(engine, role)]
    peft = [g[0] for g in _peft_greedy(model, processor, role)]
    assert [s.completion_ids for s in stale] == [s.completion_ids for s in before]  # not refreshed: old adapter
    assert [s.completion_ids for s in after] == [s.completion_ids for s in peft]
    for x, y in zip(after, peft):
        assert torch.allclose(torch.tensor(x.logprobs), torch.tensor(y.logprobs), atol=1e-3)
    assert any(x.completion_ids != y.completion_ids
               or max(abs(a - b) for a, b in zip(x.logprobs, y.logprobs)) > 1e-3 for x, y in zip(before, after))

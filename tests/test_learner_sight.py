"""The learner can teach sight: GRPO through RoleLearner (real TRL, real PEFT adapters, the tiny model
from random initialisation) learns an answer that depends on the image, while the same answers given
with a blank grey image stay at chance.

The task is the smallest one that needs the image: the reward is 1 when the parity of the first
answer token matches the image's colour (red: even, blue: odd). A learner that mixed up samples and
rewards, trained the wrong adapter or dropped the image would leave the sighted reward at chance
(about 0.5), and a learner that learned a prior would raise the blind one with it.
"""

import pytest
import torch
from PIL import Image

from selfplay.config import ModelConfig
from selfplay.engine import HFEngine, Prompt
from selfplay.images import BLANK_GREY
from selfplay.learner import Group, RoleLearner
from selfplay.modeling import attach_role_adapters, load_model_and_processor

COLOURS = ((220, 20, 20), (20, 20, 220))  # item i shows COLOURS[i % 2]; its right parity is i % 2


def _parity_reward(sample, i: int) -> float:
    return 1.0 if sample.completion_ids and sample.completion_ids[0] % 2 == i % 2 else 0.0


def _mean_reward(engine, prompts, n: int) -> float:
    answers = engine.generate("answerer", prompts, n, 3)
    return sum(_parity_reward(s, i) for i, group in enumerate(answers) for s in group) / (len(prompts) * n)


@pytest.mark.slow
def test_grpo_teaches_an_answer_that_depends_on_the_image(tiny_qwen):
    torch.manual_seed(0)
    model, processor = load_model_and_processor(tiny_qwen, torch.float32)
    model = attach_role_adapters(model, ModelConfig())
    engine = HFEngine(model, processor)
    messages = [{"role": "user", "content": "Which colour is it?"}]
    sighted = [Prompt(messages, Image.new("RGB", (56, 56), COLOURS[i % 2])) for i in range(16)]
    blind = [Prompt(messages, Image.new("RGB", (56, 56), BLANK_GREY)) for _ in sighted]
    before, blind_before = _mean_reward(engine, sighted, 8), _mean_reward(engine, blind, 8)
    learner = RoleLearner("answerer", model, processor, group_size=4, steps=2, learning_rate=2e-3)
    for step in range(16):
        samples = engine.generate("answerer", sighted, 4, 3)
        learner.learn([Group(p.messages, p.image, s, [_parity_reward(x, i) for x in s])
                       for i, (p, s) in enumerate(zip(sighted, samples))], step)
    after, blind_after = _mean_reward(engine, sighted, 8), _mean_reward(engine, blind, 8)
    assert 0.35 < before < 0.65 and 0.35 < blind_before < 0.65  # chance before training
    assert after >= 0.75  # the reward GRPO maximises rose...
    assert 0.3 < blind_after < 0.7  # ...not through a prior: blind, the answer is still a coin toss
    assert after - blind_after >= 0.2

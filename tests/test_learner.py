"""The GRPO learner: real TRL GRPOTrainer, real PEFT adapters, on the tiny offline model."""

import pytest
import torch
from PIL import Image

from selfplay.config import ModelConfig
from selfplay.engine import HFEngine, Prompt
from selfplay.learner import Group, RoleLearner, recorded_reward
from selfplay.modeling import attach_role_adapters, load_model_and_processor, role_parameters


@pytest.fixture()
def pair(tiny_qwen):
    torch.manual_seed(0)
    model, processor = load_model_and_processor(tiny_qwen, torch.float32)
    return attach_role_adapters(model, ModelConfig()), processor


def _groups(model, processor, role, n_groups=2, group_size=4):
    engine = HFEngine(model, processor)
    images = [Image.new("RGB", (56, 56), colour) for colour in ((200, 0, 0), (0, 0, 200))][:n_groups]
    prompts = [Prompt([{"role": "user", "content": f"Ask about image {i}."}], im) for i, im in enumerate(images)]
    samples = engine.generate(role, prompts, group_size, max_new_tokens=6)
    return [Group(p.messages, p.image, s, [float(j) for j in range(group_size)]) for p, s in zip(prompts, samples)]


def _snapshot(model, role):
    return {n: p.detach().clone() for n, p in role_parameters(model, role).items()}


def _changed(before, model, role):
    now = role_parameters(model, role)
    return any(not torch.equal(before[n], now[n]) for n in before)


@pytest.mark.parametrize("role, other", [("questioner", "answerer"), ("answerer", "questioner")])
def test_only_the_active_adapter_changes(pair, role, other):
    model, processor = pair
    groups = _groups(model, processor, role)
    # LoRA B starts at zero, so the first step moves only B; the base model must never move.
    base = {n: p.detach().clone() for n, p in model.named_parameters() if "lora_" not in n}
    mine, theirs = _snapshot(model, role), _snapshot(model, other)
    learner = RoleLearner(role, model, processor, group_size=4, steps=2, learning_rate=1e-2)
    logged = learner.learn(groups, round_index=0)
    assert _changed(mine, model, role)
    assert not _changed(theirs, model, other)
    assert all(torch.equal(base[n], p) for n, p in model.named_parameters() if n in base)
    assert logged["reward"] == pytest.approx(1.5)  # mean of the recorded rewards 0..3
    # Adam state lives on across phases: step counts grow on a second call.
    learner.learn(groups, round_index=1)
    steps = [s["step"].item() for s in learner.optimizer.state.values()]
    assert steps and all(s == 4 for s in steps)


def test_a_round_that_kept_fewer_groups_than_steps_sees_each_group_once(pair):
    # 16 steps asked, 2 groups kept: 2 optimizer steps, not 16 passes over the same two groups
    model, processor = pair
    learner = RoleLearner("answerer", model, processor, group_size=4, steps=16, learning_rate=1e-2)
    assert learner.steps_for(2) == 2 and learner.steps_for(0) == 0
    learner.learn(_groups(model, processor, "answerer"), round_index=0)
    steps = [s["step"].item() for s in learner.optimizer.state.values()]
    assert steps and all(s == 2 for s in steps)


def test_flat_rewards_give_no_update(pair):
    model, processor = pair
    groups = _groups(model, processor, "questioner")
    for g in groups:
        g.rewards = [0.5] * len(g.rewards)
    before = _snapshot(model, "questioner")
    RoleLearner("questioner", model, processor, group_size=4, steps=1, learning_rate=1e-2,
                weight_decay=0.0).learn(groups, 0)
    assert not _changed(before, model, "questioner")


def test_kl_to_base_is_computed_when_beta_is_set(pair):
    model, processor = pair
    groups = _groups(model, processor, "answerer")
    learner = RoleLearner("answerer", model, processor, group_size=4, steps=1, learning_rate=1e-2, beta=0.1)
    # LoRA B starts at zero: before the first step the policy is the base model, so the KL is exactly 0.
    assert learner.learn(groups, 0)["kl"] == 0.0
    # That step moved the adapter away from the base: the next step sees a positive KL.
    assert learner.learn(groups, 1)["kl"] > 1e-6


def test_replay_hands_each_group_its_own_samples_in_order(pair, monkeypatch):
    """TRL's RepeatSampler must give each group's rows consecutively, so that replay_rollout can map
    the rows to the recorded samples; a distinct reward per sample shows which sample each row got."""
    from selfplay import learner as learner_module

    model, processor = pair
    groups = _groups(model, processor, "answerer")
    for i, g in enumerate(groups):
        g.rewards = [10.0 * i + j for j in range(len(g.rewards))]
    seen = []

    def recorded_reward(completions, recorded_reward, group, completion_ids, **kwargs):
        seen.append(list(zip(group, recorded_reward, completion_ids)))
        return [float(r) for r in recorded_reward]

    monkeypatch.setattr(learner_module, "recorded_reward", recorded_reward)
    RoleLearner("answerer", model, processor, group_size=4, steps=1, learning_rate=1e-2).learn(groups, 0)
    assert len(seen) == 1 and len(seen[0]) == 8  # one step over both groups
    rows = seen[0]
    drawn = [rows[k][0] for k in range(0, 8, 4)]
    assert sorted(drawn) == [0, 1]
    for k, index in enumerate(drawn):
        block = rows[4 * k:4 * k + 4]
        assert [r[0] for r in block] == [index] * 4
        assert [r[1] for r in block] == groups[index].rewards
        assert [list(r[2]) for r in block] == [s.completion_ids for s in groups[index].samples]


def test_recorded_reward_passes_values_through():
    assert recorded_reward(["x", "y"], recorded_reward=[1, -0.5]) == [1.0, -0.5]


def _seeded_pair(tiny_qwen):
    """The tiny model with both adapters, the answerer's B made non-zero (seeded) so every LoRA weight
    has a gradient on the first step."""
    torch.manual_seed(0)
    model, processor = load_model_and_processor(tiny_qwen, torch.float32)
    model = attach_role_adapters(model, ModelConfig())
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, p in role_parameters(model, "answerer").items():
            if "lora_B" in name:
                p.copy_(0.05 * torch.randn(p.shape, generator=generator))
    return model, processor


def _step(tiny_qwen, groups, micro_batch_sequences, steps=1, loss_type="dapo"):
    """One role's GRPO phase with plain SGD (the update is the gradient itself, so a wrongly scaled, lost or
    extra micro-batch moves the adapter elsewhere; Adam would hide a scale error); returns the answerer's
    weights after it and the batch size of every forward pass."""
    model, processor = _seeded_pair(tiny_qwen)
    learner = RoleLearner("answerer", model, processor, group_size=4, steps=steps, learning_rate=1.0,
                          max_grad_norm=1e9, loss_type=loss_type, micro_batch_sequences=micro_batch_sequences)
    learner.optimizer = torch.optim.SGD(list(role_parameters(model, "answerer").values()), lr=1.0)
    learner.scheduler = torch.optim.lr_scheduler.LambdaLR(learner.optimizer, lambda step: 1.0)
    passes = []
    hook = model.register_forward_pre_hook(lambda m, args, kwargs: passes.append(kwargs["input_ids"].shape[0]),
                                           with_kwargs=True)
    learner.learn(groups, round_index=0)
    hook.remove()
    return _snapshot(model, "answerer"), passes


@pytest.mark.parametrize("loss_type", ["dapo", "grpo"])
def test_a_micro_batched_step_is_the_whole_step(tiny_qwen, loss_type):
    """Four groups of four answers in one GRPO step: as one pass of 16 sequences, or as 4 accumulated
    micro-batches of 4 (the adapter must land in the same place), or as 4 optimizer steps (it must not)."""
    model, processor = _seeded_pair(tiny_qwen)
    engine = HFEngine(model, processor)
    colours = ((200, 0, 0), (0, 0, 200), (0, 160, 0), (220, 220, 0))
    prompts = [Prompt([{"role": "user", "content": f"What colour is image {i}?"}], Image.new("RGB", (56, 56), c))
               for i, c in enumerate(colours)]
    samples = engine.generate("answerer", prompts, 4, max_new_tokens=6)
    rewards = [[1.0, 0.0, 0.0, 0.5], [0.0, 1.0, 1.0, 0.0], [0.2, 0.9, 0.4, 0.1], [1.0, 1.0, 0.0, 0.3]]
    groups = [Group(p.messages, p.image, s, r) for p, s, r in zip(prompts, samples, rewards)]
    before = _snapshot(model, "answerer")

    whole, whole_passes = _step(tiny_qwen, groups, micro_batch_sequences=16, loss_type=loss_type)
    micro, micro_passes = _step(tiny_qwen, groups, micro_batch_sequences=4, loss_type=loss_type)
    separate, _ = _step(tiny_qwen, groups, micro_batch_sequences=4, steps=4, loss_type=loss_type)
    assert whole_passes == [16] and micro_passes == [4, 4, 4, 4]
    moved = max((whole[n] - before[n]).abs().max().item() for n in before)
    assert moved > 1e-3, "the step hardly moved the adapter; the comparison would be vacuous"
    for name in before:
        torch.testing.assert_close(micro[name], whole[name], rtol=0, atol=1e-6 * max(moved, 1.0))
    assert max((separate[n] - whole[n]).abs().max().item() for n in before) > 0.1 * moved


TOWER_AND_LANGUAGE = r".*(q_proj|v_proj|qkv)$"  # the language layers' attention and the vision blocks' qkv


def _lora_b(model, role, in_tower):
    return {n: p.detach().clone() for n, p in role_parameters(model, role).items()
            if "lora_B" in n and (".visual." in n) == in_tower}


def _largest_move(before, model):
    now = dict(model.named_parameters())
    return max((now[n] - p).abs().max().item() for n, p in before.items())


def test_the_vision_tower_learns_at_its_own_rate(tiny_qwen):
    torch.manual_seed(0)
    model, processor = load_model_and_processor(tiny_qwen, torch.float32)
    model = attach_role_adapters(model, ModelConfig(lora_target_modules=TOWER_AND_LANGUAGE))
    groups = _groups(model, processor, "answerer")
    tower, language = _lora_b(model, "answerer", True), _lora_b(model, "answerer", False)
    assert tower and language
    learner = RoleLearner("answerer", model, processor, group_size=4, steps=1, learning_rate=1e-6,
                          vision_learning_rate=1e-2)
    assert [g["lr"] for g in learner.optimizer.param_groups] == [1e-6, 1e-2]
    learner.learn(groups, round_index=0)
    # Adam's first step moves each weight by about its group's rate (LoRA A waits for B to leave zero)
    assert 1e-3 < _largest_move(tower, model) <= 1.01e-2
    assert _largest_move(language, model) <= 1.01e-6


def test_a_vision_rate_without_tower_adapters_is_refused(pair):
    model, processor = pair  # ModelConfig's default targets: the language layers only
    with pytest.raises(ValueError, match="train.vision_learning_rate"):
        RoleLearner("answerer", model, processor, group_size=4, steps=1, learning_rate=1e-3,
                    vision_learning_rate=1e-2)


def test_resuming_takes_this_runs_rates_and_the_saved_moments(tiny_qwen):
    torch.manual_seed(0)
    model, processor = load_model_and_processor(tiny_qwen, torch.float32)
    model = attach_role_adapters(model, ModelConfig(lora_target_modules=TOWER_AND_LANGUAGE))
    saved = RoleLearner("answerer", model, processor, group_size=4, steps=1, learning_rate=1e-3)
    saved.learn(_groups(model, processor, "answerer"), round_index=0)
    resumed = RoleLearner("answerer", model, processor, group_size=4, steps=1, learning_rate=2e-3,
                          vision_learning_rate=8e-3)
    resumed.load_state_dict(saved.state_dict())
    assert [g["lr"] for g in resumed.optimizer.param_groups] == [2e-3, 8e-3]
    assert resumed.scheduler.base_lrs == [2e-3, 8e-3]
    steps = [s["step"].item() for s in resumed.optimizer.state.values()]
    assert steps and all(s == 1 for s in steps)

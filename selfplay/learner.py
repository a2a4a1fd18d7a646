"""GRPO for one role at a time, with TRL's GRPOTrainer on rollouts the round already played.

The round samples and scores before anything learns (data -> rollout -> reward -> update), so the
trainer must not sample again. Its `rollout_func` therefore replays the recorded groups: for the
rows the trainer drew, it returns the recorded prompt ids, completion ids and sampling log-probs,
and the recorded rewards reach TRL through an extra field read by `recorded_reward`. Everything
else, advantages, the loss, clipping, the KL to the adapter-free base, is TRL's.

Each role owns an AdamW over its own adapter, passed to a new GRPOTrainer every phase, so Adam
state carries across rounds while the other adapter stays frozen. Where the adapter reaches the
vision tower, its weights there are a second parameter group with their own rate
(`train.vision_learning_rate`).

A step's groups are replayed as one generation batch (TRL's `steps_per_generation` equals its
`gradient_accumulation_steps`), so the rollout sees whole groups and the advantages are those of the
whole step; the forward and backward passes then run in micro-batches whose gradients accumulate
into one optimizer step (`step_plan`). Memory is set by the micro-batch, not by how many groups a
round kept.
"""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass

import torch
from PIL import Image

from .config import in_vision_tower
from .engine import Sample
from .modeling import role_parameters

os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")


@dataclass
class Group:
    """One GRPO group: a prompt, its sampled completions and their rewards."""
    messages: list[dict]
    image: Image.Image | None
    samples: list[Sample]
    rewards: list[float]


def recorded_reward(completions, recorded_reward, **kwargs) -> list[float]:
    """Reward computed by the round (rewards/), handed through unchanged.

    Example:
        >>> recorded_reward(["a", "b"], recorded_reward=[0.5, -1.0])
        [0.5, -1.0]
    """
    return [float(r) for r in recorded_reward]


def _replay_trainer_class():
    from trl import GRPOTrainer

    class ReplayGRPOTrainer(GRPOTrainer):
        """GRPOTrainer that lets `rollout_func` see which dataset rows it is answering for, and applies TRL's
        vLLM importance-sampling correction to rollouts another sampler made (`correct_sampler`)."""

        def __init__(self, *args, correct_sampler: bool = False, **kwargs):
            super().__init__(*args, **kwargs)
            if correct_sampler:
                # TRL gates the correction on `use_vllm`, which at construction would also start a vLLM of
                # its own. Raised afterwards, it only turns the correction on: the rollout path then calls
                # nothing of vLLM but `sync_weights`, and our engine syncs adapters itself (refresh).
                self.use_vllm = True
                self.vllm_generation = _AdaptersSyncedByEngine()
                self._last_loaded_step = -1

        def _generate_and_score_completions(self, inputs):
            self.current_rows = inputs
            return super()._generate_and_score_completions(inputs)

    return ReplayGRPOTrainer


class _AdaptersSyncedByEngine:
    """What TRL's rollout path calls on its vLLM before sampling; the rollouts here are already recorded."""

    def sync_weights(self) -> None:
        pass


def replay_rollout(groups: list[Group], group_size: int):
    """A rollout_func returning the recorded samples of the rows the trainer drew."""

    def rollout(prompts, trainer) -> dict:
        rows = trainer.current_rows
        out = {"prompt_ids": [], "completion_ids": [], "logprobs": [], "recorded_reward": []}
        previous, position = None, 0
        for row in rows:
            index = row["group"]
            position = position + 1 if index == previous else 0
            previous = index
            group = groups[index]
            sample = group.samples[position % group_size]
            out["prompt_ids"].append(sample.prompt_ids)
            out["completion_ids"].append(sample.completion_ids)
            out["logprobs"].append(sample.logprobs)
            out["recorded_reward"].append(group.rewards[position % group_size])
        return out

    return rollout


def micro_batch_size(step_sequences: int, most: int) -> int:
    """Sequences per forward and backward pass: the largest divisor of a step's sequences up to `most`.

    TRL cuts a step's generation batch into equal micro-batches (its split drops a remainder), so a
    micro-batch must divide the step: 52 sequences at most 16 at a time run as 4 x 13.

    Example:
        >>> micro_batch_size(256, 64), micro_batch_size(52, 16), micro_batch_size(8, 100), micro_batch_size(26, 12)
        (64, 13, 8, 2)
    """
    return max(d for d in range(1, min(step_sequences, most) + 1) if step_sequences % d == 0)


def step_plan(groups: int, group_size: int, steps: int, world_size: int, most: int) -> tuple[int, int, int, int]:
    """(optimizer steps, groups per process per step, sequences per micro-batch, micro-batches per step).

    A round's groups are spread over at most `steps` optimizer steps and `world_size` processes, and
    seen once: where a round kept fewer groups than that many steps would take, it takes fewer steps,
    steps = ceil(groups / (per_device * world_size)). Each process's share of a step runs in
    micro-batches of at most `most` sequences.

    Why: the trainer runs every step it is given, going round the groups again when they run out; on
    images alone a round that kept 2 groups trained on them 8 times over at the full learning rate,
    and the answerer's answers left their form (scan, rounds 15-20, stop 41).

    Example:
        >>> step_plan(groups=64, group_size=8, steps=2, world_size=1, most=64)  # 256 sequences a step, 4 x 64
        (2, 32, 64, 4)
        >>> step_plan(groups=5, group_size=4, steps=2, world_size=1, most=64)  # one micro-batch, as before
        (2, 3, 12, 1)
        >>> step_plan(groups=2, group_size=4, steps=16, world_size=1, most=64)  # 2 groups: 2 steps, not 16
        (2, 1, 4, 1)
    """
    per_device = math.ceil(groups / (steps * world_size))
    micro = micro_batch_size(per_device * group_size, most)
    return math.ceil(groups / (per_device * world_size)), per_device, micro, per_device * group_size // micro


class RoleLearner:
    """Runs `steps` GRPO updates of one role's adapter on the groups of a round."""

    def __init__(self, role: str, model, processor, *, group_size: int, steps: int, learning_rate: float,
                 vision_learning_rate: float = 0.0, weight_decay: float = 0.0, max_grad_norm: float = 1.0,
                 beta: float = 0.0, loss_type: str = "dapo", max_completion_length: int = 32,
                 gradient_checkpointing: bool = False, micro_batch_sequences: int = 64, world_size: int = 1, seed: int = 0,
                 correct_sampler: bool = False, tracker=None):
        self.role, self.model, self.processor, self.tracker = role, model, processor, tracker
        self.group_size, self.steps, self.world_size = group_size, steps, world_size
        self.beta, self.loss_type, self.seed = beta, loss_type, seed
        self.correct_sampler = correct_sampler
        self.max_grad_norm, self.learning_rate = max_grad_norm, learning_rate
        self.max_completion_length, self.gradient_checkpointing = max_completion_length, gradient_checkpointing
        self.micro_batch_sequences = micro_batch_sequences
        named = role_parameters(model, role)
        if not named:
            raise ValueError(f"model has no adapter named {role!r}")
        tower = [p for name, p in named.items() if in_vision_tower(name)]
        if vision_learning_rate and not tower:
            raise ValueError("train.vision_learning_rate is set, but model.lora_target_modules reaches no module "
                             "of the vision tower: target its layers too, or leave the option at 0")
        language = [p for name, p in named.items() if not in_vision_tower(name)]
        self.rates = [learning_rate] * bool(language) + [vision_learning_rate or learning_rate] * bool(tower)
        groups = [{"params": ps, "lr": lr} for ps, lr in zip([ps for ps in (language, tower) if ps], self.rates)]
        self.optimizer = torch.optim.AdamW(groups, lr=learning_rate, weight_decay=weight_decay)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lambda step: 1.0)
        self._scratch = tempfile.TemporaryDirectory(prefix=f"selfplay-{role}-")

    def steps_for(self, groups: int) -> int:
        """The optimizer steps `learn` takes on `groups` groups: `steps`, or fewer where one pass needs fewer."""
        return step_plan(groups, self.group_size, self.steps, self.world_size, self.micro_batch_sequences)[0] if (
            groups and self.steps) else 0

    def learn(self, groups: list[Group], round_index: int) -> dict[str, float]:
        """GRPO updates on the round's groups; returns TRL's logged figures averaged over the steps."""
        if self.steps == 0 or not groups:
            return {}
        from datasets import Dataset
        from transformers import PrinterCallback
        from trl import GRPOConfig

        from .progress import training_progress

        steps, _, micro, accumulation = step_plan(len(groups), self.group_size, self.steps, self.world_size,
                                                  self.micro_batch_sequences)
        rows = [{"prompt": g.messages, "group": i} for i, g in enumerate(groups)]
        if groups[0].image is not None:
            for row, g in zip(rows, groups):
                row["image"] = g.image
        args = GRPOConfig(
            output_dir=self._scratch.name,
            per_device_train_batch_size=micro,
            gradient_accumulation_steps=accumulation,  # one generation batch (the step's groups) per optimizer step
            num_generations=self.group_size,
            max_steps=steps,
            learning_rate=self.learning_rate,
            max_grad_norm=self.max_grad_norm,
            loss_type=self.loss_type,
            beta=0.0,  # set below: TRL looks for an adapter named "default" when a PeftModel comes with beta != 0
            max_completion_length=self.max_completion_length,
            gradient_checkpointing=self.gradient_checkpointing,
            logging_steps=1,
            save_strategy="no",
            report_to="none",  # TRL's logs reach the run's trackers through self.tracker's callback
            disable_tqdm=True,  # the round's learn phase shows the steps
            seed=self.seed + round_index,
            bf16=next(self.model.parameters()).dtype == torch.bfloat16,
            remove_unused_columns=False,
            dataloader_pin_memory=False,
            use_cpu=self.model.device.type == "cpu",
        )
        self.model.set_adapter(self.role)
        trainer = _replay_trainer_class()(
            model=self.model,
            reward_funcs=[recorded_reward],
            args=args,
            train_dataset=Dataset.from_list(rows),
            processing_class=self.processor,
            rollout_func=replay_rollout(groups, self.group_size),
            optimizers=(self.optimizer, self.scheduler),
            correct_sampler=self.correct_sampler,
            callbacks=[training_progress()] + ([self.tracker.trainer_callback(self.role, round_index)]
                                               if self.tracker else []),
        )
        trainer.remove_callback(PrinterCallback)  # the round logs its own progress
        # With adapters disabled the PeftModel is the base model: TRL then takes it as the KL reference.
        trainer.beta = self.beta
        trainer.train()
        logs = [entry for entry in trainer.state.log_history if "loss" in entry]
        del trainer
        keys = {k for entry in logs for k, v in entry.items() if isinstance(v, (int, float))}
        return {k: sum(e.get(k, 0.0) for e in logs) / len(logs) for k in sorted(keys)} if logs else {}

    def state_dict(self) -> dict:
        return {"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        """Adam's moments and step counts from `state`; the rates are this run's, so a rate changed
        between a run and its resumption takes effect (the saved ones would otherwise win)."""
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        for group, rate in zip(self.optimizer.param_groups, self.rates):
            group["lr"] = group["initial_lr"] = rate
        self.scheduler.base_lrs = list(self.rates)

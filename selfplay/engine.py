"""Rollout engines: sample completions for one role's adapter, batched.

The round only talks to `RolloutEngine`: `generate`, `release` before the roles learn and
`refresh(role)` after one has. `HFEngine` runs transformers' `generate` on the PeftModel that is being
trained (nothing to release or refresh); `VLLMEngine` (selfplay/vllm_engine.py) serves both adapters
from one vLLM engine; `selfplay.runner.make_engine` is the one place the config's `engine` is read,
and GameConfig the one place the sampling defaults are written.
Prompts are rendered exactly as TRL's GRPOTrainer renders them, so the prompt ids an engine returns
are the ones the learner scores.
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Protocol

import torch
from PIL import Image

from .config import GameConfig
from .progress import advance


@dataclass
class Prompt:
    """A conversational prompt with string contents and the image shown before the user text, if any."""
    messages: list[dict]
    image: Image.Image | None


@dataclass
class Sample:
    text: str
    prompt_ids: list[int]
    completion_ids: list[int]
    logprobs: list[float]


def written_sample(sample: Sample, text: str, processor) -> Sample:
    """`sample` with its completion replaced by `text`, ended as the sample ended (its end-of-turn token)
    or, where the sample ran out of length, by the tokenizer's end of text. Its sampling log-probs are 0
    because nobody sampled it: TRL's sampler correction (engine vllm) would weigh it by the model's own
    probability of it, so the config refuses that pair."""
    tokenizer = getattr(processor, "tokenizer", processor)
    last = sample.completion_ids[-1] if sample.completion_ids else None
    end = last if last in tokenizer.all_special_ids else tokenizer.eos_token_id
    ids = tokenizer.encode(text, add_special_tokens=False) + [end]
    return Sample(text, sample.prompt_ids, ids, [0.0] * len(ids))


@dataclass
class GenerationStats:
    calls: int = 0
    sequences: int = 0
    seconds: float = 0.0


class RolloutEngine(Protocol):
    stats: GenerationStats

    def generate(self, role: str | None, prompts: list[Prompt], n: int, max_new_tokens: int) -> list[list[Sample]]:
        """n samples per prompt from the adapter of `role` (None: the adapter-free base)."""

    def release(self) -> None:
        """The round's sampling is over and the roles learn next: free what generation holds."""

    def refresh(self, role: str) -> None:
        """`role`'s adapter changed in the model (it learned, or a checkpoint was loaded): sample from it now."""


def render_prompt(messages: list[dict], image: Image.Image | None, processor) -> str:
    """The prompt text TRL's GRPOTrainer builds for the same dataset row."""
    from trl.data_utils import apply_chat_template, prepare_multimodal_messages

    if image is not None:
        messages = prepare_multimodal_messages(messages, images=[image])
    return apply_chat_template({"prompt": messages}, processor)["prompt"]


class HFEngine:
    """transformers `generate` on the live PeftModel, in as few calls as `max_sequences` allows."""

    def __init__(self, model, processor, *, temperature: float = GameConfig.temperature,
                 top_p: float = GameConfig.top_p, top_k: int = GameConfig.top_k,
                 max_sequences: int = GameConfig.generation_batch_size):
        self.model = model
        self.processor = processor
        self.temperature = temperature
        self.top_p = top_p
        self.top_k = top_k
        self.max_sequences = max_sequences
        self.stats = GenerationStats()
        self.eos_ids = set(_as_list(model.generation_config.eos_token_id))
        # Markup tokens (image pads, turn markers) in a completion would break the learner's forward
        # pass (image tokens without image features): only end-of-sequence tokens may be special.
        self.suppressed = sorted(set(processor.tokenizer.all_special_ids) - self.eos_ids)

    def generate(self, role: str | None, prompts: list[Prompt], n: int, max_new_tokens: int) -> list[list[Sample]]:
        results: list[list[Sample] | None] = [None] * len(prompts)
        # Prompts with and without an image cannot share one processor call.
        for with_image in (True, False):
            index = [i for i, p in enumerate(prompts) if (p.image is not None) == with_image]
            per_call = max(1, self.max_sequences // n)
            for start in range(0, len(index), per_call):
                chunk = index[start:start + per_call]
                for i, samples in zip(chunk, self._generate_chunk(role, [prompts[i] for i in chunk], n,
                                                                  max_new_tokens)):
                    results[i] = samples
                advance(len(chunk))
        return results  # type: ignore[return-value]

    def release(self) -> None:
        """Nothing to free: generation runs on the model being trained."""

    def refresh(self, role: str) -> None:
        """Nothing to copy: generation reads the live adapters."""

    @torch.no_grad()
    def _generate_chunk(self, role, prompts: list[Prompt], n: int, max_new_tokens: int) -> list[list[Sample]]:
        started = time.perf_counter()
        texts = [render_prompt(p.messages, p.image, self.processor) for p in prompts]
        images = [p.image for p in prompts] if prompts[0].image is not None else None
        inputs = self.processor(text=texts, images=images, padding=True, return_tensors="pt")
        inputs = inputs.to(self.model.device)
        was_training = self.model.training
        self.model.eval()
        try:
            with _adapter(self.model, role):
                # Only the configured temperature, top_p and top_k shape the samples: a checkpoint's
                # generation_config (Qwen2-VL's says top_k 1, repetition_penalty 1.05) would otherwise
                # make every sample the greedy one and renormalise the recorded log-probs.
                sampling = dict(do_sample=True, temperature=self.temperature, top_p=self.top_p, top_k=self.top_k,
                                repetition_penalty=1.0) \
                    if self.temperature > 0 else dict(do_sample=False)  # temperature 0: greedy
                out = self.model.generate(
                    **inputs, **sampling,
                    num_return_sequences=n, max_new_tokens=max_new_tokens, suppress_tokens=self.suppressed,
                    output_scores=True, return_dict_in_generate=True,
                    pad_token_id=self.processor.tokenizer.pad_token_id,
                )
        finally:
            self.model.train(was_training)
        logprobs = self.model.compute_transition_scores(out.sequences, out.scores, normalize_logits=True)
        prompt_len = inputs["input_ids"].shape[1]
        completions = out.sequences[:, prompt_len:]
        samples: list[list[Sample]] = []
        for i in range(len(prompts)):
            mask = inputs["attention_mask"][i].bool()
            prompt_ids = inputs["input_ids"][i][mask].tolist()
            group = []
            for j in range(n):
                row = i * n + j
                ids = completions[row].tolist()
                end = next((k + 1 for k, t in enumerate(ids) if t in self.eos_ids), len(ids))
                ids = ids[:end]
                text = self.processor.tokenizer.decode(ids, skip_special_tokens=True)
                group.append(Sample(text, prompt_ids, ids, logprobs[row, :end].float().tolist()))
            samples.append(group)
        elapsed = time.perf_counter() - started
        self.stats.calls += 1
        self.stats.sequences += len(prompts) * n
        self.stats.seconds += elapsed
        return samples


def _as_list(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _adapter(model, role: str | None):
    """Run with one role's adapter active; with role None, with adapters disabled (the base model)."""
    if role is not None:
        model.set_adapter(role)
        return nullcontext()
    return model.disable_adapter() if hasattr(model, "disable_adapter") else nullcontext()

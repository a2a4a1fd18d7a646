"""The vLLM rollout engine: one vLLM `LLM` holds the backbone once and serves both roles' adapters.

Rollouts are most of an RL round's time on a GPU; vLLM batches and schedules them far better than
transformers' `generate`. vLLM loads a LoRA adapter only from a folder and caches it by id, so
`refresh(role)` writes the role's current adapter (from the PeftModel the learner trains) to a new
folder served under a new id; the round calls it after the role learns, the runner after a resume.
Each request names its own adapter, so prompts of both roles can share one `generate` call
(`generate_batch`).

Sampling matches `HFEngine`: the same temperature, top_p, top_k, token budget, end-of-sequence tokens and
the same suppressed markup tokens (every special token but EOS), and prompts rendered as TRL renders
them, so the learner scores the very tokens vLLM sampled. vLLM's log-probs differ slightly from the
trainer's (other kernels), so the learner turns on TRL's importance-sampling correction for these
rollouts; they are taken after temperature and the token mask (`logprobs_mode="processed_logprobs"`),
as TRL's correction expects.

Imported only for `engine: vllm`: the HF path never imports vllm.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

import torch

from .config import VLLMConfig, in_vision_tower
from .engine import GenerationStats, Prompt, Sample, render_prompt
from .modeling import ROLES
from .progress import advance

log = logging.getLogger("selfplay.vllm")


class VLLMEngine:
    """Both roles' LoRA adapters, and the adapter-free base, sampled from one vLLM engine."""

    def __init__(self, model, processor, model_path: str | Path, cfg: VLLMConfig, *, temperature: float,
                 top_p: float, top_k: int, max_sequences: int, seed: int):
        from vllm import LLM

        self.model, self.processor = model, processor
        self.temperature, self.top_p = temperature, top_p
        self.top_k = top_k if top_k > 0 else -1  # vLLM's "all tokens"
        self.stats = GenerationStats()
        tower = sorted({name.split(".lora_")[0] for name, _ in model.named_parameters()
                        if ".lora_" in name and in_vision_tower(name)})
        if tower:
            raise ValueError(f"model.lora_target_modules: adapters on the vision tower ({tower[0]}, ...); vLLM "
                             "serves adapters on the language model only")
        on_gpu = torch.cuda.is_available()
        if not on_gpu:
            # vLLM's CPU backend sizes its KV cache from this variable only, read when the engine starts.
            os.environ["VLLM_CPU_KVCACHE_SPACE"] = str(cfg.cpu_kv_cache_gib)
        self.sleeps = cfg.enable_sleep_mode and on_gpu
        if cfg.enable_sleep_mode and not on_gpu:
            log.info("vllm: sleep mode is CUDA only; off on CPU")
        tokenizer = processor.tokenizer
        eos = model.generation_config.eos_token_id
        self.eos_ids = sorted(set(eos if isinstance(eos, (list, tuple)) else [eos]) - {None})
        # HFEngine's suppress_tokens, as an allow-list: markup tokens (image pads, turn markers) in a
        # completion would break the learner's forward pass; only end-of-sequence tokens may be special.
        suppressed = set(tokenizer.all_special_ids) - set(self.eos_ids)
        self.allowed_ids = [i for i in range(len(tokenizer)) if i not in suppressed]
        dtype = str(next(model.parameters()).dtype).removeprefix("torch.")
        started = time.perf_counter()
        self.llm = LLM(
            model=str(model_path), dtype=dtype, seed=seed,
            enable_lora=True, max_loras=len(ROLES), max_lora_rank=cfg.max_lora_rank,
            gpu_memory_utilization=cfg.gpu_memory_utilization, tensor_parallel_size=cfg.tensor_parallel_size,
            max_model_len=cfg.max_model_len or None, max_num_seqs=max_sequences, enforce_eager=cfg.enforce_eager,
            enable_sleep_mode=self.sleeps, logprobs_mode="processed_logprobs",
            limit_mm_per_prompt={"image": 1, "video": 0},
        )
        log.info("vllm: engine up in %.1fs (%s, LoRA rank <= %d, sleep mode %s)", time.perf_counter() - started,
                 "GPU" if on_gpu else "CPU", cfg.max_lora_rank, "on" if self.sleeps else "off")
        self.asleep = False
        self._folders = tempfile.TemporaryDirectory(prefix="selfplay-vllm-adapters-")
        self.lora_requests: dict = {}
        self._version = 0
        for role in ROLES:
            self.refresh(role)

    def refresh(self, role: str) -> None:
        """Serve `role`'s adapter as it is now in the model: written to a new folder under a new id."""
        from vllm.lora.request import LoRARequest

        self._version += 1
        folder = Path(self._folders.name) / f"v{self._version}"
        self.model.save_pretrained(folder, selected_adapters=[role])
        old = self.lora_requests.get(role)
        self.lora_requests[role] = LoRARequest(f"{role}-v{self._version}", self._version, str(folder / role))
        if old is not None:  # never requested again: vLLM evicts it from its cache in time
            shutil.rmtree(Path(old.lora_path).parent, ignore_errors=True)

    def release(self) -> None:
        """Before the roles learn: with sleep mode, give vLLM's GPU memory (weights, KV cache) back."""
        if self.sleeps and not self.asleep:
            self.llm.sleep(level=1)
            self.asleep = True

    def generate(self, role: str | None, prompts: list[Prompt], n: int, max_new_tokens: int) -> list[list[Sample]]:
        """n samples per prompt from the adapter of `role` (None: the adapter-free base)."""
        return self.generate_batch([(role, prompts, n, max_new_tokens)])[0]

    def generate_batch(self, calls: list[tuple[str | None, list[Prompt], int, int]]) -> list[list[list[Sample]]]:
        """Several (role, prompts, n, max_new_tokens) calls in one vLLM `generate`, each request with its adapter."""
        from vllm import SamplingParams

        if self.asleep:
            self.llm.wake_up()
            self.asleep = False
        started = time.perf_counter()
        requests, params, loras = [], [], []
        for role, prompts, n, max_new_tokens in calls:
            sampling = SamplingParams(n=n, temperature=self.temperature, top_p=self.top_p, top_k=self.top_k,
                                      max_tokens=max_new_tokens,
                                      logprobs=0, allowed_token_ids=self.allowed_ids, stop_token_ids=self.eos_ids,
                                      detokenize=False)
            for prompt in prompts:
                request = {"prompt": render_prompt(prompt.messages, prompt.image, self.processor)}
                if prompt.image is not None:
                    request["multi_modal_data"] = {"image": prompt.image}
                requests.append(request)
                params.append(sampling)
                loras.append(self.lora_requests[role] if role is not None else None)
        outputs = iter(self.llm.generate(requests, params, lora_request=loras, use_tqdm=False) if requests else [])
        results = []
        for _, prompts, n, _ in calls:
            results.append([self._samples(next(outputs)) for _ in prompts])
            advance(len(prompts))
        self.stats.calls += 1
        self.stats.sequences += sum(len(prompts) * n for _, prompts, n, _ in calls)
        self.stats.seconds += time.perf_counter() - started
        return results

    def _samples(self, output) -> list[Sample]:
        prompt_ids = list(output.prompt_token_ids)
        samples = []
        for completion in output.outputs:
            ids = list(completion.token_ids)
            # logprobs=0: each position holds the sampled token's log-prob (and no other token's)
            logprobs = [position[token].logprob for position, token in zip(completion.logprobs, ids)]
            text = self.processor.tokenizer.decode(ids, skip_special_tokens=True)
            samples.append(Sample(text, prompt_ids, ids, logprobs))
        return samples

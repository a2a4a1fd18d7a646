"""The one typed configuration of a self-play run: every key, its default, its help text, and the
combinations that cannot work.

Every field carries its help text, so `python selfplay/run.py --help` documents itself
(selfplay/config_parser.py reads YAML and the command line into it). An impossible combination
stops the run before anything is loaded, with a message that names the key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from roles.formats import ANSWER_TYPES
from roles.questioner import QUESTION_FOCUS

from .images import BLIND_MODES

BUILTIN_PREFIX = "builtin:"


class ConfigError(ValueError):
    """A configuration problem, always naming the offending key."""


def _f(default: Any, help: str, choices: tuple | None = None) -> Any:
    meta = {"help": help}
    if choices:
        meta["choices"] = choices
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class ModelConfig:
    path: str = _f("builtin:shapes-qwen2_vl", "Checkpoint folder loaded with AutoModelForImageTextToText, or a "
                   "model built offline: builtin:tiny-<family> (random weights; family qwen2_vl, qwen2_5_vl, "
                   "llava, qwen3_vl or qwen3_5) or builtin:shapes-<family> (that model warm-started on the shapes "
                   "world).")
    dtype: str = _f("auto", "Weights dtype: auto (bf16 on CUDA, fp32 on CPU), float32, bfloat16 or float16; float16 "
                    "for a GPU without bf16.",
                    ("auto", "float32", "bfloat16", "float16"))
    trust_remote_code: bool = _f(False, "Allow code shipped inside the checkpoint folder to run: only for a family "
                                 "transformers does not ship, from a source you trust.")
    lora_rank: int = _f(8, "LoRA rank of both role adapters: 64 for 3B-7B checkpoints (the GPU presets).")
    lora_alpha: int = _f(16, "LoRA alpha of both role adapters: keep it at twice the rank.")
    lora_dropout: float = _f(0.0, "LoRA dropout: 0.05-0.1 if the answerer overfits a small data set.")
    # The one place that knows the families' layer names: q/k/v/o are the softmax-attention projections of
    # every family here; in_proj_qkv, in_proj_z and out_proj those of Qwen3.5's linear-attention layers
    # (three in four of its language layers), which q/k/v/o alone would leave untrained.
    lora_target_modules: str = _f(r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj|in_proj_qkv|in_proj_z|"
                                  r"out_proj)",
                                  "Regex over module names the adapters attach to (language layers only: "
                                  "vision-tower LoRA is experimental in vLLM). The default hits the attention "
                                  "of every language layer of Qwen2-VL, Qwen2.5-VL, Qwen3-VL, Qwen3.5 and "
                                  "LLaVA.")
    max_pixels: int = _f(56 * 56, "Pixel budget: images are downscaled so that width*height fits; raise it for fine "
                   "findings or small objects, at the cost of more image tokens. The checkpoint's own image "
                   "processor may cap it lower (the tiny shapes models at 56 x 56); the run then warns.")
    min_pixels: int = _f(56 * 56, "Images smaller than this are upscaled (0 to leave them): small chips below the "
                   "model's patch grid.")


@dataclass
class DataConfig:
    source: str = _f("builtin:shapes-scan", "JSONL manifest, imagefolder with metadata.jsonl, or a shapes-world "
                     "domain built offline: builtin:shapes-<source|scan|aerial>.")
    require_text: bool = _f(False, "Treat items without paired text as bad: on when every item should have a report "
                         "or caption, so a broken pairing shows.")
    max_bad_share: float = _f(0.1, "Stop when more than this share of items is unreadable: lower it to catch a "
                          "broken export early.")
    max_image_pixels: int = _f(89_478_485, "Images above this many pixels are skipped as decompression bombs: raise "
                             "it for whole-slide or full-scene images you trust.")
    labels: str = _f("", "Ground-truth QA file (rows with id, question, answer) for game.mode supervised only.")


@dataclass
class GameConfig:
    mode: str = _f("selfplay", "selfplay: the questioner asks; supervised: questions and answers come from "
                   "data.labels instead, and every one trains the answerer towards its label, unbalanced (the "
                   "upper-bound baseline at the same budget; only the answerer learns).",
                   ("selfplay", "supervised"))
    rounds: int = _f(10, "Self-play rounds to run (raise it and pass --resume to go on from the last).")
    items_per_round: int = _f(16, "Image-text items each round plays (over all processes): with more GPUs, raise it "
                              "and the train.*_steps with it.")
    questions_per_item: int = _f(4, "G: questioner candidates sampled per item (its GRPO group): larger groups give "
                                 "steadier advantages, at G times the answers.")
    answers_per_question: int = _f(4, "K: answerer samples per question (its GRPO group) and the silver label's "
                                   "voters: 8-10 on GPU, as R-Zero and VisPlay.")
    blind_answers: int = _f(2, "Answers per question given without seeing the image: the questioner's blind "
                            "penalty, and the check that a silver label (items without text) needs the image. 0 "
                            "turns both off, and then no silver label trains the answerer.")
    cover_named_choices: bool = _f(False, "Where a question ends 'X or Y?' with a short-phrase answer and no sampled "
                                   "answer gives one of the two, the last answers give way to it (selfplay.round."
                                   "choices_to_cover): GRPO can only reinforce what is sampled, and a word the answerer "
                                   "never says is never learned. Written answers never vote for a silver label; they "
                                   "count where a group must split on a label or a text-stated reference. HF engine "
                                   "only.")
    cover_reference: bool = _f(False, "Where no sampled answer gives a question's reference and the reference is "
                               "backed (a ground-truth label, or a clause of the paired text states it), the last "
                               "answer gives way to it, as for cover_named_choices: a group all wrong has no "
                               "advantage, so an answer the answerer never samples is never learned, whatever the "
                               "text says. HF engine only.")
    text_questions: bool = _f(False, "Where no candidate of an item has a reference its text states, the last one "
                              "gives way to a question written from the text, a named choice, an existence or a count "
                              "('Is the mass bright or dark?' -> 'dark' from 'a dark mass'; rewards.written): the "
                              "questioner's counterpart of cover_named_choices. HF engine only.")
    blind_mode: str = _f("blank", "How the answerer is blinded: a blank grey image (the same prompt, no content), or "
                         "no image at all (for a model that reads a blank image as a finding).",
                         BLIND_MODES)
    borrowed_questions: int = _f(4, "Per item, questions the questioner asked about the round's other items. With "
                                 "paired text, this item's text answers them: 'yes' where a clause states it, 'no' "
                                 "(or '0' for a count) where it never names it (rewards.grounding.text_answer): the "
                                 "negatives a caption-reading questioner never asks for. Without text the answerers' "
                                 "majority is the target, and balancing by question keeps one only where it differs "
                                 "from image to image.")
    answer_types: list = _f(list(ANSWER_TYPES), f"Answer types the questioner may use: {', '.join(ANSWER_TYPES)}; "
                        "drop the ones a domain's questions cannot have (no counts in radiology).")
    question_focus: str = _f("generic", "What the questioner is told to ask about: generic adds nothing; radiology "
                             "(findings, laterality, devices, presence) and remote_sensing (land use, counts, "
                             "relative position, presence) add one line to its prompt.", tuple(QUESTION_FOCUS))
    question_max_new_tokens: int = _f(24, "Token budget of one questioner candidate: 64 for real models, which ask "
                                  "in full sentences.")
    answer_max_new_tokens: int = _f(8, "Token budget of one answer (answers of over 6 words do not parse): 16 for "
                                "real models.")
    temperature: float = _f(1.0, "Sampling temperature of both roles: lower it if answers stop parsing; hotter did "
                                 "not help on the shapes world (docs/learning.md).")
    top_p: float = _f(1.0, "Nucleus sampling of both roles: below 1 cuts rare answers, which GRPO then never sees.")
    top_k: int = _f(50, "Both roles sample among this many likeliest tokens (0: all, exactly the policy GRPO trains); "
                    "50 is what the HF engine always did (transformers' default). A checkpoint's own sampling "
                    "defaults (Qwen2-VL ships top_k 1) never apply.")
    generation_batch_size: int = _f(256, "Most sequences one generate call may hold: lower it if generation runs out "
                                       "of memory.")


@dataclass
class RewardConfig:
    blind_weight: float = _f(0.5, "Weight of the penalty for questions the blind answerer gets as right: raise it "
                             "where the answerer answers from priors (reports that say 'no pneumothorax').")
    repetition_weight: float = _f(0.5, "Weight of the penalty for near-duplicate questions in a round: raise it "
                                  "when question diversity falls in metrics.jsonl.")
    repetition_threshold: float = _f(0.5, "Questions closer than this (1 - similarity) share a cluster: lower it "
                                     "to count only near-copies as repeats.")
    format_penalty: float = _f(-1.0, "Questioner reward for a candidate that does not parse: make it milder for a "
                               "base that rarely follows the format yet, so that parsed groups still differ.")
    agreement_weight: float = _f(0.9, "Answerer reward for matching the target (VisPlay's 0.9).")
    format_weight: float = _f(0.1, "Answerer reward for a well-formed answer: raise it while the answerer's "
                              "format failures in metrics.jsonl are high.")
    keep_band: list = _f([0.3, 0.8], "Questions whose majority share p lies in this band train the answerer "
                         "(rewards.filters.target_and_keep): widen it to train on more questions, narrow it to "
                         "train only near the edge of the answerer's ability.")


@dataclass
class TrainConfig:
    phase_order: list = _f(["questioner", "answerer"], "Order of the GRPO phases within a round; one role alone "
                        "freezes the other (answerer only: to train against a fixed questioner).")
    questioner_steps: int = _f(1, "Most optimizer steps of the questioner per round (fewer where its groups are "
                              "fewer: each is seen once): raise it with game.items_per_round to keep a step's "
                              "sequences (and memory) the same.")
    answerer_steps: int = _f(2, "Most optimizer steps of the answerer per round (fewer where the round kept fewer "
                            "groups: each is seen once): raise it with game.items_per_round to keep a step's "
                            "sequences (and memory) the same.")
    learning_rate: float = _f(5e-4, "AdamW learning rate of both adapters: 1e-5 for 3B-7B checkpoints (the GPU "
                              "presets).")
    vision_learning_rate: float = _f(0.0, "AdamW learning rate of the adapter weights inside the vision tower, "
                                     "where model.lora_target_modules reaches it (0: train.learning_rate), as "
                                     "Qwen-VL's fine-tuning scripts set the tower's rate apart. On the shapes "
                                     "world 4x the rate taught no more sight and made answers leave their form "
                                     "(docs/learning.md).")
    weight_decay: float = _f(0.0, "AdamW weight decay: a little (0.01) on long runs to keep the adapters small.")
    max_grad_norm: float = _f(1.0, "Gradient clipping: lower it if TRL's logged grad_norm spikes.")
    beta: float = _f(0.0, "KL weight towards the adapter-free base model (0 turns it off): 0.04 on real models, "
                      "whose language is easy to drift from.")
    loss_type: str = _f("dapo", "TRL GRPO loss type: dapo (TRL's default) normalises over tokens; grpo is the "
                         "original per-sequence mean.", ("grpo", "dapo", "dr_grpo", "bnpo"))
    gradient_checkpointing: bool = _f(False, "Trade compute for memory (turn on for real checkpoints on GPU).")
    micro_batch_sequences: int = _f(64, "Most sequences one forward and backward pass holds on a process: a GRPO "
                                    "step over more runs in micro-batches whose gradients accumulate into the same "
                                    "update (bnpo normalises per micro-batch, the other losses per step), so step "
                                    "memory is set by this, not by how many groups a round kept. It must divide a "
                                    "step's sequences, so the largest divisor up to it is used (selfplay/learner.py, "
                                    "step_plan). Lower it if a step runs out of memory.")
    seed: int = _f(0, "Seed of everything random: data order, sampling, adapters; change it to measure the "
                     "spread over seeds.")


@dataclass
class EvalConfig:
    data: str = _f("builtin:shapes-scan-eval", "Ground-truth QA evaluated on after rounds (a qa.jsonl file or its "
                   "folder, or builtin:shapes-<domain>-eval); empty turns evaluation off. Never used for training.")
    every: int = _f(1, "Evaluate after every N rounds (and once before the first): raise it when evaluation "
                   "takes longer than a round.")
    max_questions: int = _f(1000, "Evaluate on at most this many questions (the first ones of the file): sight's "
                           "standard error is about 1 point at 1000 and 3 at 200, as large as most changes a round "
                           "makes; lower it where evaluation takes longer than a round.")


@dataclass
class CheckpointConfig:
    resume: str = _f("", "auto: continue from the newest complete round in output_dir; a round folder: from "
                     "that one; empty: start fresh (refused if output_dir already holds rounds).")
    keep_last: int = _f(3, "Keep the newest N complete rounds (0 keeps all); the newest is never deleted. 0 to "
                        "compare or export any round later.")


@dataclass
class ReportConfig:
    every: int = _f(1, "Rewrite the game report (output_dir/report/index.html; `selfplay report` writes it any time) "
                    "after every N rounds and after the last; 0 writes it only on request: raise it when a run's "
                    "games.jsonl grows so large that rewriting the report slows the rounds.")


# vLLM accepts only these LoRA ranks (vllm.config.lora.LoRAConfig.max_lora_rank).
VLLM_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)
ENGINES = ("hf", "vllm")
# Module-name parts of the vision towers of the families here (Qwen-VL `visual`, LLaVA `vision_tower`): vLLM
# serves adapters on the language model only, so neither the config nor the engine lets one reach these.
VISION_TOWER_PARTS = ("visual", "vision_tower", "vision_model")


def in_vision_tower(name: str) -> bool:
    """Whether a parameter or module name lies inside a vision tower (one of VISION_TOWER_PARTS as a part).

    Example:
        >>> in_vision_tower("base_model.model.model.visual.blocks.0.attn.qkv.lora_A.answerer.weight")
        True
        >>> in_vision_tower("base_model.model.model.language_model.layers.0.self_attn.q_proj.lora_A.answerer.weight")
        False
    """
    return bool(set(name.split(".")) & set(VISION_TOWER_PARTS))


@dataclass
class VLLMConfig:
    """Settings of the vLLM rollout engine (`engine: vllm`); ignored by the HF engine."""
    gpu_memory_utilization: float = _f(0.3, "Share of the GPU's memory vLLM takes for weights and KV cache, beside "
                                       "the trainer on the same GPU: raise it with sleep mode on or for long "
                                       "rollouts, lower it if training runs out of memory.")
    cpu_kv_cache_gib: int = _f(1, "CPU only: GiB of RAM for vLLM's KV cache (VLLM_CPU_KVCACHE_SPACE); vLLM's own "
                               "default takes most of the machine.")
    max_lora_rank: int = _f(64, "Largest adapter rank vLLM reserves room for: one of "
                            f"{', '.join(map(str, VLLM_LORA_RANKS))}, at least model.lora_rank; a smaller one "
                            "saves memory.")
    enable_sleep_mode: bool = _f(True, "Free vLLM's GPU memory (weights to CPU, KV cache dropped) while the roles "
                                 "learn, so one GPU holds both; CUDA only, off on CPU.")
    tensor_parallel_size: int = _f(1, "GPUs one engine shards the model over, for a model that does not fit one.")
    max_model_len: int = _f(0, "Longest prompt plus completion vLLM schedules (0: the model's own context "
                            "length): lower it to save KV-cache memory on a long-context model.")
    enforce_eager: bool = _f(False, "Skip CUDA graph capture: faster start, slower generation; on for debugging.")


@dataclass
class RunConfig:
    output_dir: str = _f("runs/default", "Where rounds, metrics.jsonl, games.jsonl and the resolved config go.")
    cache_dir: str = _f("~/.cache/selfplay", "Where built-in models and data sets are built once and reused.")
    report_to: str = _f("none", "Trackers that get every round's metrics, every evaluation and TRL's per-step logs "
                        "(TRL's names): tensorboard (offline, under output_dir/tensorboard), wandb, trackio, all "
                        "(those installed); each needs its extra, e.g. pip install 'selfplay[tensorboard]'.",
                        ("none", "tensorboard", "wandb", "trackio", "all"))
    engine: str = _f("hf", "Rollout engine of both roles: hf samples with transformers' generate on the model being "
                     "trained; vllm serves both adapters from one vLLM engine (pip install 'selfplay[vllm]'; "
                     "settings in the vllm section), with TRL's importance-sampling correction on.", ENGINES)
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    game: GameConfig = field(default_factory=GameConfig)
    rewards: RewardConfig = field(default_factory=RewardConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    vllm: VLLMConfig = field(default_factory=VLLMConfig)

    def __post_init__(self) -> None:
        validate(self)


def validate(cfg: RunConfig) -> None:
    """Impossible combinations, each named by its key."""
    def need(ok: bool, key: str, why: str) -> None:
        if not ok:
            raise ConfigError(f"{key}: {why}")

    g, r, t, m = cfg.game, cfg.rewards, cfg.train, cfg.model
    need(g.questions_per_item >= 2, "game.questions_per_item", "GRPO needs at least 2 candidates per group")
    need(g.answers_per_question >= 2, "game.answers_per_question", "GRPO needs at least 2 answers per group")
    need(g.rounds >= 1, "game.rounds", "must be at least 1")
    need(g.items_per_round >= 1, "game.items_per_round", "must be at least 1")
    need(g.blind_answers >= 0, "game.blind_answers", "must be 0 or more")
    need(g.borrowed_questions >= 0, "game.borrowed_questions", "must be 0 or more")
    need(g.temperature > 0, "game.temperature", "must be above 0 (self-play needs sampling)")
    need(0 < g.top_p <= 1, "game.top_p", "must be in (0, 1]")
    need(g.top_k >= 0, "game.top_k", "must be 0 (all tokens) or more")
    need(g.generation_batch_size >= 1, "game.generation_batch_size", "must be at least 1")
    need(len(g.answer_types) > 0, "game.answer_types", "name at least one answer type")
    for kind in g.answer_types:
        need(kind in ANSWER_TYPES, "game.answer_types", f"unknown type {kind!r}; allowed: {', '.join(ANSWER_TYPES)}")
    need(len(r.keep_band) == 2 and 0 <= r.keep_band[0] <= r.keep_band[1] <= 1, "rewards.keep_band",
         f"must be [low, high] within [0, 1], got {r.keep_band}")
    need(sorted(t.phase_order) == ["answerer", "questioner"] or t.phase_order in (["questioner"], ["answerer"]),
         "train.phase_order", f"must list questioner and/or answerer once each, got {t.phase_order}")
    need(t.questioner_steps >= 0 and t.answerer_steps >= 0, "train.*_steps", "must be 0 or more")
    need(t.learning_rate > 0, "train.learning_rate", "must be above 0")
    need(t.vision_learning_rate >= 0, "train.vision_learning_rate", "must be 0 (train.learning_rate) or above")
    need(t.micro_batch_sequences >= 1, "train.micro_batch_sequences", "must be at least 1")
    need(t.beta >= 0, "train.beta", "must be 0 or more")
    need(m.lora_rank >= 1, "model.lora_rank", "must be at least 1")
    need(m.max_pixels >= 28 * 28, "model.max_pixels", "must be at least 784 (one 28x28 patch group)")
    need(0 <= m.min_pixels <= m.max_pixels, "model.min_pixels", "must be between 0 and model.max_pixels")
    need(0 <= cfg.data.max_bad_share < 1, "data.max_bad_share", "must be in [0, 1)")
    if not m.path.startswith(BUILTIN_PREFIX):
        need(Path(m.path).expanduser().is_dir(), "model.path", f"no checkpoint folder at {m.path}")
    if not cfg.data.source.startswith(BUILTIN_PREFIX):
        need(Path(cfg.data.source).expanduser().exists(), "data.source", f"nothing at {cfg.data.source}")
    if cfg.eval.data and not cfg.eval.data.startswith(BUILTIN_PREFIX):
        need(Path(cfg.eval.data).expanduser().exists(), "eval.data", f"nothing at {cfg.eval.data}")
    need(cfg.eval.every >= 1, "eval.every", "must be at least 1")
    need(cfg.report.every >= 0, "report.every", "must be 0 (only on request) or more")
    need(cfg.checkpoint.keep_last >= 0, "checkpoint.keep_last", "must be 0 (keep all) or more")
    need(cfg.engine in ENGINES, "engine", f"must be one of {', '.join(ENGINES)}, got {cfg.engine!r}")
    if cfg.engine == "vllm":
        v = cfg.vllm
        need(v.max_lora_rank in VLLM_LORA_RANKS, "vllm.max_lora_rank",
             f"vLLM accepts {', '.join(map(str, VLLM_LORA_RANKS))}, got {v.max_lora_rank}")
        need(v.max_lora_rank >= m.lora_rank, "vllm.max_lora_rank",
             f"{v.max_lora_rank} is below model.lora_rank {m.lora_rank}; vLLM could not load the adapters")
        need(0 < v.gpu_memory_utilization <= 1, "vllm.gpu_memory_utilization", "must be in (0, 1]")
        need(v.cpu_kv_cache_gib >= 1, "vllm.cpu_kv_cache_gib", "must be at least 1")
        need(v.tensor_parallel_size >= 1, "vllm.tensor_parallel_size", "must be at least 1")
        need(v.max_model_len >= 0, "vllm.max_model_len", "must be 0 (the model's own) or more")
        # vLLM serves LoRA on the language model; its vision-tower LoRA is experimental.
        tower = [word for word in VISION_TOWER_PARTS if word in m.lora_target_modules]
        need(not tower, "model.lora_target_modules", f"names the vision tower ({', '.join(tower)}); vLLM serves "
             "adapters on the language model only: target language layers, or use engine: hf")
    for written, what in (("cover_named_choices", "answers"), ("cover_reference", "answers"),
                          ("text_questions", "questions")):
        need(not getattr(g, written) or cfg.engine == "hf", f"game.{written}",
             f"the written {what} have no sampling log-probs for vLLM's sampler correction: use engine: hf")
    if g.mode == "supervised":
        need(bool(cfg.data.labels), "data.labels", "game.mode supervised needs a ground-truth QA file")
    if cfg.data.labels:
        need(Path(cfg.data.labels).expanduser().is_file(), "data.labels", f"no file at {cfg.data.labels}")


SECTIONS = {"model": ModelConfig, "data": DataConfig, "game": GameConfig, "rewards": RewardConfig,
            "train": TrainConfig, "eval": EvalConfig, "checkpoint": CheckpointConfig, "report": ReportConfig,
            "vllm": VLLMConfig}

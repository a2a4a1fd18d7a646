"""The self-play job: load model and data once, then play rounds and record each one.

`main(cfg)` is what `selfplay/run.py` and the `selfplay` command call after parsing; tests call it
directly. It runs the same under `python`, `accelerate launch` and `torchrun` (one process per rank).
"""

from __future__ import annotations

import gc
import logging
import os
import random
import warnings
import time
from pathlib import Path
from typing import TYPE_CHECKING

from .checkpoint import (RECORD_FILES, CheckpointError, check_resumable, complete_rounds, find_resume_point,
                         load_checkpoint, prune, rng_state, rounds_played, save_checkpoint, truncate_records)
from .builtin import resolve_data_source, resolve_eval_data, resolve_model_path
from .config import ConfigError, RunConfig
from .config_parser import write_resolved
from .records import EVAL_FILE, METRICS_FILE, append_jsonl, append_round_records
from .report import write_report
from .threads import use_available_cores
from .tracking import TENSORBOARD_DIR, RunTracker, tracker_names

if TYPE_CHECKING:
    from .engine import RolloutEngine

log = logging.getLogger("selfplay")


def setup_logging(is_main: bool) -> None:
    """Our progress lines (INFO on the main process, warnings elsewhere); library chatter off."""
    warnings.filterwarnings("ignore", category=FutureWarning)
    ours = logging.getLogger("selfplay")
    ours.setLevel(logging.INFO if is_main else logging.WARNING)
    if not any(getattr(h, "selfplay", False) for h in ours.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s | %(message)s", datefmt="%H:%M:%S"))
        handler.selfplay = True
        ours.addHandler(handler)
    for noisy in ("transformers", "trl", "peft", "accelerate", "datasets", "httpx"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


def start_point(cfg: RunConfig, output_dir: Path) -> Path | None:
    """The round folder to resume from, None to start fresh; never overwrite rounds silently."""
    if cfg.checkpoint.resume:
        folder = find_resume_point(output_dir, cfg.checkpoint.resume)
        if folder is None:
            log.info("resume: no complete round in %s yet; starting fresh", output_dir)
        return folder
    if complete_rounds(output_dir):
        raise CheckpointError(f"{output_dir} already holds rounds; pass --resume to continue them or choose "
                              "another output_dir")
    return None


def read_labels(path: str) -> dict[str, list[dict]]:
    """Ground-truth QA rows by item id, for the supervised baseline."""
    from .evaluate import read_qa

    by_id: dict[str, list[dict]] = {}
    for row in read_qa(Path(path).expanduser()):
        by_id.setdefault(str(row.get("id")), []).append(row)
    return by_id


def round_items(items: list, round_index: int, per_round: int, seed: int) -> list:
    """The items of a round: successive slices of seeded shuffles of the data, epoch after epoch."""
    chosen, start = [], round_index * per_round
    for position in range(start, start + per_round):
        epoch, offset = divmod(position, len(items))
        order = list(range(len(items)))
        random.Random(seed * 1_000_003 + epoch).shuffle(order)
        chosen.append(items[order[offset]])
    return chosen


def make_engine(cfg: RunConfig, model, processor, model_path) -> RolloutEngine:
    """The rollout engine `cfg.engine` names, with the game's sampling settings."""
    from .engine import HFEngine

    g = cfg.game
    if cfg.engine == "vllm":
        from .vllm_engine import VLLMEngine  # vLLM only where asked for

        return VLLMEngine(model, processor, model_path, cfg.vllm, temperature=g.temperature, top_p=g.top_p,
                          top_k=g.top_k, max_sequences=g.generation_batch_size, seed=cfg.train.seed)
    return HFEngine(model, processor, temperature=g.temperature, top_p=g.top_p, top_k=g.top_k,
                    max_sequences=g.generation_batch_size)


def main(cfg: RunConfig) -> list[dict]:
    """Run (or, with checkpoint.resume, continue) every round of `cfg`; returns this call's per-round metrics."""
    import torch
    from accelerate import Accelerator
    from accelerate.utils import ProjectConfiguration, gather_object, parse_flag_from_env, set_seed

    from .manifest import ImageTextData
    from .round import play_round
    from .learner import RoleLearner
    from .modeling import ROLES, attach_role_adapters, load_model_and_processor, pixel_cap_warning, resolve_dtype

    # accelerate launch marks a DeepSpeed config in the environment; each GRPOTrainer then builds its own
    # engine even where the run's Accelerator (on CPU) would not.
    if parse_flag_from_env("ACCELERATE_USE_DEEPSPEED"):
        raise ConfigError("distributed_type: DEEPSPEED (from the accelerate config) is not supported yet: each GRPO "
                          "phase makes a new DeepSpeed engine, and a role's second phase under ZeRO-2 does not "
                          "continue its Adam state (docs/scaling.md). Use launch/multi_gpu.yaml or multi_node.yaml")
    output_dir = Path(cfg.output_dir)
    # accelerate only forms a gloo group over CPU processes (torchrun) when asked for the CPU.
    multi_cpu = not torch.cuda.is_available() and int(os.environ.get("WORLD_SIZE", "1")) > 1
    accelerator = Accelerator(cpu=multi_cpu, log_with=tracker_names(cfg.report_to) or None,
                              project_config=ProjectConfiguration(project_dir=str(output_dir),
                                                                  logging_dir=str(output_dir / TENSORBOARD_DIR)))
    setup_logging(accelerator.is_main_process)
    use_available_cores(accelerator.device.type == "cpu")
    resume_from = start_point(cfg, output_dir)
    if resume_from is not None:
        # both before anything is written: the run's config.yaml and records stay as they were
        check_resumable(resume_from, cfg)
        if (played := rounds_played(resume_from)) >= cfg.game.rounds:
            log.info("resuming from %s: %d rounds are played and game.rounds is %d, nothing to do (raise "
                     "game.rounds to go on)", resume_from, played, cfg.game.rounds)
            return []
    if accelerator.is_main_process:
        write_resolved(cfg, output_dir / "config.yaml")
    tracker = RunTracker(accelerator, cfg)
    set_seed(cfg.train.seed)

    started = time.perf_counter()
    with accelerator.main_process_first():
        model_path = resolve_model_path(cfg.model, cfg.cache_dir)
    dtype = resolve_dtype(cfg.model.dtype, accelerator.device)
    model, processor = load_model_and_processor(model_path, dtype, cfg.model.trust_remote_code)
    if warning := pixel_cap_warning(cfg.model.max_pixels, processor, model_path):
        log.warning(warning)
    model = attach_role_adapters(model, cfg.model).to(accelerator.device)
    trainable = sum(p.numel() for n, p in model.named_parameters() if "lora_" in n)
    log.info("model: %s (%s, %.2fM parameters, %.2fM in two %s adapters) on %s, loaded in %.1fs",
             model_path, type(model.base_model.model).__name__,
             sum(p.numel() for p in model.parameters()) / 1e6, trainable / 1e6, "/".join(ROLES),
             accelerator.device, time.perf_counter() - started)

    with accelerator.main_process_first():
        source = resolve_data_source(cfg.data.source, cfg.cache_dir)
        eval_file = resolve_eval_data(cfg.eval.data, cfg.cache_dir)
    data = ImageTextData.open(source, output_dir=output_dir if accelerator.is_main_process else None,
                              max_pixels=cfg.model.max_pixels, min_pixels=cfg.model.min_pixels or None,
                              require_text=cfg.data.require_text, max_bad_share=cfg.data.max_bad_share,
                              max_image_pixels=cfg.data.max_image_pixels)

    labels = read_labels(cfg.data.labels) if cfg.game.mode == "supervised" else None
    g, t = cfg.game, cfg.train
    if cfg.engine == "vllm" and accelerator.num_processes > 1:
        raise ConfigError("engine: vllm runs in one process here (one engine per process over its shard is not "
                          "built yet); launch one process, with vllm.tensor_parallel_size for several GPUs")
    engine = make_engine(cfg, model, processor, model_path)
    learners = {
        "questioner": RoleLearner("questioner", model, processor, group_size=g.questions_per_item,
                                  steps=t.questioner_steps, max_completion_length=g.question_max_new_tokens,
                                  tracker=tracker, **_shared_learner_args(cfg, accelerator.num_processes)),
        "answerer": RoleLearner("answerer", model, processor, group_size=g.answers_per_question,
                                steps=t.answerer_steps, max_completion_length=g.answer_max_new_tokens,
                                tracker=tracker, **_shared_learner_args(cfg, accelerator.num_processes)),
    }
    log.info("self-play: %d rounds of %d items, G=%d questions per item, K=%d answers (+%d blind), "
             "%d process(es); output in %s", g.rounds, g.items_per_round, g.questions_per_item,
             g.answers_per_question, g.blind_answers, accelerator.num_processes, output_dir)

    # Trainer.train() runs a full gc.collect() every phase; long-lived objects (model, data, libraries)
    # are moved out of its reach so that it scans only what a round creates.
    gc.collect()
    gc.freeze()
    first_round = 0
    if resume_from is not None:
        state = load_checkpoint(resume_from, model, learners, accelerator.process_index, accelerator.num_processes)
        first_round = state["next_round"]
        for role in ROLES:
            engine.refresh(role)
        if accelerator.is_main_process:  # records of rounds after the checkpoint are replayed, so cut
            truncate_records(output_dir, state["record_bytes"])
        log.info("resuming from %s: rounds %d to %d to go", resume_from, first_round + 1, g.rounds)
    elif accelerator.is_main_process:
        for name in RECORD_FILES:  # left by a run that never completed a round
            (output_dir / name).unlink(missing_ok=True)
    accelerator.wait_for_everyone()

    evaluator = RoundEvaluator(cfg, eval_file, model, processor, output_dir) \
        if eval_file and accelerator.is_main_process else None
    if evaluator and first_round == 0:
        tracker.log_round(-1, evaluator(-1))
    history = []
    for round_index in range(first_round, g.rounds):
        set_seed(cfg.train.seed + round_index, device_specific=True)
        items = round_items(data.items, round_index, g.items_per_round, cfg.train.seed)
        round_started = time.perf_counter()
        games, metrics = play_round(round_index, items, data, engine, learners, cfg,
                                    accelerator.process_index, accelerator.num_processes, labels)
        metrics["time/round"] = time.perf_counter() - round_started
        if evaluator and ((round_index + 1) % cfg.eval.every == 0 or round_index + 1 == g.rounds):
            metrics.update(evaluator(round_index))
        rng_states = gather_object([rng_state()]) if accelerator.num_processes > 1 else [rng_state()]
        if accelerator.is_main_process:
            saving = time.perf_counter()
            append_round_records(output_dir, games, metrics)
            save_checkpoint(output_dir, round_index, model, learners, cfg, rng_states)
            prune(output_dir, cfg.checkpoint.keep_last)
            metrics["time/save"] = time.perf_counter() - saving
            if cfg.report.every and ((round_index + 1) % cfg.report.every == 0 or round_index + 1 == g.rounds):
                write_report(output_dir)
        tracker.log_round(round_index, metrics)
        accelerator.wait_for_everyone()
        history.append(metrics)
        log.info("round %d/%d: questioner reward %.3f (format ok %d/%d, text states %d/%d, %d borrowed), answerer "
                 "reward %.3f, p mean %.2f, kept %d (%.0f%%), blind agreement %.2f, %.1fs (+%.1fs saving)",
                 round_index + 1, g.rounds, metrics.get("questioner/reward_mean", 0.0), metrics["candidates"]
                 - metrics["questioner/format_failures"], metrics["candidates"], metrics["questioner/text_states"],
                 metrics["questioner/text_read"], metrics["borrowed"],
                 metrics["answerer/reward_mean"], metrics.get("questioner/p_mean", 0.0), metrics["kept"],
                 100 * metrics["kept_share"], metrics.get("questioner/blind_agreement_mean", 0.0),
                 metrics["time/round"], metrics.get("time/save", 0.0))
    tracker.finish()
    log.info("done: played rounds %d to %d of %d in %.1fs; metrics in %s", first_round + 1, g.rounds, g.rounds,
             time.perf_counter() - started, output_dir / METRICS_FILE)
    return history


class RoundEvaluator:
    """Answerer accuracy on held-out ground truth after rounds (main process; never fed to training)."""

    def __init__(self, cfg: RunConfig, eval_file: Path, model, processor, output_dir: Path):
        from .evaluate import read_qa

        self.rows = read_qa(eval_file)[:cfg.eval.max_questions]
        self.cfg, self.model, self.processor, self.output_dir = cfg, model, processor, output_dir
        log.info("evaluation: %d ground-truth questions from %s", len(self.rows), eval_file)

    def __call__(self, round_index: int) -> dict:
        from .evaluate import evaluate, sight_by_type

        started = time.perf_counter()
        m = self.cfg.model
        result = evaluate(self.model, self.processor, self.rows, role="answerer", max_pixels=m.max_pixels,
                          min_pixels=m.min_pixels or None, blind_mode=self.cfg.game.blind_mode)
        append_jsonl(self.output_dir / EVAL_FILE, [{"round": round_index, **result}])
        log.info("eval %s: answerer sight %+.3f +- %.3f (accuracy %.3f, blind %.3f, chance %.3f; in form %.0f%%, "
                 "blind %.0f%%) on %d questions, %.1fs; by type, sight (accuracy / blind): %s",
                 "before self-play" if round_index < 0 else f"after round {round_index + 1}", result["sight"]["all"],
                 result["sight_se"]["all"], result["accuracy"]["all"], result["blind_accuracy"]["all"],
                 result["chance"]["all"], 100 * result["in_form"]["all"], 100 * result["blind_in_form"]["all"],
                 result["questions"], time.perf_counter() - started, sight_by_type(result))
        flat = {f"eval/{figure}/{k}": v for figure in ("accuracy", "blind_accuracy", "sight", "sight_se", "in_form",
                                                                      "blind_in_form")
                for k, v in result[figure].items()}
        flat["eval/chance"] = result["chance"]["all"]
        flat["time/eval"] = time.perf_counter() - started
        return flat


def _shared_learner_args(cfg: RunConfig, world_size: int) -> dict:
    t = cfg.train
    return dict(learning_rate=t.learning_rate, vision_learning_rate=t.vision_learning_rate,
                weight_decay=t.weight_decay, max_grad_norm=t.max_grad_norm,
                beta=t.beta, loss_type=t.loss_type, gradient_checkpointing=t.gradient_checkpointing,
                micro_batch_sequences=t.micro_batch_sequences, world_size=world_size, seed=t.seed,
                correct_sampler=cfg.engine == "vllm")

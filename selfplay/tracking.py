"""A run's figures in TensorBoard, W&B or trackio, through accelerate's trackers, as with any TRL trainer.

`report_to` takes TRL's names (none, tensorboard, wandb, trackio, all). Every round's metrics
(metrics.jsonl's numbers: reward terms, kept share, p histogram, timings, TRL's per-round
averages) and every evaluation (accuracy, blind accuracy and sight, overall and per question type;
chance) go to the run, and so do TRL's own per-step logs of each role (`train/<role>/loss`, ...),
from the main process only (accelerate's `log` is main-process only).

One step axis serves every tracker (W&B drops a step that goes back): the GRPO updates so far, both
roles together, counted from the configured steps, so that a resumed run goes on where it stopped.
Round r (0-based) ends at step (r + 1) * (questioner_steps + answerer_steps); the evaluation before
round 1 is step 0; every point of a round also carries `round`, the rounds played.

TensorBoard writes under `output_dir/tensorboard/` (`tensorboard --logdir runs/default/tensorboard`).
A tracker whose package is missing stops the run before anything loads, naming the extra to
install: accelerate would skip it without a word.
"""

from __future__ import annotations

import importlib.util
import numbers
from pathlib import Path

from .config import ConfigError, RunConfig

TRACKERS = ("tensorboard", "wandb", "trackio")  # each is its own package and its own extra
TENSORBOARD_DIR = "tensorboard"
PROJECT = "selfplay"


def _installed(package: str) -> bool:
    return importlib.util.find_spec(package) is not None


def tracker_names(report_to: str, installed=None) -> list[str]:
    """The trackers accelerate gets for `report_to`; a missing package is an error naming the extra.

    Example:
        >>> tracker_names("none"), tracker_names("all", installed=lambda name: name != "wandb")
        ([], ['tensorboard', 'trackio'])
        >>> tracker_names("wandb", installed=lambda name: False)
        Traceback (most recent call last):
        ...
        selfplay.config.ConfigError: report_to: wandb needs the wandb package: pip install 'selfplay[wandb]'
    """
    installed = installed or _installed
    if report_to == "none":
        return []
    if report_to == "all":
        found = [name for name in TRACKERS if installed(name)]
        if not found:
            raise ConfigError("report_to: all found no tracker package installed: pip install 'selfplay[tensorboard]' "
                              "(or the wandb or trackio extra)")
        return found
    if not installed(report_to):
        raise ConfigError(f"report_to: {report_to} needs the {report_to} package: pip install 'selfplay[{report_to}]'")
    return [report_to]


def steps_per_round(cfg: RunConfig) -> int:
    t = cfg.train
    return max(1, sum({"questioner": t.questioner_steps, "answerer": t.answerer_steps}[r] for r in t.phase_order))


def round_end_step(cfg: RunConfig, round_index: int) -> int:
    """The step a round's metrics and its evaluation are logged at; -1 (before round 1) is step 0.

    Example:
        >>> cfg = RunConfig()  # one questioner step and two answerer steps per round
        >>> round_end_step(cfg, -1), round_end_step(cfg, 0), round_end_step(cfg, 9)
        (0, 3, 30)
    """
    return (round_index + 1) * steps_per_round(cfg)


def role_step_offset(cfg: RunConfig, round_index: int, role: str) -> int:
    """The step before a role's first update in a round: its TRL steps 1..n are logged at offset + n.

    Example:
        >>> role_step_offset(RunConfig(), 1, "questioner"), role_step_offset(RunConfig(), 1, "answerer")
        (3, 4)
    """
    t = cfg.train
    before = t.phase_order[:t.phase_order.index(role)]
    return round_index * steps_per_round(cfg) + sum(
        {"questioner": t.questioner_steps, "answerer": t.answerer_steps}[r] for r in before)


def scalars(values: dict, prefix: str = "") -> dict[str, float]:
    """The numbers of a metrics row, as trackers take them; a histogram becomes one value per bin.

    Example:
        >>> scalars({"kept": 3, "p_histogram": [1, 0, 2, 0, 4], "why": "text", "ok": True})
        {'kept': 3, 'p_histogram/0.0-0.2': 1, 'p_histogram/0.2-0.4': 0, 'p_histogram/0.4-0.6': 2, 'p_histogram/0.6-0.8': 0, 'p_histogram/0.8-1.0': 4, 'ok': 1}
    """
    out: dict[str, float] = {}
    for key, value in values.items():
        if key == "p_histogram":
            out.update({f"{prefix}p_histogram/{i / 5:.1f}-{(i + 1) / 5:.1f}": n for i, n in enumerate(value)})
        elif isinstance(value, bool):
            out[prefix + key] = int(value)
        elif isinstance(value, numbers.Real):
            out[prefix + key] = value
    return out


def flat_config(cfg: RunConfig) -> dict:
    """The config as hyperparameters (section.key: a number, a bool or a string; lists as text)."""
    from .config_parser import to_dict

    flat = {}
    for key, value in to_dict(cfg).items():
        for sub, sub_value in (value.items() if isinstance(value, dict) else [("", value)]):
            name = f"{key}.{sub}" if sub else key
            flat[name] = sub_value if isinstance(sub_value, (bool, int, float, str)) else str(sub_value)
    return flat


class RunTracker:
    """The trackers of one run, on accelerate's Accelerator (which was built with `log_with`)."""

    def __init__(self, accelerator, cfg: RunConfig):
        self.accelerator, self.cfg = accelerator, cfg
        self.active = bool(accelerator.log_with)
        if self.active:
            name = Path(cfg.output_dir).name
            accelerator.init_trackers(PROJECT, config=flat_config(cfg),
                                      init_kwargs={"wandb": {"name": name}, "trackio": {"name": name}})

    def log_round(self, round_index: int, metrics: dict) -> None:
        """A round's metrics (with its evaluation, if one ran), or (round -1) the evaluation before round 1."""
        if self.active:
            values = scalars({k: v for k, v in metrics.items() if k != "round"})
            self.accelerator.log({"round": round_index + 1, **values}, step=round_end_step(self.cfg, round_index))

    def trainer_callback(self, role: str, round_index: int):
        """A TrainerCallback that sends TRL's per-step logs of `role` in this round to the run."""
        from transformers import TrainerCallback

        tracker, offset = self, role_step_offset(self.cfg, round_index, role)

        class ForwardLogs(TrainerCallback):
            def on_log(self, args, state, control, logs=None, **kwargs):
                if tracker.active and logs:
                    tracker.accelerator.log({"round": round_index + 1, **scalars(logs, f"train/{role}/")},
                                            step=offset + state.global_step)

        return ForwardLogs()

    def finish(self) -> None:
        if self.active:
            self.accelerator.end_training()

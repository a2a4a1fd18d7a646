"""Progress a person can watch: tqdm bars on a terminal, plain log lines elsewhere (CI, log files).

Why: a first run spends minutes warm-starting and every round asks, answers and learns for a while
with nothing on the screen. On a terminal a bar shows that it moves and how long is left; in a log
file a bar is noise (carriage returns), so there a phase is one line when it ends, and a long one
also a line every LINE_EVERY_S seconds. Only the main process shows progress: the others log
warnings only (runner.setup_logging), and bars follow the `selfplay` logger's level.

A phase is opened with `phase(...)`; whatever does the work calls `advance(n)`, which moves the
innermost open phase (the rollout engine after each generate call, a trainer callback after each
step), so the code that works need not know who watches.
"""

from __future__ import annotations

import logging
import sys
import time
from contextlib import contextmanager

log = logging.getLogger("selfplay")

LINE_EVERY_S = 30.0
_open: list[Progress] = []


def on_terminal() -> bool:
    """Bars only where a person watches: stderr (where bars and log lines go) is a terminal."""
    return sys.stderr.isatty()


class Progress:
    """One phase: a tqdm bar on a terminal; otherwise a log line every LINE_EVERY_S s and one at the end."""

    def __init__(self, desc: str, total: int, unit: str, *, logger: logging.Logger = log):
        self.desc, self.total, self.unit, self.logger = desc, total, unit, logger
        self.done, self.started = 0, time.perf_counter()
        self.last_line = self.started
        self.shown = logger.isEnabledFor(logging.INFO)
        self.bar = None
        if self.shown and on_terminal():
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc=desc, unit=unit, leave=False, dynamic_ncols=True)

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def advance(self, n: int = 1, **postfix) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
            if postfix:
                self.bar.set_postfix(postfix, refresh=False)
        elif self.shown and time.perf_counter() - self.last_line >= LINE_EVERY_S and self.done < self.total:
            self.last_line = time.perf_counter()
            self.logger.info("%s: %d/%d %ss, %.0fs so far%s", self.desc, self.done, self.total, self.unit,
                             self.elapsed, "".join(f", {k} {v}" for k, v in postfix.items()))

    def write(self, message: str, *args) -> None:
        """A log line that does not tear the bar."""
        if self.bar is not None:
            self.bar.clear()
        self.logger.info(message, *args)
        if self.bar is not None:
            self.bar.refresh()

    def close(self, summary: str = "") -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.shown and summary is not None:
            self.logger.info("%s: %d %ss in %.1fs%s", self.desc, self.done, self.unit, self.elapsed,
                             f", {summary}" if summary else "")


@contextmanager
def phase(desc: str, total: int, unit: str = "item", *, logger: logging.Logger = log, line: bool = True):
    """Open a phase for the block; `advance` inside it moves it. `line=False`: no closing log line
    (where the caller logs its own summary)."""
    progress = Progress(desc, total, unit, logger=logger)
    _open.append(progress)
    try:
        yield progress
    finally:
        _open.remove(progress)
        progress.close("" if line else None)


def advance(n: int = 1, **postfix) -> None:
    """Move the innermost open phase by n (nothing happens when no phase is open)."""
    if _open:
        _open[-1].advance(n, **postfix)


def training_progress(desc: str | None = None, *, estimate_after: int = 0, logger: logging.Logger = log):
    """A transformers TrainerCallback that advances by one each optimizer step.

    With `desc` it opens its own phase over the trainer's max_steps and logs each logged loss (the warm
    start); without, it moves the caller's phase (a round's learn phase). `estimate_after` = n: after
    step n, say how long the rest will take at the speed of steps 2 to n (step 1 pays for warm-up).
    """
    from transformers import TrainerCallback

    class TrainingProgress(TrainerCallback):
        def __init__(self):
            self.own: Progress | None = None
            self.step_times: list[float] = []

        def on_train_begin(self, args, state, control, **kwargs):
            if desc is not None:
                self.own = Progress(desc, state.max_steps, "step", logger=logger)
                _open.append(self.own)

        def on_step_end(self, args, state, control, **kwargs):
            advance(1)
            self.step_times.append(time.perf_counter())
            if estimate_after >= 2 and state.global_step == estimate_after < state.max_steps:
                per_step = (self.step_times[-1] - self.step_times[0]) / (len(self.step_times) - 1)
                left = per_step * (state.max_steps - state.global_step)
                say = self.own.write if self.own else logger.info
                say("%s: %.2fs per step over steps 2-%d: about %s for the %d steps left (done around %s)",
                    desc or "training", per_step, estimate_after, duration(left), state.max_steps - state.global_step,
                    time.strftime("%H:%M", time.localtime(time.time() + left)))

        def on_log(self, args, state, control, logs=None, **kwargs):
            if self.own is not None and logs and "loss" in logs:
                if self.own.bar is not None:
                    self.own.bar.set_postfix(loss=f"{logs['loss']:.3f}")
                else:
                    logger.info("%s: step %d/%d, loss %.3f", desc, state.global_step, state.max_steps, logs["loss"])

        def on_train_end(self, args, state, control, **kwargs):
            if self.own is not None:
                _open.remove(self.own)
                self.own.close(None)
                self.own = None

    return TrainingProgress()


def duration(seconds: float) -> str:
    """A duration as a person says it.

    Example:
        >>> duration(42), duration(150), duration(7260)
        ('42s', '2.5 minutes', '2.0 hours')
    """
    if seconds < 90:
        return f"{seconds:.0f}s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} minutes"
    return f"{seconds / 3600:.1f} hours"

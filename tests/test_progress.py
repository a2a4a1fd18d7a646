"""Progress: bars on a terminal, plain lines in a log; the warm start's estimate from its first steps."""

import io
import logging

from transformers import TrainerControl, TrainerState, TrainingArguments

from selfplay import progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


def _train(callback, steps, tmp_path, logs_every=5):
    """Drive a TrainerCallback as transformers' Trainer does: begin, each step's end, logs, end."""
    args, state, control = TrainingArguments(output_dir=str(tmp_path), report_to="none"), TrainerState(), TrainerControl()
    state.max_steps = steps
    callback.on_train_begin(args, state, control)
    for step in range(1, steps + 1):
        state.global_step = step
        callback.on_step_end(args, state, control)
        if step % logs_every == 0:
            callback.on_log(args, state, control, logs={"loss": 1.0 / step})
    callback.on_train_end(args, state, control)


def test_phases_log_plain_lines_off_a_terminal(caplog, monkeypatch):
    monkeypatch.setattr("sys.stderr", io.StringIO())
    caplog.set_level(logging.INFO, logger="selfplay")
    with progress.phase("round 1/2 answer", 6, "question"):
        progress.advance(4)
        progress.advance(2)
    with progress.phase("eval", 2, "question", line=False):
        progress.advance(2)
    progress.advance(5)  # no phase open: nothing to move, nothing fails
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and lines[0].startswith("round 1/2 answer: 6 questions in ")


def test_warm_start_says_how_long_it_expects(caplog, monkeypatch, tmp_path):
    monkeypatch.setattr("sys.stderr", io.StringIO())
    caplog.set_level(logging.INFO, logger="selfplay")
    _train(progress.training_progress("warm start", estimate_after=10), 20, tmp_path)
    lines = [r.getMessage() for r in caplog.records]
    estimate = [line for line in lines if "per step over steps 2-10" in line]
    assert len(estimate) == 1 and "for the 10 steps left (done around " in estimate[0]
    assert [line for line in lines if "loss" in line] == [
        "warm start: step 5/20, loss 0.200", "warm start: step 10/20, loss 0.100",
        "warm start: step 15/20, loss 0.067", "warm start: step 20/20, loss 0.050"]


def test_a_terminal_gets_bars_and_no_lines(caplog, monkeypatch, tmp_path):
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    caplog.set_level(logging.INFO, logger="selfplay")
    with progress.phase("round 1/2 learn answerer", 3, "step") as learn:
        _train(progress.training_progress(), 3, tmp_path)  # the learner's callback moves the round's bar
        assert learn.bar is not None and learn.bar.n == 3
    _train(progress.training_progress("warm start"), 4, tmp_path, logs_every=2)
    shown = terminal.getvalue()
    assert "round 1/2 learn answerer:   0%" in shown and "warm start:   0%" in shown and "loss=0.250" in shown
    assert not caplog.records  # the bars say it all

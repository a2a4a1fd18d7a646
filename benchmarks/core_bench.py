"""Self-play core figures, measured in one run and printed (docs/benchmarks/core.md records them).

1. Batched answering: all K answers for all questions of a step in as few generate calls as memory
   allows, against one generate call per question. Goal: at least 5x.
2. Round overhead: the share of a round's wall time spent outside model forward, backward and
   generate (our code, TRL's bookkeeping, processors, rewards). Goal: at most 5%.
3. Memory: peak resident memory of one backbone with two adapters, over two separate model copies
   with one adapter each, both doing one generate and one GRPO step per role. Goal: at most 0.55x.

    python benchmarks/core_bench.py [--hidden 256 --layers 4] [--json out.json]
"""

from __future__ import annotations

import argparse
import functools
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _tiny(folder: Path, hidden: int, layers: int) -> Path:
    from selfplay.tiny_model import build_tiny_vlm

    if not (folder / "config.json").is_file():
        build_tiny_vlm(folder, "qwen2_vl", hidden=hidden, layers=layers)
    return folder


def _pair(path: Path):
    import torch

    from selfplay.config import ModelConfig
    from selfplay.modeling import attach_role_adapters, load_model_and_processor

    model, processor = load_model_and_processor(path, torch.float32)
    return attach_role_adapters(model, ModelConfig()), processor


def _questions(n: int):
    from PIL import Image

    from roles.answerer import answerer_messages
    from selfplay.engine import Prompt

    colours = [(200, 30, 30), (30, 200, 30), (30, 30, 200), (200, 200, 30)]
    return [Prompt(answerer_messages(f"How many shapes are in picture {i}?"),
                   Image.new("RGB", (56, 56), colours[i % 4])) for i in range(n)]


def bench_batching(path: Path, questions: int, k: int, repeats: int = 3) -> dict:
    import torch

    from selfplay.engine import HFEngine

    model, processor = _pair(path)
    prompts = _questions(questions)
    timings = {}
    for name, max_sequences in (("batched", questions * k), ("per_question", k)):
        engine = HFEngine(model, processor, max_sequences=max_sequences)
        torch.manual_seed(0)
        engine.generate("answerer", prompts[:2], k, 8)  # warm-up
        started = time.perf_counter()
        for _ in range(repeats):
            engine.generate("answerer", prompts, k, 8)
        timings[name] = (time.perf_counter() - started) / repeats
        timings[f"{name}_calls"] = (engine.stats.calls - 1) // repeats
    timings["speedup"] = timings["per_question"] / timings["batched"]
    return timings


class _ModelTime:
    """Wall time inside generate, forward (outside generate) and backward."""

    def __init__(self, model):
        import accelerate

        self.seconds = {"generate": 0.0, "forward": 0.0, "backward": 0.0}
        self._inside = False
        self._wrap(model, "generate", "generate")
        self._wrap(model, "forward", "forward")
        self._wrap(accelerate.Accelerator, "backward", "backward")

    def _wrap(self, owner, attribute, bucket):
        original = getattr(owner, attribute)

        @functools.wraps(original)
        def timed(*args, **kwargs):
            if self._inside:
                return original(*args, **kwargs)
            self._inside = True
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[bucket] += time.perf_counter() - started
                self._inside = False

        setattr(owner, attribute, timed)


def bench_overhead(path: Path, data: Path, out: Path, rounds: int) -> dict:
    """Run the real round loop on the given model and split its time."""
    import selfplay.modeling as modeling
    from selfplay.config_parser import from_dict
    from selfplay.runner import main

    timer = {}
    attach = modeling.attach_role_adapters

    def attach_and_time(model, cfg):
        peft_model = attach(model, cfg)
        timer["t"] = _ModelTime(peft_model)
        return peft_model

    modeling.attach_role_adapters = attach_and_time
    cfg = from_dict({"output_dir": str(out), "model": {"path": str(path)}, "data": {"source": str(data)},
                     "game": {"rounds": rounds, "items_per_round": 16}, "eval": {"data": ""}})
    history = main(cfg)
    modeling.attach_role_adapters = attach
    round_time = sum(m["time/round"] for m in history)
    inside = sum(timer["t"].seconds.values())
    return {"round_seconds": round_time, **{f"{k}_seconds": v for k, v in timer["t"].seconds.items()},
            "outside_share": 1 - inside / round_time}


_MEMORY_CHILD = r"""
import resource, sys, torch
sys.path.insert(0, sys.argv[1])
from benchmarks.core_bench import _pair, _questions, _one_step
import datasets, peft, trl, transformers  # imports are not what is measured
from trl import GRPOTrainer
mode, path = sys.argv[2], sys.argv[3]
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if mode == "shared":
    model, processor = _pair(path)
    for role in ("questioner", "answerer"):
        _one_step(model, processor, role)
else:
    for role in ("questioner", "answerer"):
        model, processor = _pair(path)
        _one_step(model, processor, role)
        globals().setdefault("keep", []).append(model)
print("PEAK_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
"""


def _one_step(model, processor, role):
    from selfplay.engine import HFEngine
    from selfplay.learner import Group, RoleLearner

    prompts = _questions(4)
    samples = HFEngine(model, processor).generate(role, prompts, 4, 8)
    groups = [Group(p.messages, p.image, s, [0.0, 1.0, 0.0, 1.0]) for p, s in zip(prompts, samples)]
    RoleLearner(role, model, processor, group_size=4, steps=1, learning_rate=1e-4).learn(groups, 0)


def bench_memory(path: Path) -> dict:
    root = str(Path(__file__).resolve().parent.parent)
    peak = {}
    for mode in ("shared", "copies"):
        out = subprocess.run([sys.executable, "-c", _MEMORY_CHILD, root, mode, str(path)], check=True,
                             capture_output=True, text=True)
        line = next(line for line in out.stdout.splitlines() if line.startswith("PEAK_KB"))
        peak[f"{mode}_peak_mib"] = int(line.split()[1]) / 1024
    peak["ratio"] = peak["shared_peak_mib"] / peak["copies_peak_mib"]
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--memory-hidden", type=int, default=1024, help="model size for the memory figure")
    parser.add_argument("--memory-layers", type=int, default=12)
    parser.add_argument("--questions", type=int, default=32)
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    import logging

    from selfplay.builtin import resolve_data_source

    logging.disable(logging.INFO)
    work = Path(tempfile.mkdtemp(prefix="selfplay-bench-"))
    model = _tiny(work / "model", args.hidden, args.layers)
    big = _tiny(work / "model-memory", args.memory_hidden, args.memory_layers)
    data = resolve_data_source("builtin:shapes-source", work / "cache")
    results = {
        "batching": bench_batching(model, args.questions, args.k),
        "overhead": bench_overhead(model, data, work / "run", args.rounds),
        "memory": bench_memory(big),
        "setup": {"hidden": args.hidden, "layers": args.layers, "memory_hidden": args.memory_hidden,
                  "memory_layers": args.memory_layers, "questions": args.questions, "k": args.k},
    }
    b, o, m = results["batching"], results["overhead"], results["memory"]
    print(f"batched answering: {args.questions} questions x {args.k} answers: {b['batched']:.2f}s in "
          f"{b['batched_calls']} call(s) vs {b['per_question']:.2f}s in {b['per_question_calls']} calls: "
          f"{b['speedup']:.1f}x (goal >= 5x)")
    print(f"round overhead: {o['round_seconds']:.2f}s over {args.rounds} rounds; generate {o['generate_seconds']:.2f}s, "
          f"forward {o['forward_seconds']:.2f}s, backward {o['backward_seconds']:.2f}s; outside model: "
          f"{100 * o['outside_share']:.1f}% (goal <= 5%)")
    print(f"peak memory: shared backbone + 2 adapters {m['shared_peak_mib']:.0f} MiB vs two copies "
          f"{m['copies_peak_mib']:.0f} MiB: {m['ratio']:.2f}x (goal <= 0.55x)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

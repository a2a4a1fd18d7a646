"""Peak memory of one GRPO step as the kept groups grow 1x -> 8x, in micro-batches and in one pass.

Each figure comes from a fresh process: load a tiny Qwen2-VL-family model with both adapters, make
`groups x multiple` answerer groups of G sequences with completions of a fixed length (real prompt
ids from the engine, random completion tokens: the learner replays what it is given, and a fixed
length makes every step's sequences the same size), reset the kernel's peak-RSS mark, run one GRPO
step (selfplay.learner.RoleLearner), and read the peak back. "micro" caps a pass at one base step's
sequences (train.micro_batch_sequences); "whole" runs the step in one pass, as before micro-batches.
docs/benchmarks/micro_batches.md records the figures and what they mean.

    python benchmarks/micro_batch_bench.py [--hidden 512 --layers 4 --groups 4 --completion 96] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MULTIPLES = (1, 2, 4, 8)
GROUP_SIZE = 4


def peak_rss_mib() -> float:
    """The process's peak resident memory since the last reset (VmHWM), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")


def reset_peak_rss() -> None:
    """Start the peak-RSS mark again from the current resident size (Linux: clear_refs 5)."""
    Path("/proc/self/clear_refs").write_text("5")


def one_step(model_path: str, groups: int, micro_batch_sequences: int, completion: int) -> dict:
    """Peak memory and time of one GRPO step over `groups` groups, from a resident baseline."""
    import time

    import torch
    from PIL import Image

    from roles.answerer import answerer_messages
    from selfplay.config import ModelConfig
    from selfplay.engine import HFEngine, Prompt, Sample
    from selfplay.learner import Group, RoleLearner
    from selfplay.modeling import attach_role_adapters, load_model_and_processor

    torch.manual_seed(0)
    model, processor = load_model_and_processor(model_path, torch.float32)
    model = attach_role_adapters(model, ModelConfig())
    colours = [(200, 30, 30), (30, 200, 30), (30, 30, 200), (200, 200, 30)]
    prompts = [Prompt(answerer_messages(f"How many shapes are in picture {i}?"),
                      Image.new("RGB", (56, 56), colours[i % 4])) for i in range(groups)]
    asked = HFEngine(model, processor).generate("answerer", prompts, 1, 1)
    special = set(processor.tokenizer.all_special_ids)  # an image token in a completion would ask for an image
    ordinary = torch.tensor([i for i in range(len(processor.tokenizer)) if i not in special])
    generator = torch.Generator().manual_seed(1)
    made = []
    for prompt, (first,) in zip(prompts, asked):
        samples = [Sample("", first.prompt_ids,
                          ordinary[torch.randint(0, len(ordinary), (completion,), generator=generator)].tolist(),
                          [0.0] * completion) for _ in range(GROUP_SIZE)]
        made.append(Group(prompt.messages, prompt.image, samples, [1.0, 0.0, 0.0, 1.0]))
    learner = RoleLearner("answerer", model, processor, group_size=GROUP_SIZE, steps=1, learning_rate=1e-4,
                          max_completion_length=completion, micro_batch_sequences=micro_batch_sequences)
    reset_peak_rss()
    baseline = peak_rss_mib()
    started = time.perf_counter()
    learner.learn(made, 0)
    return {"peak_mib": peak_rss_mib() - baseline, "seconds": time.perf_counter() - started}


def measure(model_path: Path, groups: int, multiple: int, micro: int, completion: int) -> dict:
    code = (f"import json, sys; sys.path.insert(0, {str(ROOT)!r}); from benchmarks.micro_batch_bench import one_step; "
            f"print('RESULT', json.dumps(one_step({str(model_path)!r}, {groups * multiple}, {micro}, {completion})))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return json.loads(next(line for line in out.stdout.splitlines() if line.startswith("RESULT"))[len("RESULT "):])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--groups", type=int, default=4, help="kept groups of the 1x step")
    parser.add_argument("--completion", type=int, default=96, help="completion tokens per sequence")
    parser.add_argument("--micro", type=int, default=0, help="sequences per pass (default: the 1x step's)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    from selfplay.tiny_model import build_tiny_vlm

    model_path = build_tiny_vlm(Path(tempfile.mkdtemp(prefix="selfplay-micro-")) / "model", "qwen2_vl",
                                hidden=args.hidden, layers=args.layers)
    base = args.groups * GROUP_SIZE
    cap = args.micro or base
    rows = []
    for multiple in MULTIPLES:
        sequences = base * multiple
        micro = measure(model_path, args.groups, multiple, cap, args.completion)
        whole = measure(model_path, args.groups, multiple, sequences, args.completion)
        rows.append({"multiple": multiple, "sequences": sequences, "micro_batch": cap, "micro": micro, "whole": whole})
        print(f"{multiple}x: {sequences:4d} sequences  micro-batches of {cap}: {micro['peak_mib']:7.0f} MiB "
              f"{micro['seconds']:6.1f}s  |  one pass: {whole['peak_mib']:7.0f} MiB {whole['seconds']:6.1f}s", flush=True)
    smallest = rows[0]["whole"]["peak_mib"]
    print(f"8x the kept groups in micro-batches: {rows[-1]['micro']['peak_mib']:.0f} MiB against today's smallest "
          f"step (1x, one pass) {smallest:.0f} MiB")
    if args.json:
        args.json.write_text(json.dumps({"setup": vars(args) | {"json": None, "group_size": GROUP_SIZE},
                                         "rows": rows}, indent=2, default=str))


if __name__ == "__main__":
    main()

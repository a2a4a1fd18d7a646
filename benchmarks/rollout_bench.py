"""One round's generation with the HF engine and the vLLM engine: seconds and sequences per second.

The round's sampling, as the default job shapes it (configs/cpu.yaml): the questioner asks G=4
candidates of up to 24 tokens about each of 16 items; the answerer answers 128 questions (16 items x
(4 asked + 4 borrowed)) K=4 times from the image and B=2 times blind, up to 8 tokens each. Questions
and images come from a shapes world built here; the model is a tiny random Qwen2-VL built here (so
completions run to their budget or a random EOS: what is timed is the engines, not the answers).
Both engines run in one process on the same PeftModel; vLLM's start-up is reported apart.
Runs in the vLLM environment (README, "vLLM rollouts"); docs/benchmarks/rollout.md records the figures.

    python benchmarks/rollout_bench.py [--hidden 128 --layers 4] [--repeats 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ITEMS, G, K, B, BORROWED = 16, 4, 4, 2, 4
QUESTION_TOKENS, ANSWER_TOKENS = 24, 8


def _workload(world: Path):
    from PIL import Image

    from roles.answerer import answerer_messages
    from roles.formats import ANSWER_TYPES
    from roles.questioner import questioner_messages
    from selfplay.engine import Prompt
    from selfplay.images import blind_image

    manifest = [json.loads(line) for line in (world / "manifest.jsonl").read_text().splitlines()][:ITEMS]
    qa = [json.loads(line) for line in (world / "qa.jsonl").read_text().splitlines()]
    image = {row["id"]: Image.open(world / row["image"]).convert("RGB") for row in manifest}
    ask = [Prompt(questioner_messages(row.get("text"), list(ANSWER_TYPES), "generic"), image[row["id"]])
           for row in manifest]
    pictures = list(image.values())
    questions = [qa[i % len(qa)]["question"] for i in range(ITEMS * (G + BORROWED))]
    sighted = [Prompt(answerer_messages(q), pictures[i % len(pictures)]) for i, q in enumerate(questions)]
    blind = [Prompt(p.messages, blind_image(p.image, "blank")) for p in sighted]
    return [("ask", "questioner", ask, G, QUESTION_TOKENS), ("answer", "answerer", sighted, K, ANSWER_TOKENS),
            ("blind", "answerer", blind, B, ANSWER_TOKENS)]


def _time_round(engine, workload) -> dict:
    figures = {}
    for name, role, prompts, n, budget in workload:
        started = time.perf_counter()
        groups = engine.generate(role, prompts, n, budget)
        figures[name] = time.perf_counter() - started
        figures[f"{name}_tokens"] = sum(len(s.completion_ids) for g in groups for s in g)
    figures["round"] = sum(figures[name] for name, *_ in workload)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    import torch

    from selfplay.config import ModelConfig, VLLMConfig
    from selfplay.engine import HFEngine
    from selfplay.modeling import attach_role_adapters, load_model_and_processor
    from selfplay.threads import use_available_cores
    from selfplay.tiny_model import build_tiny_vlm
    from selfplay.vllm_engine import VLLMEngine
    from selfplay.world import generate

    use_available_cores(True)
    scratch = Path(tempfile.mkdtemp(prefix="rollout-bench-"))
    path = build_tiny_vlm(scratch / "model", "qwen2_vl", hidden=args.hidden, layers=args.layers)
    world = generate(scratch / "world", "scan", n=ITEMS, seed=0)
    workload = _workload(world)
    sequences = sum(len(prompts) * n for _, _, prompts, n, _ in workload)
    model, processor = load_model_and_processor(path, torch.float32)
    model = attach_role_adapters(model, ModelConfig(path=str(path))).eval()

    results = {"sequences": sequences, "hidden": args.hidden, "layers": args.layers, "torch_threads":
               torch.get_num_threads()}
    hf = HFEngine(model, processor, temperature=1.0, max_sequences=256)
    runs = [_time_round(hf, workload) for _ in range(args.repeats)]
    results["hf"] = runs
    started = time.perf_counter()
    vllm = VLLMEngine(model, processor, path, VLLMConfig(max_lora_rank=8), temperature=1.0, max_sequences=256)
    results["vllm_startup_s"] = time.perf_counter() - started
    _time_round(vllm, workload)  # the first calls load both adapters and warm vLLM's caches
    results["vllm"] = [_time_round(vllm, workload) for _ in range(args.repeats)]

    print(f"one round's generation: {sequences} sequences ({ITEMS} items x G={G}; {len(workload[1][2])} questions "
          f"x K={K} + B={B} blind); tiny Qwen2-VL hidden {args.hidden} x {args.layers} layers, "
          f"{torch.get_num_threads()} torch threads; median of {args.repeats}")
    print(f"{'engine':8} {'ask s':>7} {'answer s':>9} {'blind s':>8} {'round s':>8} {'seq/s':>7} {'tokens':>7}")
    medians = {}
    for engine in ("hf", "vllm"):
        runs = results[engine]
        med = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        medians[engine] = med
        tokens = int(med["ask_tokens"] + med["answer_tokens"] + med["blind_tokens"])
        print(f"{engine:8} {med['ask']:7.2f} {med['answer']:9.2f} {med['blind']:8.2f} {med['round']:8.2f} "
              f"{sequences / med['round']:7.1f} {tokens:7d}")
    ratio = medians["hf"]["round"] / medians["vllm"]["round"]
    print(f"vLLM start-up {results['vllm_startup_s']:.1f}s (once per run); vLLM / HF sequences per second: "
          f"{ratio:.2f}x")
    results["vllm_over_hf_speed"] = ratio
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()

"""Ours against the baseline a user would otherwise write: two model copies, each trained by TRL's own
GRPOTrainer generating for itself, at equal samples. Round time and peak memory.

The round, as the default job shapes it (configs/cpu.yaml), without the blind answers the baseline
has no place for: the questioner samples G=4 candidates of up to 24 tokens for each of 16 items and
takes 1 GRPO step; the answerer samples K=4 answers of up to 8 tokens for 128 questions and takes 2
steps. Ours: one backbone with both LoRA adapters, the HF rollout engine, then `RoleLearner` replaying
the recorded groups. Baseline: the same model loaded twice, each copy with one LoRA (`peft_config`),
each `GRPOTrainer` sampling its own completions (`max_steps`, batch sizes chosen so it samples exactly
as many). Rewards are placeholders (the length of the completion, scaled): what is measured is the
machinery, not learning. Both arms use gradient checkpointing (TRL's default; ours as
`train.gradient_checkpointing: true`). Each arm runs in a fresh process, so its peak RSS is its own.

    python benchmarks/two_copies_bench.py [--hidden 512 --layers 4] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ITEMS, G, K, QUESTIONS = 16, 4, 4, 128
QUESTION_TOKENS, ANSWER_TOKENS = 24, 8
QUESTIONER_STEPS, ANSWERER_STEPS = 1, 2


def _rows(world: Path):
    from PIL import Image

    from roles.answerer import answerer_messages
    from roles.formats import ANSWER_TYPES
    from roles.questioner import questioner_messages

    manifest = [json.loads(line) for line in (world / "manifest.jsonl").read_text().splitlines()][:ITEMS]
    qa = [json.loads(line) for line in (world / "qa.jsonl").read_text().splitlines()]
    images = [Image.open(world / row["image"]).convert("RGB") for row in manifest]
    ask = [(questioner_messages(row.get("text"), list(ANSWER_TYPES), "generic"), im) for row, im in zip(manifest, images)]
    answer = [(answerer_messages(qa[i % len(qa)]["question"]), images[i % len(images)]) for i in range(QUESTIONS)]
    return ask, answer


def length_reward(completions, **kwargs) -> list[float]:
    """Placeholder reward: completion length / 10 (the benchmark measures machinery, not learning)."""
    return [len(str(c)) / 10 for c in completions]


def ours(model_path: Path, world: Path) -> None:
    import torch

    from selfplay.config import ModelConfig
    from selfplay.engine import HFEngine, Prompt
    from selfplay.learner import Group, RoleLearner
    from selfplay.modeling import attach_role_adapters, load_model_and_processor

    ask, answer = _rows(world)
    model, processor = load_model_and_processor(model_path, torch.float32)
    model = attach_role_adapters(model, ModelConfig(path=str(model_path)))
    engine = HFEngine(model, processor, temperature=1.0, max_sequences=256)
    for role, rows, n, budget, steps in (("questioner", ask, G, QUESTION_TOKENS, QUESTIONER_STEPS),
                                         ("answerer", answer, K, ANSWER_TOKENS, ANSWERER_STEPS)):
        prompts = [Prompt(m, im) for m, im in rows]
        samples = engine.generate(role, prompts, n, budget)
        groups = [Group(p.messages, p.image, s, length_reward([x.text for x in s])) for p, s in zip(prompts, samples)]
        RoleLearner(role, model, processor, group_size=n, steps=steps, learning_rate=5e-4,
                    max_completion_length=budget, gradient_checkpointing=True).learn(groups, 0)


def two_copies(model_path: Path, world: Path) -> None:
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from trl import GRPOConfig, GRPOTrainer

    from selfplay.config import ModelConfig
    from selfplay.modeling import load_model_and_processor

    ask, answer = _rows(world)
    lora = ModelConfig(path=str(model_path))
    trainers = []
    for name, rows, n, budget, steps in (("questioner", ask, G, QUESTION_TOKENS, QUESTIONER_STEPS),
                                         ("answerer", answer, K, ANSWER_TOKENS, ANSWERER_STEPS)):
        model, processor = load_model_and_processor(model_path, torch.float32)  # one copy per role, both held
        dataset = Dataset.from_list([{"prompt": m, "image": im} for m, im in rows])
        args = GRPOConfig(output_dir=tempfile.mkdtemp(prefix=f"two-copies-{name}-"),
                          per_device_train_batch_size=len(rows) * n // steps, num_generations=n, max_steps=steps,
                          max_completion_length=budget, learning_rate=5e-4, temperature=1.0, logging_steps=1,
                          save_strategy="no", report_to="none", use_cpu=True, disable_tqdm=True,
                          remove_unused_columns=False, dataloader_pin_memory=False)
        trainers.append(GRPOTrainer(model=model, reward_funcs=[length_reward], args=args, train_dataset=dataset,
                                    processing_class=processor,
                                    peft_config=LoraConfig(r=lora.lora_rank, lora_alpha=lora.lora_alpha,
                                                           target_modules=lora.lora_target_modules)))
    for trainer in trainers:
        trainer.train()


def _child(arm: str, model_path: Path, world: Path) -> None:
    from selfplay.threads import use_available_cores

    use_available_cores(True)
    started = time.perf_counter()
    {"ours": ours, "two_copies": two_copies}[arm](model_path, world)
    seconds = time.perf_counter() - started
    print(json.dumps({"arm": arm, "seconds": seconds,
                      "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        arm, model_path, world = args.child
        return _child(arm, Path(model_path), Path(world))

    from selfplay.tiny_model import build_tiny_vlm
    from selfplay.world import generate

    scratch = Path(tempfile.mkdtemp(prefix="two-copies-bench-"))
    model_path = build_tiny_vlm(scratch / "model", "qwen2_vl", hidden=args.hidden, layers=args.layers)
    world = generate(scratch / "world", "scan", n=ITEMS, seed=0)
    results = {"hidden": args.hidden, "layers": args.layers, "samples": ITEMS * G + QUESTIONS * K}
    for arm in ("ours", "two_copies"):
        out = subprocess.run([sys.executable, __file__, "--child", arm, str(model_path), str(world)],
                             capture_output=True, text=True, check=True)
        results[arm] = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"one round at equal samples ({results['samples']}: {ITEMS} items x G={G}, {QUESTIONS} questions x K={K}; "
          f"{QUESTIONER_STEPS} + {ANSWERER_STEPS} GRPO steps), tiny Qwen2-VL hidden {args.hidden} x {args.layers}")
    for arm in ("ours", "two_copies"):
        r = results[arm]
        print(f"{arm:11} round {r['seconds']:7.1f} s   peak RSS {r['peak_rss_mib']:7.0f} MiB")
    time_ratio = results["two_copies"]["seconds"] / results["ours"]["seconds"]
    memory_ratio = results["two_copies"]["peak_rss_mib"] / results["ours"]["peak_rss_mib"]
    print(f"two copies / ours: round time {time_ratio:.2f}x, peak memory {memory_ratio:.2f}x")
    results.update(time_ratio=time_ratio, memory_ratio=memory_ratio)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()

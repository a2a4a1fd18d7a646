"""Round checkpoint size and save/load time, measured on a tiny model, and an estimate for 7B LoRA.

    python benchmarks/checkpoint_bench.py [--rank 8] [--hidden 128 --layers 4]

The estimate counts the LoRA weights of rank r on q/k/v/o of every language layer (Qwen2.5-VL-7B:
28 layers, hidden 3584, 4 KV heads of 128), both adapters in fp32 with AdamW's two moments each, and
scales by the save throughput (bytes per second, SHA-256 included) measured here.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def lora_parameters(rank: int, layers: int, hidden: int, kv_dim: int) -> int:
    per_layer = rank * ((hidden + hidden) * 2 + (hidden + kv_dim) * 2)  # q, o: hidden->hidden; k, v: hidden->kv
    return per_layer * layers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--estimate-rank", type=int, default=64)
    args = parser.parse_args()

    import torch

    from selfplay.checkpoint import load_checkpoint, rng_state, save_checkpoint
    from selfplay.config import ModelConfig, RunConfig
    from selfplay.learner import RoleLearner
    from selfplay.modeling import ROLES, attach_role_adapters, load_model_and_processor
    from selfplay.tiny_model import build_tiny_vlm

    work = Path(tempfile.mkdtemp(prefix="selfplay-ckpt-"))
    model_dir = build_tiny_vlm(work / "model", hidden=args.hidden, layers=args.layers)
    cfg = RunConfig(model=ModelConfig(path=str(model_dir), lora_rank=args.rank))
    model, processor = load_model_and_processor(model_dir, torch.float32)
    model = attach_role_adapters(model, cfg.model)
    learners = {role: RoleLearner(role, model, processor, group_size=2, steps=1, learning_rate=1e-3) for role in ROLES}
    for learner in learners.values():  # give Adam its moments, as after a real step
        for group in learner.optimizer.param_groups:
            for p in group["params"]:
                p.grad = torch.randn_like(p)
        learner.optimizer.step()
    saves, loads = [], []
    for attempt in range(3):
        started = time.perf_counter()
        folder = save_checkpoint(work / "run", attempt, model, learners, cfg, [rng_state()])
        saves.append(time.perf_counter() - started)
        started = time.perf_counter()
        load_checkpoint(folder, model, learners, 0, 1)
        loads.append(time.perf_counter() - started)
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    lora = sum(p.numel() for n, p in model.named_parameters() if "lora_" in n)
    save, load = min(saves), min(loads)
    print(f"tiny model (hidden {args.hidden}, {args.layers} layers), LoRA rank {args.rank}: {lora:,} adapter "
          f"parameters; round folder {size / 1e6:.2f} MB; save {save * 1000:.0f} ms, load {load * 1000:.0f} ms")

    params = lora_parameters(args.estimate_rank, layers=28, hidden=3584, kv_dim=512)
    estimate = 2 * params * 4 * 3  # two adapters; fp32 weights + AdamW exp_avg + exp_avg_sq
    throughput = size / save
    print(f"estimate, Qwen2.5-VL-7B, LoRA rank {args.estimate_rank} on q/k/v/o: {params / 1e6:.1f}M parameters "
          f"per adapter; round folder ~{estimate / 1e9:.2f} GB; save ~{estimate / max(throughput, 1):.1f} s at the "
          f"{throughput / 1e6:.0f} MB/s measured here (small files; a local NVMe disk is usually faster)")


if __name__ == "__main__":
    main()

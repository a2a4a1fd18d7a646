"""One arm of the learning table on one domain and seed, with sight after every round: for choosing
a budget (steps, learning rate, adapter targets) before spending a whole table on it.

    python benchmarks/one_arm.py --model runs/warm --domain aerial --answerer-steps 16 --lr 5e-4
    python benchmarks/one_arm.py --model runs/warm --arm selfplay_text --model-options '{"lora_rank": 16}'
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.learning import ARMS, arm_config, images_only_manifest, run_arm, sight  # noqa: E402
from selfplay.builtin import resolve_world  # noqa: E402
from selfplay.evaluate import truth_from  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arm", default="supervised", choices=ARMS)
    parser.add_argument("--domain", default="aerial", choices=["scan", "aerial"])
    parser.add_argument("--model", default="builtin:shapes-qwen2_vl")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--items", type=int, default=16)
    parser.add_argument("--answerer-steps", type=int, default=2)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--eval-questions", type=int, default=200)
    parser.add_argument("--eval-every", type=int, default=1)
    parser.add_argument("--rewards", type=json.loads, default={}, help="JSON of rewards.* settings")
    parser.add_argument("--model-options", type=json.loads, default={}, help="JSON of model.* settings")
    parser.add_argument("--train-options", type=json.loads, default={}, help="JSON of train.* settings")
    parser.add_argument("--cache", default="~/.cache/selfplay")
    parser.add_argument("--out", type=Path, default=Path("runs/one_arm"))
    args = parser.parse_args()
    train_dir = resolve_world(f"builtin:shapes-{args.domain}", args.cache, "domain")
    eval_dir = resolve_world(f"builtin:shapes-{args.domain}-eval", args.cache, "domain")
    images_only_manifest(train_dir)
    shutil.rmtree(args.out, ignore_errors=True)
    started = time.perf_counter()
    result = run_arm(arm_config(args.arm, train_dir, eval_dir, args.out, args, args.seed), truth_from([], train_dir))
    for row in result["rounds"]:
        when = "before round 1" if row["round"] < 0 else f"after round {row['round'] + 1}"
        print(f"{when}: sight {100 * sight(row):+.1f} points, accuracy {row['accuracy']:.3f} "
              f"(blind {row['blind_accuracy']:.3f}, chance {row['chance']:.3f})")
    print(f"{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()

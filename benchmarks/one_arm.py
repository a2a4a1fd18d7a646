"""One arm of the learning table on one domain and seed, with sight after every round: for choosing
a budget (steps, learning rate, adapter targets) before spending a whole table on it.

    python benchmarks/one_arm.py --model runs/warm --domain aerial --answerer-steps 16 --lr 5e-4
    python benchmarks/one_arm.py --model runs/warm --arm selfplay_text --model-options '{"lora_rank": 16}'
    python benchmarks/one_arm.py --model runs/warm --qtypes existence --balance-labels --lr 2e-4 --rounds 20
    python benchmarks/one_arm.py --model runs/warm --image-size 112 --rounds 40 --items 32 --answerer-steps 16 --lr 2e-4
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.image_size import played_at  # noqa: E402
from benchmarks.learning import ARMS, arm_config, images_only_manifest, json_settings, run_arm, sight  # noqa: E402
from selfplay.builtin import resolve_world  # noqa: E402
from selfplay.evaluate import truth_from  # noqa: E402
from selfplay.records import read_jsonl, write_jsonl  # noqa: E402


def labelled_subset(train_dir: Path, eval_dir: Path, out: Path, qtypes: list[str], balance: bool) -> tuple[Path, Path]:
    """The labels and held-out questions of `qtypes` only; with `balance`, each type's labels keep as
    many of each answer as its rarest answer has, so that no constant answer beats chance."""
    import random
    from collections import defaultdict

    labels = [r for r in read_jsonl(train_dir / "qa.jsonl") if r["qtype"] in qtypes]
    if balance:
        by_answer = defaultdict(list)
        for row in labels:
            by_answer[row["qtype"], row["answer"]].append(row)
        rarest = {qtype: min(len(rows) for (t, _), rows in by_answer.items() if t == qtype) for qtype, _ in by_answer}
        labels = [row for (qtype, _), rows in sorted(by_answer.items()) for row in random.Random(0).sample(rows, rarest[qtype])]
    out.mkdir(parents=True, exist_ok=True)
    write_jsonl(out / "labels.jsonl", labels)
    write_jsonl(out / "qa.jsonl", [{**r, "image": str(eval_dir / r["image"])}
                                   for r in read_jsonl(eval_dir / "qa.jsonl") if r["qtype"] in qtypes])
    return out / "labels.jsonl", out / "qa.jsonl"


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
    parser.add_argument("--eval-questions", type=int, default=2000,
                        help="held-out questions per evaluation: the whole eval split, sight to about 1 point (200: "
                             "about 4, as large as the differences a budget makes; 1 minute at 112 px on one core)")
    parser.add_argument("--eval-every", type=int, default=1)
    parser.add_argument("--rewards", type=json_settings, default={}, help="JSON of rewards.* settings")
    parser.add_argument("--model-options", type=json_settings, default={}, help="JSON of model.* settings")
    parser.add_argument("--game-options", type=json_settings, default={}, help="JSON of game.* settings")
    parser.add_argument("--train-options", type=json_settings, default={}, help="JSON of train.* settings")
    parser.add_argument("--cache", default="~/.cache/selfplay")
    parser.add_argument("--out", type=Path, default=Path("runs/one_arm"))
    parser.add_argument("--qtypes", nargs="+", help="supervised only: train and evaluate on these question types")
    parser.add_argument("--balance-labels", action="store_true", help="with --qtypes: as many of each answer per type")
    parser.add_argument("--image-size", type=int, help="play and evaluate at this side in pixels (112: 16 image tokens "
                                                        "instead of 4), on a copy of the model with_image_size writes")
    args = parser.parse_args()
    train_dir = resolve_world(f"builtin:shapes-{args.domain}", args.cache, "domain")
    eval_dir = resolve_world(f"builtin:shapes-{args.domain}-eval", args.cache, "domain")
    images_only_manifest(train_dir)
    shutil.rmtree(args.out, ignore_errors=True)
    started = time.perf_counter()
    if args.image_size:
        args.model, pixels = played_at(args.model, args.image_size, args.out.with_name(args.out.name + "_model"),
                                       args.cache)
        args.model_options = {**args.model_options, **pixels}
    cfg = arm_config(args.arm, train_dir, eval_dir, args.out, args, args.seed)
    if args.qtypes:
        if args.arm != "supervised":
            parser.error("--qtypes needs --arm supervised")
        labels, held_out = labelled_subset(train_dir, eval_dir, args.out.with_name(args.out.name + "_labels"),
                                           args.qtypes, args.balance_labels)
        cfg["data"]["labels"], cfg["eval"]["data"] = str(labels), str(held_out)
    result = run_arm(cfg, truth_from([], train_dir))
    for row in result["rounds"]:
        when = "before round 1" if row["round"] < 0 else f"after round {row['round'] + 1}"
        error = "" if row["sight_se"] is None else f" +- {100 * row['sight_se']:.1f}"
        print(f"{when}: sight {100 * sight(row):+.1f}{error} points, accuracy {row['accuracy']:.3f} "
              f"(blind {row['blind_accuracy']:.3f}, chance {row['chance']:.3f}"
              + (f", blind in form {row['blind_in_form']:.2f})" if row["blind_in_form"] is not None else ")"))
    print(f"{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()

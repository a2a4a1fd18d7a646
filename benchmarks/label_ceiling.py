"""How much sight can a target domain's labels teach the base at all? Plain SFT on them, then sight.

Supervised GRPO is the learning table's upper bound, and issue 16 asks it to raise sight by 10 points
on each target. GRPO learns from the model's own samples, so it can hardly teach more than SFT on the
same labels teaches. This fine-tunes a copy of the base (TRL's SFTTrainer, full weights, loss on the
answer, as the warm start) on answerer rows of a freshly drawn labelled split of the domain (its own
seed, so no held-out image is trained on), then prints sight, accuracy and blind accuracy per
question type on the held-out questions before and after, every `--eval-every` steps.

    python benchmarks/label_ceiling.py --model runs/warmstart_probe/model --domain aerial
    python benchmarks/label_ceiling.py --model runs/warmstart_probe/model --domain aerial --lr 1e-3 --image-size 112
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.image_size import with_image_size  # noqa: E402
from benchmarks.learning import json_settings  # noqa: E402
from selfplay.builtin import resolve_world  # noqa: E402
from selfplay.evaluate import evaluate, read_qa  # noqa: E402
from selfplay.records import read_jsonl  # noqa: E402
from selfplay.scene import DOMAINS  # noqa: E402
from selfplay.world import generate  # noqa: E402

LABELLED_SEED = 11  # the builtin splits use their own seeds (builtin.WORLD_SPLITS); this split is neither


def labelled_rows(world: Path, n: int, seed: int = 0) -> list[dict]:
    """`n` answerer SFT rows from a world folder's qa.jsonl, in a seeded order, each with its image."""
    from PIL import Image

    from selfplay.warmstart import answerer_row

    rows = read_jsonl(world / "qa.jsonl")
    random.Random(seed).shuffle(rows)
    images: dict[str, Image.Image] = {}
    out = []
    for row in rows[:n]:
        if row["image"] not in images:
            images[row["image"]] = Image.open(world / row["image"]).convert("RGB")
        out.append(answerer_row(row["question"], row["answer"], images[row["image"]]))
    return out


def line(step: int, result: dict) -> str:
    """One progress line: overall sight, accuracy and blind, then sighted/blind per question type."""
    acc, blind = result["accuracy"], result["blind_accuracy"]
    kinds = " ".join(f"{k} {acc[k]:.2f}/{blind[k]:.2f}" for k in acc if k != "all")
    return f"step {step}: sight {100 * result['sight']['all']:+.1f} +- {100 * result['sight_se']['all']:.1f} " \
           f"points, accuracy {acc['all']:.3f} " \
           f"(blind {blind['all']:.3f}) | {kinds}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="the base checkpoint folder (it is not changed)")
    parser.add_argument("--domain", default="aerial", choices=DOMAINS)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--eval-every", type=int, default=250)
    parser.add_argument("--lr", type=float, default=2e-4,
                        help="constant; 1e-3 (the look stage's) first unlearns the warm base: source sight +16 -> +4.5")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--images", type=int, default=2000, help="images of the labelled split (4 questions each)")
    parser.add_argument("--questions", type=int, default=2000,
                        help="held-out questions evaluated (the whole eval split: sight to about 1 point)")
    parser.add_argument("--image-size", type=int, default=56,
                        help="side the images are resized to, in training and evaluation: 56 gives the model 4 "
                             "image tokens, 112 gives 16 (the world draws at 56, so 112 adds tokens, not detail)")
    parser.add_argument("--lora", type=json_settings,
                        help="train the answerer's LoRA adapter instead of every weight, as the self-play run does: "
                             "JSON of model.* settings ('{}' for the product's: rank, targets)")
    parser.add_argument("--cache", default="~/.cache/selfplay")
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    import torch
    from transformers import TrainerCallback

    from selfplay.config import ModelConfig
    from selfplay.modeling import attach_role_adapters, load_model_and_processor
    from selfplay.warmstart import train_sft

    cache = Path(args.cache).expanduser()
    world = cache / "data" / f"labelled-{args.domain}-{args.images}"
    if not (world / "qa.jsonl").is_file():
        generate(world, domain=args.domain, n=args.images, seed=LABELLED_SEED)
    qa = read_qa(resolve_world(f"builtin:shapes-{args.domain}-eval", cache, "eval") / "qa.jsonl")[:args.questions]
    rows = labelled_rows(world, args.steps * args.batch_size)
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory(prefix="label-ceiling-") as scratch:
        sized = with_image_size(Path(args.model).expanduser(), args.image_size, Path(scratch) / "model")
        model, processor = load_model_and_processor(sized, torch.float32)
    role = None
    if args.lora is not None:
        model, role = attach_role_adapters(model, ModelConfig(**args.lora)), "answerer"
        model.set_adapter(role)
    pixels = args.image_size ** 2
    figures = {"settings": {**{k: str(v) for k, v in vars(args).items()}, "threads": torch.get_num_threads(),
                            "distinct_rows": len(rows)}, "steps": {}}

    def measure(step: int) -> None:
        result = evaluate(model, processor, qa, role=role, max_pixels=pixels, min_pixels=pixels, blind_mode="blank")
        figures["steps"][step] = {k: result[k] for k in ("accuracy", "blind_accuracy", "sight", "sight_se")}
        print(line(step, result), flush=True)

    class Measure(TrainerCallback):
        def on_step_end(self, trainer_args, state, control, **kwargs):
            if state.global_step % args.eval_every == 0:
                measure(state.global_step)
                model.train()  # the evaluation's engine put it in eval mode

    measure(0)
    train_sft(model, processor, rows, args.steps, "constant", batch_size=args.batch_size, learning_rate=args.lr,
              seed=0, callbacks=[Measure()])
    if args.out:
        args.out.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()

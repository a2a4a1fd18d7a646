"""Does the warm-started base model see its image and read its context? Self-play can only sharpen what
the base model already does, so this is measured before any learning table.

For a warm-start recipe (selfplay/shapes_base.py: look and main steps, source scenes, broad reading) it
builds the model, then prints:
  answerer   accuracy on each domain's held-out QA, with the image and blind (a blank grey image);
             equal numbers mean the model does not use the image;
  questioner on each domain's training items, sampled as self-play samples them: the share of
             candidates that parse, that copy their nouns from the caption, whose question can be
             checked against the scene graph (ground_truth.truth), and whose own reference answer is
             right.

    python benchmarks/warmstart_probe.py        # SHAPES_RECIPE, the built-in model's (b5's: look 600, main 1000 steps)
    python benchmarks/warmstart_probe.py --no-reading --no-copying --no-answering --look-steps 0
    python benchmarks/warmstart_probe.py --copy-steps 2500 --copy-framed-steps 1500 --steps 1000 --look-steps 1500 \\
        --copy-frames
    python benchmarks/warmstart_probe.py --model ~/.cache/selfplay/models/shapes-qwen2_vl   # probe only
    python benchmarks/warmstart_probe.py --image-size 112
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.image_size import with_image_size  # noqa: E402
from benchmarks.questioner_probe import questioner_probe  # noqa: E402
from selfplay.evaluate import evaluate, read_qa  # noqa: E402
from selfplay.scene import DOMAINS  # noqa: E402
from selfplay.shapes_base import SHAPES_RECIPE  # noqa: E402


def copied(base: Path, out: Path, plain_steps: int, framed_steps: int, seed: int) -> Path:
    """`base` after benchmarks/copy_stage.py's copy stage, saved to `out`."""
    from benchmarks.copy_stage import copy_stage
    from selfplay.warmstart import fine_tuned

    return fine_tuned(base, out, lambda model, processor: copy_stage(model, processor, plain_steps, framed_steps), seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="probe this checkpoint folder instead of building one")
    parser.add_argument("--base", default="builtin:tiny-qwen2_vl", help="what the warm start starts from")
    recipe = SHAPES_RECIPE  # the defaults build the built-in model's recipe, option by option
    parser.add_argument("--steps", type=int, default=recipe["steps"], help="steps of the main stage")
    parser.add_argument("--copy-steps", type=int, default=0,
                        help="a copy stage first: this many steps on rows that name made-up words in the world's own "
                             "caption frames (benchmarks/copy_stage.py)")
    parser.add_argument("--copy-framed-steps", type=int, default=0,
                        help="then this many on such rows in made-up frames and places (copy_stage.py --framed-steps)")
    parser.add_argument("--look-steps", type=int, default=recipe["look_steps"],
                        help="a look stage on colour questions first (selfplay/look_stage.py)")
    parser.add_argument("--scenes", type=int, default=recipe["scenes"], help="source scenes of the warm start")
    parser.add_argument("--reading", action=argparse.BooleanOptionalAction, default=recipe["reading"],
                        help="add broad-vocabulary reading rows, one scene per eight rows (selfplay/broad_reading.py)")
    parser.add_argument("--copying", action=argparse.BooleanOptionalAction, default=recipe["copying"],
                        help="with --reading, give half of its share to rows that name a made-up word, new in every "
                             "scene (selfplay/broad_reading.py: copy_rows)")
    parser.add_argument("--copy-frames", action=argparse.BooleanOptionalAction, default=recipe["copy_frames"],
                        help="with --copying, frame the copy rows' facts in made-up words and state absences "
                             "(broad_reading.made_up_frame)")
    parser.add_argument("--answering", action=argparse.BooleanOptionalAction, default=recipe["answering"],
                        help="add broad-vocabulary answerer rows in varied styles, one scene per eight rows "
                             "(selfplay/broad_reading.py)")
    parser.add_argument("--looks", action="store_true",
                        help="add answerer rows whose nouns keep one look (form and size) in every scene and style, "
                             "one scene per eight rows (selfplay/broad_looks.py); not yet the built-in's recipe")
    parser.add_argument("--answer-steps", type=int, default=recipe.get("answer_steps", 0),
                        help="an answer stage last: this many steps on the world's own rows at 2.5e-4, with copy, "
                             "answering and looks rows always mixed in (selfplay/answer_stage.py)")
    parser.add_argument("--image-size", type=int, default=56,
                        help="side in pixels the base is warm-started and probed at (112: 16 image tokens instead of "
                             "4); the saved processor keeps it (benchmarks/image_size.py). With --model, the side it "
                             "is probed at, through a copy whose processor keeps it")
    parser.add_argument("--seed", type=int, default=recipe["seed"],
                        help="seed of the warm start's training (the order of its rows)")
    parser.add_argument("--out", type=Path, default=Path("runs/warmstart_probe/model"))
    parser.add_argument("--work", type=Path, default=Path("runs/warmstart_probe"))
    parser.add_argument("--cache", default="~/.cache/selfplay")
    parser.add_argument("--questions", type=int, default=2000,
                        help="held-out questions per domain: the whole eval split, sight to about 1 point (at 200, "
                             "about 4: two builds of one recipe could not be told apart)")
    parser.add_argument("--temperature", type=float, default=1.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    import torch

    from selfplay.builtin import resolve_model_path, resolve_world
    from selfplay.config import ModelConfig
    from selfplay.modeling import load_model_and_processor
    from selfplay.shapes_base import build_shapes_base

    # the figures hold for the thread count they were made with: b5 built at 1 thread and at 2 differs by 10 points
    report: dict = {"settings": {**{k: str(v) for k, v in vars(args).items()}, "threads": torch.get_num_threads()}}
    if args.model:  # its processor resizes again, to the side it was saved with (56 for the shapes models)
        model_dir = with_image_size(Path(args.model).expanduser(), args.image_size,
                                    args.work / f"probed-{args.image_size}px")
    else:
        base = resolve_model_path(ModelConfig(path=args.base), args.cache)
        base = with_image_size(base, args.image_size, args.work / f"base-{args.image_size}px")
        started = time.perf_counter()
        if args.copy_steps or args.copy_framed_steps:
            base = copied(base, args.work / "copied", args.copy_steps, args.copy_framed_steps, args.seed)
        # every key of the recipe is an option of the same name, but the scenes' seed and the rows' number
        recipe = {key: getattr(args, key, value) for key, value in SHAPES_RECIPE.items()}
        if args.looks:
            recipe["looks"] = True
        if args.answer_steps:
            recipe["answer_steps"] = args.answer_steps
        model_dir = build_shapes_base(base, args.work, args.out, recipe)
        report["warm_start_seconds"] = round(time.perf_counter() - started, 1)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model, processor = load_model_and_processor(model_dir, torch.float32)
    model.to(device)
    torch.manual_seed(0)
    pixels = args.image_size ** 2
    for domain in DOMAINS:
        eval_dir = resolve_world(f"builtin:shapes-{domain}-eval", args.cache, "probe")
        qa = read_qa(eval_dir)[:args.questions]
        result = evaluate(model, processor, qa, role=None, max_pixels=pixels, min_pixels=pixels, blind_mode="blank")
        train_dir = resolve_world(f"builtin:shapes-{domain}", args.cache, "probe")
        report[domain] = {"accuracy": result["accuracy"], "blind_accuracy": result["blind_accuracy"],
                          "sight": result["sight"], "sight_se": result["sight_se"], "blind_in_form": result["blind_in_form"],
                          "chance": result["chance"]["all"],
                          "questioner": questioner_probe(model, processor, train_dir, 40, args.temperature, pixels)}
        print(f"{domain}: sight {result['sight']['all']:+.3f} +- {result['sight_se']['all']:.3f}, accuracy {result['accuracy']['all']:.3f} "
              f"(blind {result['blind_accuracy']['all']:.3f}, blind in form {result['blind_in_form']['all']:.2f}, "
              f"chance {result['chance']['all']:.3f}); questioner {report[domain]['questioner']}", flush=True)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()

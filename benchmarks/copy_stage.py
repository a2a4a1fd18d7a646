"""Does the questioner learn to copy a word it has never read? A copy stage alone, with the questioner
probe on every domain's captions every `--every` steps.

A questioner on a domain nobody planned for must ask about what its text names, by copying words it
never read; on the targets the tiny model invents words instead, and self-play with text then plays on
another world's questions (docs/learning.md). This trains a model on `copy_rows` alone (every shape
and colour a made-up word, new in every scene) at a constant learning rate and prints, per domain,
the share of sampled candidates that parse, that copy (every content word occurs in the caption),
that the scene graph can check, and whose reference is right (benchmarks/questioner_probe.py).
`--framed-steps` go on with the captions' facts in made-up frames and places (copy_rows(frames=True)),
so that the questioner copies the object out of a frame it never read; benchmarks/warmstart_probe.py
runs the same stage before its look stage with --copy-steps.

    python benchmarks/copy_stage.py --steps 2500 --every 250
    python benchmarks/copy_stage.py --words letters --steps 2500
    python benchmarks/copy_stage.py --steps 2500 --framed-steps 1500
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from selfplay.broad_reading import copy_rows, made_up_word  # noqa: E402
from benchmarks.image_size import with_image_size  # noqa: E402
from benchmarks.questioner_probe import questioner_probe  # noqa: E402
from selfplay.scene import DOMAINS  # noqa: E402
from selfplay.world import generate  # noqa: E402

log = logging.getLogger("selfplay.warmstart.copy")


def piece_word(pieces: list[str]):
    """A made-up word of 1 to 3 of the tokenizer's letter pieces (3 to 10 letters): as many tokens as a
    real noun takes, where `made_up_word`'s random letters take one token per letter or two."""
    def word(rng: random.Random) -> str:
        while True:
            w = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 3)))
            if 3 <= len(w) <= 10:
                return w
    return word


def letter_pieces(tokenizer) -> list[str]:
    """The tokenizer's vocabulary entries that are lower-case letters only (a leading space dropped)."""
    return sorted({t.lstrip("Ġ") for t in tokenizer.get_vocab() if t.lstrip("Ġ").isalpha() and t.lstrip("Ġ").islower()})


def copy_stage(model, processor, plain_steps: int, framed_steps: int, *, scenes: int = 10000,
               learning_rate: float = 1e-3, every: int = 250, word=None,
               after_chunk: Callable[[int], None] | None = None) -> None:
    """Train `model` in place on `copy_rows` of `scenes` source scenes: `plain_steps` in the world's own
    caption frames, then `framed_steps` in made-up frames, in chunks of `every` steps (constant learning
    rate, rows reshuffled per chunk); `after_chunk(steps done)` runs after each chunk (a probe, a save).

    Why two parts: a tiny model crosses to copying words it never read on plain captions (2000-2500
    steps) and crosses no sooner on framed ones, but only framed rows teach it to find the object in a
    caption whose other words are new too, as a domain nobody planned for writes them (docs/learning.md).
    """
    from selfplay.warmstart import train_sft

    word = word or piece_word(letter_pieces(processor.tokenizer))
    done, started = 0, time.perf_counter()
    for frames, stage_steps in ((False, plain_steps), (True, framed_steps)):
        if not stage_steps:
            continue
        rows = copy_rows(scenes, seed=0, word=word, frames=frames)
        log.info("copy stage: %d rows%s, %d steps of 32 at lr %g", len(rows), " in made-up frames" if frames else "",
                 stage_steps, learning_rate)
        end = done + stage_steps
        while done < end:
            random.Random(done).shuffle(rows)
            steps = min(every, end - done)
            train_sft(model, processor, rows, steps, "constant_with_warmup", batch_size=32,
                      learning_rate=learning_rate, seed=done)
            done += steps
            log.info("copy stage: %d/%d steps in %.0f s", done, plain_steps + framed_steps, time.perf_counter() - started)
            if after_chunk:
                after_chunk(done)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default="builtin:tiny-qwen2_vl", help="the model the copy stage starts from")
    parser.add_argument("--words", choices=["pieces", "letters"], default="pieces")
    parser.add_argument("--steps", type=int, default=2500, help="steps on copy rows in the world's own caption frames")
    parser.add_argument("--framed-steps", type=int, default=0,
                        help="steps after those on copy rows in made-up frames, with made-up places and absences "
                             "(broad_reading.made_up_frame)")
    parser.add_argument("--every", type=int, default=250, help="probe the questioner every this many steps")
    parser.add_argument("--scenes", type=int, default=10000, help="source scenes renamed into copy rows (2 rows each)")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--image-size", type=int, default=56)
    parser.add_argument("--items", type=int, default=40, help="captions probed per domain (4 candidates each)")
    parser.add_argument("--out", type=Path, default=Path("runs/copy_stage/model"))
    parser.add_argument("--work", type=Path, default=Path("runs/copy_stage"))
    parser.add_argument("--cache", default="~/.cache/selfplay")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    import torch
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from selfplay.builtin import resolve_model_path, resolve_world
    from selfplay.config import ModelConfig
    from selfplay.modeling import NO_HUB_KERNELS

    base = resolve_model_path(ModelConfig(path=args.base), args.cache)
    base = with_image_size(base, args.image_size, args.work / f"base-{args.image_size}px")
    torch.manual_seed(0)
    model = AutoModelForImageTextToText.from_pretrained(base, dtype=torch.float32, **NO_HUB_KERNELS)
    processor = AutoProcessor.from_pretrained(base)
    word = piece_word(letter_pieces(processor.tokenizer)) if args.words == "pieces" else made_up_word
    worlds = {domain: (generate(args.work / "source-2000", "source", n=2000, seed=1) if domain == "source"
                       else resolve_world(f"builtin:shapes-{domain}", args.cache, "copy stage")) for domain in DOMAINS}
    started = time.perf_counter()

    def probe_and_save(done: int) -> None:
        model.eval()
        probes = {domain: questioner_probe(model, processor, world, args.items, 1.0, args.image_size ** 2)
                  for domain, world in worlds.items()}
        model.train()
        print(f"step {done} ({time.perf_counter() - started:.0f} s): " + " | ".join(
            f"{domain} parsed {p['parsed']:.2f} copied {p['copied']:.2f} checkable {p['checkable']:.2f}"
            for domain, p in probes.items()), flush=True)
        args.out.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(args.out)
        processor.save_pretrained(args.out)

    copy_stage(model, processor, args.steps, args.framed_steps, scenes=args.scenes, learning_rate=args.lr,
               every=args.every, word=word, after_chunk=probe_and_save)


if __name__ == "__main__":
    main()

"""The `selfplay` command: `selfplay [run] ...` trains; `selfplay build-tiny OUT` writes a tiny model."""

from __future__ import annotations

import argparse
import sys

COMMANDS = {
    "run": "run self-play (the default): selfplay run [CONFIG.yaml] [--section.key value ...]",
    "build-tiny": "write a tiny random-weight VLM checkpoint folder, offline: selfplay build-tiny OUT_DIR",
}


def build_tiny(argv: list[str]) -> int:
    from .tiny_model import FAMILIES, build_tiny_vlm

    parser = argparse.ArgumentParser(prog="selfplay build-tiny", description=COMMANDS["build-tiny"])
    parser.add_argument("out_dir")
    parser.add_argument("--family", choices=FAMILIES, default="qwen2_vl")
    parser.add_argument("--image-size", type=int, default=56, help="side of the square images the processor makes")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = build_tiny_vlm(args.out_dir, args.family, image_size=args.image_size, seed=args.seed)
    print(f"wrote a tiny {args.family} checkpoint to {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-h", "--help") and len(argv) == 1:
        print("usage: selfplay [COMMAND] ...\n\ncommands:")
        for name, help_text in COMMANDS.items():
            print(f"  {name:<11} {help_text}")
        print("\nWith no command, `selfplay` runs self-play; `selfplay run --help` lists every config key.")
        return 0
    if argv and argv[0] == "build-tiny":
        return build_tiny(argv[1:])
    from .run import run

    return run(argv[1:] if argv and argv[0] == "run" else argv)


if __name__ == "__main__":
    sys.exit(main())

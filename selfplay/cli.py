"""The `selfplay` command: `selfplay [run] ...` trains; `selfplay build-tiny OUT` writes a tiny model;
`selfplay prepare medical|remote-sensing SRC OUT` turns a folder of scans or scenes into a manifest;
`selfplay report RUN_DIR` writes a run's game report."""

from __future__ import annotations

import argparse
import sys

COMMANDS = {
    "run": "run self-play (the default): selfplay run [CONFIG.yaml] [--section.key value ...]",
    "build-tiny": "write a tiny random-weight VLM checkpoint folder, offline: selfplay build-tiny OUT_DIR",
    "eval": "accuracy on ground-truth QA: selfplay eval MODEL_OR_ROUND --data QA.jsonl [--games games.jsonl]",
    "export": "export a round's adapter for serving: selfplay export ROUND_DIR OUT_DIR --role answerer [--merge [--dtype D]]",
    "report": "write a run's game report, a static HTML page: selfplay report RUN_DIR [--out DIR]",
    "prepare": "a folder of DICOM/NIfTI or GeoTIFF plus text to a manifest: selfplay prepare medical|remote-sensing SRC OUT",
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


def export(argv: list[str]) -> int:
    from .checkpoint import CheckpointError
    from .export import MERGE_DTYPES, export_round

    parser = argparse.ArgumentParser(prog="selfplay export", description=COMMANDS["export"])
    parser.add_argument("round_dir", help="a round folder, e.g. runs/default/rounds/0002")
    parser.add_argument("out_dir")
    parser.add_argument("--role", default="answerer", choices=("questioner", "answerer"))
    parser.add_argument("--merge", action="store_true", help="fold the adapter into the base weights")
    parser.add_argument("--dtype", choices=MERGE_DTYPES,
                        help="dtype of the merged weights (default: the base checkpoint's own, bf16 for Qwen-VL)")
    args = parser.parse_args(argv)
    if args.dtype and not args.merge:
        parser.error("--dtype applies to --merge only")
    try:
        out = export_round(args.round_dir, args.role, args.out_dir, merge=args.merge, dtype=args.dtype)
    except CheckpointError as error:
        print(f"selfplay export: {error}", file=sys.stderr)
        return 2
    print(f"wrote the {args.role} {'merged model' if args.merge else 'adapter'} to {out}")
    return 0


def evaluate(argv: list[str]) -> int:
    import json

    from .evaluate import evaluate as run_eval
    from .evaluate import load_for_eval, pseudo_label_accuracy, read_qa, truth_from
    from .metrics import question_diversity
    from .records import read_jsonl

    parser = argparse.ArgumentParser(prog="selfplay eval", description=COMMANDS["eval"])
    parser.add_argument("model", help="a checkpoint folder or a round folder (runs/x/rounds/0004)")
    parser.add_argument("--data", required=True, help="QA JSONL (image, question, answer, qtype) or its folder")
    parser.add_argument("--max-questions", type=int, default=0, help="0: all")
    parser.add_argument("--max-pixels", type=int, default=56 * 56)
    parser.add_argument("--blind-mode", choices=("blank", "none"), default="blank")
    parser.add_argument("--games", help="a run's games.jsonl: also report its pseudo-label accuracy")
    parser.add_argument("--scenes", help="folder with the shapes world's scenes.jsonl of the played data")
    args = parser.parse_args(argv)
    rows = read_qa(args.data)
    rows = rows[:args.max_questions] if args.max_questions else rows
    model, processor, role = load_for_eval(args.model)
    result = run_eval(model, processor, rows, role=role, max_pixels=args.max_pixels,
                      min_pixels=args.max_pixels, blind_mode=args.blind_mode)
    if args.games:
        games = read_jsonl(args.games)
        result["pseudo_label"] = pseudo_label_accuracy(games, truth_from(rows, args.scenes))
        result["question_diversity"] = question_diversity(games)
    print(json.dumps(result, indent=1))
    return 0


def report(argv: list[str]) -> int:
    from .report import write_report

    parser = argparse.ArgumentParser(prog="selfplay report", description=COMMANDS["report"])
    parser.add_argument("run_dir", help="a run's output_dir (games.jsonl, metrics.jsonl, eval.jsonl, config.yaml)")
    parser.add_argument("--out", help="folder to write index.html, thumbs/ and plots/ to (default: RUN_DIR/report)")
    args = parser.parse_args(argv)
    try:
        page = write_report(args.run_dir, args.out)
    except FileNotFoundError as error:
        print(f"selfplay report: {error}", file=sys.stderr)
        return 2
    print(f"wrote {page}")
    return 0


def prepare(argv: list[str]) -> int:
    import logging

    from .medical.prepare import prepare_medical
    from .prepare import PrepareError
    from .remote_sensing.prepare import prepare_remote_sensing

    parser = argparse.ArgumentParser(prog="selfplay prepare", description=COMMANDS["prepare"])
    domains = parser.add_subparsers(dest="domain", required=True, metavar="{medical,remote-sensing}")
    medical = domains.add_parser("medical", help="DICOM, NIfTI, PNG or JPEG with radiology reports (docs/medical.md)")
    scenes = domains.add_parser("remote-sensing", help="GeoTIFF scenes or RGB chips with captions (docs/remote_sensing.md)")
    for sub in (medical, scenes):
        sub.add_argument("src", help="folder to read (walked recursively; never modified)")
        sub.add_argument("out", help="folder to write: manifest.jsonl, images/, previews/, skipped.jsonl")
        sub.add_argument("--previews", type=int, default=8, help="images on the contact sheet in OUT/previews")
        sub.add_argument("--overwrite", action="store_true", help="write into a non-empty OUT")
    medical.add_argument("--reports", help="reports table (CSV, JSONL or JSON) with findings/impression or report "
                                           "columns and an image, file_name, study or uid column; else .txt reports")
    medical.add_argument("--section", choices=("findings", "impression", "both"), default="findings",
                         help="which part of the report becomes the item's text (findings falls back to impression)")
    medical.add_argument("--window", help="lung, mediastinum, bone, brain or CENTRE,WIDTH (default: the file's own "
                                          "window, else the image's min-max)")
    medical.add_argument("--frame", type=int, help="frame of a multi-frame DICOM (default: the middle one)")
    medical.add_argument("--slice", type=int, dest="slice_index", help="axial slice of a NIfTI volume (default: middle)")
    scenes.add_argument("--captions", help="RSICD / UCM-captions / RSITMD-style JSON, or {file name: captions}")
    scenes.add_argument("--bands", help="sentinel2_rgb, sentinel2_false_colour, rgb, or bands by name or 1-based "
                                        "index: B4,B3,B2 or 1,2,3 (default: the first three)")
    scenes.add_argument("--tile-size", type=int, default=448, help="side of the square tiles in pixels")
    scenes.add_argument("--stretch", default="2,98", help="LOW,HIGH percentiles mapped to 0 and 255, or none")
    scenes.add_argument("--nodata", type=float, help="nodata value (default: the file's own)")
    scenes.add_argument("--min-valid", type=float, default=0.5, dest="min_valid_share",
                        help="drop tiles with a smaller share of valid (not nodata) pixels")
    args = vars(parser.parse_args(argv))
    domain = args.pop("domain")
    log, handler = logging.getLogger("selfplay"), logging.StreamHandler()  # warnings and progress on stderr
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        summary = (prepare_medical if domain == "medical" else prepare_remote_sensing)(**args)
    except PrepareError as error:
        print(f"selfplay prepare: {error}", file=sys.stderr)
        return 2
    finally:
        log.removeHandler(handler)
    print("\n".join(summary.lines()))
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
    if argv and argv[0] == "export":
        return export(argv[1:])
    if argv and argv[0] == "eval":
        return evaluate(argv[1:])
    if argv and argv[0] == "report":
        return report(argv[1:])
    if argv and argv[0] == "prepare":
        return prepare(argv[1:])
    from .run import run

    return run(argv[1:] if argv and argv[0] == "run" else argv)


if __name__ == "__main__":
    sys.exit(main())

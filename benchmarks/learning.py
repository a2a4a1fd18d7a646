"""The learning table: does self-play improve the answerer on held-out ground truth?

On the shapes world's target domains (scan, aerial), starting from the source-warm-started tiny
model, at equal budget (same rounds, items, G, K, GRPO updates, answered questions per item), over
several seeds:
  base             no training on the target (the evaluation before round 1)
  selfplay_text    self-play with the paired text, zero labels
  selfplay_images  self-play on the images alone, zero labels
  supervised       GRPO on ground-truth questions and answers (the upper bound)
For each: answerer accuracy and blind accuracy after every round, pseudo-label accuracy (how often the
run's references and silver labels matched the hidden truth, computed here, never fed to training),
question diversity. Writes docs/benchmarks/learning.json and learning.md.

    python benchmarks/learning.py --model <base>            # 2 domains x 3 seeds x 3 arms x 20 rounds
    python benchmarks/learning.py --model <base> --jobs 2   # the 18 runs two at a time, one core each
    python benchmarks/learning.py --model <base> --quick    # one seed on aerial, for development
    python benchmarks/learning.py --from-runs               # the table of the runs under --work, as far as all got
    python benchmarks/learning.py --model <base> --resume   # go on with the runs under --work from their last rounds

The defaults are the instrument's budget (issue 16, docs/learning.md "Covered choices"): 112 px images (16
image tokens), 128 items a round, 16 answerer steps at lr 2.5e-4, LoRA rank 16 on every linear layer of the
language model, the vision tower and the merger, 4 blind answers, named choices covered, a backed reference
written into a group that lacks it (since stop 43, docs/learning.md "The vision tower's rate as an option"),
questions written from the text where the questioner states nothing (docs/learning.md "A lent GPU ...
questions written from the text"), 2000 held-out questions every 10 rounds. At that budget supervised GRPO
teaches scan's and aerial's attribute questions from base b5; at the earlier one (10 rounds of 16 items,
language attention only) no arm gained sight. They stay here: the product's defaults for a real VLM did not
change with them.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shlex
import shutil
import sys
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.image_size import played_at  # noqa: E402
from benchmarks.learning_report import ARMS, markdown, sight, summarise  # noqa: E402
from selfplay.builtin import resolve_world  # noqa: E402
from selfplay.config_parser import from_dict, load_yaml  # noqa: E402
from selfplay.evaluate import pseudo_label_accuracy, truth_from  # noqa: E402
from selfplay.metrics import question_diversity  # noqa: E402
from selfplay.records import read_jsonl, write_jsonl  # noqa: E402
from selfplay.runner import main  # noqa: E402
from selfplay.tracking import flat_config  # noqa: E402

# every linear layer of the language model, the vision tower (qkv, attn.proj, fc1, fc2) and the merger (mlp.0, mlp.2)
EVERY_LINEAR = r".*(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj|qkv|attn\.proj|fc1|fc2|mlp\.0|mlp\.2)$"
INSTRUMENT_MODEL = {"lora_rank": 16, "lora_alpha": 32, "lora_target_modules": EVERY_LINEAR}
# text_questions: self-play with text writes a question from the text where its questioner states nothing (the
# supervised arm asks ground truth, and self-play on images has no text, so only that arm changes)
INSTRUMENT_GAME = {"blind_answers": 4, "cover_named_choices": True, "text_questions": True, "cover_reference": True}


def json_settings(value: str) -> dict:
    """A command-line option's JSON object of settings; bad JSON is an error that says where it breaks.

    Why: argparse's own message for a failing `json.loads` is "invalid loads value", which hides the
    usual cause, a regex's single backslash (JSON writes it doubled).

    Example:
        >>> json_settings('{"lora_rank": 16}')
        {'lora_rank': 16}
    """
    try:
        settings = json.loads(value)
    except json.JSONDecodeError as error:
        hint = "; JSON writes a backslash as \\\\" if "escape" in error.msg else ""
        raise argparse.ArgumentTypeError(f"not JSON ({error.msg} at character {error.pos}{hint}): {value}") from None
    if not isinstance(settings, dict):
        raise argparse.ArgumentTypeError(f"must be a JSON object of settings, like '{{\"lora_rank\": 16}}': {value}")
    return settings


def arm_config(arm: str, domain_dir: Path, eval_dir: Path, out: Path, args, seed: int) -> dict:
    """Everything but the arm's own switches is shared, so the budget is equal."""
    manifest = domain_dir / ("manifest_images_only.jsonl" if arm == "selfplay_images" else "manifest.jsonl")
    cfg = {
        "output_dir": str(out), "cache_dir": args.cache,
        "model": {"path": args.model, **args.model_options},
        "data": {"source": str(manifest)},
        "game": {"rounds": args.rounds, "items_per_round": args.items, "questions_per_item": 4,
                 "answers_per_question": 4, "blind_answers": 2, **args.game_options},
        "rewards": dict(args.rewards),
        "train": {"seed": seed, "answerer_steps": args.answerer_steps, "questioner_steps": 1,
                  "learning_rate": args.lr, **args.train_options},
        "eval": {"data": str(eval_dir / "qa.jsonl"), "max_questions": args.eval_questions, "every": args.eval_every},
    }
    if arm == "supervised":
        # as many answered questions per item as self-play with text: its G candidates plus the borrowed ones
        cfg["game"]["questions_per_item"] += cfg["game"].get("borrowed_questions", from_dict({}).game.borrowed_questions)
        cfg["game"]["mode"] = "supervised"
        cfg["data"]["labels"] = str(domain_dir / "qa.jsonl")  # every ground-truth question trains, towards its label
    return cfg


def recorded_seconds(out: Path) -> float:
    """The seconds a run folder's rounds and the evaluations after them took, by its own records (metrics.jsonl's
    time/round and time/eval): a table run over several sittings, or cut off, is timed by its work, not by the
    pauses between. It leaves out loading and the evaluation before round 1, so it reads a little low."""
    path = out / "metrics.jsonl"
    rows = read_jsonl(path) if path.is_file() else []
    return sum(row.get(key, 0.0) for row in rows for key in ("time/round", "time/eval"))


# what may differ between the sittings of one table: where things are, how resuming is asked, and how many rounds
RESUMABLE_CHANGES = ("output_dir", "cache_dir", "checkpoint.resume", "checkpoint.keep_last", "game.rounds")


def changed_settings(out: Path, cfg: dict, also_allowed: tuple[str, ...] = ()) -> list[str]:
    """The settings of `cfg` that differ from those the run in `out` was started with ("key: old -> new"),
    beyond RESUMABLE_CHANGES and `also_allowed`; none where the run has not started. A resumed table whose
    sittings differed in rate, items or options would compare arms that were not run alike, so --resume
    refuses them all (the run itself refuses only the changes that break its checkpoint), and --from-runs
    too, since the table records the command's settings as the runs'."""
    saved = out / "config.yaml"
    if not saved.is_file():
        return []
    before, now = flat_config(from_dict(load_yaml(saved))), flat_config(from_dict(cfg))
    return [f"{key}: {before[key]!r} -> {now[key]!r}" for key in now
            if key not in RESUMABLE_CHANGES + also_allowed and before.get(key) != now[key]]


# what a table summarised from run folders may differ in besides: where the model, data and runs are (a run by
# benchmarks/one_arm.py plays on its own copy of the model)
SUMMARY_PATHS = ("model.path", "data.source", "data.labels", "eval.data")


def planned_runs(args) -> list[tuple[tuple, dict, Path]]:
    """Every (domain, seed, arm) run of the table with its config and training world. A fresh table
    clears each run's folder; --resume and --from-runs refuse a run started with other settings than
    these, since the table records these as the ones that ran."""
    runs = []
    for domain in args.domains:
        train_dir = resolve_world(f"builtin:shapes-{domain}", args.cache, "domain")
        eval_dir = resolve_world(f"builtin:shapes-{domain}-eval", args.cache, "domain")
        if not args.from_runs:
            images_only_manifest(train_dir)
        for seed in args.seeds:
            for arm in ARMS:
                out = args.work / domain / f"seed{seed}" / arm
                cfg = arm_config(arm, train_dir, eval_dir, out, args, seed)
                if args.resume or args.from_runs:
                    cfg["checkpoint"] = {"resume": "auto"}
                    if changed := changed_settings(out, cfg, SUMMARY_PATHS if args.from_runs else ()):
                        option = "--resume" if args.resume else "--from-runs"
                        raise SystemExit(f"{option}: {out} was started with other settings ({'; '.join(changed)});"
                                         " pass those" + ("" if args.from_runs else ", or run afresh without --resume"))
                else:
                    shutil.rmtree(out, ignore_errors=True)
                runs.append(((domain, seed, arm), cfg, train_dir))
    return runs


def images_only_manifest(domain_dir: Path) -> None:
    rows = read_jsonl(domain_dir / "manifest.jsonl")
    write_jsonl(domain_dir / "manifest_images_only.jsonl", [{"id": r["id"], "image": r["image"]} for r in rows])


def run_arm(cfg: dict, truth) -> dict:
    main(from_dict(cfg))
    return arm_result(Path(cfg["output_dir"]), truth)


def _run_in_worker(key: tuple, cfg: dict, train_dir: Path, threads: int) -> tuple[tuple, dict]:
    """One run in a worker process of its own, on `threads` CPU threads (a GPU, where there is one, is shared)."""
    import torch

    torch.set_num_threads(threads)  # the run's own log lines come from its own handler (selfplay.runner)
    return key, run_arm(cfg, truth_from([], train_dir))


def run_all(runs: list[tuple[tuple, dict, Path]], jobs: int) -> dict:
    """Every (domain, seed, arm) run, `jobs` at a time; results keyed in the order given, whatever order they end in.

    Why processes: each run is one process's whole torch state (seeded RNG, adapters, optimizer), so runs side
    by side do not disturb each other, and a table of 18 runs uses every core (or shares a GPU).
    """
    threads = max(1, (os.cpu_count() or 1) // jobs)
    done: dict = {}

    def report(key: tuple, result: dict) -> None:
        first, last = result["rounds"][0], result["rounds"][-1]
        print(f"{' seed '.join(map(str, key[:2]))} {key[2]}: sight {100 * sight(first):+.1f} -> "
              f"{100 * sight(last):+.1f} points, accuracy {first['accuracy']:.3f} -> {last['accuracy']:.3f} "
              f"(blind {last['blind_accuracy']:.3f}, chance {last['chance']:.3f}) [{len(done)}/{len(runs)}]", flush=True)

    if jobs == 1:
        for key, cfg, train_dir in runs:
            done[key] = run_arm(cfg, truth_from([], train_dir))
            report(key, done[key])
    else:
        failed = []
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {pool.submit(_run_in_worker, key, cfg, train_dir, threads): (key, cfg) for key, cfg, train_dir in runs}
            for future in as_completed(futures):
                try:
                    key, result = future.result()
                except Exception as error:  # the others run on; their folders stay for --from-runs
                    key, cfg = futures[future]
                    failed.append(f"{' '.join(map(str, key))} ({cfg['output_dir']}): {error!r}")
                    print(f"failed: {failed[-1]}\n" + "".join(traceback.format_exception(error)), flush=True)
                    continue
                done[key] = result
                report(key, result)
        if failed:
            raise SystemExit(f"{len(failed)} of {len(runs)} runs failed:\n" + "\n".join(failed))
    results: dict = {}
    for (domain, seed, arm), _, _ in runs:
        results.setdefault(domain, {}).setdefault(seed, {})[arm] = done[domain, seed, arm]
    return results


def common_rounds(results: dict) -> dict:
    """Every run cut to the evaluations all runs reached: the table of runs stopped part way compares like with like.

    Example:
        >>> runs = {"aerial": {0: {"supervised": {"rounds": [{"round": -1}, {"round": 9}]},
        ...                        "selfplay_text": {"rounds": [{"round": -1}]}}}}
        >>> common_rounds(runs)["aerial"][0]["supervised"]["rounds"]
        [{'round': -1}]
    """
    reached = min(len(run["rounds"]) for seeds in results.values() for arms in seeds.values() for run in arms.values())
    return {domain: {seed: {arm: {**run, "rounds": run["rounds"][:reached]} for arm, run in arms.items()}
                     for seed, arms in seeds.items()} for domain, seeds in results.items()}


def results_from_runs(work: Path, domains: list[str], seeds: list[int], cache: str) -> dict:
    """The results of the run folders under `work`, cut to the evaluations all of them reached."""
    results: dict = {}
    for domain in domains:
        train_dir = resolve_world(f"builtin:shapes-{domain}", cache, "domain")
        truth = truth_from([], train_dir)
        for seed in seeds:
            for arm in ARMS:
                out = work / domain / f"seed{seed}" / arm
                if not (out / "eval.jsonl").is_file():
                    raise SystemExit(f"--from-runs: {out / 'eval.jsonl'} is missing; was the table run with this "
                                     f"--work, --domains and --seeds?")
                results.setdefault(domain, {}).setdefault(seed, {})[arm] = arm_result(out, truth)
    results = common_rounds(results)
    if any(len(run["rounds"]) < 2 for seeds in results.values() for arms in seeds.values() for run in arms.values()):
        raise SystemExit(f"--from-runs: under {work}, not every run has been evaluated after a round yet "
                         "(only before the first): there is nothing to compare")
    return results


def hardware() -> str:
    """What the table ran on, for its title: the GPU where torch sees one, else the CPU cores."""
    import torch

    cores = f"{os.cpu_count()} CPU cores"
    return f"{torch.cuda.get_device_name(0)} and {cores}" if torch.cuda.is_available() else cores


def arm_result(out: Path, truth) -> dict:
    """What one arm's run folder says: accuracy, blind accuracy and pseudo-label accuracy per round."""
    evals = read_jsonl(out / "eval.jsonl")
    games = read_jsonl(out / "games.jsonl")

    per_round = []
    for e in evals:
        row = {"round": e["round"], "accuracy": e["accuracy"]["all"], "blind_accuracy": e["blind_accuracy"]["all"],
               "chance": e["chance"]["all"], "by_type": e["accuracy"],
               "blind_by_type": e["blind_accuracy"],
               "blind_in_form": e.get("blind_in_form", {}).get("all"),  # absent from runs before it was measured
               "sight_se": e.get("sight_se", {}).get("all")}
        played = [g for g in games if g["round"] == e["round"]]
        if played:
            row["pseudo_label"] = pseudo_label_accuracy(played, truth)
            row["question_diversity"] = question_diversity(played)
        per_round.append(row)
    # what the answerer was trained on over the whole run: the accuracy of its kept targets
    return {"rounds": per_round, "pseudo_label_run": pseudo_label_accuracy(games, truth)}


def base_sight_on_source(model: str, cache: str, questions: int, model_options: dict) -> float:
    """The base's sight on the source world's held-out questions (the world it was warm-started on), at
    the pixel budget the arms play at."""
    import torch

    from selfplay.builtin import resolve_model_path
    from selfplay.config import ModelConfig
    from selfplay.evaluate import evaluate, read_qa
    from selfplay.modeling import load_model_and_processor

    loaded, processor = load_model_and_processor(resolve_model_path(ModelConfig(path=model), cache), torch.float32)
    rows = read_qa(resolve_world("builtin:shapes-source-eval", cache, "eval"))[:questions]
    played = from_dict({"model": model_options}).model
    return evaluate(loaded, processor, rows, role=None, max_pixels=played.max_pixels,
                    min_pixels=played.min_pixels)["sight"]["all"]


def main_cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--domains", nargs="+", default=["scan", "aerial"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--items", type=int, default=128)
    parser.add_argument("--answerer-steps", type=int, default=16)
    parser.add_argument("--lr", type=float, default=2.5e-4)
    parser.add_argument("--eval-questions", type=int, default=2000, help="held-out questions: the whole eval split, sight "
                                                                            "to about 1 point (400: about 2.5)")
    parser.add_argument("--eval-every", type=int, default=10, help="evaluate after every N-th round (and before)")
    parser.add_argument("--jobs", type=int, default=1, help="runs at a time, each in its own process with its share "
                                                            "of the CPU cores (2 on a 2-core machine); with "
                                                            "--from-runs, how many ran at a time: the runs' recorded "
                                                            "time is divided by it")
    parser.add_argument("--model", default="builtin:shapes-qwen2_vl")
    parser.add_argument("--cache", default="~/.cache/selfplay")
    parser.add_argument("--work", type=Path, default=Path("runs/learning"))
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks"))
    parser.add_argument("--rewards", type=json_settings, default={},
                        help="JSON of rewards.* settings for the self-play arms (default: the product's defaults)")
    parser.add_argument("--model-options", type=json_settings, default=INSTRUMENT_MODEL,
                        help="JSON of model.* settings for every arm (default: LoRA rank 16 on every linear layer, "
                             "vision tower and merger included; '{}' for the product's)")
    parser.add_argument("--game-options", type=json_settings, default=INSTRUMENT_GAME,
                        help="JSON of game.* settings every arm shares (default: %(default)s)")
    parser.add_argument("--train-options", type=json_settings, default={},
                        help='JSON of train.* settings for every arm, e.g. {"beta": 0.1}')
    parser.add_argument("--from-json", type=Path, help="only re-render learning.md from this learning.json")
    parser.add_argument("--from-runs", action="store_true", help="only summarise the run folders under --work, each "
                        "cut to the evaluations all of them reached (a table stopped part way), with the options they ran "
                        "with (others are refused, as with --resume, paths aside: the table records them); timed by "
                        "the runs' recorded seconds over --jobs")
    parser.add_argument("--image-size", type=int, default=112, help="play and evaluate at this side in pixels (112: 16 "
                        "image tokens instead of 56's 4; benchmarks/image_size.py); 0 for the model's own")
    parser.add_argument("--quick", action="store_true", help="one seed on aerial, for development")
    parser.add_argument("--resume", action="store_true", help="go on with the run folders under --work, each from "
                        "its newest complete round (finished runs are read as they are; settings other than --rounds "
                        "that differ from a run's own are refused), instead of starting every run afresh; the "
                        "table's time is then the runs' recorded seconds over --jobs, as with --from-runs")
    args = parser.parse_args()
    if args.resume and (args.from_runs or args.from_json):
        parser.error("--resume runs the table on; --from-runs and --from-json only summarise what is there")
    if args.quick:
        args.domains, args.seeds = ["aerial"], [0]
    args.command = shlex.join(sys.argv[1:])
    args.out.mkdir(parents=True, exist_ok=True)
    if args.from_json:
        saved = json.loads(args.from_json.read_text())
        args.hardware = "2 CPU cores"  # the tables from before it was recorded
        vars(args).update(saved["settings"])
        args.command = saved["settings"].get("command", "")
        (args.out / "learning.md").write_text(markdown(summarise(saved["runs"]), saved["runs"], args, saved["seconds"]))
        return
    if args.jobs < 1:
        parser.error("--jobs must be 1 or more")
    args.hardware = hardware()
    started = time.perf_counter()
    if args.image_size:
        args.model, pixels = played_at(args.model, args.image_size, args.work / f"model-{args.image_size}px", args.cache)
        args.model_options = {**args.model_options, **pixels}
    runs = planned_runs(args)  # before the base is measured, so that a refusal comes at once
    args.source_sight = base_sight_on_source(args.model, args.cache, args.eval_questions, args.model_options)
    print(f"base sight on source: {100 * args.source_sight:+.1f} points", flush=True)
    if args.from_runs:
        results = results_from_runs(args.work, args.domains, args.seeds, args.cache)
        args.rounds = results[args.domains[0]][args.seeds[0]]["supervised"]["rounds"][-1]["round"] + 1
    else:
        results = run_all(runs, args.jobs)
    table = summarise(results)
    if args.from_runs or args.resume:  # several sittings, or one cut off: the runs' own records, not the clock
        seconds = sum(recorded_seconds(args.work / domain / f"seed{seed}" / arm) for domain in args.domains
                      for seed in args.seeds for arm in ARMS) / args.jobs
    else:
        seconds = time.perf_counter() - started
    (args.out / "learning.json").write_text(json.dumps({"table": table, "runs": results, "settings": {
        k: v for k, v in vars(args).items() if k not in ("work", "out")}, "seconds": seconds}, indent=1, default=str))
    (args.out / "learning.md").write_text(markdown(table, results, args, seconds))
    print(markdown(table, results, args, seconds))


if __name__ == "__main__":
    main_cli()

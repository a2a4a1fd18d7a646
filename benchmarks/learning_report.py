"""The learning table from its runs' results: the summary per arm, issue 16's targets, and the markdown.

Sight (accuracy minus blind accuracy on the same held-out questions) leads every figure; benchmarks/learning.py
runs the arms and hands their per-round results here.
"""

from __future__ import annotations

import statistics

ARMS = ("selfplay_text", "selfplay_images", "supervised")


def sight(evaluated: dict) -> float:
    """What the image adds on an evaluated round: accuracy minus blind accuracy, the same questions."""
    return evaluated["accuracy"] - evaluated["blind_accuracy"]


def evaluation_error(evaluated: list[dict]) -> float | None:
    """The mean over seeds of one evaluation's standard error of sight (selfplay.evaluate.sight_error):
    how far one seed's figure may sit from what its answerer would score on unlimited questions, beside
    the seeds' spread (None for runs from before it was recorded)."""
    errors = [e["sight_se"] for e in evaluated if e.get("sight_se") is not None]
    return statistics.fmean(errors) if errors else None


def blind_in_form(evaluated: list[dict]) -> float | None:
    """The mean over seeds of the share of blind answers in their question's form (None for runs from before
    it was recorded): where it falls, sight rises because the blank image stops being answered, not because
    the image is read (docs/learning.md, "Blind answers out of form")."""
    shares = [e["blind_in_form"] for e in evaluated if e.get("blind_in_form") is not None]
    return statistics.fmean(shares) if shares else None


def summarise(results: dict) -> dict:
    """Final mean and spread per arm, the sight gain over base, gain recovery, and the collapse checks."""
    table = {}
    for domain, arms in results.items():
        starts = [seed_runs["selfplay_text"]["rounds"][0] for seed_runs in arms.values()]
        row = {"base": {"accuracy_mean": statistics.fmean(r["accuracy"] for r in starts),
                        "accuracy_std": statistics.pstdev(r["accuracy"] for r in starts),
                        "blind_mean": statistics.fmean(r["blind_accuracy"] for r in starts),
                        "sight_mean": statistics.fmean(map(sight, starts)),
                        "sight_std": statistics.pstdev(map(sight, starts)),
                        "sight_se": evaluation_error(starts), "blind_in_form": blind_in_form(starts),
                        "chance": starts[0]["chance"]}}
        for arm in ARMS:
            finals = [seed_runs[arm]["rounds"][-1] for seed_runs in arms.values()]
            acc = [f["accuracy"] for f in finals]
            entry = {"accuracy_mean": statistics.fmean(acc), "accuracy_std": statistics.pstdev(acc),
                     "blind_mean": statistics.fmean(f["blind_accuracy"] for f in finals),
                     "sight_mean": statistics.fmean(map(sight, finals)),
                     "sight_std": statistics.pstdev(map(sight, finals)), "sight_se": evaluation_error(finals),
                     "blind_in_form": blind_in_form(finals)}
            entry["sight_gain"] = entry["sight_mean"] - row["base"]["sight_mean"]
            if arm != "supervised":
                entry["pseudo_label_coverage"] = statistics.fmean(f["pseudo_label"]["coverage"] for f in finals)
                entry["pseudo_label_reference"] = statistics.fmean(f["pseudo_label"]["reference"] for f in finals)
                entry["pseudo_label_borrowed"] = statistics.fmean(f["pseudo_label"]["borrowed"] for f in finals)
                entry["pseudo_label_silver"] = statistics.fmean(f["pseudo_label"]["silver"] for f in finals)
                entry["pseudo_label_kept"] = statistics.fmean(seed_runs[arm]["pseudo_label_run"]["kept_target"]
                                                              for seed_runs in arms.values())
                entry["question_diversity"] = statistics.fmean(f["question_diversity"] for f in finals)
            row[arm] = entry
        gain = row["supervised"]["accuracy_mean"] - row["base"]["accuracy_mean"]
        row["recovery_text"] = ((row["selfplay_text"]["accuracy_mean"] - row["base"]["accuracy_mean"]) / gain
                                if gain > 0 else None)
        sight_gain = row["supervised"]["sight_gain"]
        for arm in ("selfplay_text", "selfplay_images"):  # recovery of supervised's sight gain: None if it has none
            row[f"sight_recovery_{arm.removeprefix('selfplay_')}"] = (row[arm]["sight_gain"] / sight_gain
                                                                     if sight_gain > 0 else None)
        table[domain] = row
    return table


def _per_seed_stability(rounds: list[dict]) -> tuple[float, float]:
    """The largest fall between two evaluated rounds, and how far the last round is below the run's
    best, in accuracy or in sight, whichever is worse."""
    worst_fall = behind_best = 0.0
    for figure in (lambda r: r["accuracy"], sight):
        values = [figure(r) for r in rounds]
        worst_fall = max([worst_fall] + [a - b for a, b in zip(values, values[1:])])
        behind_best = max(behind_best, max(values) - values[-1])
    return worst_fall, behind_best


def target_checks(table: dict, results: dict, source_sight: float | None, seconds: float, seeds: int,
                  ran_on: str = "2 CPU cores") -> list[dict]:
    """Issue 16's targets, one row each: what is asked, the figure measured, and whether it is met.

    Sight is accuracy minus blind accuracy on the same questions, in points; a gain is over the base.
    A target whose figure was not measured (the source base in a --quick run) is not met.
    """
    rows = []

    def check(target: str, figure: str, met: bool) -> None:
        rows.append({"target": target, "figure": figure, "met": bool(met)})

    check("base sight >= 25 points on source", "not measured" if source_sight is None else
          f"{100 * source_sight:+.1f}", source_sight is not None and source_sight >= 0.25)
    for domain, row in table.items():
        base = row["base"]
        check(f"base sight > 0 on {domain}", f"{100 * base['sight_mean']:+.1f}", base["sight_mean"] > 0)
        supervised = row["supervised"]["sight_gain"]
        check(f"supervised sight gain >= 10 points on {domain}", f"{100 * supervised:+.1f}", supervised >= 0.10)
        for arm, share in (("text", 0.8), ("images", 0.4)):
            recovery = row[f"sight_recovery_{arm}"]
            check(f"selfplay_{arm} sight gain >= {100 * share:.0f}% of supervised's on {domain}",
                  "n/a (supervised gained no sight)" if recovery is None else f"{100 * recovery:.0f}%",
                  recovery is not None and recovery >= share)
        blind = max(abs(row[arm]["blind_mean"] - base["blind_mean"]) for arm in ARMS)
        check(f"blind accuracy of every arm within 3 points of the base's on {domain}",
              f"at most {100 * blind:.1f} points away", blind <= 0.03)
        falls = [_per_seed_stability(runs[arm]["rounds"]) for runs in results[domain].values() for arm in ARMS]
        fall, behind = max(f for f, _ in falls), max(b for _, b in falls)
        check(f"per seed on {domain}, no round loses more than 2 points of accuracy or of sight",
              f"largest fall {100 * fall:.1f} points", fall <= 0.02)
        check(f"per seed on {domain}, the final round within 1 point of the run's best",
              f"at most {100 * behind:.1f} points below", behind <= 0.01)
    check("3 seeds", str(seeds), seeds >= 3)
    check("the full table in at most 40 minutes on 2 CPU cores", f"{seconds / 60:.0f} min on {ran_on}",
          ran_on == "2 CPU cores" and seconds <= 40 * 60)
    return rows


def markdown(table: dict, results: dict, args, seconds: float) -> str:
    lines = [f"# Learning table ({args.rounds} rounds, seeds {args.seeds}, {args.items} items per round, "
             f"G=K=4, answerer steps {args.answerer_steps}, lr {args.lr})", "",
             f"Command: `python benchmarks/learning.py {args.command}` ({seconds / 60:.0f} min on "
             f"{args.hardware}). Accuracy is exact match on held-out ground-truth QA after the last round, mean +- "
             "spread over seeds; blind = the same questions with a blank image (in form: the share of blind answers "
             "that are answers of the question's kind; where it falls, sight rises without the image being read); "
             "sight = accuracy - blind, and its "
             "gain over base is the headline (accuracy alone rises with answer priors); SE = one evaluation's "
             "standard error of sight, paired over its questions, mean over seeds. Pseudo-label accuracy "
             "(checked against the hidden scene graphs after the run): the last round's questioner references, "
             "borrowed questions' references (answered by the item's own text) and silver labels, and the "
             "targets the answerer was trained on over the whole run.", "",
             "| domain | arm | sight (gain over base) | accuracy | blind (in form) | chance | "
             "pseudo-label ref / borrowed / silver / kept targets | diversity |",
             "|---|---|---|---|---|---|---|---|"]
    for domain, row in table.items():
        chance = row["base"]["chance"]
        for arm in ("base",) + ARMS:
            e = row[arm]
            pseudo = ""
            if "pseudo_label_coverage" in e:
                borrowed = "-" if arm == "selfplay_images" else f"{e['pseudo_label_borrowed']:.2f}"  # no text, no reference
                pseudo = (f"{e['pseudo_label_reference']:.2f} / {borrowed} / "
                          f"{e['pseudo_label_silver']:.2f} / "
                          f"{e['pseudo_label_kept']:.2f} "
                          f"(checkable {100 * e['pseudo_label_coverage']:.0f}%)"
                          if e["pseudo_label_coverage"] else "n/a: no question matched a known template")
            diversity = f"{e['question_diversity']:.2f}" if "question_diversity" in e else ""
            gain = f" ({100 * e['sight_gain']:+.1f} points)" if "sight_gain" in e else ""
            error = "" if e.get("sight_se") is None else f"; SE {100 * e['sight_se']:.1f}"
            in_form = "" if e.get("blind_in_form") is None else f" ({100 * e['blind_in_form']:.0f}%)"
            lines.append(f"| {domain} | {arm} | {100 * e['sight_mean']:+.1f} +- {100 * e['sight_std']:.1f}{gain}{error} | "
                         f"{e['accuracy_mean']:.3f} +- {e['accuracy_std']:.3f} | "
                         f"{e['blind_mean']:.3f}{in_form} | {chance:.3f} | {pseudo} | {diversity} |")
        for arm in ("text", "images"):
            recovery = row[f"sight_recovery_{arm}"]
            lines.append(f"| {domain} | recovery of supervised's sight gain by selfplay_{arm} | "
                         f"{'n/a (supervised gained no sight)' if recovery is None else f'{100 * recovery:.0f}%'} "
                         "| | | | | |")
        recovery = row["recovery_text"]
        lines.append(f"| {domain} | recovery of supervised's accuracy gain by selfplay_text | | "
                     f"{'n/a (no supervised gain)' if recovery is None else f'{100 * recovery:.0f}%'} | | | | |")
    checks = target_checks(table, results, getattr(args, "source_sight", None), seconds, len(args.seeds), args.hardware)
    lines += ["", f"Targets (issue 16): {sum(c['met'] for c in checks)} of {len(checks)} met.", "",
              "| target | measured | met |", "|---|---|---|"]
    lines += [f"| {c['target']} | {c['figure']} | {'yes' if c['met'] else '**no**'} |" for c in checks]
    return "\n".join(lines + per_type(results) + per_round(results)) + "\n"


def per_type(results: dict) -> list[str]:
    """Sight per question type after the last evaluated round, mean over seeds, base first: which kinds of
    question the image helps with (one type's gain can hide another's loss in the overall figure)."""
    lines = []
    for domain, seeds in results.items():
        runs = list(seeds.values())
        finals = {"base": [run["selfplay_text"]["rounds"][0] for run in runs]}
        finals.update({arm: [run[arm]["rounds"][-1] for run in runs] for arm in ARMS})
        if any("blind_by_type" not in row for rows in finals.values() for row in rows):
            continue  # runs from before it was recorded
        types = [t for t in finals["base"][0]["by_type"] if t != "all"]
        lines += [f"| {domain} | " + " | ".join(types) + " |", "|---|" + "---|" * len(types)]
        for arm, rows in finals.items():
            cells = []
            for kind in types:
                accuracy = statistics.fmean(r["by_type"][kind] for r in rows)
                blind = statistics.fmean(r["blind_by_type"][kind] for r in rows)
                cells.append(f"{100 * (accuracy - blind):+.1f} ({accuracy:.2f} / {blind:.2f})")
            lines.append(f"| {arm} | " + " | ".join(cells) + " |")
        lines.append("")
    return ["", "Per question type after the last evaluated round, mean over seeds: sight (points) (accuracy / "
            "blind accuracy).", ""] + lines if lines else []


def per_round(results: dict) -> list[str]:
    """Sight / accuracy / blind / reference pseudo-label accuracy after each evaluated round, mean over
    seeds: the collapse check (none of them should fall round over round)."""
    lines = ["", "Per evaluated round, mean over seeds: sight (points) / accuracy / blind accuracy / pseudo-label "
             "accuracy of the references (self-play arms).", ""]
    for domain, seeds in results.items():
        runs = list(seeds.values())
        rounds = [row["round"] for row in runs[0]["selfplay_text"]["rounds"]]
        lines += [f"| {domain}, rounds played | " + " | ".join(str(r + 1) if r >= 0 else "0" for r in rounds) + " |",
                  "|---|" + "---|" * len(rounds)]
        for arm in ARMS:
            cells = []
            for i in range(len(rounds)):
                rows = [run[arm]["rounds"][i] for run in runs]
                cell = f"{100 * statistics.fmean(map(sight, rows)):+.1f} / " \
                       f"{statistics.fmean(r['accuracy'] for r in rows):.3f} / " \
                       f"{statistics.fmean(r['blind_accuracy'] for r in rows):.3f}"
                pseudo = [r["pseudo_label"]["reference"] for r in rows if r.get("pseudo_label", {}).get("checked")]
                cells.append(cell + (f" / {statistics.fmean(pseudo):.2f}" if pseudo and arm != "supervised" else ""))
            lines.append(f"| {arm} | " + " | ".join(cells) + " |")
        lines.append("")
    return lines

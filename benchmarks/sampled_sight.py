"""Whether a supervised run's sampled answers follow the label, round by round, per answer type.

The evaluation reads one answer per question, the likeliest, so an answerer whose sampled answers
lean towards the label (what GRPO sees and learns from) scores nothing until the label's answer
becomes the likeliest one: count's "1" can stay the argmax on every image while "2" and "3" grow
where they are right. This reads the run's own rollouts instead (games.jsonl, the ground-truth
questions of `game.mode: supervised`): per round and answer type,

    dependence = share of sampled answers equal to the label
                 - the share expected if the answers ignored the image (label and answer independent)

in points; 0 means the answers do not depend on what the label depends on, the image. Written
answers (`covered`) are left out: only what the answerer sampled counts.

    python benchmarks/sampled_sight.py runs/one_arm/games.jsonl
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rewards.normalize import normalize_answer  # noqa: E402
from roles.answerer import parse_answer  # noqa: E402
from selfplay.records import read_jsonl  # noqa: E402


def label_dependence(pairs: list[tuple[str, str]]) -> float:
    """Share of (label, answer) pairs that match, less the share that would match by chance if the
    answers were drawn independently of the labels: sum over answers a of P(label a) * P(answer a).

    Example:
        >>> label_dependence([("1", "1"), ("2", "2"), ("1", "1"), ("2", "2")])  # follows the label
        0.5
        >>> label_dependence([("1", "1"), ("2", "1"), ("1", "1"), ("2", "1")])  # "1" to everything
        0.0
    """
    n = len(pairs)
    labels, answers = Counter(label for label, _ in pairs), Counter(answer for _, answer in pairs)
    matched = sum(label == answer for label, answer in pairs) / n
    return matched - sum(labels[a] / n * answers[a] / n for a in labels)


def dependence_by_round(rows: list[dict]) -> dict[str, dict[int, float]]:
    """{answer type: {round: label_dependence}} over the rows whose reference is ground truth."""
    pairs = defaultdict(list)
    for row in rows:
        if row.get("backed_by") != "truth" or not row.get("reference"):
            continue
        sampled = row["answers"][:len(row["answers"]) - len(row.get("covered") or [])]
        label = normalize_answer(row["reference"])
        pairs[row["answer_type"], row["round"]] += [(label, normalize_answer(parse_answer(a or ""))) for a in sampled]
    table = defaultdict(dict)
    for (answer_type, round_index), found in sorted(pairs.items()):
        table[answer_type][round_index] = label_dependence(found)
    return dict(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("games", type=Path, help="a supervised run's games.jsonl")
    args = parser.parse_args()
    if not args.games.is_file():
        sys.exit(f"{args.games}: no such file (a run's output_dir holds games.jsonl)")
    table = dependence_by_round(list(read_jsonl(args.games)))
    if not table:
        sys.exit(f"{args.games}: no ground-truth questions (backed_by: truth); this reads supervised runs")
    for answer_type, by_round in table.items():
        print(f"{answer_type:>13}: " + " ".join(f"r{r + 1} {100 * d:+.1f}" for r, d in by_round.items()))


if __name__ == "__main__":
    main()

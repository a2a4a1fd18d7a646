"""How a model's sampled answers spread, per domain and question type, with the image and blind.

GRPO learns only from a group whose answers differ in reward, and sight only from answers in the
question's form that differ with the image. For K sampled answers per held-out question (temperature
1, as the rounds sample), this prints per question type:
  agree    the share of groups whose K answers are all the same (no advantage at all);
  split    the share of groups with some right and some wrong answers (a gradient);
  right    the mean share of right answers;
  in-form  the share of answers in the question's form: yes/no, a number, one of the options offered,
           else a word that is not yes or no;
and the four most common answers.

    python benchmarks/answer_spread.py --model runs/warmstart_probe/model --domains scan aerial
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rewards.normalize import answers_match, normalize_answer  # noqa: E402
from roles.answerer import answerer_messages, parse_answer  # noqa: E402
from selfplay.builtin import resolve_world  # noqa: E402
from selfplay.engine import HFEngine, Prompt  # noqa: E402
from selfplay.evaluate import answer_in_form, read_qa  # noqa: E402
from selfplay.images import blind_image, load_image  # noqa: E402

PIXELS = 56 * 56


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a checkpoint folder")
    parser.add_argument("--domains", nargs="+", default=["source", "scan", "aerial"])
    parser.add_argument("--k", type=int, default=4, help="answers sampled per question (the rounds' K)")
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--cache", default="~/.cache/selfplay")
    args = parser.parse_args()

    import torch

    from selfplay.modeling import load_model_and_processor

    torch.manual_seed(0)
    model, processor = load_model_and_processor(args.model, torch.float32)
    engine = HFEngine(model, processor, temperature=1.0, max_sequences=256)
    for domain in args.domains:
        rows = read_qa(resolve_world(f"builtin:shapes-{domain}-eval", args.cache, "--domains"))[:args.questions]
        images = [load_image(Path(r["image_path"]), max_pixels=PIXELS, min_pixels=PIXELS) for r in rows]
        for blind in (False, True):
            prompts = [Prompt(answerer_messages(r["question"]), blind_image(image, "blank") if blind else image)
                       for r, image in zip(rows, images)]
            stats: dict[str, Counter] = defaultdict(Counter)
            said: dict[str, Counter] = defaultdict(Counter)
            for row, group in zip(rows, engine.generate(None, prompts, args.k, 8)):
                answers = [normalize_answer(parse_answer(s.text) or "") for s in group]
                right = sum(answers_match(a, row["answer"]) for a in answers)
                said[row["qtype"]].update(answers)
                for key in (row["qtype"], "all"):
                    s = stats[key]
                    s["n"] += 1
                    s["agree"] += len(set(answers)) == 1
                    s["split"] += 0 < right < args.k
                    s["right"] += right / args.k
                    s["in_form"] += sum(answer_in_form(row, a or None) for a in answers) / args.k
            print(f"{domain}, {'blind (blank image)' if blind else 'with the image'}, K = {args.k}")
            for qtype, s in sorted(stats.items()):
                n = s["n"]
                print(f"  {qtype:11s} n={n:3d} agree {s['agree'] / n:.2f} split {s['split'] / n:.2f} "
                      f"right {s['right'] / n:.2f} in-form {s['in_form'] / n:.2f}  "
                      + ("" if qtype == "all" else str(said[qtype].most_common(4))), flush=True)


if __name__ == "__main__":
    main()

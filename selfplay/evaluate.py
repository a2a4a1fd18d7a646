"""Evaluation on ground-truth QA: accuracy per question type, blind accuracy, chance, and how often a
self-play run's pseudo-labels were right.

Ground truth is read only here, never by training. A QA file is JSONL with rows
{"image": path relative to the file, "question", "answer", "qtype" (optional), "id" (optional)};
the shapes world writes one (qa.jsonl) beside its manifest, and users can bring their own.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from pathlib import Path

from PIL import Image

from rewards.normalize import answers_match, normalize_answer
from roles.answerer import answerer_messages, parse_answer
from roles.formats import infer_answer_type

from .engine import HFEngine, Prompt
from .images import blind_image, load_image
from .progress import phase


def read_qa(path: str | Path) -> list[dict]:
    """QA rows with absolute image paths; errors name the file and line."""
    path = Path(path)
    if path.is_dir():
        path = path / "qa.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"eval data: no QA file at {path}")
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}:{number}: not JSON ({error.msg})") from error
        for key in ("image", "question", "answer"):
            if not isinstance(row.get(key), str):
                raise ValueError(f"{path}:{number}: field {key!r} must be a string")
        row["image_path"] = str((path.parent / row["image"]).resolve())
        row.setdefault("qtype", "all")
        rows.append(row)
    return rows


def answer_questions(model, processor, rows: list[dict], *, role: str | None = "answerer", max_pixels: int,
                     min_pixels: int | None = None, blind: str | None = None, max_new_tokens: int = 8,
                     batch_size: int = 64) -> list[str | None]:
    """Greedy answers of `role`'s adapter, from the image or (blind "blank"/"none") without it."""
    engine = HFEngine(model, processor, temperature=0.0, max_sequences=batch_size)
    images: dict[str, Image.Image] = {}
    prompts = []
    for row in rows:
        path = row["image_path"]
        if path not in images:
            images[path] = load_image(Path(path), max_pixels=max_pixels, min_pixels=min_pixels)
        image = images[path] if blind is None else blind_image(images[path], blind)
        prompts.append(Prompt(answerer_messages(row["question"]), image))
    groups = engine.generate(role, prompts, 1, max_new_tokens)
    return [parse_answer(group[0].text) for group in groups]


def chance_levels(rows: list[dict]) -> dict[str, float]:
    """Uniform chance per question type: 1 / the number of distinct answers that type has."""
    answers = defaultdict(set)
    for row in rows:
        answers[row["qtype"]].add(normalize_answer(row["answer"]))
    return {qtype: 1 / len(values) for qtype, values in answers.items()}


def correct(rows: list[dict], predictions: list[str | None]) -> list[bool]:
    """Per question, whether the answer matches its label exactly (after answer normalisation)."""
    return [answers_match(prediction, row["answer"]) for row, prediction in zip(rows, predictions, strict=True)]


def accuracy_table(rows: list[dict], predictions: list[str | None]) -> dict[str, float]:
    """Exact-match accuracy overall and per question type (after answer normalisation)."""
    return per_type_share(rows, correct(rows, predictions))


def by_qtype(rows: list[dict], values: list[float]) -> dict[str, list[float]]:
    """Each row's value, grouped by question type (`qtype`) and all together ("all"), types sorted:
    every per-type figure of an evaluation is one statistic of these groups."""
    groups = defaultdict(list)
    for row, value in zip(rows, values, strict=True):
        groups[row["qtype"]].append(float(value))
        groups["all"].append(float(value))
    return dict(sorted(groups.items()))


def per_type_share(rows: list[dict], hits: list[bool]) -> dict[str, float]:
    """The share of rows that hit, overall ("all") and per question type (`qtype`)."""
    return {qtype: statistics.fmean(values) for qtype, values in by_qtype(rows, hits).items()}


def answer_in_form(row: dict, answer: str | None) -> bool:
    """Whether a parsed answer has its question's answer form, right or wrong: one of the choices
    where the question names them (`choices`: "Is the mass bright or dark?"), else the label's answer
    type (a number for a count, yes or no for a yes/no question, a short phrase for a phrase).

    Example:
        >>> row = {"question": "Is the mass bright or dark?", "answer": "dark", "choices": ["bright", "dark"]}
        >>> answer_in_form(row, "bright"), answer_in_form(row, "grey"), answer_in_form({**row, "choices": None}, "grey")
        (True, False, True)
    """
    if answer is None:
        return False
    if row.get("choices"):
        return any(answers_match(answer, choice) for choice in row["choices"])
    return infer_answer_type(answer, row["question"]) == infer_answer_type(row["answer"], row["question"])


def in_form(rows: list[dict], predictions: list[str | None]) -> dict[str, float]:
    """The share of answers in their question's answer form (`answer_in_form`), overall and per
    question type.

    Why: sight is accuracy minus blind accuracy, so it also rises when the blind answers leave the
    answer form ("blue" to "How many roads?", "grey" to "Is the mass bright or dark?") rather than
    when the sighted ones see more; beside blind accuracy this says which. Without the choices a
    question names, any short phrase would count as in form for a phrase question, and an image that
    only brings the domain's words to mind would read as sight.

    Example:
        >>> rows = [{"qtype": "count", "question": "How many?", "answer": "2"},
        ...         {"qtype": "count", "question": "How many?", "answer": "0"},
        ...         {"qtype": "existence", "question": "Is there a pond?", "answer": "no"}]
        >>> in_form(rows, ["3", "blue", None])
        {'all': 0.333..., 'count': 0.5, 'existence': 0.0}
    """
    return per_type_share(rows, [answer_in_form(row, prediction)
                                 for row, prediction in zip(rows, predictions, strict=True)])


def sight(accuracy: dict[str, float], blind_accuracy: dict[str, float]) -> dict[str, float]:
    """What the image adds, per question type: accuracy with the image minus accuracy on the same
    questions without it.

    Why: accuracy alone rises with answer priors (an answerer that stops saying "yes" to everything
    gains as much blind as sighted); only this difference is the answerer seeing.

    Example:
        >>> sight({"all": 0.5, "count": 0.75}, {"all": 0.375, "count": 0.75})
        {'all': 0.125, 'count': 0.0}
    """
    return {qtype: accuracy[qtype] - blind_accuracy[qtype] for qtype in accuracy}


def sight_by_type(result: dict) -> str:
    """An evaluation's sight per question type, with accuracy and blind accuracy, in one line.

    Why: the headline sight is a sum over types that can move apart (attribute rising while count
    falls); the round's log line shows each, so a run that learns to see one type says so.

    Example:
        >>> sight_by_type({"accuracy": {"all": 0.5, "attribute": 0.75, "count": 0.25},
        ...                "blind_accuracy": {"all": 0.5, "attribute": 0.5, "count": 0.5},
        ...                "sight": {"all": 0.0, "attribute": 0.25, "count": -0.25}})
        'attribute +0.250 (0.750 / 0.500), count -0.250 (0.250 / 0.500)'
    """
    return ", ".join(f"{qtype} {value:+.3f} ({result['accuracy'][qtype]:.3f} / {result['blind_accuracy'][qtype]:.3f})"
                     for qtype, value in result["sight"].items() if qtype != "all")


def sight_error(rows: list[dict], hits: list[bool], blind_hits: list[bool]) -> dict[str, float]:
    """The standard error of sight, overall and per question type, paired over the questions: with
    d = hit with the image - hit without it (+1, 0 or -1) per question, SE = stdev(d) / sqrt(n)
    (Bessel's stdev; 0 for a type with one question).

    Why: one evaluation's sight is an estimate from a few hundred questions, and the runs it judges
    move by a few points; on 200 questions where the two passes disagree on a third of them the
    error is about 4 points, as much as most of the differences a round, a seed or a reward makes.
    Paired, because both passes ask the same questions: the questions' own difficulty cancels.

    Example:
        >>> rows = [{"qtype": "count"}] * 4 + [{"qtype": "existence"}] * 2
        >>> errors = sight_error(rows, [1, 1, 0, 0, 1, 1], [0, 1, 0, 1, 1, 1])
        >>> {k: round(v, 3) for k, v in errors.items()}
        {'all': 0.258, 'count': 0.408, 'existence': 0.0}
    """
    differences = [float(hit) - float(blind_hit) for hit, blind_hit in zip(hits, blind_hits, strict=True)]
    return {qtype: statistics.stdev(d) / len(d) ** 0.5 if len(d) > 1 else 0.0
            for qtype, d in by_qtype(rows, differences).items()}


def evaluate(model, processor, rows: list[dict], *, role: str | None = "answerer", max_pixels: int,
             min_pixels: int | None = None, blind_mode: str = "blank") -> dict:
    """Accuracy, blind accuracy (the same questions without the image), sight and its standard error
    (`sight_error`), chance, and the share of answers in form with and without the image (`in_form`),
    overall and per type."""
    with phase("eval", 2 * len(rows), "question", line=False):  # the caller logs the figures
        sighted = answer_questions(model, processor, rows, role=role, max_pixels=max_pixels, min_pixels=min_pixels)
        blind = answer_questions(model, processor, rows, role=role, max_pixels=max_pixels, min_pixels=min_pixels,
                                 blind=blind_mode)
    per_type_chance = chance_levels(rows)
    chance = {qtype: statistics.fmean(values)
              for qtype, values in by_qtype(rows, [per_type_chance[row["qtype"]] for row in rows]).items()}
    hits, blind_hits = correct(rows, sighted), correct(rows, blind)
    accuracy, blind_accuracy = per_type_share(rows, hits), per_type_share(rows, blind_hits)
    return {"accuracy": accuracy, "blind_accuracy": blind_accuracy, "sight": sight(accuracy, blind_accuracy),
            "sight_se": sight_error(rows, hits, blind_hits),
            "chance": chance, "in_form": in_form(rows, sighted),
            "blind_in_form": in_form(rows, blind), "questions": len(rows)}


def pseudo_label_accuracy(games: list[dict], truth) -> dict[str, float]:
    """How often a run's questioner references, borrowed references and silver labels matched the
    hidden truth.

    `truth(game) -> str | None` gives the true answer of a game's question, or None when it cannot
    be known (a question off the evaluation's templates); coverage is the share that could be checked.
    "reference" is over the questioner's own candidates, "borrowed" over the questions borrowed from
    another item and answered by this item's text (game.borrowed_questions), "kept_target" over what
    the answerer trained on.
    """
    asked = [game for game in games if game.get("question")]
    checked = [(game, answer) for game in asked if (answer := truth(game)) is not None]
    if not checked:
        return {"coverage": 0.0, "reference": 0.0, "borrowed": 0.0, "silver": 0.0, "kept_target": 0.0, "checked": 0}

    def share(pairs: list[tuple[dict, str]], key: str) -> float:
        return statistics.fmean(answers_match(game[key], answer) for game, answer in pairs) if pairs else 0.0

    return {
        "coverage": len(checked) / len(asked),
        "checked": len(checked),
        "reference": share([pair for pair in checked if not pair[0].get("borrowed")], "reference"),
        "borrowed": share([pair for pair in checked if pair[0].get("borrowed") and pair[0]["reference"] is not None],
                          "reference"),
        "silver": share(checked, "silver"),
        "kept_target": share([pair for pair in checked if pair[0].get("kept")], "target"),
    }


def load_for_eval(path: str | Path):
    """A checkpoint folder (role None) or a round folder (its base model plus both role adapters)."""
    import torch
    import yaml
    from peft import PeftModel

    from .builtin import resolve_model_path
    from .config_parser import from_dict
    from .modeling import ROLES, load_model_and_processor, resolve_dtype

    path = Path(path)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if (path / "config.json").is_file():
        model, processor = load_model_and_processor(path, resolve_dtype("auto", device))
        return model.to(device), processor, None
    if not (path / "adapters").is_dir():
        raise FileNotFoundError(f"{path}: neither a checkpoint folder (config.json) nor a round folder (adapters/)")
    cfg = from_dict(yaml.safe_load((path / "config.yaml").read_text()))
    base, processor = load_model_and_processor(resolve_model_path(cfg.model, cfg.cache_dir),
                                               resolve_dtype(cfg.model.dtype, device), cfg.model.trust_remote_code)
    model = PeftModel.from_pretrained(base, path / "adapters" / ROLES[0], adapter_name=ROLES[0])
    for role in ROLES[1:]:
        model.load_adapter(path / "adapters" / role, adapter_name=role)
    return model.to(device), processor, "answerer"


def truth_from(qa_rows: list[dict], scenes_dir: str | Path | None):
    """A game -> true answer function: the QA file's own questions, then the shapes world's scene graphs."""
    known = {(str(row.get("id")), normalize_answer(row["question"])): row["answer"] for row in qa_rows}
    scenes = {}
    if scenes_dir and (Path(scenes_dir) / "scenes.jsonl").is_file():
        from .world import load_scenes

        scenes = load_scenes(scenes_dir)

    def truth(game: dict) -> str | None:
        answer = known.get((str(game["item_id"]), normalize_answer(game["question"])))
        if answer is None and game["item_id"] in scenes:
            from .ground_truth import truth as world_truth

            answer = world_truth(scenes[game["item_id"]], game["question"])
        return answer

    return truth

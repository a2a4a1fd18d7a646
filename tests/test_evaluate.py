"""Evaluation: reading QA files, accuracy tables, chance, pseudo-label accuracy, the eval command."""

import json
import statistics

import pytest

from selfplay.evaluate import accuracy_table, chance_levels, correct, in_form, pseudo_label_accuracy, read_qa, sight_error
from selfplay.metrics import question_diversity


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_read_qa_resolves_images_and_names_bad_lines(tmp_path):
    good = _write(tmp_path / "qa.jsonl", [{"image": "a.png", "question": "Is it red?", "answer": "yes"}])
    rows = read_qa(tmp_path)
    assert rows[0]["image_path"] == str((tmp_path / "a.png").resolve()) and rows[0]["qtype"] == "all"
    assert read_qa(good) == rows
    (tmp_path / "bad.jsonl").write_text('{"image": "a.png", "question": "q"}\nnot json\n')
    with pytest.raises(ValueError, match="bad.jsonl:1: field 'answer'"):
        read_qa(tmp_path / "bad.jsonl")
    with pytest.raises(FileNotFoundError, match="no QA file"):
        read_qa(tmp_path / "missing")


def test_accuracy_and_chance_per_type():
    rows = [{"qtype": "count", "answer": "2"}, {"qtype": "count", "answer": "3"},
            {"qtype": "existence", "answer": "yes"}, {"qtype": "existence", "answer": "no"}]
    table = accuracy_table(rows, ["two", "4", "Yes.", None])
    assert table == {"all": 0.5, "count": 0.5, "existence": 0.5}
    assert chance_levels(rows) == {"count": 0.5, "existence": 0.5}


def test_answers_out_of_form_are_told_apart_from_wrong_ones():
    rows = [{"qtype": "count", "question": "How many roads are there?", "answer": "2"},
            {"qtype": "existence", "question": "Is there a pond?", "answer": "yes"},
            {"qtype": "attribute", "question": "What colour is the roof?", "answer": "red"}]
    # wrong but in form, then a colour to a yes/no question, then an unparseable answer
    assert accuracy_table(rows, ["3", "blue", None])["all"] == 0.0
    assert in_form(rows, ["3", "blue", None]) == {"all": 1 / 3, "attribute": 0.0, "count": 1.0, "existence": 0.0}
    assert in_form(rows, ["4", "no", "green"])["all"] == 1.0
    # where the question names its choices, only they are in form: an image that brings "bright" to
    # mind where the blank one brings "grey" is vocabulary, not sight
    named = [{"qtype": "attribute", "question": "Is the mass bright or dark?", "answer": "dark",
              "choices": ["bright", "dark"]}]
    assert in_form(named, ["bright"])["all"] == 1.0 and in_form(named, ["grey"])["all"] == 0.0


def test_sight_error_pairs_each_question_with_itself():
    """Where both passes get the same questions right, sight is exactly 0 whatever the accuracy: an
    unpaired error (the two accuracies' errors added) would call it 0 +- 35 points here."""
    rows = [{"qtype": "existence"}] * 4
    assert sight_error(rows, [True, True, False, False], [True, True, False, False])["all"] == 0.0
    # every question flips: d = +1, -1, +1, -1, sight 0 with stdev 2/sqrt(3), over sqrt(4)
    assert sight_error(rows, [True, False, True, False], [False, True, False, True])["all"] == pytest.approx(3 ** -0.5)


def test_sight_is_accuracy_on_the_same_questions_with_the_image_minus_without_it(warm_qwen, shapes_world, monkeypatch):
    """The blind pass asks exactly the sighted pass's questions without the image, and sight is the
    difference of the two accuracies, per question type."""
    import torch

    from roles.answerer import parse_answer
    from selfplay import engine as engine_module
    from selfplay.evaluate import answer_questions, evaluate
    from selfplay.modeling import load_model_and_processor

    model, processor = load_model_and_processor(warm_qwen, torch.float32)
    rows = read_qa(shapes_world)[:40]
    # relabel each question with what the model answers from the image: sighted accuracy is then 1
    # wherever it answers, and blind accuracy is how often it says the same without the image
    seen = answer_questions(model, processor, rows, role=None, max_pixels=56 * 56, min_pixels=56 * 56)
    # (the named choices go with the old labels: the new one need not be among them)
    rows = [dict(row, answer=answer, choices=None) for row, answer in zip(rows, seen) if answer is not None]
    calls = []
    real_generate = engine_module.HFEngine.generate

    def generate(self, role, prompts, n, max_new_tokens):
        groups = real_generate(self, role, prompts, n, max_new_tokens)
        calls.append((prompts, [parse_answer(group[0].text) for group in groups]))
        return groups

    monkeypatch.setattr(engine_module.HFEngine, "generate", generate)
    result = evaluate(model, processor, rows, role=None, max_pixels=56 * 56, min_pixels=56 * 56, blind_mode="none")
    (sighted, _), (blind, blind_answers) = calls
    assert [p.messages for p in sighted] == [p.messages for p in blind]  # the same questions, in the same order
    assert all(p.image is not None for p in sighted) and all(p.image is None for p in blind)
    assert result["accuracy"]["all"] == 1.0
    expected_blind = accuracy_table(rows, blind_answers)
    assert result["sight"] == {qtype: 1.0 - expected_blind[qtype] for qtype in result["accuracy"]}
    assert result["sight"]["all"] > 0  # without the image this model answers some questions otherwise
    # its error is paired over the same questions: every sighted answer is right, so d = 1 - blind hit
    differences = [1.0 - hit for hit in correct(rows, blind_answers)]
    assert result["sight_se"]["all"] == pytest.approx(statistics.stdev(differences) / len(differences) ** 0.5)
    # the answer form is read from the same answers: every sighted one is its own label's form
    assert result["in_form"]["all"] == 1.0 and result["blind_in_form"] == in_form(rows, blind_answers)


def test_pseudo_label_accuracy_counts_only_checkable_questions():
    games = [
        {"question": "How many circles?", "reference": "2", "silver": "2", "target": "2", "kept": True},
        {"question": "Is it red?", "reference": "yes", "silver": "no", "target": "yes", "kept": True},
        {"question": "Why?", "reference": "x", "silver": "x", "target": "x", "kept": False},
        {"question": None},
        {"question": "Is it blue?", "reference": "no", "silver": "no", "target": "no", "kept": True, "borrowed": True},
    ]
    truth = {"How many circles?": "two", "Is it red?": "no", "Is it blue?": "no"}
    result = pseudo_label_accuracy(games, lambda g: truth.get(g["question"]))
    assert result == {"coverage": 3 / 4, "checked": 3, "reference": 0.5, "borrowed": 1.0, "silver": 1.0,
                      "kept_target": 2 / 3}
    assert question_diversity(games + [dict(games[0], borrowed=True)]) == 1.0  # a borrowed copy is not a new question


def test_eval_command_on_a_round(warm_qwen, shapes_world, tmp_path, capsys):
    from rewards.normalize import answers_match
    from selfplay.cli import main as cli
    from selfplay.config_parser import from_dict
    from selfplay.evaluate import answer_questions, load_for_eval
    from selfplay.runner import main

    out = tmp_path / "run"
    main(from_dict({"output_dir": str(out), "model": {"path": str(warm_qwen)},
                    "data": {"source": str(shapes_world / "manifest.jsonl")},
                    "game": {"rounds": 1, "items_per_round": 4}, "eval": {"data": ""}}))
    # Games with known pseudo-labels: two questions of the QA file's first rows, one the scene graph
    # answers (source-00000 has 3 circles), one off the templates (not checkable), one that did not parse.
    item = "source-00000"
    games = [
        {"item_id": item, "question": "Is there a yellow circle?", "reference": "yes", "silver": "no",
         "target": "yes", "kept": True, "borrowed": False},
        {"item_id": item, "question": "Is there a blue circle?", "reference": "no", "silver": "yes",
         "target": "no", "kept": False, "borrowed": False},
        {"item_id": item, "question": "How many circles are there?", "reference": "3", "silver": "2",
         "target": "2", "kept": True, "borrowed": True},
        {"item_id": item, "question": "What is the meaning of this?", "reference": "x", "silver": "x",
         "target": "x", "kept": True, "borrowed": False},
        {"item_id": item, "question": None},
    ]
    games_file = _write(tmp_path / "games.jsonl", games)
    round_dir = out / "rounds" / "0000"
    assert cli(["eval", str(round_dir), "--data", str(shapes_world), "--max-questions", "10",
                "--games", str(games_file), "--scenes", str(shapes_world)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["questions"] == 10
    assert result["pseudo_label"] == {"coverage": 3 / 4, "checked": 3, "reference": 0.5, "borrowed": 1.0,
                                      "silver": 1 / 3, "kept_target": 0.5}
    # The accuracy is the round's answerer's: answer the same rows with it and count the hits here.
    rows = read_qa(shapes_world)[:10]
    model, processor, role = load_for_eval(round_dir)
    assert role == "answerer"
    answers = answer_questions(model, processor, rows, role=role, max_pixels=56 * 56, min_pixels=56 * 56)
    hits = {}
    for answer, row in zip(answers, rows):
        for key in ("all", row["qtype"]):
            hits.setdefault(key, []).append(answers_match(answer, row["answer"]))
    assert result["accuracy"] == {key: sum(h) / len(h) for key, h in sorted(hits.items())}

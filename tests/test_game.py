"""The question game (selfplay/game.py): one record per questioner completion, parsed once, and the
round's other questions borrowed as new records."""

from pathlib import Path

from PIL import Image

from rewards.filters import NO_TEXT, STATED, TRUTH, UNSTATED
from selfplay.config_parser import from_dict
from selfplay.manifest import ImageTextItem
from selfplay.engine import Sample
from selfplay.game import ask_labelled, asked_question, borrow
from selfplay.plays import ASKED, BORROWED, LABELLED, Play
from selfplay.records import read_jsonl

TYPES = ["yes_no", "number"]


def _play(index: int, question: str, text: str | None) -> Play:
    item = ImageTextItem(f"item-{index}", Path(f"item-{index}.png"), text, "manifest.jsonl", index)
    completion = f"Question: {question}\nAnswer: yes"
    return Play(item, Image.new("RGB", (56, 56)), [], (Sample(completion, [], [], []),),
                (asked_question(completion, TYPES, text),))


def test_a_completion_is_parsed_once_into_its_record_with_what_the_text_says_of_it():
    assert asked_question("Question: Is there a mass?\nAnswer: no", TYPES, "No mass.") == \
        asked_question("Question: Is there a mass?\nAnswer: no", TYPES, "No mass.")
    stated = asked_question("Question: Is there a mass?\nAnswer: no", TYPES, "No mass.")
    assert (stated.origin, stated.question, stated.reference, stated.answer_type, stated.backed_by) == (
        ASKED, "Is there a mass?", "no", "yes_no", STATED)
    assert asked_question("Question: Is there a mass?\nAnswer: yes", TYPES, "No mass.").backed_by == UNSTATED
    assert asked_question("Question: Is there a mass?\nAnswer: yes", TYPES, None).backed_by == NO_TEXT
    broken = asked_question("a mass?", TYPES, "No mass.")
    assert (broken.question, broken.candidate, broken.completion) == (None, None, "a mass?")


def test_borrowed_questions_take_their_answer_from_the_items_own_text():
    plays = [_play(0, "Is there a red circle?", "A red circle."), _play(1, "Is there a blue square?", "A blue square."),
             _play(2, "Is there a red square?", "A red circle and a blue square.")]
    borrowed = borrow(from_dict({"game": {"borrowed_questions": 2}}), plays, round_index=0)
    # silence says "no"; a clause that states it says "yes"; "a red square" on a caption naming red and
    # square in two different findings is neither, so it is not borrowed
    assert [sorted((q.question, q.reference) for q in extra) for extra in borrowed] == [
        [("Is there a blue square?", "no")], [("Is there a red circle?", "no")],
        [("Is there a blue square?", "yes"), ("Is there a red circle?", "yes")]]
    assert all((q.origin, q.backed_by, q.completion) == (BORROWED, STATED, None) for extra in borrowed for q in extra)
    assert [len(play.questions) for play in plays] == [1, 1, 1]  # the plays themselves are left as they were


def test_without_text_a_borrowed_question_has_no_reference():
    plays = [_play(0, "Is there a red circle?", None), _play(1, "Is there a blue square?", None)]
    borrowed = borrow(from_dict({}), plays, round_index=0)
    assert [[(q.question, q.reference, q.backed_by) for q in extra] for extra in borrowed] == [
        [("Is there a blue square?", None, NO_TEXT)], [("Is there a red circle?", None, NO_TEXT)]]


def test_no_borrowed_questions_when_turned_off():
    plays = [_play(0, "Is there a red circle?", "A red circle."), _play(1, "Is there a blue square?", "A blue square.")]
    assert borrow(from_dict({"game": {"borrowed_questions": 0}}), plays, round_index=0) == [(), ()]


def test_the_supervised_baseline_asks_ground_truth_questions_in_turn(shapes_world):
    rows = read_jsonl(shapes_world / "qa.jsonl")
    first = rows[0]["id"]
    labels = {first: [row for row in rows if row["id"] == first][:3]}
    item = ImageTextItem(first, shapes_world / rows[0]["image"], "text", "manifest.jsonl", 0)
    cfg = from_dict({"game": {"questions_per_item": 2}})
    loaded = [(item, Image.new("RGB", (56, 56)))]
    asked = [[q.question for q in play.questions] for r in (0, 1) for play in ask_labelled(cfg, loaded, labels, r)]
    questions = [row["question"] for row in labels[first]]
    assert asked == [questions[0:2], [questions[2], questions[0]]]
    play = ask_labelled(cfg, loaded, labels, 0)[0]
    assert play.samples == () and {(q.origin, q.backed_by) for q in play.questions} == {(LABELLED, TRUTH)}
    assert [q.reference for q in play.questions] == [row["answer"] for row in labels[first][:2]]


def test_a_question_written_from_the_text_replaces_the_last_candidate_where_none_is_stated(tiny_qwen):
    """game.text_questions: the report says "a dark mass", no candidate's reference is stated by it, so
    the last candidate becomes "Is the mass <dark|bright> or <the other>?" -> "dark", written with zero
    sampling log-probs and an end token; an item already stated, one without text and the option off are
    left as sampled."""
    import torch

    from selfplay.engine import HFEngine
    from selfplay.game import write_text_questions
    from selfplay.modeling import load_model_and_processor

    model, processor = load_model_and_processor(tiny_qwen, torch.float32)
    engine = HFEngine(model, processor)
    types = ["yes_no", "number", "short_phrase"]

    def play(index: int, text: str | None, questions: list[str]) -> Play:
        item = ImageTextItem(f"item-{index}", Path(f"item-{index}.png"), text, "manifest.jsonl", index)
        completions = [f"Question: {q}\nAnswer: yes" for q in questions]
        samples = tuple(Sample(c, [1, 2], [3, 4], [-0.5, -0.5]) for c in completions)
        return Play(item, Image.new("RGB", (56, 56)), [], samples, tuple(asked_question(c, types, text) for c in completions))

    plays = [play(0, "Report: a dark mass in the left region.", ["Is there a gok?", "Is there a tirp?"]),
             play(1, "Report: a bright mass and a dark line.", ["Is there a line?", "Is there a gok?"]),  # stated
             play(2, None, ["Is there a gok?", "Is there a tirp?"])]
    cfg = from_dict({"game": {"text_questions": True, "answer_types": types}})
    written, stated, silent = write_text_questions(engine, cfg, plays, round_index=0)
    assert written.samples[0] == plays[0].samples[0] and written.questions[0] == plays[0].questions[0]
    last = written.questions[-1]
    assert last.question in ("Is the mass dark or bright?", "Is the mass bright or dark?")
    assert (last.reference, last.answer_type, last.backed_by) == ("dark", "short_phrase", STATED)
    sample = written.samples[-1]
    assert sample.text == last.completion and sample.prompt_ids == [1, 2]
    assert sample.logprobs == [0.0] * len(sample.completion_ids)
    assert sample.completion_ids[-1] in processor.tokenizer.all_special_ids
    assert (stated, silent) == (plays[1], plays[2])
    assert write_text_questions(engine, from_dict({"game": {"answer_types": types}}), plays, 0) == plays


def test_questions_are_written_from_the_text_only_on_the_hf_engine():
    import pytest

    from selfplay.config import ConfigError

    with pytest.raises(ConfigError, match="game.text_questions: the written questions"):
        from_dict({"game": {"text_questions": True}, "engine": "vllm"})


def test_written_questions_are_named_choices_where_the_text_describes_else_existences_and_counts():
    """rewards.written.text_question: on reports that count masses and nodules and describe them as
    bright or dark, a named choice where a clause describes a noun, else an existence or a count, each
    stated by its text; with game.answer_types short_phrase only, only named choices are written."""
    import random

    from rewards.grounding import text_confirms
    from rewards.written import counted_nouns, described_nouns, text_question

    texts = ["Report: a dark mass in the left region. No nodules.", "Report: a bright nodule. No mass.",
             "Report: a bright mass and a dark nodule.", "Report: three dark masses. No nodules."]
    described, counted = described_nouns(texts), counted_nouns(texts)
    assert (described, counted) == ({"mass": ["bright", "dark"], "nodule": ["bright", "dark"]}, ["mass", "nodule"])
    written = [text_question(text, described, counted, random.Random(seed)) for text in texts for seed in range(20)]
    assert all(text_confirms(question, answer, text) for (question, answer), text in zip(written, [t for t in texts
                                                                                                  for _ in range(20)]))
    kinds = {"choice" if " or " in q else "existence" if q.startswith("Is there") else "count" for q, _ in written}
    assert kinds == {"choice", "existence", "count"}
    assert {answer for q, answer in written if q.startswith("Is there")} == {"yes", "no"}
    assert all(" or " in q for (q, _), text in zip(written, [t for t in texts for _ in range(20)]) if "three" not in text)
    only_choices = {text_question(text, described, counted, random.Random(seed), ("choice",))
                    for text in texts for seed in range(8)} - {None}
    assert only_choices and all(" or " in question for question, _ in only_choices)


def test_counts_are_read_through_the_describing_words_a_real_report_puts_before_its_noun():
    """A report says "two small calcified nodules": the written count asks about nodules, not about a
    describing word, and its answer is what the clause reader (text_confirms) reads."""
    import random

    from rewards.grounding import text_confirms
    from rewards.written import counted_nouns, text_question

    texts = ["Findings: two small calcified nodules in the right lobe. No effusion.",
             "Findings: a small calcified nodule. A small left effusion.",
             "Findings: no nodules. No effusion."]
    counted = counted_nouns(texts)
    assert counted == ["effusion", "nodule"]
    written = {text_question(texts[0], {}, counted, random.Random(seed), ("count",)) for seed in range(10)}
    assert ("How many nodules are there?", "2") in written
    assert all(text_confirms(question, answer, texts[0]) for question, answer in written)

"""Broad reading rows (benchmarks/broad_reading.py): text-only questioner rows in a broad vocabulary
that holds none of the target domains' nouns."""

import re

from benchmarks.broad_reading import NOUNS, reading_rows
from rewards.grounding import grounded_in
from roles.formats import ANSWER_TYPES
from roles.questioner import parse_candidate
from selfplay.scene import SHAPES
from selfplay.warmstart import WORLD_QUESTION_WORDS


def _completion(row: dict) -> str:
    return row["completion"][0]["content"]


def test_reading_rows_are_text_only_questioner_rows_in_a_broad_vocabulary_without_the_targets_nouns():
    rows = reading_rows(n=60, seed=0)
    assert rows and rows == reading_rows(n=60, seed=0)
    words = set(re.findall(r"[a-z]+", " ".join(row["prompt"][0]["content"] + _completion(row) for row in rows).lower()))
    targets = {word for domain in ("scan", "aerial") for shape in SHAPES[domain] for word in (shape, shape + "s")}
    assert not words & targets  # the targets' nouns are first met on the targets
    assert not words & {"circle", "square", "triangle", "circles", "squares", "triangles"}  # every shape renamed
    assert len(words & set(NOUNS)) >= 50  # a broad vocabulary, not a few words
    for row in rows:
        assert "Ask one question" in row["prompt"][0]["content"]  # no answerer row: no answer about an image
        assert row["image"].getextrema() == ((128, 128),) * 3  # blank grey: no image is read
        candidate = parse_candidate(_completion(row), ANSWER_TYPES)
        assert candidate is not None and grounded_in(candidate.question, row["prompt"][0]["content"], WORLD_QUESTION_WORDS)


def test_answering_rows_ask_any_noun_in_the_worlds_forms_and_never_a_colour_of_a_grey_image():
    from benchmarks.broad_reading import answering_rows
    from roles.answerer import parse_answer
    from selfplay.scene import PALETTE

    rows = answering_rows(n=80, seed=0)
    assert rows and [r["completion"] for r in rows] == [r["completion"] for r in answering_rows(n=80, seed=0)]
    targets = {word for domain in ("scan", "aerial") for shape in SHAPES[domain] for word in (shape, shape + "s")}
    colours = set(PALETTE["source"])
    grey = 0
    for row in rows:
        question = row["prompt"][-1]["content"]
        question = question if isinstance(question, str) else " ".join(p.get("text", "") for p in question)
        answer = parse_answer(_completion(row))
        words = set(re.findall(r"[a-z]+", f"{question} {answer}".lower()))
        assert not words & targets and not words & {"circle", "square", "triangle"}
        pixels = row["image"].convert("RGB")
        if all(r == g == b for r, g, b in pixels.getdata()):  # a grey render: nothing there says a colour
            grey += 1
            assert not words & colours, question
        assert answer  # an answer in the answerer's format
    assert 0 < grey < len(rows)  # the styles vary

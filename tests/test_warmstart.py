"""The warm start's SFT rows: what each role is taught, and that target domains give text only."""

from roles.questioner import parse_candidate
from roles.formats import ANSWER_TYPES
from rewards.grounding import grounded_in
from selfplay.scene import SHAPES
from selfplay.warmstart import WORLD_QUESTION_WORDS, language_rows, warmstart_rows


def _completion(row: dict) -> str:
    return row["completion"][0]["content"]


def test_warmstart_rows_teach_both_roles_on_source_images(shapes_world):
    rows = warmstart_rows(shapes_world, seed=0)
    asking = [row for row in rows if "Ask one question" in row["prompt"][0]["content"]]
    answering = [row for row in rows if row not in asking]
    assert asking and answering
    for row in asking:  # every questioner row parses and asks only about what its context names
        candidate = parse_candidate(_completion(row), ANSWER_TYPES)
        context = row["prompt"][0]["content"].splitlines()[0]
        assert candidate is not None and grounded_in(candidate.question, context, WORLD_QUESTION_WORDS)
    assert all(row["image"].size == (56, 56) and row["image"].getextrema() != ((128, 128),) * 3 for row in rows)
    assert rows == warmstart_rows(shapes_world, seed=0)


def test_language_rows_are_text_only_questioner_rows_in_the_target_vocabulary():
    rows = language_rows(("scan", "aerial"), n=30, seed=0)
    assert rows and rows == language_rows(("scan", "aerial"), n=30, seed=0)
    words = " ".join(_completion(row) for row in rows)
    for domain in ("scan", "aerial"):
        assert any(shape in words for shape in SHAPES[domain])
    assert not any(shape in words for shape in SHAPES["source"])
    for row in rows:
        assert "Ask one question" in row["prompt"][0]["content"]  # no answerer row: no answer about an image
        assert row["image"].getextrema() == ((128, 128),) * 3  # blank grey: no target image is seen
        candidate = parse_candidate(_completion(row), ANSWER_TYPES)
        assert candidate is not None and grounded_in(candidate.question, row["prompt"][0]["content"], WORLD_QUESTION_WORDS)

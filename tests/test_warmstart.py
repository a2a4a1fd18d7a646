"""The warm start's SFT rows: what each role is taught, and that target domains give text only."""

import re

import pytest

from roles.questioner import parse_candidate
from roles.formats import ANSWER_TYPES
from rewards.grounding import grounded_in
from selfplay.warmstart import WORLD_QUESTION_WORDS, colour_rows, language_rows, warmstart_rows
from selfplay.scene import PALETTE, SHAPES


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


def _question(row: dict) -> str:
    content = row["prompt"][-1]["content"]
    text = content if isinstance(content, str) else next(part["text"] for part in content if part["type"] == "text")
    return text.splitlines()[0]


@pytest.mark.parametrize("every_form, varied", [(False, False), (True, False), (True, True)])
def test_colour_rows_answer_from_the_drawn_circle(every_form, varied):
    rows = colour_rows(80, seed=3, every_form=every_form, varied=varied)
    assert rows == colour_rows(80, seed=3, every_form=every_form, varied=varied)
    by_rgb = {rgb: name for name, rgb in PALETTE["source"].items()}
    forms = set()
    for row in rows:
        # the circle's fill is the most common non-white colour; the answer must follow from it
        pixels = row["image"].getcolors(56 * 56)
        fill = max((count, rgb) for count, rgb in pixels if rgb != (255, 255, 255))[1]
        # a varied background is noise around a random colour, not a white page
        assert ((255, 255, 255) in {rgb for _, rgb in pixels}) is not varied
        drawn, question, answer = by_rgb[fill], _question(row), _completion(row).strip()
        asked = next((word for word in re.findall(r"[a-z]+", question) if word in PALETTE["source"]), None)
        expected = {"What": drawn, "Is": drawn if " or " in question else "yes" if asked == drawn else "no",
                    "How": "1" if asked == drawn else "0"}[question.split()[0]]
        assert answer == expected, question
        forms.add(" ".join(question.split()[:2]))
    assert forms == ({"What colour", "Is the", "Is there", "How many"} if every_form else {"What colour"})


def test_look_stage_trains_colour_words_then_every_form_before_the_main_stage(tiny_qwen, shapes_world, tmp_path,
                                                                              caplog):
    from safetensors.torch import load_file

    from selfplay.warmstart import warm_start

    caplog.set_level("INFO", logger="selfplay.warmstart")
    plain = warm_start(tiny_qwen, shapes_world, tmp_path / "plain", steps=1, batch_size=4)
    looked = warm_start(tiny_qwen, shapes_world, tmp_path / "looked", steps=1, look_steps=3, batch_size=4)
    stages = [r.getMessage() for r in caplog.records if "look stage" in r.getMessage()]
    assert stages == ["warm start, look stage: 1 steps of 4 colour questions",
                      "warm start, look stage: 2 steps of 4 colour questions in every answer form, on varied backgrounds"]
    a, b = load_file(plain / "model.safetensors"), load_file(looked / "model.safetensors")
    assert any(not (a[name] == b[name]).all() for name in a)  # the look stage changed the weights

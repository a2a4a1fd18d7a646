"""The warm start's look stage (benchmarks/look_stage.py): colour rows answer from the drawn circle,
and the stage trains colour words, then every form, before the warm start's main stage."""

import re

import pytest

from selfplay.look_stage import colour_rows, warm_start_with_look
from selfplay.scene import PALETTE


def _completion(row: dict) -> str:
    return row["completion"][0]["content"]


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
    looked = warm_start_with_look(tiny_qwen, shapes_world, tmp_path / "looked", steps=1, look_steps=3,
                                  batch_size=4)
    stages = [r.getMessage() for r in caplog.records if "look stage" in r.getMessage()]
    assert stages == ["warm start, look stage: 1 steps of 4 colour questions",
                      "warm start, look stage: 2 steps of 4 colour questions in every answer form, on varied backgrounds"]
    plain_rows, looked_rows = [int(r.getMessage().split()[2]) for r in caplog.records
                               if r.getMessage().endswith("steps of 4") and "SFT rows" in r.getMessage()]
    assert looked_rows == plain_rows + plain_rows // 8  # one colour row per eight of the recipe's, mixed in
    a, b = load_file(plain / "model.safetensors"), load_file(looked / "model.safetensors")
    assert any(not (a[name] == b[name]).all() for name in a)  # the look stage changed the weights

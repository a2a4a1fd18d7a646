"""benchmarks/pixels_ceiling.py: its facts are what the worlds' existence questions ask, and each is printed
beside its own majority share."""

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.pixels_ceiling import pixels_ceiling, scene_facts  # noqa: E402
from selfplay.records import read_jsonl  # noqa: E402


def test_scene_facts_answer_every_existence_question_of_every_world(worlds):
    for domain, (root, _, _, qa) in worlds.items():
        objects = {row["id"]: row["scene"]["objects"] for row in read_jsonl(root / "scenes.jsonl")}
        asked = 0
        for row in qa:
            match = re.fullmatch(r"Is there an? (.+)\?", row["question"])
            if row["qtype"] == "existence" and match:
                assert scene_facts(objects[row["id"]], domain)[f"has {match[1]}"] == (row["answer"] == "yes"), row
                asked += 1
        assert asked >= 10, domain


def test_the_majority_share_is_the_held_out_scenes_own(worlds):
    root = worlds["scan"][0]
    ceiling = pixels_ceiling(root, root, "scan", epochs=1)
    scenes = [row["scene"]["objects"] for row in read_jsonl(root / "scenes.jsonl")]
    for fact, (_, majority) in ceiling.items():
        yes = sum(scene_facts(objects, "scan")[fact] for objects in scenes) / len(scenes)
        assert majority == pytest.approx(max(yes, 1 - yes)), fact
    assert set(ceiling) == set(scene_facts([], "scan"))

"""benchmarks/pixels_ceiling.py reads the facts the held-out existence questions ask, from the scene graph."""

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.pixels_ceiling import scene_facts  # noqa: E402
from selfplay.records import read_jsonl  # noqa: E402


def test_scene_facts_answer_the_worlds_existence_questions(worlds):
    for domain, (root, _, _, qa) in worlds.items():
        objects = {row["id"]: row["scene"]["objects"] for row in read_jsonl(root / "scenes.jsonl")}
        kinds = sorted({o["shape"] for scene in objects.values() for o in scene})
        colours = sorted({o["colour"] for scene in objects.values() for o in scene})
        asked = 0
        for row in qa:
            match = re.fullmatch(r"Is there an? (\w+) (\w+)\?", row["question"])
            if row["qtype"] != "existence" or not match:
                continue
            facts = scene_facts(objects[row["id"]], kinds, colours)
            assert facts[f"has {match[1]} {match[2]}"] == (row["answer"] == "yes"), (domain, row)
            asked += 1
        assert asked >= 10, domain

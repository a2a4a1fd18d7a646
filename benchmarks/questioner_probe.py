"""How a model asks on a world's captions, as self-play samples it: the questioner half of
benchmarks/warmstart_probe.py, also run by benchmarks/copy_stage.py during its copy stage."""

from pathlib import Path

from rewards.grounding import grounded_in
from rewards.normalize import answers_match
from roles.formats import ANSWER_TYPES
from roles.questioner import parse_candidate, questioner_messages
from selfplay.engine import HFEngine, Prompt
from selfplay.ground_truth import truth
from selfplay.images import load_image
from selfplay.records import read_jsonl
from selfplay.warmstart import WORLD_QUESTION_WORDS
from selfplay.world import load_scenes


def questioner_probe(model, processor, world_dir: Path, items: int, temperature: float, pixels: int) -> dict:
    """Parse rate, copied share (every content word of the question occurs in the item's text),
    checkable share and reference accuracy of 4 sampled candidates per item."""
    scenes = load_scenes(world_dir)
    rows = read_jsonl(world_dir / "manifest.jsonl")[:items]
    prompts = [Prompt(questioner_messages(row["text"], ANSWER_TYPES),
                      load_image(world_dir / row["image"], max_pixels=pixels, min_pixels=pixels)) for row in rows]
    groups = HFEngine(model, processor, temperature=temperature).generate(None, prompts, 4, 24)
    parsed = copied = checked = right = 0
    for row, group in zip(rows, groups):
        for sample in group:
            candidate = parse_candidate(sample.text, ANSWER_TYPES)
            if candidate is None:
                continue
            parsed += 1
            copied += grounded_in(candidate.question, row["text"], WORLD_QUESTION_WORDS)
            answer = truth(scenes[row["id"]], candidate.question)
            if answer is not None:
                checked += 1
                right += answers_match(candidate.reference, answer)
    total = 4 * len(rows)
    return {"parsed": parsed / total, "copied": copied / total, "checkable": checked / total,
            "reference_right": right / checked if checked else 0.0}

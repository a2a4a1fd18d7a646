"""One self-play round on a folder `selfplay prepare` wrote, with the domain's shipped preset scaled down
to the tiny model: its path, its 56 px pixel budget, one short round, no evaluation."""

from pathlib import Path

import yaml

from selfplay.config_parser import from_dict
from selfplay.records import read_jsonl
from selfplay.runner import main

ROOT = Path(__file__).resolve().parent.parent


def play_prepared_round(preset: str, manifest: Path, model: Path, out: Path, cache: Path) -> str:
    """Play the round under `out` and check what it wrote; returns games.jsonl's text."""
    raw = yaml.safe_load((ROOT / "configs" / f"{preset}_qwen2_5_vl_3b.yaml").read_text())
    raw.update(output_dir=str(out), cache_dir=str(cache))
    raw["model"].update(path=str(model), max_pixels=56 * 56, min_pixels=56 * 56)
    raw["data"]["source"] = str(manifest)
    raw["game"].update(rounds=1, items_per_round=4, questions_per_item=2, answers_per_question=2,
                       blind_answers=1, generation_batch_size=16, question_max_new_tokens=16,
                       answer_max_new_tokens=4)
    raw["train"].update(questioner_steps=1, answerer_steps=1)
    history = main(from_dict(raw))
    assert len(history) == 1 and history[0]["candidates"] == 4 * 2
    assert len(read_jsonl(out / "metrics.jsonl")) == 1
    games = read_jsonl(out / "games.jsonl")
    assert len(games) == 4 * 2 and all(g["image"].endswith(".png") for g in games)
    assert (out / "rounds" / "0000" / "manifest.json").is_file()
    played = (out / "games.jsonl").read_text()
    assert "Smith" not in played and "2019-03-04" not in played
    return played

"""Scoring a round (selfplay/game.py `score`): which questions reach the answerer's GRPO groups."""

from pathlib import Path

import pytest
from PIL import Image

from roles.questioner import format_candidate
from selfplay.config import from_dict
from selfplay.data import ImageTextItem
from selfplay.engine import Sample
from selfplay.game import Play, score


def _play(index: int, reference: str, answers: list[str]) -> Play:
    """One item, one question whose reference is `reference`, answered `answers` from the image."""
    item = ImageTextItem(f"item-{index}", Path(f"item-{index}.png"), "A red circle.", "manifest.jsonl", index)
    candidate = Sample(format_candidate("Is there a red circle?", reference), [], [], [])
    play = Play(item, Image.new("RGB", (56, 56)), [], [candidate])
    play.answers = [[Sample(answer, [], [], []) for answer in answers]]
    play.blind = [[Sample("no", [], [], [])]]
    return play


@pytest.mark.parametrize("balance, kept", [(True, 2), (False, 4)])
def test_score_balances_the_kept_targets_into_the_answerer_groups(balance, kept):
    # three "yes" references and one "no", each agreed by the answerer's majority (p = 0.75)
    plays = [_play(i, "yes", ["yes", "yes", "yes", "no"]) for i in range(3)] + [_play(3, "no", ["no", "no", "no", "yes"])]
    cfg = from_dict({"rewards": {"balance_targets": balance}})
    scored = score(cfg, plays, round_index=0)
    assert len(scored.answerer_groups) == sum(game["kept"] for game in scored.games) == kept
    kept_targets = sorted(game["target"] for game in scored.games if game["kept"])
    assert kept_targets == (["no", "yes"] if balance else ["no", "yes", "yes", "yes"])

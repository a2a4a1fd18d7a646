"""Scoring a round (selfplay/game.py `score`): which questions reach the answerer's GRPO groups."""

from pathlib import Path

import pytest
from PIL import Image

from roles.questioner import format_candidate
from selfplay.config import from_dict
from selfplay.manifest import ImageTextItem
from selfplay.engine import Sample
from selfplay.game import Play, borrow_questions, round_metrics, score


def _play(index: int, reference: str, answers: list[str], question: str = "Is there a red circle?",
          text: str | None = "A red circle.") -> Play:
    """One item, one question whose reference is `reference`, answered `answers` from the image."""
    item = ImageTextItem(f"item-{index}", Path(f"item-{index}.png"), text, "manifest.jsonl", index)
    candidate = Sample(format_candidate(question, reference), [], [], [])
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


@pytest.mark.parametrize("balance_by, kept", [("answer_type", 4), ("question", 0), ("auto", 4)])
def test_balancing_by_question_leaves_no_prior_tied_to_the_wording(balance_by, kept):
    # "yes" to the circle and "no" to the square, each twice: balanced as yes/no, but each question has
    # one answer only, which a blind answerer could learn from the wording (auto: no borrowed questions here)
    plays = [_play(i, "yes", ["yes", "yes", "yes", "no"], "Is there a red circle?") for i in range(2)]
    plays += [_play(i, "no", ["no", "no", "no", "yes"], "Is there a blue square?") for i in range(2, 4)]
    cfg = from_dict({"rewards": {"balance_by": balance_by}})
    assert len(score(cfg, plays, round_index=0).answerer_groups) == kept


@pytest.mark.parametrize("trust, kept", [("agreement", [False, False]), ("grounded", [True, False]),
                                         ("either", [True, False])])
def test_score_trusts_a_reference_the_paired_text_backs(trust, kept):
    # the answerers' majority says "no" to both; only the first question is named by its caption
    plays = [_play(0, "yes", ["no", "no", "no", "yes"], "Is there a red circle?", "A red circle and a blue square."),
             _play(1, "yes", ["no", "no", "no", "yes"], "Is there a green triangle?", "A red circle.")]
    cfg = from_dict({"rewards": {"reference_trust": trust, "balance_targets": False}})
    scored = score(cfg, plays, round_index=0)
    assert [game["kept"] for game in scored.games] == kept


def test_score_does_not_trust_a_reference_the_paired_text_contradicts():
    # both questions are about what the caption names; only the first reference is what it says
    caption = "Two red circles and a blue square."
    plays = [_play(0, "2", ["3", "3", "3", "2"], "How many red circles are there?", caption),
             _play(1, "3", ["2", "2", "2", "3"], "How many red circles are there?", caption)]
    cfg = from_dict({"rewards": {"reference_trust": "grounded", "balance_targets": False}})
    assert [game["kept"] for game in score(cfg, plays, round_index=0).games] == [True, False]


@pytest.mark.parametrize("text, require_vision, kept", [(None, True, [True, False]), (None, False, [True, True]),
                                                       ("A red circle.", True, [True, True])])
def test_score_keeps_a_silver_label_only_when_the_image_raises_it_over_the_blind_answers(text, require_vision, kept):
    # both agreed at p = 0.75; the blind answer (always "no") gives the second label as readily. Without
    # text the target is the silver label; with text it is the reference, which the guard leaves alone.
    plays = [_play(0, "yes", ["yes", "yes", "yes", "no"], text=text), _play(1, "no", ["no", "no", "no", "yes"], text=text)]
    cfg = from_dict({"rewards": {"require_vision": require_vision, "balance_targets": False}})
    assert [game["kept"] for game in score(cfg, plays, round_index=0).games] == kept


def test_borrowed_questions_take_their_answer_from_the_items_own_text():
    plays = [_play(0, "yes", ["yes", "yes", "no", "yes"], "Is there a red circle?", "A red circle."),
             _play(1, "yes", ["yes", "no", "yes", "yes"], "Is there a blue square?", "A blue square."),
             _play(2, "yes", ["yes", "yes", "no", "yes"], "Is there a red square?", "A red circle and a blue square.")]
    cfg = from_dict({"game": {"borrowed_questions": 2}, "rewards": {"reference_trust": "grounded"}})
    borrow_questions(cfg, plays, round_index=0)
    # silence says "no"; a clause that states it says "yes"; "a red square" on a caption naming red and
    # square in two different findings is neither, so it is not borrowed
    assert [sorted((q.question, q.reference) for q in play.borrowed) for play in plays] == [
        [("Is there a blue square?", "no")], [("Is there a red circle?", "no")],
        [("Is there a blue square?", "yes"), ("Is there a red circle?", "yes")]]
    for play in plays:
        for borrowed in play.borrowed:
            play.answers.append([Sample(answer, [], [], []) for answer in ["no", "yes", "yes", "no"]])
            play.blind.append([Sample("no", [], [], [])])
    unbalanced = score(from_dict({"game": {"borrowed_questions": 2},
                                  "rewards": {"reference_trust": "grounded", "balance_targets": False}}), plays, 0)
    borrowed = [game for game in unbalanced.games if game["borrowed"]]
    assert sorted(game["target"] for game in borrowed) == ["no", "no", "yes", "yes"]
    assert all(game["kept"] for game in borrowed)
    # the questioner's groups hold its own candidates only; of the 4 "yes" (two candidates whose caption
    # states them, two borrowed) and 2 "no" kept, balancing trains on 2 of each
    scored = score(cfg, plays, round_index=0)
    assert [len(group.samples) for group in scored.questioner_groups] == [1, 1, 1]
    assert sorted(game["target"] for game in scored.games if game["kept"]) == ["no", "no", "yes", "yes"]
    metrics = round_metrics(scored, cfg)
    assert (metrics["candidates"], metrics["borrowed"], metrics["kept"]) == (3, 4, 4)


def test_no_borrowed_questions_when_turned_off():
    plays = [_play(0, "yes", ["yes"] * 4, "Is there a red circle?", "A red circle."),
             _play(1, "yes", ["yes"] * 4, "Is there a blue square?", "A blue square.")]
    borrow_questions(from_dict({"game": {"borrowed_questions": 0}}), plays, round_index=0)
    assert all(play.borrowed == [] for play in plays)


def test_without_text_a_borrowed_question_trains_on_the_silver_label_balanced_per_question():
    plays = [_play(0, "yes", ["yes", "yes", "yes", "no"], "Is there a red circle?", None),
             _play(1, "yes", ["yes", "yes", "no", "yes"], "Is there a blue square?", None)]
    borrow_questions(from_dict({}), plays, round_index=0)
    assert [[(q.question, q.reference) for q in play.borrowed] for play in plays] == [
        [("Is there a blue square?", None)], [("Is there a red circle?", None)]]
    for play, answers in zip(plays, [["no", "no", "no", "yes"], ["yes", "no", "yes", "yes"]]):
        play.answers.append([Sample(answer, [], [], []) for answer in answers])
        play.blind.append([Sample("maybe", [], [], [])])
    scored = score(from_dict({}), plays, round_index=0)
    assert [(game["question"], game["target"], game["kept"]) for game in scored.games] == [
        ("Is there a red circle?", "yes", False), ("Is there a blue square?", "no", True),
        ("Is there a blue square?", "yes", True), ("Is there a red circle?", "yes", False)]
    # the square is "no" on one image and "yes" on the other: kept once each way; the circle is "yes" on
    # both, the same answer whatever the image, so balancing by question keeps neither

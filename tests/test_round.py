"""Scoring a round (selfplay/round.py `score`): which questions reach the answerer's GRPO groups, why,
and what the questioner's groups hold."""

from pathlib import Path

import pytest
from PIL import Image

from rewards.filters import backing
from roles.formats import infer_answer_type
from roles.questioner import format_candidate
from selfplay.config_parser import from_dict
from selfplay.manifest import ImageTextItem
from selfplay.engine import Sample
from selfplay.metrics import round_metrics
from selfplay.plays import ASKED, BORROWED, Play, Question
from selfplay.round import score


def _samples(texts: list[str]) -> tuple[Sample, ...]:
    return tuple(Sample(text, [], [], []) for text in texts)


def _play(index: int, reference: str, answers: list[str], question: str = "Is there a red circle?",
          text: str | None = "A red circle.", blind: list[str] = ("no",)) -> Play:
    """One item whose questioner asked one question with `reference`, answered `answers` from the image."""
    item = ImageTextItem(f"item-{index}", Path(f"item-{index}.png"), text, "manifest.jsonl", index)
    completion = format_candidate(question, reference)
    asked = Question(ASKED, question, reference, infer_answer_type(reference, question),
                     backing(question, reference, text), completion, _samples(answers), _samples(list(blind)))
    return Play(item, Image.new("RGB", (56, 56)), [], _samples([completion]), (asked,))


def _borrowed(play: Play, question: str, reference: str | None, backed_by: str, answers: list[str],
              blind: list[str] = ("no",)) -> Play:
    extra = Question(BORROWED, question, reference, "yes_no", backed_by, None, _samples(answers), _samples(list(blind)))
    return Play(play.item, play.image, play.prompt, play.samples, play.questions + (extra,))


def _decided(game: dict) -> str:
    """Why the round's decision kept or dropped a question, before balancing."""
    return game["why"].split("; balanced away")[0]


def test_score_balances_the_kept_targets_into_the_answerer_groups():
    # three "yes" references and one "no", each agreed by the answerer's majority (p = 0.75)
    plays = [_play(i, "yes", ["yes", "yes", "yes", "no"]) for i in range(3)] + [_play(3, "no", ["no", "no", "no", "yes"])]
    scored = score(from_dict({}), plays, round_index=0)
    assert len(scored.answerer_groups) == sum(game["kept"] for game in scored.games) == 2
    assert [(game["target"], game["kept"]) for game in scored.games] == [("yes", True), ("yes", False), ("yes", False),
                                                                        ("no", True)]
    assert scored.games[1]["why"] == ("the answers agree with the reference (p 0.75); "
                                      "balanced away: more 'yes' than the runner-up of its kind")
    assert scored.games[0]["why"] == "the answers agree with the reference (p 0.75)"
    # each kept group trains towards its target: 0.9 for agreeing, 0.1 for a well-formed answer
    assert scored.answerer_groups[0].rewards == pytest.approx([1.0, 1.0, 1.0, 0.1])


def test_without_borrowed_questions_targets_balance_per_answer_type():
    # "yes" to the circle and "no" to the square, each twice: balanced as yes/no (no borrowed questions
    # here, so no question meets two images and balancing by question would keep nothing)
    plays = [_play(i, "yes", ["yes", "yes", "yes", "no"], "Is there a red circle?") for i in range(2)]
    plays += [_play(i, "no", ["no", "no", "no", "yes"], "Is there a blue square?") for i in range(2, 4)]
    assert len(score(from_dict({}), plays, round_index=0).answerer_groups) == 4


def test_with_borrowed_questions_targets_balance_per_question():
    # the same four, plus one borrowed question: now each question must give a yes and a no
    plays = [_play(i, "yes", ["yes", "yes", "yes", "no"], "Is there a red circle?") for i in range(2)]
    plays += [_play(i, "no", ["no", "no", "no", "yes"], "Is there a blue square?") for i in range(2, 4)]
    plays[0] = _borrowed(plays[0], "Is there a green star?", "no", "stated", ["no", "yes", "no", "yes"])
    games = score(from_dict({}), plays, round_index=0).games
    assert [game["kept"] for game in games] == [False, False, False, False, False]
    assert [_decided(game) for game in games] == ["the answers agree with the reference (p 0.75)",
                                                  "the answers agree with the reference (p 0.50)"] + [
        "the answers agree with the reference (p 0.75)"] * 3
    assert all("balanced away" in game["why"] for game in games)


def test_score_trusts_a_reference_the_paired_text_states():
    # the answerers' majority says "no" to both; only the first question is stated by its caption
    plays = [_play(0, "yes", ["no", "no", "no", "yes"], "Is there a red circle?", "A red circle and a blue square."),
             _play(1, "yes", ["no", "no", "no", "yes"], "Is there a green triangle?", "A red circle."),
             _play(2, "no", ["no", "yes", "yes", "yes"], "Is there a green triangle?", "A red circle.")]
    games = score(from_dict({}), plays, round_index=0).games
    assert [_decided(game) for game in games] == ["the text states it and the answers split on it",
                                                  "the answers' majority differs from the reference",
                                                  "the answers' majority differs from the reference"]


def test_score_does_not_trust_a_reference_the_paired_text_contradicts():
    caption = "Two red circles and a blue square."
    plays = [_play(0, "2", ["3", "3", "3", "2"], "How many red circles are there?", caption),
             _play(1, "3", ["2", "2", "2", "3"], "How many red circles are there?", caption)]
    games = score(from_dict({}), plays, round_index=0).games
    assert [_decided(game) for game in games] == ["the text states it and the answers split on it",
                                                  "the answers' majority differs from the reference"]


@pytest.mark.parametrize("text, decided", [
    (None, ["the image raises the silver label over the blind answers (p 0.75)",
            "the blind answers give the silver label as often"]),
    ("A red circle.", ["the answers agree with the reference (p 0.75)"] * 2)])
def test_a_silver_label_is_kept_only_when_the_image_raises_it_over_the_blind_answers(text, decided):
    # both agreed at p = 0.75; the blind answer (always "no") gives the second label as readily. Without
    # text the target is the silver label; with text it is the reference, which the guard leaves alone.
    plays = [_play(0, "yes", ["yes", "yes", "yes", "no"], text=text), _play(1, "no", ["no", "no", "no", "yes"], text=text)]
    assert [_decided(game) for game in score(from_dict({}), plays, round_index=0).games] == decided


def test_without_text_a_borrowed_question_trains_on_the_silver_label_balanced_per_question():
    plays = [_play(0, "yes", ["yes", "yes", "yes", "no"], "Is there a red circle?", None, blind=["maybe"]),
             _play(1, "yes", ["yes", "yes", "no", "yes"], "Is there a blue square?", None, blind=["maybe"])]
    plays = [_borrowed(plays[0], "Is there a blue square?", None, "no text", ["no", "no", "no", "yes"], ["maybe"]),
             _borrowed(plays[1], "Is there a red circle?", None, "no text", ["yes", "no", "yes", "yes"], ["maybe"])]
    scored = score(from_dict({}), plays, round_index=0)
    # the square is "no" on one image and "yes" on the other: kept once each way; the circle is "yes" on
    # both, the same answer whatever the image, so balancing by question keeps neither
    assert [(game["question"], game["target"], game["kept"]) for game in scored.games] == [
        ("Is there a red circle?", "yes", False), ("Is there a blue square?", "no", True),
        ("Is there a blue square?", "yes", True), ("Is there a red circle?", "yes", False)]


def test_the_questioners_groups_hold_its_own_candidates_with_their_rewards_in_order():
    plays = [_borrowed(_play(0, "yes", ["yes", "yes", "no", "no"], "Is there a red circle?"),
                       "Is there a blue square?", "no", "stated", ["no", "yes", "no", "no"])]
    unparsed = Question(ASKED, None, None, None, "no text", "gibberish")
    plays.append(Play(plays[0].item, plays[0].image, [], _samples(["gibberish"]), (unparsed,)))
    scored = score(from_dict({"rewards": {"format_penalty": -0.7}}), plays, round_index=0)
    assert [len(group.samples) for group in scored.questioner_groups] == [1, 1]
    own = scored.games[0]["terms"]
    assert scored.questioner_groups[0].rewards == [own["reward"]] and own["agreement"] == 0.5
    assert scored.questioner_groups[1].rewards == [-0.7]
    assert scored.games[1]["terms"] == {} and scored.games[1]["borrowed"] and scored.games[1]["completion"] is None
    assert scored.games[2]["why"] == "the completion did not parse" and scored.games[2]["answers"] == []
    metrics = round_metrics(scored.games)
    assert (metrics["candidates"], metrics["borrowed"], metrics["questioner/format_failures"]) == (2, 1, 1)
    # "Is there a red circle?" -> "yes" on "A red circle.": the one parsed candidate's text states it
    assert (metrics["questioner/text_states"], metrics["questioner/text_read"]) == (1, 1)
    assert scored.games[0]["backed_by"] == "stated" and scored.games[2]["backed_by"] == "no text"


@pytest.mark.parametrize("key, value", [("blind_weight", 0.0), ("repetition_weight", 0.0), ("repetition_threshold", 0.0),
                                        ("format_penalty", -2.0), ("agreement_weight", 0.5), ("format_weight", 0.5),
                                        ("keep_band", [0.0, 1.0])])
def test_every_reward_option_changes_the_scored_round(key, value):
    """An option that reaches nothing is dead: each one changes the games of this small round."""
    caption = "A red circle and two blue squares."
    plays = [_play(0, "yes", ["yes", "yes", "yes", "no"], "Is there a red circle?", caption, blind=["yes", "no"]),
             _play(1, "yes", ["yes", "yes", "yes", "yes"], "Is there a red circle here?", caption),
             _play(2, "no", ["no", "no", "no", "yes"], "Is there a blue circle?", caption)]
    unparsed = Question(ASKED, None, None, None, "no text", "gibberish")
    plays.append(Play(plays[0].item, plays[0].image, [], _samples(["gibberish"]), (unparsed,)))
    default = score(from_dict({}), plays, 0).games
    assert score(from_dict({"rewards": {key: value}}), plays, 0).games != default


@pytest.mark.parametrize("cover", [True, False])
def test_a_choice_no_answer_gave_is_written_in_place_of_the_last_answers(tiny_qwen, tmp_path, cover):
    """The tiny model's random weights never say "bright" or "dark": with game.cover_named_choices the
    last two of its four answers to "bright or dark?" become those words, ended by an end token, and
    games.jsonl says so; a yes/no question and the option off are left as sampled."""
    import torch

    from selfplay.engine import HFEngine
    from selfplay.modeling import attach_role_adapters, load_model_and_processor
    from selfplay.plays import LABELLED
    from selfplay.round import answer

    torch.manual_seed(0)
    model, processor = load_model_and_processor(tiny_qwen, torch.float32)
    model = attach_role_adapters(model, from_dict({}).model)
    labels = tmp_path / "qa.jsonl"
    labels.write_text("")  # the game's questions are built below; the supervised game needs the file named
    cfg = from_dict({"game": {"mode": "supervised", "cover_named_choices": cover, "answers_per_question": 4,
                              "blind_answers": 0, "answer_max_new_tokens": 4}, "data": {"labels": str(labels)}})
    item = ImageTextItem("item-0", Path("item-0.png"), None, "manifest.jsonl", 0)
    questions = tuple(Question(LABELLED, q, a, infer_answer_type(a, q), "truth")
                      for q, a in (("Is the mass bright or dark?", "dark"), ("Is there a mass?", "yes")))
    play = Play(item, Image.new("RGB", (56, 56), (90, 90, 90)), [], (), questions)
    (played,) = answer(HFEngine(model, processor), cfg, [play])
    choice, yes_no = played.questions
    assert len(choice.answers) == 4 and len(yes_no.answers) == 4 and yes_no.covered == ()
    if not cover:
        assert choice.covered == ()
        return
    assert choice.covered == ("bright", "dark")
    tokenizer = processor.tokenizer
    for sample, word in zip(choice.answers[2:], ("bright", "dark")):
        assert sample.text == word and sample.logprobs == [0.0] * len(sample.completion_ids)
        assert tokenizer.decode(sample.completion_ids[:-1]) == word
        assert sample.completion_ids[-1] in tokenizer.all_special_ids
        assert sample.prompt_ids == choice.answers[0].prompt_ids
    scored = score(cfg, [played], 0)
    assert scored.games[0]["covered"] == ["bright", "dark"] and scored.games[1]["covered"] == []
    # the written "dark" is the label: its group splits, is kept, and the written answer earns the reward
    assert scored.games[0]["kept"] and scored.games[0]["answer_rewards"][3] == 1.0


def test_named_choices_are_covered_only_on_the_hf_engine():
    from selfplay.config import ConfigError

    from_dict({"game": {"cover_named_choices": True}})
    with pytest.raises(ConfigError, match="game.cover_named_choices: the written answers"):
        from_dict({"game": {"cover_named_choices": True}, "engine": "vllm"})


def _covered(index: int, reference: str | None, text: str | None, sampled: list[str], written: list[str],
             blind: list[str]) -> Play:
    """One self-play item asked "Is the mass bright or dark?", `sampled` answers then `written` ones."""
    play = _play(index, reference or "bright", [], question="Is the mass bright or dark?", text=text, blind=blind)
    (asked,) = play.questions
    asked = Question(ASKED, asked.question, reference, "short_phrase", asked.backed_by, asked.completion,
                     _samples(sampled + written), asked.blind, tuple(written))
    return Play(play.item, play.image, play.prompt, play.samples, (asked,))


def test_in_self_play_written_choices_never_vote_but_make_a_text_stated_group_split():
    """Every sample says "bright"; the report says "dark" and "dark" was written in: the group splits on
    the text-stated reference and trains towards it. Without text the written answer is no evidence:
    the silver label and its p are the sampled answers' alone, and nothing is kept."""
    stated = _covered(0, "dark", "Report: a dark mass in the left region.", ["bright"] * 3, ["dark"], ["dark"] * 2)
    silent = _covered(1, None, None, ["bright"] * 3, ["dark"], ["dark"] * 2)
    other = _covered(2, "bright", "A bright mass.", ["dark"] * 3, ["bright"], [])  # so that balance keeps both
    games = score(from_dict({"game": {"cover_named_choices": True}}), [stated, silent, other], 0).games
    assert [(g["silver"], g["p"], g["target"], g["kept"]) for g in games] == [
        ("bright", 1.0, "dark", True), ("bright", 1.0, "bright", False), ("dark", 1.0, "bright", True)]
    assert games[0]["why"] == "the text states it and the answers split on it"
    assert games[0]["answer_rewards"][3] == 1.0 and games[0]["answer_rewards"][0] < 1.0
    # the questioner's difficulty reads the sampled answers only: all three disagree with its "dark"
    assert games[0]["terms"] == score(from_dict({}), [_covered(0, "dark", "Report: a dark mass in the left region.",
                                                                ["bright"] * 3, [], ["dark"] * 2)], 0).games[0]["terms"]


def test_a_silver_label_out_of_its_questions_form_is_never_a_target():
    # images alone: a yes/no question lent to an item, answered "0" and "1" with the image; its silver
    # label would need the image, but it is no yes/no answer, and training on it leaves the form
    plays = [_play(i, "yes", ["yes", "yes", "yes", "no"], text=None, blind=["no"]) for i in range(2)]
    plays = [_borrowed(play, "Is there a green star?", None, "no text", answers, blind=["1"])
             for play, answers in zip(plays, (["0", "0", "0", "1"], ["no", "no", "no", "yes"]))]
    games = score(from_dict({}), plays, round_index=0).games
    lent = [game for game in games if game["borrowed"]]
    assert [(game["target"], _decided(game)) for game in lent] == [
        ("0", "the silver label is not a yes_no answer"),
        ("no", "the image raises the silver label over the blind answers (p 0.75)")]


def test_a_backed_reference_no_answer_gave_is_written_in_place_of_the_last_answer(tiny_qwen):
    """game.cover_reference: the tiny model's random weights never say "dark" or "7"; a label
    (truth) or a reference the text states is written in place of the last answer, once even where it
    is also a named choice; a reference nothing backs is left as sampled."""
    import torch

    from selfplay.config import ConfigError
    from selfplay.engine import HFEngine
    from selfplay.modeling import attach_role_adapters, load_model_and_processor
    from selfplay.round import answer

    torch.manual_seed(0)
    model, processor = load_model_and_processor(tiny_qwen, torch.float32)
    model = attach_role_adapters(model, from_dict({}).model)
    cfg = from_dict({"game": {"cover_reference": True, "cover_named_choices": True, "answers_per_question": 4,
                              "blind_answers": 0, "answer_max_new_tokens": 4}})
    item = ImageTextItem("item-0", Path("item-0.png"), "A dark mass.", "manifest.jsonl", 0)
    questions = tuple(Question(origin, q, a, infer_answer_type(a, q), backed)
                      for origin, q, a, backed in (
                          (ASKED, "What shade is the mass?", "dark", "stated"),
                          (ASKED, "How many masses are there?", "7", "truth"),
                          (ASKED, "What shade is the lesion?", "dark", "unstated"),
                          (ASKED, "Is the mass bright or dark?", "dark", "stated")))
    play = Play(item, Image.new("RGB", (56, 56), (90, 90, 90)), [], (), questions)
    (played,) = answer(HFEngine(model, processor), cfg, [play])
    assert [q.covered for q in played.questions] == [("dark",), ("7",), (), ("bright", "dark")]
    assert played.questions[0].answers[3].text == "dark"
    # the written reference splits the group, so the text keeps it, and the written answer earns the reward
    # (alone of its kind in this round, balancing then sets it aside)
    games = score(cfg, [played], 0).games
    assert games[0]["why"].startswith("the text states it and the answers split on it")
    assert games[0]["answer_rewards"][3] == 1.0
    with pytest.raises(ConfigError, match="game.cover_reference: the written answers"):
        from_dict({"game": {"cover_reference": True}, "engine": "vllm"})

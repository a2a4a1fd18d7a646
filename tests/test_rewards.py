"""Reward functions on hand-made answers: each test names one behaviour and breaks with it."""

import pytest

from roles.formats import QuestionCandidate
from rewards.answerer import answerer_rewards
from rewards.consistency import agreement, majority_vote
from rewards.filters import NO_TEXT, STATED, TRUTH, UNSTATED, backing, balance_targets, target_and_keep
from rewards.grounding import grounded_in, text_confirms
from rewards.normalize import answers_match, normalize_answer
from rewards.questioner import (
    difficulty,
    question_similarity,
    questioner_reward_terms,
    repetition_penalty,
    vision_dependence_penalty,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Yes", "yes"), ("yeah!", "yes"), ("y", "yes"), ("True.", "yes"), ("correct", "yes"),
        ("NO", "no"), ("n", "no"), ("false", "no"), ("Incorrect", "no"), ("none", "no"),
        ("three", "3"), ("Twenty", "20"), ("3.0", "3"), ("3.50", "3.5"), ("007", "7"), ("0", "0"),
        ("two dogs", "2 dogs"),
        ("(B)", "b"), ("b)", "b"), ("b.", "b"), ("option b", "b"), ("B", "b"), ("A", "a"),
        ("The Red Car!", "red car"), ("an apple", "apple"), ("  left   lung. ", "left lung"),
        ("B cells", "b cells"),  # a letter inside a longer answer is not an option
        ("no smoking sign", "no smoking sign"),  # yes/no synonyms only as the whole answer
        (None, None), ("", None), ("   ", None), ("?!", None), ("the", None),
    ],
)
def test_normalize_answer(text, expected):
    assert normalize_answer(text) == expected


def test_answers_match():
    assert answers_match("Two.", "2")
    assert answers_match("(C)", "option c")
    assert answers_match("YES", "true")
    assert not answers_match("yes", "no")
    assert not answers_match(None, None)
    assert not answers_match("", "")


def test_majority_vote_counts_normalised_answers_and_none_in_denominator():
    assert majority_vote(["two", "2", "2.0", "three", None]) == ("2", 0.6)


def test_majority_vote_ties_go_to_first_seen():
    assert majority_vote(["cat", "dog", "Dog", "cat"]) == ("cat", 0.5)
    assert majority_vote(["dog", "cat", "cat", "dog"]) == ("dog", 0.5)


def test_majority_vote_none_never_wins():
    assert majority_vote([None, None, None, "cat"]) == ("cat", 0.25)
    assert majority_vote([None, None]) == (None, 0.0)
    assert majority_vote([]) == (None, 0.0)


def test_agreement():
    assert agreement(["yes", "Yeah", "no", None], "YES") == 0.5
    assert agreement(["yes", "yes"], None) == 0.0
    assert agreement([], "yes") == 0.0
    assert agreement([None, None], "yes") == 0.0


@pytest.mark.parametrize(("p", "expected"), [(0.0, 0.0), (0.3, 0.6), (0.5, 1.0), (0.75, 0.5), (1.0, 0.0)])
def test_difficulty_is_twice_min_p_and_one_minus_p(p, expected):
    assert difficulty(p) == pytest.approx(expected)


def test_vision_dependence_penalty():
    assert vision_dependence_penalty(0.6, 0.6) == 1.0  # blind as good as sighted
    assert vision_dependence_penalty(0.6, 0.9) == 1.0  # blind better: capped
    assert vision_dependence_penalty(0.6, 0.0) == 0.0  # blind gets nothing
    assert vision_dependence_penalty(0.6, 0.3) == 0.5  # halfway
    assert vision_dependence_penalty(0.0, 0.2) == 1.0
    assert vision_dependence_penalty(0.0, 0.0) == 0.0


def test_question_similarity():
    assert question_similarity("How many dogs?", "how many dogs") == 1.0
    # one shared unigram ("is") of 3 + 4, no shared bigram
    assert question_similarity("Is it red?", "What time is shown?") == pytest.approx((2 / 7 + 0) / 2)
    assert question_similarity("cat", "dog") == 0.0
    assert question_similarity("", "") == 0.0
    a, b = "How many dogs are in the image?", "Is there a dog near the car?"
    assert question_similarity(a, b) == question_similarity(b, a)
    # unigrams: 2*3/(4+3) (how, many, dogs); bigrams: 2*2/(3+2) (how many, many dogs)
    assert question_similarity("How many dogs now", "how many dogs") == pytest.approx((6 / 7 + 4 / 5) / 2)


NEAR_DUPLICATES = ["How many dogs are in the image?", "How many dogs are in the picture?"]
DISTINCT = ["What colour is the car?", "Is it raining outside?"]


def test_repetition_penalty_two_near_duplicates_among_four():
    assert repetition_penalty(NEAR_DUPLICATES + DISTINCT) == [0.5, 0.5, 0.25, 0.25]


def test_repetition_penalty_distinct_questions():
    assert repetition_penalty(DISTINCT + ["Where is the cat?", "Who holds the umbrella?"]) == [0.25] * 4


def test_repetition_penalty_single_linkage_chains_and_none():
    chain = ["a b c d e f", "c d e f g h", "e f g h i j"]  # 1~2 and 2~3 close, 1 and 3 not
    assert question_similarity(chain[0], chain[1]) > 0.5 and question_similarity(chain[1], chain[2]) > 0.5
    assert question_similarity(chain[0], chain[2]) < 0.5
    assert repetition_penalty(chain + [None]) == [1.0, 1.0, 1.0, 0.0]
    assert repetition_penalty([None, None]) == [0.0, 0.0]
    assert repetition_penalty(NEAR_DUPLICATES, threshold=0.0) == [0.5, 0.5]  # nothing is that close


def _candidate(question: str, reference: str) -> QuestionCandidate:
    return QuestionCandidate(question, reference, "short_phrase")


def test_questioner_reward_terms_reference_target():
    candidates = [_candidate(DISTINCT[0], "red"), _candidate(DISTINCT[1], "yes")]
    answers = [["red", "Red.", "blue", "green"], ["yes", "yes", "yes", "no"]]
    blind = [["blue"] * 4, ["yes", "yes", "no", "no"]]
    first, second = questioner_reward_terms(candidates, answers, blind)
    assert first == {
        "format": 1.0, "p": 0.5, "agreement": 0.5, "blind_agreement": 0.0, "difficulty": 1.0,
        "blind_penalty": 0.0, "repetition": 0.5, "reward": 0.5,
    }
    assert second["agreement"] == 0.75 and second["blind_agreement"] == 0.5
    assert second["blind_penalty"] == pytest.approx(2 / 3)
    assert second["reward"] == pytest.approx(0.5 - 2 / 3 - 0.5)


def test_questioner_reward_terms_measure_agreement_with_the_reference_not_the_majority():
    candidates = [_candidate(DISTINCT[0], "purple")]  # a reference nobody gives
    answers, blind = [["red", "red", "red", "blue"]], [["red", "blue", "blue", "blue"]]
    terms = questioner_reward_terms(candidates, answers, blind)[0]
    assert terms["p"] == 0.75  # the majority, logged
    assert terms["agreement"] == terms["blind_agreement"] == terms["difficulty"] == 0.0


def test_questioner_reward_terms_weights():
    candidates = [_candidate(q, "red") for q in NEAR_DUPLICATES]
    answers, blind = [["red", "blue"]] * 2, [["red", "red"]] * 2
    terms = questioner_reward_terms(candidates, answers, blind, blind_weight=0.5, repetition_weight=0.0)
    assert [t["reward"] for t in terms] == [0.5, 0.5]  # 1.0 - 0.5 * 1.0 - 0.0 * 1.0
    unseen = questioner_reward_terms(candidates, answers, [[]] * 2)
    assert [t["blind_penalty"] for t in unseen] == [0.0, 0.0]  # no blind answers: penalty off


def test_format_failure_gets_exactly_format_penalty():
    terms = questioner_reward_terms([None, _candidate("Is it red?", "yes")], [[], ["yes"]], [[], []],
                                    format_penalty=-0.7)
    assert terms[0]["reward"] == -0.7
    assert all(value == 0.0 for key, value in terms[0].items() if key != "reward")
    assert terms[1]["repetition"] == 1.0  # the unparsed one is not in the batch count


def test_questioner_reward_terms_rejects_mismatched_lengths():
    with pytest.raises(ValueError):
        questioner_reward_terms([None, None], [[]], [[], []])


def test_answerer_rewards():
    completions = ["Two.", "Answer: two", "three", "It is two, or maybe three or four dogs", "yes"]
    target = ["2", "2", "2", "2", None]
    assert answerer_rewards(completions, target) == pytest.approx([1.0, 1.0, 0.1, 0.0, 0.1])
    assert answerer_rewards(["2", "3"], ["2", "2"], agreement_weight=1.0, format_weight=0.0) == [1.0, 0.0]


@pytest.mark.parametrize("p, kept", [(0.29, False), (0.3, True), (0.8, True), (0.81, False)])
def test_target_and_keep_band_edges_are_inclusive(p, kept):
    n = 100
    answers = ["2"] * round(p * n) + [str(i) for i in range(10, 10 + n - round(p * n))]  # "2" is the majority
    assert target_and_keep("2", UNSTATED, answers, [])[1] is kept
    assert target_and_keep("2", UNSTATED, answers, [], band=(0.0, 1.0))[1]


def test_target_and_keep_with_text_targets_the_reference():
    # the majority says "3" (p 0.75); the reference "2" got one answer in four
    split = ["3", "3", "3", "2"]
    assert target_and_keep("2", UNSTATED, split, []) == ("2", False, "the answers' majority differs from the reference")
    assert target_and_keep("2", STATED, split, []) == ("2", True, "the text states it and the answers split on it")
    # nothing to teach when no answer, or every answer, already gives it
    assert target_and_keep("2", STATED, ["3"] * 4, [])[1] is False
    assert target_and_keep("2", STATED, ["2"] * 4, [])[1] is False
    # the answers agreeing with it keep it, stated or not, and the blind answers do not matter
    assert target_and_keep("2", UNSTATED, ["2", "2", "3", "3"], ["2", "2"]) == (
        "2", True, "the answers agree with the reference (p 0.50)")


def test_target_and_keep_without_text_targets_the_silver_label_that_needs_the_image():
    sighted = ["yes", "yes", "yes", "no"]
    assert target_and_keep("yes", NO_TEXT, sighted, ["no", "no"])[:2] == ("yes", True)
    assert target_and_keep(None, NO_TEXT, sighted, ["no", "no"])[:2] == ("yes", True)  # borrowed: no reference
    assert target_and_keep("yes", NO_TEXT, sighted, ["yes", "yes"]) == (
        "yes", False, "the blind answers give the silver label as often")
    assert target_and_keep("no", NO_TEXT, sighted, ["no", "no"]) == (
        "yes", False, "the silver label differs from the questioner's reference")
    assert target_and_keep("yes", NO_TEXT, sighted, []) == (
        "yes", False, "no blind answers to show that the image matters")
    assert target_and_keep("yes", NO_TEXT, ["yes"] * 4, ["no"])[1] is False  # p 1.0, out of the band


def test_target_and_keep_keeps_ground_truth_only_where_the_answers_split():
    assert target_and_keep("2", TRUTH, ["3"] * 4, ["2"] * 4) == ("2", False, "ground truth, but the answers do not split on it")
    assert target_and_keep("2", TRUTH, ["2"] * 4, []) == ("2", False, "ground truth, but the answers do not split on it")
    assert target_and_keep("2", TRUTH, ["3", "2", "3", "3"], []) == ("2", True, "ground truth, and the answers split on it")


def test_backing_reads_the_items_text():
    report = "A bright nodule. No mass."
    assert backing("Is there a mass?", "no", report) == STATED
    assert backing("Is there a mass?", "yes", report) == UNSTATED
    assert backing("Is there a mass?", "yes", None) == backing("Is there a mass?", "yes", "") == NO_TEXT


def test_balance_targets_equalises_yes_and_no_and_leaves_other_kinds():
    targets = ["yes", "no", "yes", "red", "yes", "No", None, "yes"]
    kept = [True, True, True, True, True, True, False, False]
    kinds = ["yes_no"] * 3 + ["short_phrase"] + ["yes_no"] * 4
    out = balance_targets(targets, kept, kinds)
    assert out == [True, True, True, False, False, True, False, False]  # a lone "red" has no runner-up
    assert sum(k for k, t in zip(out, targets) if t == "yes") == 2 == sum(k for k, t in zip(out, targets) if t in ("no", "No"))
    assert balance_targets(["yes", "yes"], [True, True], ["yes_no"] * 2) == [False, False]  # one value only: no prior
    assert balance_targets([], [], []) == []
    assert balance_targets(["yes", "yes"], [True, True], [None, None]) == [True, True]  # no kind: left as it is


def test_balance_targets_caps_a_dominant_count_at_the_runner_up():
    targets = ["1", "1", "2", "1", "3", "one", "2", "1"]
    out = balance_targets(targets, [True] * 8, ["number"] * 8)
    kept = [t for t, k in zip(targets, out) if k]
    assert kept == ["1", "1", "2", "3", "2"]  # "1" (and "one") capped at 2, as many as "2"


def test_grounded_in_needs_every_named_thing_in_the_text():
    report = "Report: a bright mass in the left region. No nodules."
    assert grounded_in("Is there a nodule?", report)  # named (here, to deny it): the reference can be checked
    assert grounded_in("Is the mass bright?", report)
    assert not grounded_in("Is the mass dark?", report)
    assert not grounded_in("What is in the image?", report)  # names nothing
    assert not grounded_in("Is there a nodule?", None) and not grounded_in("Is there a nodule?", "")


@pytest.mark.parametrize("question, answer, confirmed", [
    ("Is there a bright nodule?", "yes", True),
    ("Is there a bright mass?", "yes", False),  # every word is in the report, but not in one finding
    ("Is there a mass?", "no", True),  # denied ("No mass.")
    ("Is there a mass?", "yes", False),
    ("Is there a bright nodule?", "no", False),
    ("Is the nodule dark?", "yes", True),
    ("How many nodules are there?", "3", True),  # "a bright nodule" + "two dark nodules"
    ("How many nodules are there?", "2", False),
    ("How many dark nodules are there?", "two", True),
    ("How many masses are there?", "0", True),
    ("What colour is the line?", "grey", True),
    ("What colour is the line?", "white", False),
    ("Is the nodule left of the line?", "yes", False),  # a relation across findings: not stated
    ("What is in the image?", "a nodule", False),  # names nothing
])
def test_text_confirms_what_one_clause_states(question, answer, confirmed):
    report = "Findings: a bright nodule in the left region, two dark nodules and a grey line. No mass."
    assert text_confirms(question, answer, report) is confirmed


def test_text_confirms_nothing_without_text_or_answer():
    assert not text_confirms("Is there a nodule?", "yes", None)
    assert not text_confirms("Is there a nodule?", "yes", "")
    assert not text_confirms("Is there a nodule?", None, "A nodule.")

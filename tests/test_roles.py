"""Prompts and parsers of the two roles, on hand-made strings."""

import random

import pytest

from roles.answerer import answerer_messages, format_answer, parse_answer
from roles.formats import ANSWER_TYPES, QuestionCandidate, check_answer_types, infer_answer_type
from roles.questioner import format_candidate, parse_candidate, questioner_messages

ALL = ANSWER_TYPES


@pytest.mark.parametrize(
    ("answer", "question", "expected"),
    [
        ("yes", "Is it red?", "yes_no"),
        ("No.", "Is it red?", "yes_no"),
        ("TRUE", "Is it red?", "yes_no"),
        ("(B)", "Which animal? (A) cat (B) dog", "multiple_choice"),
        ("c", "Which? (A) x (B) y (C) z", "multiple_choice"),
        ("option a", "Which? (A) x (B) y", "multiple_choice"),
        ("(D)", "Which? (A) x (B) y", "short_phrase"),  # letter not among the listed options
        ("B", "Which blood type is shown?", "short_phrase"),  # no options listed
        ("3", "How many dogs?", "number"),
        ("4.5", "How long?", "number"),
        ("twelve", "How many dogs?", "number"),
        ("3 dogs", "How many dogs?", "short_phrase"),
        ("a red car", "What is parked?", "short_phrase"),
    ],
)
def test_infer_answer_type(answer, question, expected):
    assert infer_answer_type(answer, question) == expected


def test_check_answer_types_accepts_and_rejects():
    assert check_answer_types(["number", "yes_no"]) == ("number", "yes_no")
    assert check_answer_types("number") == ("number",)
    with pytest.raises(ValueError, match=r"'count'.*yes_no, multiple_choice, number, short_phrase"):
        check_answer_types(["number", "count"])
    with pytest.raises(ValueError):
        check_answer_types([])


def test_questioner_messages_with_and_without_context():
    with_text = questioner_messages("Chest X-ray, left effusion.", ["yes_no"])
    assert len(with_text) == 1 and with_text[0]["role"] == "user"
    content = with_text[0]["content"]
    assert isinstance(content, str)
    assert content.startswith("Context: Chest X-ray, left effusion.\n")
    assert "yes or no" in content and "a number" not in content
    assert content.endswith(format_candidate("<question>", "<answer>"))
    without = questioner_messages(None, ["number", "short_phrase"])[0]["content"]
    assert "Context" not in without and "a number or a short phrase" in without
    assert len(without.split()) < 40  # short enough for a tiny model to learn
    with pytest.raises(ValueError):
        questioner_messages(None, ["colour"])


def test_format_candidate_round_trips():
    text = format_candidate("How many dogs\nare there?", " two ")
    assert text == "Question: How many dogs are there?\nAnswer: two"
    assert parse_candidate(text, ALL) == QuestionCandidate("How many dogs are there?", "two", "number")
    mc = format_candidate("Which? (A) cat (B) dog", "B")
    assert parse_candidate(mc, ["multiple_choice"]).answer_type == "multiple_choice"


def test_parse_candidate_allows_surrounding_whitespace():
    parsed = parse_candidate("\n  Question:  Is it red? \n   Answer: yes  \n", ["yes_no"])
    assert parsed == QuestionCandidate("Is it red?", "yes", "yes_no")


@pytest.mark.parametrize(
    "completion",
    [
        "Question: How many dogs?",  # missing answer line
        "Answer: 2",  # missing question line
        "Question: How many dogs?\nAnswer: 2\nBecause I counted.",  # extra line
        "Question: How many dogs?\n\nAnswer: 2",  # blank line between
        "Question: How many dogs?\nAnswer:",  # empty answer
        "Question: How many dogs?\nAnswer:    ",  # blank answer
        "Question:\nAnswer: 2",  # empty question
        "Answer: 2\nQuestion: How many dogs?",  # wrong order
        "question: How many dogs?\nanswer: 2",  # wrong labels
        "Question: What is shown?\nAnswer: one two three four five six seven",  # 7 words
        "",
    ],
)
def test_parse_candidate_rejects_malformed(completion):
    assert parse_candidate(completion, ALL) is None


def test_parse_candidate_rejects_type_not_allowed():
    text = format_candidate("Is it red?", "yes")
    assert parse_candidate(text, ["yes_no"]) is not None
    assert parse_candidate(text, ["number", "short_phrase"]) is None


def test_parse_candidate_accepts_six_words():
    text = format_candidate("What is shown?", "a big red car and dog")
    assert parse_candidate(text, ["short_phrase"]).reference == "a big red car and dog"


def _junk(rng: random.Random) -> str:
    alphabet = "QuestionAnswer: ?\n\r\t\x00\x0b\x85\u2028\ud800\U0001f600(B)3."
    return "".join(rng.choice(alphabet) if rng.random() < 0.7 else chr(rng.randrange(0x110000))
                   for _ in range(rng.randrange(60)))


JUNK = [
    "\x00\xff\ufffd",
    "Question: \ud800\nAnswer: \udfff",
    "Question: ?\nAnswer: " + "9" * 5000,
    "Question: Q\u2028Answer: 2",
    b"\xff\xfe\x00Question".decode("latin-1"),
    "\n" * 50,
    "Question: " + "x" * 10000 + "\nAnswer: (A)",
]


def test_parsers_never_raise_on_junk():
    rng = random.Random(0)
    for text in JUNK + [_junk(rng) for _ in range(500)]:
        candidate = parse_candidate(text, ALL)
        assert candidate is None or isinstance(candidate, QuestionCandidate)
        answer = parse_answer(text)
        assert answer is None or isinstance(answer, str)


def test_answerer_messages_is_short_and_plain():
    messages = answerer_messages("How many dogs?")
    assert messages == [{"role": "user", "content": "How many dogs?\nAnswer in a few words."}]


def test_format_answer_is_one_line_and_round_trips():
    assert format_answer("  two\n dogs ") == "two dogs"
    assert parse_answer(format_answer("  two\n dogs ")) == "two dogs"


@pytest.mark.parametrize(
    ("completion", "expected"),
    [
        ("two", "two"),
        ("  Answer: two dogs  ", "two dogs"),
        ("answer: yes", "yes"),
        ("one two three four five six", "one two three four five six"),
        ("one two three four five six seven", None),
        ("two\nthree", None),
        ("Answer:", None),
        ("   ", None),
    ],
)
def test_parse_answer(completion, expected):
    assert parse_answer(completion) == expected

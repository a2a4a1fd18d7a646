"""What an answer looks like: the answer types, a question with its reference answer, and the word
lists and spellings that both the parsers here and the answer normaliser in `rewards` read, so that a
role and its reward never disagree about what "yes", "3" or "(B)" means."""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

ANSWER_TYPES = ("yes_no", "multiple_choice", "number", "short_phrase")
MAX_ANSWER_WORDS = 6
YES_NO_WORDS = {
    **dict.fromkeys(("yes", "y", "yeah", "true", "correct"), "yes"),
    **dict.fromkeys(("no", "n", "false", "incorrect", "none"), "no"),
}
NUMBER_WORDS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen", "twenty",
)

_WORD = re.compile(r"\d+(?:\.\d+)?|[^\W_]+")
_NUMERAL = re.compile(r"\d+(?:\.\d+)?")
_OPTION_ANSWER = re.compile(r"(?:option\s*)?\(?([a-e])\)?[.:]?", re.IGNORECASE)
_LISTED_OPTION = re.compile(r"\(([a-e])\)", re.IGNORECASE)
_NAMED_PAIR = re.compile(r"([^\W\d_]+) or (?:the |a |an )?([^\W\d_]+)\s*\?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class QuestionCandidate:
    """A parsed questioner output: the question, the questioner's own answer, and its answer type."""

    question: str
    reference: str
    answer_type: str


def answer_words(text: str) -> list[str]:
    """Lower-case words of `text` with punctuation dropped and numbers spelled one way.

    Why: answers that differ only in case, punctuation or number spelling ("Two", "2.0", "02") must
    compare equal. Number words zero..twenty become digits; numerals lose leading zeros and trailing
    decimal zeros (string operations only, so a 5,000-digit junk numeral cannot raise).

    Example:
        >>> answer_words("Two RED cars, 3.50 m and 007!")
        ['2', 'red', 'cars', '3.5', 'm', 'and', '7']
    """
    return [_canonical_word(word) for word in _WORD.findall(text.lower())]


def _canonical_word(word: str) -> str:
    if word in NUMBER_WORDS:
        return str(NUMBER_WORDS.index(word))
    if not _NUMERAL.fullmatch(word):
        return word
    whole, _, fraction = word.partition(".")
    whole, fraction = whole.lstrip("0") or "0", fraction.rstrip("0")
    return f"{whole}.{fraction}" if fraction else whole


def option_letter(answer: str) -> str | None:
    """The lower-case option letter a-e when the whole answer is one ("(B)", "b)", "b.", "option b", "B").

    Why: a multiple-choice answer is written many ways; only a bare letter form counts, so "b cells"
    or "A dog" are not read as options.

    Example:
        >>> [option_letter(a) for a in ["(B)", "b.", "Option C", "e", "B cells", "f"]]
        ['b', 'b', 'c', 'e', None, None]
    """
    match = _OPTION_ANSWER.fullmatch(answer.strip())
    return match.group(1).lower() if match else None


def short_answer(text: str) -> str | None:
    """`text` with its whitespace collapsed if it has 1 to MAX_ANSWER_WORDS words, else None.

    Why: both roles answer in a few words; a long answer cannot be voted on reliably.

    Example:
        >>> short_answer("  two   dogs ")
        'two dogs'
        >>> short_answer("one two three four five six seven") is None
        True
    """
    words = text.split()
    return " ".join(words) if 0 < len(words) <= MAX_ANSWER_WORDS else None


def named_choices(question: str) -> list[str]:
    """The two answers a question ending "X or Y?" names, lower-cased; [] for any other question.

    Why: such a question says what its answers can be without any label, so a group of answers can be
    made to hold both (selfplay.round.answer, `game.cover_named_choices`). Whether it asks for one of
    them or for yes/no ("Is there a pond or a tree?") the question alone does not say: callers use it
    where the answer type is a short phrase.

    Example:
        >>> named_choices("Is the mass bright or dark?"), named_choices("Which is higher, the tree or the pond?")
        (['bright', 'dark'], ['tree', 'pond'])
        >>> named_choices("How many ponds are there?")
        []
    """
    found = _NAMED_PAIR.search(question)
    return [found.group(1).lower(), found.group(2).lower()] if found else []


def infer_answer_type(answer: str, question: str) -> str:
    """Which of ANSWER_TYPES an answer is, read from the answer (and, for options, the question).

    Why: the questioner is asked for answers of chosen types; this checks what it actually wrote.
    A yes/no word gives "yes_no"; a single option letter that the question lists as "(A)", "(B)", ...
    gives "multiple_choice"; one number (digits or zero..twenty) gives "number"; else "short_phrase".

    Example:
        >>> infer_answer_type("Yes.", "Is it red?")
        'yes_no'
        >>> infer_answer_type("(B)", "Which? (A) cat (B) dog")
        'multiple_choice'
        >>> infer_answer_type("three", "How many dogs?")
        'number'
        >>> infer_answer_type("B", "Which blood type?")
        'short_phrase'
    """
    words = answer_words(answer)
    if len(words) == 1 and words[0] in YES_NO_WORDS:
        return "yes_no"
    listed = {letter.lower() for letter in _LISTED_OPTION.findall(question)}
    if option_letter(answer) in listed:
        return "multiple_choice"
    if len(words) == 1 and _NUMERAL.fullmatch(words[0]):
        return "number"
    return "short_phrase"


def check_choice(name: str, value: str, allowed: Sequence[str]) -> None:
    """A ValueError naming the option and its allowed values (shared by the roles and the rewards)."""
    if value not in allowed:
        raise ValueError(f"unknown {name} {value!r}; allowed: {', '.join(allowed)}")


def check_answer_types(types: Iterable[str] | str) -> tuple[str, ...]:
    """The user's answer types as a tuple, after checking each is one of ANSWER_TYPES.

    Why: a misspelt type would silently reject every question. A single string counts as one type.

    Example:
        >>> check_answer_types(["number", "yes_no"])
        ('number', 'yes_no')
        >>> check_answer_types(["count"])
        Traceback (most recent call last):
        ...
        ValueError: unknown answer type 'count'; allowed: yes_no, multiple_choice, number, short_phrase
    """
    types = (types,) if isinstance(types, str) else tuple(types)
    if not types:
        raise ValueError(f"no answer types given; allowed: {', '.join(ANSWER_TYPES)}")
    for answer_type in types:
        check_choice("answer type", answer_type, ANSWER_TYPES)
    return types

"""Questions written from the paired text (game.text_questions): what a reader of the round's captions
or reports could ask of each item and answer from its text alone, in any domain.

A questioner that never copies a word from its context states none of its references, so every rule
that trusts what the text says has nothing to act on, and the answerer learns only from what the
questioner makes up. `text_question` writes one question its item's text answers: a named choice ("Is
the mass bright or dark?") where the text describes a noun, else an existence ("Is there a nodule?")
or a count ("How many masses are there?"). The nouns and the describing words are read off
the round's texts (`described_nouns`, `counted_nouns`); `rewards.grounding.text_confirms` checks every
written answer, so nothing is written that the text does not state.
"""

from __future__ import annotations

import re

from rewards.grounding import NEGATION_WORDS, ONE_WORDS, QUESTION_FRAME_WORDS, singular, text_confirms
from rewards.normalize import normalize_answer

# Words that place a thing rather than name it; "a pond next to" must not read as a pond kind of "next".
PLACE_WORDS = frozenset("next beside behind above below under over between near across along around inside "
                        "outside within beyond".split())
_DESCRIBED = re.compile(r"\b(?:a|an|the)\s+([a-z]+)\s+([a-z]+)\b")
_CLAUSE_END = re.compile(r"[.;,:!?]")
_WORD = re.compile(r"[a-z0-9]+")
# The most words a counted noun phrase holds: the count word and its noun at most three words apart, as
# rewards.grounding's clause reader reads a count ("two small calcified nodules").
_PHRASE_WORDS = 3
_NOT_NOUNS = QUESTION_FRAME_WORDS | NEGATION_WORDS | PLACE_WORDS | ONE_WORDS | {"but", "while", "whereas"}
# Each kind of written question and the answer type it needs (game.answer_types).
KIND_TYPES = {"choice": "short_phrase", "existence": "yes_no", "count": "number"}


def _is_number(word: str) -> bool:
    return word in ONE_WORDS or word == "no" or (normalize_answer(word) or "").isdigit()


def described_nouns(texts: list[str]) -> dict[str, list[str]]:
    """Per noun, the words a domain's texts put between an article and it ("a bright mass" -> mass:
    bright), where two or more different words do: the choices its texts describe a thing by, read off
    the texts themselves, in any domain.

    Example:
        >>> described_nouns(["A bright mass and a dark line.", "A dark mass next to a pond.", "A pond next to it."])
        {'mass': ['bright', 'dark']}
        >>> described_nouns(["A large red circle.", "A small red square.", "A blue circle.", "A red circle."])
        {'circle': ['blue', 'red']}
        >>> described_nouns(["The two masses.", "The three masses.", "A dark mass.", "A bright mass."])
        {'mass': ['bright', 'dark']}
    """
    by_noun: dict[str, set[str]] = {}
    skip = QUESTION_FRAME_WORDS | NEGATION_WORDS | PLACE_WORDS | ONE_WORDS
    for text in texts:
        for word, noun in _DESCRIBED.findall((text or "").lower()):
            if word not in skip and noun not in skip and not _is_number(word):  # "the two masses"
                by_noun.setdefault(singular(noun), set()).add(word)
    describing = {word for words in by_noun.values() for word in words}  # "a large yellow circle": yellow is no noun
    return {noun: sorted(words) for noun, words in sorted(by_noun.items()) if len(words) >= 2 and noun not in describing}


def counted_phrases(text: str | None) -> list[tuple[str, str]]:
    """(count, noun) for every count word of `text`: the noun is the last word of the phrase after it,
    the words up to a frame, place or negation word, another count or the clause's end, where that
    phrase holds at most three words; a longer one is not read (its last word may not be its noun).

    Example:
        >>> counted_phrases("Two small calcified nodules in the left lobe, a mass and no effusion.")
        [('2', 'nodule'), ('1', 'mass'), ('0', 'effusion')]
        >>> counted_phrases("A pond near two red buildings; one large smooth round grey stone.")
        [('1', 'pond'), ('2', 'building')]
    """
    found = []
    for clause in _CLAUSE_END.split((text or "").lower()):
        words = _WORD.findall(clause)
        for i, count in enumerate(words):
            if not _is_number(count):
                continue
            phrase = []
            for word in words[i + 1:]:
                if word in _NOT_NOUNS or _is_number(word):
                    break
                phrase.append(word)
            if 0 < len(phrase) <= _PHRASE_WORDS:
                found.append(("1" if count in ONE_WORDS else "0" if count == "no" else normalize_answer(count),
                              singular(phrase[-1])))
    return found


def counted_nouns(texts: list[str]) -> list[str]:
    """The nouns a domain's texts count: those that follow two or more different count words ("a pond",
    "two ponds", "no ponds"; `counted_phrases`); a noun always under one article ("an aerial view of")
    is part of the texts' frame, not a thing they list.

    Example:
        >>> counted_nouns(["An aerial view of a pond near a tree.", "An aerial view of two trees.", "No ponds."])
        ['pond', 'tree']
        >>> counted_nouns(["Report: a bright mass. No nodules.", "Two dark masses and a nodule."])
        ['mass', 'nodule']
        >>> counted_nouns(["A small calcified nodule.", "Two small calcified nodules."])
        ['nodule']
    """
    counts: dict[str, set[str]] = {}
    for text in texts:
        for count, noun in counted_phrases(text):
            counts.setdefault(noun, set()).add(count)
    return sorted(noun for noun, seen in counts.items() if len(seen) >= 2)


def _plural(noun: str) -> str:
    return noun + ("es" if noun.endswith(("s", "x", "ch", "sh")) else "s")


def _choices(text: str, described: dict[str, list[str]], rng) -> list[tuple[str, str]]:
    written = []
    for word, noun in _DESCRIBED.findall(text.lower()):
        if word in described.get(singular(noun), ()):
            choices = [word, rng.choice([other for other in described[singular(noun)] if other != word])]
            rng.shuffle(choices)
            written.append((f"Is the {singular(noun)} {choices[0]} or {choices[1]}?", word))
    return written


def text_question(text: str | None, described: dict[str, list[str]], counted: list[str], rng,
                  kinds: tuple[str, ...] = tuple(KIND_TYPES)) -> tuple[str, str] | None:
    """A question `text` answers, written from it, of one of `kinds`:
        choice:    "Is the <noun> <word> or <other>?" -> <word>, where a clause describes the noun by a
                   word of `described` (`described_nouns`);
        existence: "Is there a <noun>?" -> "yes" or "no", for a noun of `counted` (`counted_nouns`);
        count:     "How many <nouns> are there?" -> the number, for a noun of `counted`;
    each only where `text_confirms` reads its answer as stated. A named choice where the text allows one,
    else an existence or a count, as `rng` (random.Random) draws; None when no question of any kind is.

    Why: a named choice teaches a look fastest (covering puts both words in the answerer's group), and a
    draw among the three kinds alike cut scan's choice groups from about 80 a round to 24, and its
    attribute sight never came (docs/learning.md, "Made-up questions backed by nothing"); where a text
    describes nothing (most aerial captions: "two trees and a pond"), its counts and what it names are
    what it states.

    Example:
        >>> import random
        >>> described, counted = {"mass": ["bright", "dark"]}, ["mass", "nodule"]
        >>> text_question("A dark mass in the left region.", described, counted, random.Random(0))
        ('Is the mass dark or bright?', 'dark')
        >>> sorted({text_question("Three masses. No nodules.", described, counted, random.Random(seed))
        ...         for seed in range(20)})  # doctest: +NORMALIZE_WHITESPACE
        [('How many masses are there?', '3'), ('How many nodules are there?', '0'),
         ('Is there a mass?', 'yes'), ('Is there a nodule?', 'no')]
        >>> text_question("A bright mass and a dark mass.", described, [], random.Random(0)) is None
        True
    """
    if not text:
        return None
    named = [noun for noun in counted if re.search(rf"\b{noun}(?:e?s)?\b", text.lower())]
    by_kind = {
        "choice": _choices(text, described, rng),
        "existence": [(f"Is there a{'n' if noun[0] in 'aeiou' else ''} {noun}?", answer)
                      for noun in named for answer in ("yes", "no")],
        "count": [(f"How many {_plural(noun)} are there?", str(n)) for noun in named for n in range(10)],
    }
    others = [kind for kind in ("existence", "count") if kind in kinds]
    rng.shuffle(others)
    for kind in (["choice"] if "choice" in kinds else []) + others:
        written = by_kind[kind]
        rng.shuffle(written)
        stated = next((found for found in written if text_confirms(found[0], found[1], text)), None)
        if stated is not None:
            return stated
    return None

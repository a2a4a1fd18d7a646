"""What the paired text says about a question: the evidence a text-reading questioner's reference has.

A questioner that reads a report or caption and asks about what it names has a reference worth
trusting even when the answerer does not yet agree, if the text says so; one that asks about what the
text never names is guessing. `grounded_in` is the crude test (word overlap, used to pick warm-start
rows); `text_confirms` reads the text clause by clause, with negation and counts; `text_answer` says
what a text answers to a question asked about another item. All of it is English, no domain's words.
"""

import re

from rewards.normalize import normalize_answer
from roles.formats import named_choices

# Words that frame a question rather than name what it is about (any domain, English).
QUESTION_FRAME_WORDS = frozenset("""
    what which who whom whose where when why how many much is are was were be been being am do does did
    has have had there here the a an of in on at to from by with for about into onto than then that this
    these those it its or and nor any some more most less least fewer same as image picture photo scan view
    shown visible see seen colour color size shape kind type number
""".split())


def content_words(text: str, ignore: frozenset[str] = QUESTION_FRAME_WORDS) -> set[str]:
    """Lower-case words of `text` not in `ignore`, in the singular (`singular`: nodules -> nodule,
    masses -> mass).

    Example:
        >>> sorted(content_words("Two masses and a nodule; no glass."))
        ['glass', 'mass', 'no', 'nodule', 'two']
    """
    return set(_named(text, ignore))


def grounded_in(question: str, text: str | None, ignore: frozenset[str] = QUESTION_FRAME_WORDS) -> bool:
    """True when the question names something and every content word of it occurs in `text`.

    Example:
        >>> grounded_in("Is there a nodule in the left lobe?", "Small nodules in the left upper lobe.")
        True
        >>> grounded_in("Is the nodule calcified?", "Small nodules in the left upper lobe.")
        False
    """
    if not text:
        return False
    content = content_words(question, ignore)
    return bool(content) and content <= content_words(text, frozenset())


# Clause boundaries: punctuation, and the words that join two findings or two objects in one sentence.
_CLAUSE_BREAK = re.compile(r"[.;,:!?]|\b(?:and|but|with|near|while|whereas)\b")
NEGATION_WORDS = frozenset({"no", "not", "without", "absent", "negative"})
ONE_WORDS = frozenset({"a", "an", "one", "single"})
# What a text that lists what it sees implies about a thing it never names, per answer type.
ABSENT_ANSWERS = {"yes_no": "no", "number": "0"}


def singular(word: str) -> str:
    """A plural's singular, closely enough to match "masses" to "mass" and "nodules" to "nodule"."""
    if word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    return word[:-1] if word.endswith("s") and not word.endswith(("ss", "us", "is")) else word


def _stems(text: str) -> list[str]:
    return [singular(word) for word in re.findall(r"[a-z0-9]+", text.lower())]


def _named(question: str, ignore: frozenset[str]) -> list[str]:
    """What the question names, in order: its words less the frame words, in the singular."""
    return [singular(word) for word in re.findall(r"[a-z]+", question.lower()) if word not in ignore]


def _number_before(stems: list[str], index: int, reach: int = 3) -> int | None:
    """The count stated just before stems[index] ("two red buildings", "a nodule" = 1), if any."""
    for word in reversed(stems[max(0, index - reach):index]):
        number = "1" if word in ONE_WORDS else normalize_answer(word)
        if number is not None and number.isdigit():
            return int(number)
    return None


def text_confirms(question: str, answer: str | None, text: str | None,
                  ignore: frozenset[str] = QUESTION_FRAME_WORDS) -> bool:
    """True when the clauses of `text` state `answer` to `question`: the check a reader of the
    report makes before believing a questioner that says it read it.

    Why: word overlap with the whole text (`grounded_in`) backs "Is there a bright mass?" with "yes"
    on "A bright nodule. No mass."; on the shapes world's scan reports more than half of the yes/no
    references it backed were wrong, and counts misread from a caption ("two trees" -> "3") passed.
    Here the question's content words must occur together in one clause, and the answer must be
    what the clauses say:
        yes/no: "yes" when a clause that is not negated names every content word, and none denies;
                "no" when a negated clause ("No mass.", "without effusion") names the last content
                word (the head noun of an English noun phrase) and no clause names them all;
        number: the sum, over the clauses naming every content word, of the count just before them
                ("two red buildings", "a nodule" = 1); a denying clause alone states 0;
        other:  a clause that is not negated names every content word and every word of the answer.
                Where the question names its answers ("Is the mass bright or dark?") and the answer is
                one of them, the choices are not content words: a clause naming the rest ("mass")
                must name the answer, and none the other choice.
    Anything else (a comparison across clauses, an option letter) is not confirmed.

    Example:
        >>> report = "Findings: a bright nodule in the left region and two dark nodules. No mass."
        >>> [text_confirms(q, a, report) for q, a in [("Is there a bright mass?", "yes"), ("Is there a mass?", "no"),
        ...     ("How many nodules are there?", "3"), ("What colour is the mass?", "dark")]]
        [False, True, True, False]
        >>> [text_confirms("Is the mass bright or dark?", a, "A dark mass. A bright line.") for a in ("bright", "dark")]
        [False, True]
        >>> text_confirms("Is the nodule bright or dark?", "bright", report)  # one of each: not stated
        False
    """
    normal = normalize_answer(answer)
    content = _named(question, ignore)
    choices = named_choices(question)
    rivals = []  # where the answer is one of the named choices: the other choices' words
    if any(normalize_answer(choice) == normal for choice in choices):
        rivals = [set(_stems(choice)) for choice in choices if normalize_answer(choice) != normal]
        content = [word for word in content if word not in {w for choice in choices for w in _stems(choice)}]
    if not text or not content or normal is None:
        return False
    naming, denying, counts = [], 0, []
    for stems in map(_stems, _CLAUSE_BREAK.split(text)):
        if NEGATION_WORDS & set(stems):
            denying += content[-1] in stems
        elif set(content) <= set(stems):
            naming.append(set(stems))
            counts.append(_number_before(stems, min(stems.index(word) for word in content)))
    if normal in ("yes", "no"):
        return bool(naming) and not denying if normal == "yes" else bool(denying) and not naming
    if normal.isdigit():
        stated = sum(counts) if counts and None not in counts else (0 if denying and not naming else None)
        return stated == int(normal)
    stated = any(set(_stems(normal)) <= clause for clause in naming)
    return not denying and stated and not any(rival <= clause for clause in naming for rival in rivals)


def names_none_of(question: str, text: str | None, ignore: frozenset[str] = QUESTION_FRAME_WORDS) -> bool:
    """True when the question names something and `text` (present) names none of it.

    Why: a caption or report lists what is there; asked about something it never mentions, "no" (or
    a count of 0) is the reading its writer meant. A caption-reading questioner never asks such
    questions by itself, so the game borrows them from other items (game.borrowed_questions).

    Example:
        >>> names_none_of("Is there a pond?", "Two red buildings."), names_none_of("Is there a red pond?", "A red building.")
        (True, False)
    """
    content = set(_named(question, ignore))
    return bool(text) and bool(content) and not content & set(_stems(text))


def text_answer(question: str, answer_type: str, text: str | None) -> str | None:
    """What `text` answers to a question asked about another item, or None when it does not say:
    the answer its silence implies (`names_none_of`), or a yes/no one of its clauses states.

    Example:
        >>> caption = "Two red buildings and a pond."
        >>> [text_answer(q, kind, caption) for q, kind in [("Is there a pond?", "yes_no"),
        ...     ("How many trees are there?", "number"), ("Is there a red tree?", "yes_no")]]
        ['yes', '0', None]
    """
    if names_none_of(question, text):
        return ABSENT_ANSWERS.get(answer_type)
    if answer_type == "yes_no":
        return next((said for said in ("yes", "no") if text_confirms(question, said, text)), None)
    return None

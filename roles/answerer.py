"""What the answerer is told and how its reply is read: the question, answered in a few words."""

import re

from roles.formats import short_answer

_ANSWER_PREFIX = re.compile(r"^answer:", re.IGNORECASE)


def answerer_messages(question: str) -> list[dict]:
    """One user message: the question, then "Answer in a few words.".

    Why: short answers can be majority-voted; the answerer never sees the questioner's context or
    reference. The image placeholder is inserted before this text by the caller.

    Example:
        >>> print(answerer_messages("How many dogs?")[0]["content"])
        How many dogs?
        Answer in a few words.
    """
    return [{"role": "user", "content": f"{' '.join(question.split())}\nAnswer in a few words."}]


def format_answer(answer: str) -> str:
    """The exact text the answerer should emit: the bare answer on one line.

    Why: warm-start data and the parser agree on one spelling.

    Example:
        >>> format_answer(" two\\n dogs ")
        'two dogs'
    """
    return " ".join(answer.split())


def parse_answer(completion: str) -> str | None:
    """The answer in `completion` if it is one non-empty line of at most 6 words, else None.

    Why: a rambling or empty reply cannot be voted on, so it counts as no answer. A leading "Answer:"
    (any case) is stripped; whitespace is collapsed. Never raises on any string.

    Example:
        >>> parse_answer("Answer: Two dogs.")
        'Two dogs.'
        >>> parse_answer("It is two.\\nMaybe three.") is None
        True
    """
    lines = completion.strip().splitlines()
    if len(lines) != 1:
        return None
    return short_answer(_ANSWER_PREFIX.sub("", lines[0]))

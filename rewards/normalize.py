"""One spelling per answer, so that votes and matches count meaning rather than formatting."""

from roles.formats import YES_NO_WORDS, answer_words, option_letter

ARTICLES = frozenset({"a", "an", "the"})


def normalize_answer(text: str | None) -> str | None:
    """The canonical form of an answer, or None when there is none.

    Why: "Yes.", "yeah" and "TRUE" are one vote, as are "two" and "2.0", and "(B)" and "option b".
    Steps: a whole-answer option form ("(B)", "b)", "b.", "option b", "B") becomes its letter; else
    lower-case, drop punctuation and the articles a/an/the, number words zero..twenty become digits,
    "3.0" becomes "3"; a whole answer that is a yes/no synonym becomes "yes" or "no"
    (yes, y, yeah, true, correct; no, n, false, incorrect, none). None or nothing left gives None.

    Example:
        >>> [normalize_answer(a) for a in ["Yes.", "TRUE", "none", "Two", "3.0", "(B)", "The red car!", " "]]
        ['yes', 'yes', 'no', '2', '3', 'b', 'red car', None]
    """
    if text is None:
        return None
    letter = option_letter(text)
    if letter:
        return letter
    words = [word for word in answer_words(text) if word not in ARTICLES]
    if len(words) == 1:
        return YES_NO_WORDS.get(words[0], words[0])
    return " ".join(words) or None


def answers_match(a: str | None, b: str | None) -> bool:
    """Whether two answers normalise to the same answer; a missing answer matches nothing.

    Example:
        >>> answers_match("Two", "2."), answers_match("yes", "no"), answers_match(None, None)
        (True, False, False)
    """
    normal = normalize_answer(a)
    return normal is not None and normal == normalize_answer(b)

"""Whether the paired text backs a question: the evidence a text-reading questioner's reference has.

A questioner that reads a report or caption and asks about what it names has a reference worth
trusting even when the answerer does not yet agree; one that asks about what the text never names is
guessing. Word overlap is the crude, domain-free test of that.
"""

import re

# Words that frame a question rather than name what it is about (any domain, English).
QUESTION_FRAME_WORDS = frozenset("""
    what which who whom whose where when why how many much is are was were be been being am do does did
    has have had there here the a an of in on at to from by with for about into onto than then that this
    these those it its or and nor any some more most less least fewer same as image picture photo scan view
    shown visible see seen colour color size shape kind type number
""".split())


def content_words(text: str, ignore: frozenset[str] = QUESTION_FRAME_WORDS) -> set[str]:
    """Lower-case words of `text` not in `ignore`, with a plural "s" stripped (nodules -> nodule)."""
    return {word.rstrip("s") for word in re.findall(r"[a-z]+", text.lower()) if word not in ignore}


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

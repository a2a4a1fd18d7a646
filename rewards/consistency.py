"""Agreement among sampled answers: the silver label and how many answers back it."""

from collections import Counter
from collections.abc import Sequence

from rewards.normalize import normalize_answer


def majority_vote(answers: Sequence[str | None]) -> tuple[str | None, float]:
    """The silver label (most common normalised answer) and its share p of all answers.

    Why: with no ground truth, the answerer's majority is the label (R-Zero, VisPlay).
    p = count(label) / len(answers); unparsable (None) answers count in the denominator but never
    win; ties go to the answer seen first. Empty or all-None gives (None, 0.0).

    Example:
        >>> majority_vote(["Two", "2", "three", None])
        ('2', 0.5)
        >>> majority_vote([None, None])
        (None, 0.0)
    """
    counts = Counter(normal for normal in map(normalize_answer, answers) if normal is not None)
    if not counts:
        return None, 0.0
    label, count = counts.most_common(1)[0]
    return label, count / len(answers)


def agreement(answers: Sequence[str | None], target: str | None) -> float:
    """The share of `answers` that match `target` after normalisation.

    Why: scores answers against a questioner's reference or a silver label alike.
    agreement = #{a : normalize(a) == normalize(target)} / len(answers); 0.0 when target is None
    (or normalises to nothing) or there are no answers.

    Example:
        >>> agreement(["yes", "Yeah.", "no", None], "YES")
        0.5
    """
    normal = normalize_answer(target)
    if normal is None or not answers:
        return 0.0
    return sum(normalize_answer(answer) == normal for answer in answers) / len(answers)

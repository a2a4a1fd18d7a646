"""Which questions the answerer trains on."""

from rewards.normalize import answers_match


def keep_for_answerer(
    p: float,
    reference: str | None,
    silver: str | None,
    band: tuple[float, float] = (0.3, 0.8),
    require_agreement: bool = True,
) -> bool:
    """Whether a question goes into the answerer's training set.

    Why: VisPlay keeps questions with band[0] <= p <= band[1] (not trivial, not noise); when
    `require_agreement` and both labels exist, the questioner's reference must also match the silver
    label, since a label two sources agree on is more often right.

    Example:
        >>> [keep_for_answerer(p, "2", silver) for p, silver in [(0.5, "two"), (0.9, "2"), (0.5, "3")]]
        [True, False, False]
    """
    if not band[0] <= p <= band[1]:
        return False
    return not require_agreement or reference is None or silver is None or answers_match(reference, silver)

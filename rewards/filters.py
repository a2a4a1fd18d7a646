"""Which questions the answerer trains on."""

from collections.abc import Sequence

from rewards.normalize import answers_match, normalize_answer


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


def balance_yes_no(targets: Sequence[str | None], kept: Sequence[bool]) -> list[bool]:
    """`kept` with as many "yes" as "no" targets, the later extras of the larger side dropped.

    Why: a questioner that reads a caption asks mostly about what the caption mentions, so its yes/no
    references are mostly "yes", and an answerer trained on them learns to say yes instead of
    looking (on the shapes world's aerial domain that cost 6 points of accuracy). With equal counts
    the round carries no yes/no prior to learn.

    Example:
        >>> balance_yes_no(["yes", "Yes.", "no", "2", "yes"], [True, True, True, True, True])
        [True, False, True, True, False]
    """
    normal = [normalize_answer(target) if keep else None for target, keep in zip(targets, kept)]
    cap = min(normal.count("yes"), normal.count("no"))
    seen = {"yes": 0, "no": 0}
    out = []
    for keep, value in zip(kept, normal):
        if value in seen:
            seen[value] += 1
            keep = seen[value] <= cap
        out.append(keep)
    return out

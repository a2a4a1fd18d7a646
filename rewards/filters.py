"""Which questions the answerer trains on."""

from collections import Counter
from collections.abc import Sequence

from rewards.normalize import answers_match, normalize_answer
from roles.formats import check_choice


REFERENCE_TRUST = ("agreement", "grounded", "either", "none")


def keep_for_answerer(
    p: float,
    reference: str | None,
    silver: str | None,
    band: tuple[float, float] = (0.3, 0.8),
    trust: str = "agreement",
    grounded: bool = False,
    target_share: float = 0.0,
    blind_share: float | None = None,
) -> bool:
    """Whether a question goes into the answerer's training set.

    Why: VisPlay keeps questions with band[0] <= p <= band[1] (not trivial, not noise). A reference is
    trusted on one of two kinds of evidence (`trust`):
        "agreement": p is in the band and the questioner's reference matches the silver label (when
                     both exist), since a label two sources agree on is more often right;
        "grounded":  the paired text backs the reference (`grounded`: a clause states it, see
                     rewards.grounding.text_confirms) and the answers split on the target
                     (0 < target_share < 1), so the group has something to teach: the answerer need
                     not already agree, which is what there is to learn;
        "either":    one of the two; "none": p in the band only (the supervised baseline).
    With `blind_share` (the share of blind answers giving the target), the image must also raise the
    target's share above it. The game passes it for silver labels: a label the answerer made itself
    and gives as readily without the image is its own prior, and on images alone training on such
    labels ("1" to every count) made it collapse. A text-backed reference is evidence from outside
    the answerer, so it is not asked to beat the blind answers.

    Example:
        >>> [keep_for_answerer(p, "2", silver) for p, silver in [(0.5, "two"), (0.9, "2"), (0.5, "3")]]
        [True, False, False]
        >>> keep_for_answerer(0.75, "2", "3", trust="either", grounded=True, target_share=0.25)
        True
        >>> keep_for_answerer(0.5, "2", "2", target_share=0.5, blind_share=0.5)
        False
    """
    check_choice("reference trust", trust, REFERENCE_TRUST)
    in_band = band[0] <= p <= band[1]
    agreed = in_band and (reference is None or silver is None or answers_match(reference, silver))
    backed = grounded and 0 < target_share < 1
    if blind_share is not None and not blind_share < target_share:
        return False
    return {"agreement": agreed, "grounded": backed, "either": agreed or backed, "none": in_band}[trust]


def balance_targets(targets: Sequence[str | None], kept: Sequence[bool], kinds: Sequence[str | None]) -> list[bool]:
    """`kept` where no target outnumbers the runner-up of its kind (answer type): the later extras
    of a larger side are dropped. For yes/no that means as many "yes" as "no".

    Why: the round should carry no answer prior, so that the only way for the answerer to earn its
    reward is to look. A caption-reading questioner asks mostly about what the caption mentions, so
    its yes/no references are mostly "yes" (on the shapes world's aerial domain that cost 6 points);
    on images alone, the silver labels of count questions were mostly "1", and an answerer trained on
    them answered "1" to everything (scan fell from 0.36 to 0.19). A kind with one target value only
    keeps none of it.

    Example:
        >>> balance_targets(["yes", "Yes.", "no", "2", "yes", "1", "1", "1"], [True] * 8,
        ...                 ["yes_no"] * 3 + ["number"] + ["yes_no"] + ["number"] * 3)
        [True, False, True, True, False, True, False, False]
    """
    normal = [normalize_answer(target) if keep and target is not None else None for target, keep in zip(targets, kept)]
    counts: dict = {}
    for value, kind in zip(normal, kinds):
        if value is not None:
            counts.setdefault(kind, Counter())[value] += 1
    caps = {kind: (c.most_common(2) + [(None, 0)])[1][1] for kind, c in counts.items()}
    seen: Counter = Counter()
    out = []
    for keep, value, kind in zip(kept, normal, kinds):
        if value is not None:
            seen[kind, value] += 1
            keep = seen[kind, value] <= caps[kind]
        out.append(keep)
    return out

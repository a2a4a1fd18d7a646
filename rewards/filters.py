"""Which questions the answerer trains on, and towards which answer: one decision per question
(`target_and_keep`), then one balance over the round (`balance_targets`)."""

from collections import Counter
from collections.abc import Sequence

from rewards.consistency import agreement, majority_vote
from rewards.grounding import text_confirms
from rewards.normalize import answers_match, normalize_answer
from roles.formats import infer_answer_type

# What stands behind a question's reference: the evidence `target_and_keep` weighs.
TRUTH = "truth"          # a ground-truth label (the supervised baseline)
STATED = "stated"        # a clause of the item's paired text states it, or the text answered a borrowed question
UNSTATED = "unstated"    # the item has paired text, but no clause of it states the reference
NO_TEXT = "no text"      # no paired text: the reference is the questioner's guess, or there is none
BACKINGS = (TRUTH, STATED, UNSTATED, NO_TEXT)


def backing(question: str, reference: str | None, text: str | None) -> str:
    """What the item's paired text says for a reference the questioner gave: STATED, UNSTATED or NO_TEXT.

    Example:
        >>> [backing("Is there a mass?", "no", text) for text in ["No mass.", "A nodule.", None]]
        ['stated', 'unstated', 'no text']
    """
    if not text:
        return NO_TEXT
    return STATED if text_confirms(question, reference, text) else UNSTATED


def target_and_keep(
    reference: str | None,
    backed_by: str,
    answers: Sequence[str | None],
    blind_answers: Sequence[str | None],
    band: tuple[float, float] = (0.3, 0.8),
    written: Sequence[str] = (),
    question: str = "",
    answer_type: str | None = None,
) -> tuple[str | None, bool, str]:
    """The answer the answerer is trained towards on one question, whether the question trains it,
    and why, from the reference, what backs it, the sighted and blind answers, and the answers written
    into the group beside the sampled ones (`game.cover_named_choices`, `game.cover_reference`).

    Why: with no labels, a target is worth training on only where some evidence outside one guess
    backs it. silver, p = majority_vote(answers): only sampled answers vote, for a written answer is
    no one's opinion; in_band = band[0] <= p <= band[1]. A split is over the group as trained,
    group = answers + written, for GRPO learns from the whole group's spread.
        TRUTH:              target = reference, kept when the group splits on it,
                            0 < agreement(group, reference) < 1: a group all right or all wrong
                            has no advantage and would only cost the learner a pass.
        STATED or UNSTATED: target = reference (the text is the questioner's evidence), kept when
                            in_band and the silver label matches it (two sources agree), or when
                            STATED and the group splits on it, 0 < agreement(group, reference) < 1
                            (the text says so; the answerer has something to learn).
        NO_TEXT:            target = silver, kept when in_band, the silver label matches the
                            questioner's reference (if any), it has the question's `answer_type`
                            (where given: a borrowed question has no reference to match, and on
                            images alone "0" and "1" became the targets of yes/no questions, whose
                            answers then left their form), and the image raises it:
                            agreement(blind_answers, silver) < agreement(answers, silver). A label the
                            answerer made itself and gives as readily blind is its own prior (on
                            images alone, "1" to every count made it collapse); with no blind
                            answers nothing shows that the image matters, so it is not kept.

    Example:
        >>> target_and_keep("yes", "unstated", ["yes", "yes", "no", "yes"], ["no"])
        ('yes', True, 'the answers agree with the reference (p 0.75)')
        >>> target_and_keep("2", "stated", ["3", "3", "3", "2"], [])
        ('2', True, 'the text states it and the answers split on it')
        >>> target_and_keep(None, "no text", ["no", "no", "no", "yes"], ["no", "no"])
        ('no', False, 'the blind answers give the silver label as often')
        >>> target_and_keep(None, "no text", ["0", "0", "1"], ["1"], question="Is there a pond?", answer_type="yes_no")
        ('0', False, 'the silver label is not a yes_no answer')

    A text that says "dark" where every sample says "bright": the written "dark" makes the split.
        >>> target_and_keep("dark", "stated", ["bright"] * 3, [], written=["dark"])
        ('dark', True, 'the text states it and the answers split on it')
        >>> target_and_keep(None, "no text", ["bright"] * 3, ["dark"], written=["dark"])
        ('bright', False, 'p 1.00 is outside keep_band')
    """
    group = [*answers, *written]
    if backed_by == TRUTH:
        if answers_split(group, reference):
            return reference, True, "ground truth, and the answers split on it"
        return reference, False, "ground truth, but the answers do not split on it"
    silver, p = majority_vote(answers)
    in_band = band[0] <= p <= band[1]
    if backed_by == NO_TEXT:
        if not in_band:
            return silver, False, f"p {p:.2f} is outside keep_band"
        if reference is not None and silver is not None and not answers_match(reference, silver):
            return silver, False, "the silver label differs from the questioner's reference"
        if answer_type is not None and silver is not None and infer_answer_type(silver, question) != answer_type:
            return silver, False, f"the silver label is not a {answer_type} answer"
        if not blind_answers:
            return silver, False, "no blind answers to show that the image matters"
        if not agreement(blind_answers, silver) < agreement(answers, silver):
            return silver, False, "the blind answers give the silver label as often"
        return silver, True, f"the image raises the silver label over the blind answers (p {p:.2f})"
    if in_band and (silver is None or answers_match(reference, silver)):
        return reference, True, f"the answers agree with the reference (p {p:.2f})"
    if backed_by == STATED and answers_split(group, reference):
        return reference, True, "the text states it and the answers split on it"
    if backed_by == STATED:
        return reference, False, "the text states it but the answers do not split on it"
    return reference, False, (f"p {p:.2f} is outside keep_band" if not in_band
                              else "the answers' majority differs from the reference")


def answers_split(answers: Sequence[str | None], target: str) -> bool:
    """True when some but not all answers give `target`: 0 < agreement(answers, target) < 1.

    Why: GRPO learns from a group only through the spread of its rewards; a group all right or all
    wrong has no advantage.

    Example:
        >>> answers_split(["2", "3", "3", "3"], "2"), answers_split(["2"] * 4, "2"), answers_split(["3"] * 4, "2")
        (True, False, False)
    """
    return 0 < agreement(answers, target) < 1


def balance_targets(targets: Sequence[str | None], kept: Sequence[bool], kinds: Sequence) -> list[bool]:
    """`kept` where no target outnumbers the runner-up of its kind: the later extras of a larger side
    are dropped. For yes/no that means as many "yes" as "no". A kind None is left as it is.

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
    normal = [normalize_answer(target) if keep and target is not None and kind is not None else None
              for target, keep, kind in zip(targets, kept, kinds)]
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

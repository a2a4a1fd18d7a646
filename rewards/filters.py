"""Which questions the answerer trains on, and towards which answer: one decision per question
(`target_and_keep`), then the round's balance of answers (`balance_targets`) and, where the round
borrows questions, of answer types (`balance_types`)."""

from collections import Counter
from collections.abc import Sequence

from rewards.consistency import agreement, majority_vote
from rewards.grounding import text_answer, text_confirms
from rewards.normalize import answers_match, normalize_answer

# What stands behind a question's reference: the evidence `target_and_keep` weighs.
TRUTH = "truth"          # a ground-truth label (the supervised baseline)
STATED = "stated"        # a clause of the item's paired text states it, or the text answered a borrowed question
CONTRADICTED = "contradicted"  # the item's paired text answers the questioner's question otherwise
UNSTATED = "unstated"    # the item has paired text, but no clause of it states the reference
NO_TEXT = "no text"      # no paired text: the reference is the questioner's guess, or there is none
BACKINGS = (TRUTH, STATED, CONTRADICTED, UNSTATED, NO_TEXT)


def backing(question: str, reference: str | None, text: str | None, answer_type: str | None = None) -> str:
    """What the item's paired text says of a reference the questioner gave: STATED where a clause
    states it, CONTRADICTED where the text answers the question with something else as it would
    answer it lent from another item (`rewards.grounding.text_answer`: silence is "no" or "0"),
    UNSTATED otherwise, NO_TEXT where there is no text.

    Why: a questioner that makes up a word ("How many wes are there?" -> "1") is answered "0" by
    every other item's text when the question is lent, and by its own text too; kept at the
    questioner's "1", such questions taught the answerer counts no image shows (on scan, count with
    the image fell to 0.19 against 0.41 blind; docs/learning.md).

    Example:
        >>> [backing("Is there a mass?", "no", text) for text in ["No mass.", "A nodule.", None]]
        ['stated', 'unstated', 'no text']
        >>> backing("How many wes are there?", "1", "A bright mass.", "number")
        'contradicted'
        >>> backing("Is there a mass?", "yes", "No mass.", "yes_no")
        'contradicted'
    """
    if not text:
        return NO_TEXT
    if text_confirms(question, reference, text):
        return STATED
    said = text_answer(question, answer_type, text) if answer_type and reference is not None else None
    return CONTRADICTED if said is not None and not answers_match(said, reference) else UNSTATED


def target_and_keep(
    reference: str | None,
    backed_by: str,
    answers: Sequence[str | None],
    blind_answers: Sequence[str | None],
    band: tuple[float, float] = (0.3, 0.8),
    written: Sequence[str] = (),
) -> tuple[str | None, bool, str]:
    """The answer the answerer is trained towards on one question, whether the question trains it,
    and why, from the reference, what backs it, the sighted and blind answers, and the answers written
    into the group beside the sampled ones (`game.cover_named_choices`).

    Why: with no labels, a target is worth training on only where some evidence outside one guess
    backs it. silver, p = majority_vote(answers): only sampled answers vote, for a written answer is
    no one's opinion; in_band = band[0] <= p <= band[1]. A split is over the group as trained,
    group = answers + written, for GRPO learns from the whole group's spread.
        TRUTH:              target = reference, kept when the group splits on it,
                            0 < agreement(group, reference) < 1: a group all right or all wrong
                            has no advantage and would only cost the learner a pass.
        CONTRADICTED:       never kept: the text is the only evidence, and it says otherwise.
        STATED or UNSTATED: target = reference (the text is the questioner's evidence), kept when
                            in_band and the silver label matches it (two sources agree), or when
                            STATED and the group splits on it, 0 < agreement(group, reference) < 1
                            (the text says so; the answerer has something to learn).
        NO_TEXT:            target = silver, kept when in_band, the silver label matches the
                            questioner's reference (if any), and the image raises it:
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
    if backed_by == CONTRADICTED:
        return reference, False, "the item's text answers it otherwise"
    silver, p = majority_vote(answers)
    in_band = band[0] <= p <= band[1]
    if backed_by == NO_TEXT:
        if not in_band:
            return silver, False, f"p {p:.2f} is outside keep_band"
        if reference is not None and silver is not None and not answers_match(reference, silver):
            return silver, False, "the silver label differs from the questioner's reference"
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


def balance_types(targets: Sequence[str | None], kept: Sequence[bool], kinds: Sequence) -> list[bool]:
    """`kept` where no answer type keeps more groups than the runner-up type. A kind is (answer type,
    question), as `balance_targets` reads it where the round borrows questions, and each question
    keeps its first pairs: the r-th group of each of its answers is one unit, and of a larger type the
    units are taken by r (every question's first "yes" and first "no", then every question's second,
    ...), in order of first sight, while the type stays within the budget; a question whose unit does
    not fit takes no later one. So every question keeps the balance `balance_targets` gave it. A kind
    None is left as it is, and so is a round with one answer type (it has no other form to lose).
        budget = the runner-up type's kept groups

    Why: the answerer learns the answer forms its groups hold and loses the rest. Lent as often as
    asked, one existence question meets as many "no" captions as "yes" ones, and aerial kept about 220
    yes/no groups a round against 80 counts and 28 named choices; in 10 rounds the answerer answered
    comparisons and places with "yes" or "no" (in form 77%, accuracy 0.459 -> 0.390; docs/learning.md).
    Scan's texts name three things, so its yes/no groups are three questions of about 90 each: the
    budget must be met within a question, not by dropping whole ones.

    Example:
        >>> kinds = [("yes_no", "a")] * 4 + [("yes_no", "b")] * 2 + [("number", "c")] * 2 + [("short_phrase", "d")] * 2
        >>> balance_types(["yes", "no", "yes", "no", "yes", "no", "1", "2", "red", "blue"], [True] * 10, kinds)
        [True, True, False, False, False, False, True, True, True, True]
        >>> balance_types(["yes", "no", "2"], [True, True, False], [("yes_no", "a"), ("yes_no", "a"), ("number", "c")])
        [True, True, False]
    """
    units = []  # per group, (kind, r): it is the r-th kept group of its answer in its question
    seen: Counter = Counter()
    for target, keep, kind in zip(targets, kept, kinds):
        if keep and kind is not None and target is not None:
            seen[kind, normalize_answer(target)] += 1
            units.append((kind, seen[kind, normalize_answer(target)]))
        else:
            units.append(None)
    sizes = Counter(unit for unit in units if unit is not None)  # in order of first sight
    per_type: Counter = Counter()
    for (kind, _), size in sizes.items():
        per_type[kind[0]] += size
    if len(per_type) < 2:
        return list(kept)
    budget = sorted(per_type.values(), reverse=True)[1]
    taken: Counter = Counter()
    chosen, closed = set(), set()
    for unit in sorted(sizes, key=lambda unit: unit[1]):  # stable: first sight within each r
        kind = unit[0]
        if kind not in closed and taken[kind[0]] + sizes[unit] <= budget:
            taken[kind[0]] += sizes[unit]
            chosen.add(unit)
        else:
            closed.add(kind)
    return [keep and (unit is None or unit in chosen) for keep, unit in zip(kept, units)]

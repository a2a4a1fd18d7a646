"""The answerer's reward: agree with the target answer, in the short answer format, and more so where
the answer could not have been given without looking."""

from collections.abc import Sequence

from roles.answerer import parse_answer
from rewards.consistency import agreement
from rewards.normalize import answers_match


def answerer_rewards(
    completions: list[str],
    target: list[str | None],
    agreement_weight: float = 0.9,
    format_weight: float = 0.1,
    blind_answers: Sequence[str | None] = (),
    blind_discount: float = 0.0,
) -> list[float]:
    """The answerer's reward per completion (TRL reward-function shape; VisPlay's 0.9/0.1 split).

    Why: the answerer learns the silver (or reference) label while keeping answers parsable. Plain
    agreement also pays the answer prior: a constant answer per question form is right as often as
    its form's majority, and GRPO settles there. The blind discount pays a right answer only as far
    as the answers given to the same question without the image miss it (a pointwise estimate of
    1 - P(target | blank image)), so a prior earns nothing and the best blind policy is the most
    uncertain one: what is left to earn is seen.
        reward = agreement_weight * [parse_answer(c) matches target]
                                  * (1 - blind_discount * agreement(blind_answers, target))
               + format_weight * [parse_answer(c) is not None]
    A None target gives no agreement; no blind answers give no discount.

    Example:
        >>> answerer_rewards(["Two.", "three", "I think it is two, maybe three or four"], ["2", "2", "2"])
        [1.0, 0.1, 0.0]
        >>> answerer_rewards(["no", "yes"], ["no", "no"], blind_answers=["no", "yes"], blind_discount=1.0)
        [0.55, 0.1]
    """
    discount = 1.0 - blind_discount * agreement(list(blind_answers), target[0]) if blind_answers and target else 1.0
    if len(set(target)) > 1 and blind_answers:
        raise ValueError("blind answers belong to one question: every completion must share its target")
    rewards = []
    for completion, label in zip(completions, target, strict=True):
        answer = parse_answer(completion)
        rewards.append(agreement_weight * answers_match(answer, label) * discount + format_weight * (answer is not None))
    return rewards

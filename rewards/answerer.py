"""The answerer's reward: agree with the target answer, in the short answer format."""

from roles.answerer import parse_answer
from rewards.normalize import answers_match


def answerer_rewards(
    completions: list[str],
    target: list[str | None],
    agreement_weight: float = 0.9,
    format_weight: float = 0.1,
) -> list[float]:
    """The answerer's reward per completion (TRL reward-function shape; VisPlay's 0.9/0.1 split).

    Why: the answerer learns the silver (or reference) label while keeping answers parsable.
        reward = agreement_weight * [parse_answer(c) matches target]
               + format_weight * [parse_answer(c) is not None]
    A None target gives no agreement.

    Example:
        >>> answerer_rewards(["Two.", "three", "I think it is two, maybe three or four"], ["2", "2", "2"])
        [1.0, 0.1, 0.0]
    """
    rewards = []
    for completion, label in zip(completions, target, strict=True):
        answer = parse_answer(completion)
        rewards.append(agreement_weight * answers_match(answer, label) + format_weight * (answer is not None))
    return rewards

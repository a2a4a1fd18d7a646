"""How a GRPO group's rewards become advantages: by its spread (GRPO's) or by its mean (supervised learning's)."""


def scaled_by_mean(rewards: list[float]) -> list[float]:
    """A group's rewards divided by their mean; trained with TRL's `scale_rewards="none"`, whose advantage
    is then r / mean - 1.

    Why: GRPO's advantage (r - mean) / std, on a question with one right answer, pushes the right
    answer's logit by G * sqrt(p (1 - p)) in a group where a share p of the G samples is right, and by
    nothing where the group agrees. The push is the same whichever answer is right, so an answerer
    that does not look has no pull back towards its labels' base rate: its answer to a question form
    drifts to one constant, where the groups agree and learning stops. Supervised learning pulls a
    label's logit by 1 - P(label) and so holds the prior at the base rate while sight is learned.
    Dividing by the mean turns the advantage into the gradient of log mean(r): for a 0/1 reward,
    log P(right), supervised learning's own objective, estimated from the samples. Its push in a split
    group is G * (1 - p): expected over the samples, supervised learning's G * (1 - P(label)) less the
    groups that never sample the label.
        scaled_i = r_i / mean(r)       (all zero where mean(r) is 0: nothing was earned)

    Example:
        >>> scaled_by_mean([1.0, 0.0, 0.0, 0.0])  # advantage 3 for the one right answer, -1 for the rest
        [4.0, 0.0, 0.0, 0.0]
        >>> scaled_by_mean([1.0, 1.0, 1.0, 0.0])  # 1/3 and -1: a label already likely is pushed less
        [1.3333333333333333, 1.3333333333333333, 1.3333333333333333, 0.0]
        >>> scaled_by_mean([0.1, 0.1])
        [1.0, 1.0]
    """
    if any(r < 0 for r in rewards):
        raise ValueError(f"scaling by the mean needs rewards of at least 0, got {rewards}")
    mean = sum(rewards) / len(rewards)
    return [r / mean if mean > 0 else 0.0 for r in rewards]

"""The answerer's advantages with one baseline for every group of one question: contrast pools.

The supervised game pools by the question's wording, over a round whose labels are balanced per
wording (rewards.filters.balance_targets), so that every answer given to every image of a wording
earns the pool's mean: only answers that change with the image earn more."""

from collections.abc import Hashable, Sequence
from statistics import fmean


def pooled_advantages(rewards: Sequence[Sequence[float]], pools: Sequence[Hashable]) -> list[list[float]]:
    """GRPO's advantages, but with each group's baseline taken over its whole pool: the groups that
    share a pool key (one question asked of several images) are centred and scaled together.

        A[g][i] = (r[g][i] - mean(P)) / (std(P) + 1e-4),   P = every reward of every group in g's pool,
    std with Bessel's correction, as TRL's `scale_rewards="group"`; a group alone in its pool gets
    exactly GRPO's advantage, and a pool of one reward gets 0.

    Why: GRPO centres each group on its own mean, so an answer given whatever the image shows earns
    no gradient once every sample of a group agrees: "no" to every "Is there a pond?" is all right on
    the pond-less images and all wrong on the others, and both groups have zero spread. On the shapes
    world's targets that constant is what supervised GRPO found first, and then nothing was left to
    learn the look from. Centred over the question's pool, the same constant is pushed up where it
    is right and down where it is wrong: the only direction left is the one that tells the images
    apart, and a prior tied to the question's wording has nothing to gain.

    Example:
        >>> def rounded(advantages): return [[round(a, 3) for a in group] for group in advantages]
        >>> rounded(pooled_advantages([[1, 1], [0, 0]], ["pond?", "pond?"]))  # one constant answer, two images
        [[0.866, 0.866], [-0.866, -0.866]]
        >>> rounded(pooled_advantages([[1, 0], [0.5]], ["a", "b"]))  # alone in its pool: GRPO's own advantage
        [[0.707, -0.707], [0.0]]
    """
    by_pool: dict = {}
    for group, pool in zip(rewards, pools, strict=True):
        by_pool.setdefault(pool, []).extend(group)
    scale = {}
    for pool, values in by_pool.items():
        mean = fmean(values)
        std = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5 if len(values) > 1 else 0.0
        scale[pool] = (mean, std + 1e-4)
    return [[(r - scale[pool][0]) / scale[pool][1] for r in group] for group, pool in zip(rewards, pools)]

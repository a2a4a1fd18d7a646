"""rewards.advantage: the claim in scaled_by_mean's docstring, computed exactly for a blind answerer.

A question with two answers, a share f of the images labelled "yes", and an answerer that does not
look: it says "yes" with probability q whatever the image. Enumerating the G = 4 samples of a group
gives the expected push on the logit of "yes" (each sample's advantage times d log p(sample) / d logit:
1 - q for "yes", -q for "no"), over yes- and no-labelled images.
"""

from itertools import product
from statistics import mean, stdev

import pytest

from rewards.advantage import scaled_by_mean

G = 4


def grpo_advantages(rewards):
    """TRL's scale_rewards="group": (r - mean) / (sample std + 1e-4)."""
    return [(r - mean(rewards)) / (stdev(rewards) + 1e-4) for r in rewards]


def by_mean_advantages(rewards):
    """scaled_by_mean, then TRL's scale_rewards="none": r' - mean(r')."""
    scaled = scaled_by_mean(rewards)
    return [r - mean(scaled) for r in scaled]


def expected_push(advantages, f, q):
    push = 0.0
    for label, weight in (("yes", f), ("no", 1 - f)):
        for said in product(("yes", "no"), repeat=G):
            chance = 1.0
            for s in said:
                chance *= q if s == "yes" else 1 - q
            rewards = [float(s == label) for s in said]
            grads = [1 - q if s == "yes" else -q for s in said]
            push += weight * chance * sum(a * g for a, g in zip(advantages(rewards), grads))
    return push


@pytest.mark.parametrize("q", [0.6, 0.8, 0.95])
def test_grpo_pushes_a_blind_prior_on_towards_the_majority_and_the_mean_pulls_it_back(q):
    f = 0.55  # "yes" is the majority label, as most question forms have one
    assert expected_push(grpo_advantages, f, q) > 0  # past the base rate, still towards "yes"
    assert expected_push(by_mean_advantages, f, q) < 0  # back towards the base rate


def test_at_an_even_base_rate_grpo_has_no_pull_at_all():
    assert expected_push(grpo_advantages, 0.5, 0.9) == pytest.approx(0.0, abs=1e-9)
    assert expected_push(by_mean_advantages, 0.5, 0.9) < -0.1


def test_scaling_by_the_mean_refuses_negative_rewards():
    with pytest.raises(ValueError, match="at least 0"):
        scaled_by_mean([1.0, -0.5])

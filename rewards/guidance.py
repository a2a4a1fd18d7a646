"""Off-policy guidance: the target put into a group that never sampled it."""

from collections.abc import Sequence

from rewards.normalize import answers_match


def guide(answers: Sequence[str | None], target: str | None) -> str | None:
    """The answer to put in place of a group's last sample: the target where no sampled answer matches it,
    else None (the group learns from its own samples, as GRPO does).

    Why: GRPO can only reinforce what the answerer samples. Once it answers one word to every image of
    a question form ("no" to every "Is there a dark nodule?"), its groups have no spread where the word
    is wrong, and the policy gradient of a word sampled with probability near 1 is near 0 even with an
    advantage; supervised fine-tuning on the same labels keeps pulling towards the right word and
    learns the look (benchmarks/label_ceiling.py). One guided sample gives the group that pull: the
    target scores the group's best reward, so its advantage is positive and its log-probability, low
    because the answerer never says it, has a large gradient. (LUFFY, arXiv 2504.14945, mixes
    off-policy demonstrations into GRPO groups the same way.)

    Example:
        >>> guide(["no", "no", "no", "no"], "yes")
        'yes'
        >>> guide(["no", "yes", "no", None], "yes") is None  # one sample reached it: GRPO as usual
        True
        >>> guide(["no", "no"], None) is None  # no target, nothing to guide towards
        True
    """
    if target is None or any(answers_match(answer, target) for answer in answers):
        return None
    return target

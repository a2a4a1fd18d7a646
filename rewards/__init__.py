"""Rewards as plain functions: strings and numbers in, floats out; no model, no state."""

from rewards.answerer import answerer_rewards
from rewards.consistency import agreement, majority_vote
from rewards.filters import balance_targets, target_and_keep
from rewards.normalize import answers_match, normalize_answer
from rewards.questioner import (
    QUESTIONER_TERMS,
    difficulty,
    question_similarity,
    questioner_reward_terms,
    repetition_penalty,
    vision_dependence_penalty,
)

__all__ = [
    "QUESTIONER_TERMS",
    "agreement",
    "answerer_rewards",
    "answers_match",
    "balance_targets",
    "difficulty",
    "majority_vote",
    "normalize_answer",
    "question_similarity",
    "questioner_reward_terms",
    "repetition_penalty",
    "target_and_keep",
    "vision_dependence_penalty",
]

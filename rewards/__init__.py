"""Rewards as plain functions: strings and numbers in, floats out; no model, no state."""

from rewards.answerer import answerer_rewards
from rewards.consistency import agreement, majority_vote
from rewards.filters import keep_for_answerer
from rewards.normalize import answers_match, normalize_answer
from rewards.questioner import (
    DIFFICULTY_SHAPES,
    QUESTIONER_TARGETS,
    QUESTIONER_TERMS,
    difficulty,
    question_similarity,
    questioner_reward_terms,
    questioner_rewards,
    repetition_penalty,
    vision_dependence_penalty,
)

__all__ = [
    "DIFFICULTY_SHAPES",
    "QUESTIONER_TARGETS",
    "QUESTIONER_TERMS",
    "agreement",
    "answerer_rewards",
    "answers_match",
    "difficulty",
    "keep_for_answerer",
    "majority_vote",
    "normalize_answer",
    "question_similarity",
    "questioner_reward_terms",
    "questioner_rewards",
    "repetition_penalty",
    "vision_dependence_penalty",
]

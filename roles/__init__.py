"""What each player says and how we read it: prompt builders and strict parsers, tested on strings."""

from roles.answerer import answerer_messages, format_answer, parse_answer
from roles.formats import ANSWER_TYPES, QuestionCandidate, check_answer_types, infer_answer_type
from roles.questioner import format_candidate, parse_candidate, questioner_messages

__all__ = [
    "ANSWER_TYPES",
    "QuestionCandidate",
    "answerer_messages",
    "check_answer_types",
    "format_answer",
    "format_candidate",
    "infer_answer_type",
    "parse_answer",
    "parse_candidate",
    "questioner_messages",
]

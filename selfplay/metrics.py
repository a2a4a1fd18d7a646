"""What a round's games say in numbers: the means and spreads `metrics.jsonl` logs per round, and the
question diversity the evaluation also reports. Reads only the plain game rows."""

from __future__ import annotations

import statistics

from rewards.filters import STATED, UNSTATED
from rewards.normalize import normalize_answer
from roles.answerer import parse_answer


def question_diversity(games: list[dict]) -> float:
    """Distinct (normalised) questions over the questions the questioner asked (a borrowed one is a copy)."""
    questions = [normalize_answer(game["question"]) for game in games if game.get("question") and not game.get("borrowed")]
    return len(set(questions)) / len(questions) if questions else 0.0


def round_metrics(games: list[dict]) -> dict:
    """Means and spreads of every reward term, the p distribution, kept share, diversity, failures."""
    own = [game for game in games if not game["borrowed"]]  # the questioner's candidates
    metrics: dict = {"candidates": len(own), "borrowed": len(games) - len(own)}
    for key in own[0]["terms"] if own else []:
        values = [game["terms"][key] for game in own]
        metrics[f"questioner/{key}_mean"] = statistics.fmean(values)
        metrics[f"questioner/{key}_std"] = statistics.pstdev(values)
    metrics["questioner/format_failures"] = sum(game["question"] is None for game in own)
    # of the parsed candidates on items with text, how many references the text states: whether the
    # questioner reads its context (0 means every text-backed keep and cover rule has nothing to act on)
    read = [game for game in own if game["question"] is not None and game.get("backed_by") in (STATED, UNSTATED)]
    metrics["questioner/text_read"] = len(read)
    metrics["questioner/text_states"] = sum(game["backed_by"] == STATED for game in read)
    posed = [game for game in games if game["question"] is not None]
    p_values = [game["p"] for game in posed]
    metrics["p_histogram"] = [sum(lo <= p < lo + 0.2 or (lo == 0.8 and p == 1.0) for p in p_values)
                              for lo in (0.0, 0.2, 0.4, 0.6, 0.8)]
    metrics["kept"] = sum(game["kept"] for game in games)
    metrics["kept_share"] = metrics["kept"] / len(posed) if posed else 0.0
    metrics["question_diversity"] = question_diversity(own)
    answer_rewards = [r for game in posed for r in game["answer_rewards"]]
    metrics["answerer/reward_mean"] = statistics.fmean(answer_rewards) if answer_rewards else 0.0
    metrics["answerer/reward_std"] = statistics.pstdev(answer_rewards) if answer_rewards else 0.0
    answers = [a for game in posed for a in game["answers"]]
    metrics["answerer/format_failures"] = sum(parse_answer(a) is None for a in answers)
    return metrics

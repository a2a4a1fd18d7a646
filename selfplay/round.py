"""One round: pose questions (a game mode), answer, score, learn; then the runner records it.

Read `play_round` top to bottom. Each process plays its shard of the round's items; the plays are
gathered so that every process scores the whole round the same way (the repetition penalty needs
every question) and feeds the same groups to the learners, which shard them again. Every step
takes plain records and returns new ones (selfplay/plays.py); every decision is a pure function in
rewards/.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from accelerate.utils import gather_object
from rewards.answerer import answerer_rewards
from rewards.consistency import majority_vote
from rewards.filters import STATED, TRUTH, balance_targets, target_and_keep
from rewards.normalize import answers_match, normalize_answer
from rewards.questioner import questioner_reward_terms
from roles.answerer import answerer_messages, parse_answer
from roles.formats import named_choices

from .config import RunConfig
from .manifest import ImageTextData, ImageTextItem, shard
from .engine import Prompt, RolloutEngine, written_sample
from .game import ask_and_borrow, ask_labelled
from .images import blind_image
from .learner import Group, RoleLearner
from .metrics import round_metrics
from .plays import ASKED, BORROWED, LABELLED, Play, Question
from .progress import phase

def answer(engine: RolloutEngine, cfg: RunConfig, plays: list[Play]) -> list[Play]:
    """The answerer answers every parsed question K times from the image, and B times blind."""
    g = cfg.game
    posed = [(play, q) for play in plays for q in play.questions if q.question is not None]
    if not posed:
        return plays
    messages = [answerer_messages(q.question) for _, q in posed]
    sighted = [Prompt(m, play.image) for m, (play, _) in zip(messages, posed)]
    blind = [Prompt(m, blind_image(play.image, g.blind_mode)) for m, (play, _) in zip(messages, posed)]
    answers = engine.generate("answerer", sighted, g.answers_per_question, g.answer_max_new_tokens)
    blind_answers = (engine.generate("answerer", blind, g.blind_answers, g.answer_max_new_tokens)
                     if g.blind_answers else [[] for _ in posed])
    replies = iter(zip(answers, blind_answers))

    def answered(q: Question) -> Question:
        if q.question is None:
            return q
        seen, unseen = next(replies)
        choices = named_choices(q.question) if g.cover_named_choices and q.answer_type == "short_phrase" else []
        if g.cover_reference and q.backed_by in (TRUTH, STATED) and q.reference:
            if not any(answers_match(q.reference, c) for c in choices):
                choices = [*choices, q.reference]
        cover = choices_to_cover([s.text for s in seen], choices)
        kept = len(seen) - len(cover)  # the last samples give way to the choices no sample gave
        seen = seen[:kept] + [written_sample(s, c, engine.processor) for s, c in zip(seen[kept:], cover)]
        return replace(q, answers=tuple(seen), blind=tuple(unseen), covered=tuple(cover))

    return [replace(play, questions=tuple(map(answered, play.questions))) for play in plays]


def choices_to_cover(answers: list[str | None], choices: list[str]) -> list[str]:
    """The named choices that none of a question's sampled answers gives, to be put in place of its
    last samples; never all of them, so that one sampled answer always stays.

    Why: GRPO can only reinforce what the answerer samples. A base that never says "dark" answers
    "bright" to every "Is the mass bright or dark?", its groups never split where "dark" is right, and
    the word is never learned (docs/learning.md, "Scan's attribute sight": "dark" 4 times in 8,900
    answers). The question itself names both answers, so no label is needed to put the other one in
    the group; the reward then decides which is right, as for a sampled answer.
        cover = [c for c in choices if no answer matches c][: len(answers) - 1]

    Example:
        >>> choices_to_cover(["bright", "Bright.", "grey", "bright"], ["bright", "dark"])
        ['dark']
        >>> choices_to_cover(["dark", "bright"], ["bright", "dark"])
        []
        >>> choices_to_cover(["grey"], ["bright", "dark"])  # one answer: it stays
        []
    """
    missing = [c for c in choices if not any(answers_match(parse_answer(a or ""), c) for a in answers)]
    return missing[:max(len(answers) - 1, 0)]


@dataclass
class Scored:
    """The round's games with every reward, and the GRPO groups for each role."""
    games: list[dict]
    questioner_groups: list[Group]
    answerer_groups: list[Group]


def balance_kind(q: Question, by_question: bool):
    """Within what a kept target is balanced: its question where the round borrows questions (one
    question then meets several images, so a prior tied to its wording can show), else its answer
    type. Ground truth is not balanced: the supervised baseline learns the labels as they come."""
    if q.origin == LABELLED:
        return None
    return (q.answer_type, normalize_answer(q.question)) if by_question and q.question else q.answer_type


def score(cfg: RunConfig, plays: list[Play], round_index: int) -> Scored:
    """Pure scoring of the whole round: questioner terms, each question's target, balance, groups."""
    r = cfg.rewards
    posed = [(play, position, q) for play in plays for position, q in enumerate(play.questions)]
    # what the answerer said, sampled with and without the image (covered choices are written, not said)
    said = {id(q): ([parse_answer(s.text) for s in q.sampled], [parse_answer(s.text) for s in q.blind])
            for _, _, q in posed}
    own = [q for _, _, q in posed if q.origin != BORROWED]  # the game's own questions; a borrowed one is a copy
    terms = dict(zip(map(id, own), questioner_reward_terms(
        [q.candidate for q in own], [said[id(q)][0] for q in own], [said[id(q)][1] for q in own],
        blind_weight=r.blind_weight, repetition_weight=r.repetition_weight,
        repetition_threshold=r.repetition_threshold, format_penalty=r.format_penalty)))
    decisions = [target_and_keep(q.reference, q.backed_by, *said[id(q)], band=tuple(r.keep_band), written=q.covered,
                                 question=q.question, answer_type=q.answer_type)
                 if q.question is not None else (None, False, "the completion did not parse") for _, _, q in posed]
    by_question = any(q.origin == BORROWED for _, _, q in posed)
    balanced = balance_targets([target for target, _, _ in decisions], [kept for _, kept, _ in decisions],
                               [balance_kind(q, by_question) for _, _, q in posed])
    games, answerer_groups = [], []
    for (play, position, q), (target, kept, why), still_kept in zip(posed, decisions, balanced):
        if kept and not still_kept:
            why += f"; balanced away: more {target!r} than the runner-up of its kind"
        rewards = answerer_rewards([s.text for s in q.answers], [target] * len(q.answers),
                                   agreement_weight=r.agreement_weight, format_weight=r.format_weight)
        games.append(game_row(round_index, play, position, q, said[id(q)][0], target, still_kept, why,
                              terms.get(id(q), {}), rewards))
        if still_kept:
            answerer_groups.append(Group(answerer_messages(q.question), play.image, list(q.answers), rewards))
    questioner_groups = [Group(play.prompt, play.image, list(play.samples),
                               [terms[id(q)]["reward"] for q in play.questions if q.origin == ASKED])
                         for play in plays if play.samples]
    return Scored(games, questioner_groups, answerer_groups)


def game_row(round_index: int, play: Play, position: int, q: Question, answers: list[str | None],
             target: str | None, kept: bool, why: str, terms: dict, rewards: list[float]) -> dict:
    """One line of games.jsonl: what was asked of an item, answered, decided and rewarded."""
    silver, p = majority_vote(answers) if q.question is not None else (None, 0.0)
    return {
        "round": round_index, "item_id": play.item.id, "image": str(play.item.image_path), "text": play.item.text,
        "candidate": position, "borrowed": q.origin == BORROWED, "completion": q.completion,
        "question": q.question, "reference": q.reference, "answer_type": q.answer_type, "backed_by": q.backed_by,
        "answers": [s.text for s in q.answers], "blind_answers": [s.text for s in q.blind],
        "silver": silver, "p": p, "target": target, "kept": kept, "why": why, "terms": terms,
        "answer_rewards": rewards, "covered": list(q.covered),
    }


def play_round(round_index: int, items: list[ImageTextItem], data: ImageTextData, engine: RolloutEngine,
               learners: dict[str, RoleLearner], cfg: RunConfig, rank: int = 0, world_size: int = 1,
               labels: dict[str, list[dict]] | None = None) -> tuple[list[dict], dict]:
    """Pose, answer, score, learn; returns the round's games and metrics (identical on every process)."""
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[f"time/{name}"] = now - clock
        clock = now

    calls, sequences = engine.stats.calls, engine.stats.sequences
    mine = shard(items, rank, world_size)
    loaded = [(item, image) for item in mine if (image := data.image(item)) is not None]
    name = f"round {round_index + 1}/{cfg.game.rounds}"
    with phase(f"{name} ask", len(loaded)):
        if labels is None:
            plays = ask_and_borrow(engine, cfg, loaded, round_index, world_size)
        else:
            plays = ask_labelled(cfg, loaded, labels, round_index)
    lap("ask")
    posed = sum(q.question is not None for play in plays for q in play.questions)
    with phase(f"{name} answer", posed * (2 if cfg.game.blind_answers else 1), "question"):
        plays = answer(engine, cfg, plays)
    lap("answer")
    plays = gather_object(plays) if world_size > 1 else plays
    scored = score(cfg, plays, round_index)
    lap("score")
    metrics = {"round": round_index, "items": len(plays),
               # this process's generate calls and sequences: how well ask and answer were batched
               "generate/calls": engine.stats.calls - calls, "generate/sequences": engine.stats.sequences - sequences}
    groups = {"questioner": scored.questioner_groups, "answerer": scored.answerer_groups}
    engine.release()
    for role in cfg.train.phase_order:
        with phase(f"{name} learn {role}", learners[role].steps_for(len(groups[role])), "step"):
            trained = learners[role].learn(groups[role], round_index)
        if trained:
            engine.refresh(role)
        metrics.update({f"trl/{role}/{key}": value for key, value in trained.items()})
        lap(f"learn_{role}")
    metrics.update(round_metrics(scored.games))
    metrics.update(timings)
    return scored.games, metrics

"""One self-play round: ask, answer, score, learn, record.

Read `play_round` top to bottom. Each process plays its shard of the round's items; the plain
results are gathered so that every process scores the whole round the same way (the repetition
penalty needs every question) and feeds the same groups to the learners, which shard them again.
"""

from __future__ import annotations

import random
import statistics
import time
from dataclasses import dataclass, field

from accelerate.utils import gather_object
from PIL import Image

from rewards.answerer import answerer_rewards
from rewards.consistency import agreement, majority_vote
from rewards.filters import balance_targets, keep_for_answerer
from rewards.grounding import ABSENT_ANSWERS, text_answer, text_confirms
from rewards.normalize import normalize_answer
from rewards.questioner import questioner_reward_terms
from roles.answerer import answerer_messages, parse_answer
from roles.formats import QuestionCandidate
from roles.questioner import format_candidate, parse_candidate, questioner_messages

from .config import RunConfig
from .manifest import ImageTextData, ImageTextItem, shard
from .engine import Prompt, RolloutEngine, Sample
from .learner import Group, RoleLearner

BLANK_GREY = (128, 128, 128)


@dataclass
class Play:
    """What one item produced in the ask and answer steps (plain data, gathered across processes)."""
    item: ImageTextItem
    image: Image.Image
    questioner_messages: list[dict]
    candidates: list[Sample]
    borrowed: list[QuestionCandidate] = field(default_factory=list)
    answers: list[list[Sample] | None] = field(default_factory=list)  # per candidate, then per borrowed question
    blind: list[list[Sample] | None] = field(default_factory=list)

    def questions(self, answer_types: list[str]) -> list[QuestionCandidate | None]:
        """The parsed candidates (None where one does not parse), then the borrowed questions."""
        return [parse_candidate(sample.text, answer_types) for sample in self.candidates] + self.borrowed


def ask(engine: RolloutEngine, cfg: RunConfig, loaded: list[tuple[ImageTextItem, Image.Image]]) -> list[Play]:
    """The questioner samples G question-plus-reference candidates per item, text as privileged context."""
    g = cfg.game
    prompts = [Prompt(questioner_messages(item.text, g.answer_types, g.question_focus), image) for item, image in loaded]
    samples = engine.generate("questioner", prompts, g.questions_per_item, g.question_max_new_tokens)
    return [Play(item, image, prompt.messages, group)
            for (item, image), prompt, group in zip(loaded, prompts, samples)]


def ask_labelled(cfg: RunConfig, loaded: list[tuple[ImageTextItem, Image.Image]], labels: dict[str, list[dict]],
                 round_index: int) -> list[Play]:
    """Supervised baseline: the round's questions and references come from ground truth, not the questioner."""
    g = cfg.game
    plays = []
    for item, image in loaded:
        rows = labels.get(item.id, [])
        if not rows:
            continue
        chosen = [rows[(round_index * g.questions_per_item + j) % len(rows)] for j in range(g.questions_per_item)]
        candidates = [Sample(format_candidate(row["question"], row["answer"]), [], [], []) for row in chosen]
        plays.append(Play(item, image, questioner_messages(item.text, g.answer_types, g.question_focus), candidates))
    return plays


def borrow_questions(cfg: RunConfig, plays: list[Play], round_index: int, world_size: int = 1) -> None:
    """Give each item up to game.borrowed_questions questions the questioner asked about the round's
    other items, on every process. With paired text, the reference is what the item's own text
    answers (rewards.grounding.text_answer): "yes" where a clause states it, "no" (or "0") where it
    never names it; without text there is none, and the answerers' majority is the target.

    Why: a questioner that reads a caption asks about what the caption mentions, so every reference
    it gives to "Is there a ...?" is "yes"; the answerer never learns to say "no" from it, and the
    yes/no balance drops those questions altogether. On images alone, one question asked of several
    images lets balancing by question (rewards.balance_by) keep only the silver labels that change
    with the image, not the answerer's prior ("2" to every count). The pool is the whole round's,
    gathered from every process in rank order (on 8 GPUs a shard's own items would be few), and the
    draw is seeded by the run's seed, the round and the item, so a run is repeatable."""
    g = cfg.game
    if not g.borrowed_questions:
        return
    questions = [[q for q in play.questions(g.answer_types) if q is not None] for play in plays]
    asked = [q for parsed in questions for q in parsed if q.answer_type in ABSENT_ANSWERS]
    asked = gather_object(asked) if world_size > 1 else asked
    pool: dict[str, QuestionCandidate] = {}
    for question in asked:
        pool.setdefault(normalize_answer(question.question), question)
    for play, mine in zip(plays, questions):
        own = {normalize_answer(q.question) for q in mine}
        if play.item.text:
            options = [QuestionCandidate(q.question, said, q.answer_type) for key, q in pool.items()
                       if key not in own and (said := text_answer(q.question, q.answer_type, play.item.text))]
        else:  # no text to answer by: the answerers' majority will be the target, as for its own questions
            options = [QuestionCandidate(q.question, None, q.answer_type) for key, q in pool.items() if key not in own]
        rng = random.Random(f"{cfg.train.seed}/{round_index}/{play.item.id}")
        play.borrowed = rng.sample(options, min(g.borrowed_questions, len(options)))


def answer(engine: RolloutEngine, cfg: RunConfig, plays: list[Play]) -> None:
    """The answerer answers every parsed question K times from the image, and B times blind."""
    g = cfg.game
    sighted, blind, slots = [], [], []
    for p_index, play in enumerate(plays):
        questions = play.questions(g.answer_types)
        play.answers = [None] * len(questions)
        play.blind = [None] * len(questions)
        for c_index, candidate in enumerate(questions):
            if candidate is None:
                continue
            messages = answerer_messages(candidate.question)
            sighted.append(Prompt(messages, play.image))
            blank = Image.new("RGB", play.image.size, BLANK_GREY) if g.blind_mode == "blank" else None
            blind.append(Prompt(messages, blank))
            slots.append((p_index, c_index))
    if not slots:
        return
    answers = engine.generate("answerer", sighted, g.answers_per_question, g.answer_max_new_tokens)
    blind_answers = (engine.generate("answerer", blind, g.blind_answers, g.answer_max_new_tokens)
                     if g.blind_answers else [[] for _ in slots])
    for (p_index, c_index), group, blind_group in zip(slots, answers, blind_answers):
        plays[p_index].answers[c_index] = group
        plays[p_index].blind[c_index] = blind_group


@dataclass
class Scored:
    """The round's games with every reward, and the GRPO groups for each role."""
    games: list[dict]
    questioner_groups: list[Group]
    answerer_groups: list[Group]


def score(cfg: RunConfig, plays: list[Play], round_index: int) -> Scored:
    """Pure scoring of the whole round: questioner terms, silver labels, filter, answerer rewards."""
    g, r = cfg.game, cfg.rewards
    flat = [(play, c, question) for play in plays for c, question in enumerate(play.questions(g.answer_types))]
    parsed = [[parse_answer(s.text) for s in (play.answers[c] or [])] for play, c, _ in flat]
    parsed_blind = [[parse_answer(s.text) for s in (play.blind[c] or [])] for play, c, _ in flat]
    asked = [i for i, (play, c, _) in enumerate(flat) if c < len(play.candidates)]  # the questioner's own
    terms = dict(zip(asked, questioner_reward_terms(
        [flat[i][2] for i in asked], [parsed[i] for i in asked], [parsed_blind[i] for i in asked],
        target=r.questioner_target, shape=r.difficulty_shape, band=tuple(r.difficulty_band),
        blind_weight=r.blind_weight, repetition_weight=r.repetition_weight,
        repetition_threshold=r.repetition_threshold, format_penalty=r.format_penalty,
    )))
    games, groups = [], []
    for i, (play, c, candidate) in enumerate(flat):
        borrowed = c >= len(play.candidates)
        game = {
            "round": round_index, "item_id": play.item.id, "image": str(play.item.image_path),
            "text": play.item.text, "candidate": c, "borrowed": borrowed,
            "completion": None if borrowed else play.candidates[c].text,  # a borrowed question was not sampled here
            "question": None, "reference": None, "answer_type": None, "answers": [], "blind_answers": [],
            "silver": None, "p": 0.0, "target": None, "kept": False, "terms": terms.get(i, {}), "answer_rewards": [],
        }
        if candidate is not None:
            answers, blind = parsed[i], parsed_blind[i]
            silver, p = majority_vote(answers)
            use_reference = r.answerer_target == "reference" or (r.answerer_target == "auto" and bool(play.item.text))
            target = candidate.reference if use_reference else silver
            # a silver label is the answerer's own: it must beat the blind answers (require_vision)
            blind_share = agreement(blind, target) if r.require_vision and not use_reference else None
            # the text backs a reference it states; a borrowed question's reference is the text's own answer
            backed = use_reference and (borrowed or text_confirms(candidate.question, candidate.reference, play.item.text))
            kept = keep_for_answerer(p, candidate.reference, silver, band=tuple(r.keep_band), trust=r.reference_trust,
                                     grounded=backed, target_share=agreement(answers, target), blind_share=blind_share)
            texts = [s.text for s in play.answers[c]]
            rewards = answerer_rewards(texts, [target] * len(texts), agreement_weight=r.agreement_weight,
                                       format_weight=r.format_weight)
            game.update(question=candidate.question, reference=candidate.reference,
                        answer_type=candidate.answer_type, answers=texts,
                        blind_answers=[s.text for s in play.blind[c]], silver=silver, p=p, target=target,
                        kept=kept, answer_rewards=rewards)
            groups.append(Group(answerer_messages(candidate.question), play.image, play.answers[c], rewards))
        else:
            groups.append(None)
        games.append(game)
    if r.balance_targets:
        by_question = r.balance_by == "question" or (r.balance_by == "auto" and any(game["borrowed"] for game in games))
        kinds = [(game["answer_type"], normalize_answer(game["question"])) if by_question and game["question"]
                 else game["answer_type"] for game in games]
        for game, kept in zip(games, balance_targets([game["target"] for game in games],
                                                     [game["kept"] for game in games], kinds)):
            game["kept"] = kept
    answerer_groups = [group for game, group in zip(games, groups) if game["kept"]]
    questioner_groups, start = [], 0
    for play in plays:
        end = start + len(play.candidates)
        questioner_groups.append(Group(play.questioner_messages, play.image, play.candidates,
                                       [terms[i]["reward"] for i in asked[start:end]]))
        start = end
    return Scored(games, questioner_groups, answerer_groups)


def question_diversity(games: list[dict]) -> float:
    """Distinct (normalised) questions over the questions the questioner asked (a borrowed one is a copy)."""
    questions = [normalize_answer(game["question"]) for game in games if game.get("question") and not game.get("borrowed")]
    return len(set(questions)) / len(questions) if questions else 0.0


def round_metrics(scored: Scored, cfg: RunConfig) -> dict:
    """Means and spreads of every reward term, the p distribution, kept share, diversity, failures."""
    games = [game for game in scored.games if not game["borrowed"]]  # the questioner's candidates
    metrics: dict = {"candidates": len(games), "borrowed": len(scored.games) - len(games)}
    for key in games[0]["terms"] if games else []:
        values = [game["terms"][key] for game in games]
        metrics[f"questioner/{key}_mean"] = statistics.fmean(values)
        metrics[f"questioner/{key}_std"] = statistics.pstdev(values)
    metrics["questioner/format_failures"] = sum(game["question"] is None for game in games)
    asked = [game for game in scored.games if game["question"] is not None]
    p_values = [game["p"] for game in asked]
    metrics["p_histogram"] = [sum(lo <= p < lo + 0.2 or (lo == 0.8 and p == 1.0) for p in p_values)
                              for lo in (0.0, 0.2, 0.4, 0.6, 0.8)]
    metrics["kept"] = len(scored.answerer_groups)
    metrics["kept_share"] = len(scored.answerer_groups) / len(asked) if asked else 0.0
    metrics["question_diversity"] = question_diversity(games)
    answer_rewards = [r for game in asked for r in game["answer_rewards"]]
    metrics["answerer/reward_mean"] = statistics.fmean(answer_rewards) if answer_rewards else 0.0
    metrics["answerer/reward_std"] = statistics.pstdev(answer_rewards) if answer_rewards else 0.0
    answers = [a for game in asked for a in game["answers"]]
    metrics["answerer/format_failures"] = sum(parse_answer(a) is None for a in answers)
    return metrics


def play_round(round_index: int, items: list[ImageTextItem], data: ImageTextData, engine: RolloutEngine,
               learners: dict[str, RoleLearner], cfg: RunConfig, rank: int = 0, world_size: int = 1,
               labels: dict[str, list[dict]] | None = None) -> tuple[list[dict], dict]:
    """Ask, answer, score, learn; returns the round's games and metrics (identical on every process)."""
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
    if labels is None:
        plays = ask(engine, cfg, loaded)
        borrow_questions(cfg, plays, round_index, world_size)
    else:
        plays = ask_labelled(cfg, loaded, labels, round_index)
    lap("ask")
    answer(engine, cfg, plays)
    lap("answer")
    plays = gather_object(plays) if world_size > 1 else plays
    scored = score(cfg, plays, round_index)
    lap("score")
    metrics = {"round": round_index, "items": len(plays),
               # this process's generate calls and sequences: how well ask and answer were batched
               "generate/calls": engine.stats.calls - calls, "generate/sequences": engine.stats.sequences - sequences}
    # With ground-truth questions (supervised baseline) there is no questioner rollout to learn from.
    groups = {"questioner": scored.questioner_groups if labels is None else [], "answerer": scored.answerer_groups}
    for role in cfg.train.phase_order:
        trained = learners[role].learn(groups[role], round_index)
        metrics.update({f"trl/{role}/{key}": value for key, value in trained.items()})
        lap(f"learn_{role}")
    metrics.update(round_metrics(scored, cfg))
    metrics.update(timings)
    return scored.games, metrics

"""The question game: the questioner asks about each item, and each item borrows the round's other
questions. It makes the round's plays (selfplay/plays.py); the round answers, scores and learns.

`ask_labelled` is the supervised baseline's game: the questions and references come from ground
truth. A new game (Vision-Zero's "who is the spy" on image pairs, say) is one more file that makes
the same records.
"""

from __future__ import annotations

import random
from dataclasses import replace

from accelerate.utils import gather_object
from PIL import Image

from rewards.filters import NO_TEXT, STATED, TRUTH, backing
from rewards.grounding import ABSENT_ANSWERS, text_answer
from rewards.written import KIND_TYPES, counted_nouns, described_nouns, text_question
from rewards.normalize import normalize_answer
from roles.questioner import format_candidate, parse_candidate, questioner_messages

from .config import RunConfig
from .engine import Prompt, RolloutEngine, written_sample
from .manifest import ImageTextItem
from .plays import ASKED, BORROWED, LABELLED, Play, Question


def asked_question(completion: str, answer_types: list[str], text: str | None) -> Question:
    """The record of one questioner completion, parsed once."""
    parsed = parse_candidate(completion, answer_types)
    if parsed is None:
        return Question(ASKED, None, None, None, NO_TEXT, completion)
    return Question(ASKED, parsed.question, parsed.reference, parsed.answer_type,
                    backing(parsed.question, parsed.reference, text), completion)


def ask(engine: RolloutEngine, cfg: RunConfig, loaded: list[tuple[ImageTextItem, Image.Image]]) -> list[Play]:
    """The questioner samples G question-plus-reference candidates per item, text as privileged context."""
    g = cfg.game
    prompts = [Prompt(questioner_messages(item.text, g.answer_types, g.question_focus), image) for item, image in loaded]
    samples = engine.generate("questioner", prompts, g.questions_per_item, g.question_max_new_tokens)
    return [Play(item, image, prompt.messages, tuple(group),
                 tuple(asked_question(sample.text, g.answer_types, item.text) for sample in group))
            for (item, image), prompt, group in zip(loaded, prompts, samples)]


def borrow(cfg: RunConfig, plays: list[Play], round_index: int, world_size: int = 1) -> list[tuple[Question, ...]]:
    """Per play, up to game.borrowed_questions questions the questioner asked about the round's other
    items, on every process. With paired text, the reference is what the item's own text answers
    (rewards.grounding.text_answer): "yes" where a clause states it, "no" (or "0") where it never
    names it; without text there is none, and the answerers' majority is the target.

    Why: a questioner that reads a caption asks about what the caption mentions, so every reference
    it gives to "Is there a ...?" is "yes"; the answerer never learns to say "no" from it, and the
    yes/no balance drops those questions altogether. On images alone, one question asked of several
    images lets balancing by question keep only the silver labels that change with the image, not
    the answerer's prior ("2" to every count). The pool is the whole round's, gathered from every
    process in rank order (on 8 GPUs a shard's own items would be few), and the draw is seeded by the
    run's seed, the round and the item, so a run is repeatable."""
    g = cfg.game
    if not g.borrowed_questions:
        return [() for _ in plays]
    asked = [q for play in plays for q in play.questions if q.question is not None and q.answer_type in ABSENT_ANSWERS]
    asked = gather_object(asked) if world_size > 1 else asked
    pool: dict[str, Question] = {}
    for question in asked:
        pool.setdefault(normalize_answer(question.question), question)
    borrowed = []
    for play in plays:
        own = {normalize_answer(q.question) for q in play.questions if q.question is not None}
        text = play.item.text
        if text:
            options = [Question(BORROWED, q.question, said, q.answer_type, STATED) for key, q in pool.items()
                       if key not in own and (said := text_answer(q.question, q.answer_type, text))]
        else:  # no text to answer by: the answerers' majority will be the target, as for its own questions
            options = [Question(BORROWED, q.question, None, q.answer_type, NO_TEXT) for key, q in pool.items()
                       if key not in own]
        rng = random.Random(f"{cfg.train.seed}/{round_index}/{play.item.id}")
        borrowed.append(tuple(rng.sample(options, min(g.borrowed_questions, len(options)))))
    return borrowed


def write_text_questions(engine: RolloutEngine, cfg: RunConfig, plays: list[Play], round_index: int,
                         world_size: int = 1) -> list[Play]:
    """Where none of an item's candidates has a reference its text states, its last candidate gives way
    to a question written from the text (rewards.written.text_question: a named choice, an existence or
    a count, of the kinds game.answer_types allows), as covering writes a named choice into the
    answerer's group: GRPO can only reinforce what is sampled, and a questioner that never copies from
    its context never asks what its text says. The written candidate is rewarded like a sampled one,
    and lent like one (`borrow`); the nouns and describing words are read off the whole round's texts,
    gathered from every process (a shard's few texts would name few of them)."""
    kinds = tuple(kind for kind, answer_type in KIND_TYPES.items() if answer_type in cfg.game.answer_types)
    if not cfg.game.text_questions or not kinds:
        return plays
    texts = [play.item.text for play in plays if play.item.text]
    texts = gather_object(texts) if world_size > 1 else texts
    described, counted = described_nouns(texts), counted_nouns(texts)
    written = []
    for play in plays:
        rng = random.Random(f"{cfg.train.seed}/{round_index}/{play.item.id}/text question")
        found = (text_question(play.item.text, described, counted, rng, kinds)
                 if play.item.text and play.samples and not any(q.backed_by == STATED for q in play.questions) else None)
        if found is None:
            written.append(play)
            continue
        completion = format_candidate(*found)
        samples = play.samples[:-1] + (written_sample(play.samples[-1], completion, engine.processor),)
        questions = play.questions[:-1] + (asked_question(completion, cfg.game.answer_types, play.item.text),)
        written.append(replace(play, samples=samples, questions=questions))
    return written


def ask_and_borrow(engine: RolloutEngine, cfg: RunConfig, loaded: list[tuple[ImageTextItem, Image.Image]],
                   round_index: int, world_size: int = 1) -> list[Play]:
    """The self-play game's plays: each item's own questions, then the ones it borrowed."""
    plays = write_text_questions(engine, cfg, ask(engine, cfg, loaded), round_index, world_size)
    return [replace(play, questions=play.questions + extra)
            for play, extra in zip(plays, borrow(cfg, plays, round_index, world_size))]


def ask_labelled(cfg: RunConfig, loaded: list[tuple[ImageTextItem, Image.Image]], labels: dict[str, list[dict]],
                 round_index: int) -> list[Play]:
    """Supervised baseline: the round's questions and references come from ground truth, not the
    questioner, and each one whose answers split on its label trains the answerer (rewards.filters.TRUTH)."""
    g = cfg.game
    plays = []
    for item, image in loaded:
        rows = labels.get(item.id, [])
        if not rows:
            continue
        chosen = [rows[(round_index * g.questions_per_item + j) % len(rows)] for j in range(g.questions_per_item)]
        questions = []
        for row in chosen:
            written = format_candidate(row["question"], row["answer"])
            parsed = parse_candidate(written, g.answer_types)
            questions.append(Question(LABELLED, parsed.question, parsed.reference, parsed.answer_type, TRUTH, written)
                             if parsed else Question(LABELLED, None, None, None, TRUTH, written))
        plays.append(Play(item, image, questioner_messages(item.text, g.answer_types, g.question_focus), (),
                          tuple(questions)))
    return plays


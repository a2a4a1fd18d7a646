"""The question game: the questioner asks about each item, and each item borrows the round's other
questions. It makes the round's plays (selfplay/plays.py); the round answers, scores and learns.

`ask_labelled` is the supervised baseline's game: the questions and references come from ground
truth. A new game (Vision-Zero's "who is the spy" on image pairs, say) is one more file that makes
the same records.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace

from accelerate.utils import gather_object
from PIL import Image

from rewards.filters import CONTRADICTED, NO_TEXT, STATED, TRUTH, backing
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
                    backing(parsed.question, parsed.reference, text, parsed.answer_type), completion)


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
    run's seed, the round and the item, so a run is repeatable. Each question is drawn as often as the
    round asked it: a question many captions answer "yes" ("Is there a pond?", written for 40 items)
    then meets about as many items whose text answers "no", and balancing by question keeps both
    sides, where a draw over distinct questions lent it a handful of times and dropped the rest of its
    "yes" groups (about 200 stated groups a round on scan and aerial). A question its own text contradicts
    (rewards.filters.backing: "How many wes are there?" -> "1" where no text names wes) is not lent:
    every other text would answer it "0", balancing would drop it for having one answer, and it
    would take the place of a question the texts answer both ways."""
    g = cfg.game
    if not g.borrowed_questions:
        return [() for _ in plays]
    asked = [q for play in plays for q in play.questions
             if q.question is not None and q.answer_type in ABSENT_ANSWERS and q.backed_by != CONTRADICTED]
    asked = gather_object(asked) if world_size > 1 else asked
    pool: dict[str, Question] = {}
    for question in asked:
        pool.setdefault(normalize_answer(question.question), question)
    times_asked = Counter(normalize_answer(question.question) for question in asked)
    borrowed = []
    for play in plays:
        own = {normalize_answer(q.question) for q in play.questions if q.question is not None}
        text = play.item.text
        if text:
            options = [(key, Question(BORROWED, q.question, said, q.answer_type, STATED)) for key, q in pool.items()
                       if key not in own and (said := text_answer(q.question, q.answer_type, text))]
        else:  # no text to answer by: the answerers' majority will be the target, as for its own questions
            options = [(key, Question(BORROWED, q.question, None, q.answer_type, NO_TEXT)) for key, q in pool.items()
                       if key not in own]
        rng = random.Random(f"{cfg.train.seed}/{round_index}/{play.item.id}")
        # weighted draw without replacement (Efraimidis-Spirakis): the largest u ** (1 / times asked)
        drawn = sorted(options, key=lambda option: rng.random() ** (1 / times_asked[option[0]]), reverse=True)
        borrowed.append(tuple(question for _, question in drawn[:g.borrowed_questions]))
    return borrowed


def write_text_questions(engine: RolloutEngine, cfg: RunConfig, plays: list[Play], round_index: int,
                         world_size: int = 1) -> list[Play]:
    """Where none of an item's candidates has a reference its text states, its last candidates give
    way to questions written from the text (rewards.written.text_question): a named choice where the
    text describes a noun, and an existence or a count, of the kinds game.answer_types allows; at least
    one sampled candidate stays where there are two or more. Covering writes a named choice into the
    answerer's group for the same reason: GRPO can only reinforce what is sampled, and a questioner
    that never copies from its context never asks what its text says. The written candidates are
    rewarded like sampled ones, and lent like them (`borrow`), so each item's text answers an
    existence or a count about a thing other texts name: the yes/no and count forms are held by
    questions the texts answer, not by made-up ones (which the texts contradict: rewards.filters.
    backing). The nouns and describing words are read off the whole round's texts, gathered from
    every process (a shard's few texts would name few of them)."""
    allowed = {kind for kind, answer_type in KIND_TYPES.items() if answer_type in cfg.game.answer_types}
    kind_sets = [kinds for kinds in (("choice",), ("existence", "count")) if set(kinds) & allowed]
    if not cfg.game.text_questions or not kind_sets:
        return plays
    texts = [play.item.text for play in plays if play.item.text]
    texts = gather_object(texts) if world_size > 1 else texts
    described, counted = described_nouns(texts), counted_nouns(texts)
    written = []
    for play in plays:
        rng = random.Random(f"{cfg.train.seed}/{round_index}/{play.item.id}/text question")
        found = ([question for kinds in kind_sets
                  if (question := text_question(play.item.text, described, counted, rng,
                                                tuple(kind for kind in kinds if kind in allowed)))]
                 if play.item.text and play.samples and not any(q.backed_by == STATED for q in play.questions)
                 else [])
        found = found[:max(len(play.samples) - 1, 1)]
        if not found:
            written.append(play)
            continue
        keep = len(play.samples) - len(found)
        samples = play.samples[:keep] + tuple(written_sample(sample, format_candidate(*question), engine.processor)
                                              for sample, question in zip(play.samples[keep:], found))
        questions = play.questions[:keep] + tuple(asked_question(format_candidate(*question), cfg.game.answer_types,
                                                                 play.item.text) for question in found)
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


"""The round's plain records: one `Play` per item, holding every `Question` put to the answerer.

A game mode (selfplay/game.py: the questioner asks and borrows; the supervised baseline reads
labels) makes the plays; the round (selfplay/round.py) answers, scores and learns from them. Records
are never edited: each step returns new ones (`dataclasses.replace`), so a reader sees what a step
made by reading what it returns. They hold images and samples, so they gather across processes as
they are.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from roles.formats import QuestionCandidate

from .manifest import ImageTextItem
from .engine import Sample

ASKED = "asked"        # sampled by the questioner about this item: its GRPO group's members
BORROWED = "borrowed"  # asked of another item of the round, put to this one
LABELLED = "labelled"  # a ground-truth question (the supervised baseline)


@dataclass(frozen=True)
class Question:
    """One question about one item: where it came from, what backs its reference, its answers.

    `question`, `reference` and `answer_type` are None where the questioner's completion did not
    parse (the format penalty is its reward); `reference` is None for a question borrowed onto an
    item without text. `backed_by` is one of rewards.filters.BACKINGS.
    """
    origin: str
    question: str | None
    reference: str | None
    answer_type: str | None
    backed_by: str
    completion: str | None = None  # the questioner's text, as sampled (asked) or written (labelled)
    answers: tuple[Sample, ...] = ()  # K from the image
    blind: tuple[Sample, ...] = ()  # B without it
    covered: tuple[str, ...] = ()  # written in place of the last answers (game.cover_named_choices, cover_reference)

    @property
    def sampled(self) -> tuple[Sample, ...]:
        """The answers the answerer sampled from the image: `answers` less the covered choices written
        after them. Only these vote for a silver label or weigh the questioner's difficulty."""
        return self.answers[:len(self.answers) - len(self.covered)]

    @property
    def candidate(self) -> QuestionCandidate | None:
        """The parsed question as the questioner's reward reads it (None where it did not parse)."""
        return None if self.question is None else QuestionCandidate(self.question, self.reference, self.answer_type)


@dataclass(frozen=True)
class Play:
    """One item's part of a round: what the questioner was shown and sampled, and the questions."""
    item: ImageTextItem
    image: Image.Image
    prompt: list[dict]  # the questioner's messages
    samples: tuple[Sample, ...]  # the questioner's G candidates, in order (none when labelled)
    questions: tuple[Question, ...]

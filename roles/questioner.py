"""What the questioner is told and how its reply is read: one question about the image plus the
questioner's own answer, in two fixed lines that a tiny model can learn."""

from collections.abc import Sequence

from roles.formats import QuestionCandidate, check_answer_types, check_choice, infer_answer_type, short_answer

_TYPE_HINTS = {
    "yes_no": "yes or no",
    "multiple_choice": "a letter, with options (A) (B) in the question",
    "number": "a number",
    "short_phrase": "a short phrase",
}


def format_candidate(question: str, reference: str) -> str:
    """The exact text the questioner must emit: "Question: <q>\\nAnswer: <a>".

    Why: warm-start SFT data and the prompt's reply template are built from this one function, so the
    parser below always accepts what we teach. Whitespace inside each field is collapsed to one line.

    Example:
        >>> print(format_candidate("How many dogs?", "2"))
        Question: How many dogs?
        Answer: 2
    """
    return f"Question: {' '.join(question.split())}\nAnswer: {' '.join(reference.split())}"


# What a domain's questions should be about, one line added to the prompt. "generic" adds nothing,
# so the prompt a model was warm-started on stays byte-identical.
QUESTION_FOCUS = {
    "generic": "",
    "radiology": "Ask about a finding, its laterality (left or right), a device (tube, line, pacemaker), "
                 "or whether something is present or absent.",
    "remote_sensing": "Ask about the land use, a count of objects, their relative position, "
                      "or whether something is present.",
}


def questioner_messages(text: str | None, answer_types: Sequence[str], focus: str = "generic") -> list[dict]:
    """One user message asking for a question about the image, answerable as one of `answer_types`.

    Why: the paired text (a caption or report), when given, is privileged context that the answerer
    never sees, so the questioner can ask about what is in the image without guessing. `focus` names a
    line of QUESTION_FOCUS that steers a domain's questions (radiology: findings, laterality,
    devices, presence). The image placeholder is inserted before this text by the caller.

    Example:
        >>> messages = questioner_messages("A dog on grass.", ["number", "yes_no"])
        >>> print(messages[0]["content"])
        Context: A dog on grass.
        Ask one question about the image. Its answer is a number or yes or no. Reply as:
        Question: <question>
        Answer: <answer>
        >>> questioner_messages(None, ["yes_no"], "radiology")[0]["content"].splitlines()[0]
        'Ask about a finding, its laterality (left or right), a device (tube, line, pacemaker), or whether something is present or absent.'
    """
    check_choice("question focus", focus, QUESTION_FOCUS)
    hints = " or ".join(_TYPE_HINTS[answer_type] for answer_type in check_answer_types(answer_types))
    lines = [f"Context: {' '.join(text.split())}"] if text and text.strip() else []
    lines += [QUESTION_FOCUS[focus]] if QUESTION_FOCUS[focus] else []
    lines += [
        f"Ask one question about the image. Its answer is {hints}. Reply as:",
        format_candidate("<question>", "<answer>"),
    ]
    return [{"role": "user", "content": "\n".join(lines)}]


def parse_candidate(completion: str, answer_types: Sequence[str]) -> QuestionCandidate | None:
    """The question and reference answer in `completion`, or None if it breaks the format.

    Why: an unparsable or off-type question earns the format penalty, so parsing is strict: exactly a
    "Question:" line then an "Answer:" line (surrounding whitespace allowed), a non-empty question, an
    answer of 1 to 6 words whose inferred type is in `answer_types`. Never raises on any string.

    Example:
        >>> parse_candidate("Question: How many dogs?\\nAnswer: two", ["number"])
        QuestionCandidate(question='How many dogs?', reference='two', answer_type='number')
        >>> parse_candidate("Question: Is it red?\\nAnswer: yes", ["number"]) is None
        True
    """
    lines = [line.strip() for line in completion.strip().splitlines()]
    if len(lines) != 2 or not lines[0].startswith("Question:") or not lines[1].startswith("Answer:"):
        return None
    question = " ".join(lines[0].removeprefix("Question:").split())
    reference = short_answer(lines[1].removeprefix("Answer:"))
    if not question or reference is None:
        return None
    answer_type = infer_answer_type(reference, question)
    if answer_type not in check_answer_types(answer_types):
        return None
    return QuestionCandidate(question, reference, answer_type)

"""The questioner's reward: ask questions the answerer gets right only sometimes, that need the image,
and that differ from the rest of the batch (R-Zero/VisPlay, plus a blind-answer penalty)."""

import re
from collections import Counter
from collections.abc import Sequence
from itertools import combinations

from roles.formats import QuestionCandidate
from rewards.consistency import agreement, majority_vote

QUESTIONER_TERMS = (
    "format", "p", "agreement", "blind_agreement", "difficulty", "blind_penalty", "repetition", "reward"
)


def difficulty(p: float) -> float:
    """How useful a question of answer agreement `p` is to learn from, in [0, 1]: 2 * min(p, 1 - p).

    Why: questions everyone or no one gets right teach nothing; those near the edge of ability do
    (R-Zero's min(p, 1 - p), scaled to [0, 1]). A Gaussian around 0.5 and VisPlay's 0.3-0.8 band as a
    reward were tried and dropped (docs/learning.md).

    Example:
        >>> round(difficulty(0.9), 6), difficulty(0.5), difficulty(1.0)
        (0.2, 1.0, 0.0)
    """
    return 2 * min(p, 1 - p)


def vision_dependence_penalty(sighted: float, blind: float) -> float:
    """How much of the sighted agreement the blind answers also reach, in [0, 1].

    Why: a question answered as well without the image is answered from language priors; it does not
    train looking. penalty = min(1, blind / sighted) if sighted > 0, else 1.0 if blind > 0 else 0.0.

    Example:
        >>> [vision_dependence_penalty(0.8, blind) for blind in (0.8, 0.4, 0.0)]
        [1.0, 0.5, 0.0]
    """
    if sighted > 0:
        return min(1.0, blind / sighted)
    return 1.0 if blind > 0 else 0.0


def _ngrams(words: list[str], n: int) -> Counter:
    return Counter(zip(*(words[i:] for i in range(n))))


def question_similarity(a: str, b: str) -> float:
    """A symmetric, BLEU-like word overlap of two questions, in [0, 1].

    Why: R-Zero clusters questions by 1 - BLEU; this keeps the n-gram idea but is symmetric and needs
    no library. Words are lower-case runs of letters and digits. For n = 1 and 2, the Dice overlap of
    the n-gram multisets is D_n = 2 * sum_g min(count_a(g), count_b(g)) / (|a_n| + |b_n|); the result
    is the mean of D_n over the n for which at least one question has n-grams (0.0 if neither has
    any words).

    Example:
        >>> question_similarity("How many dogs?", "how many DOGS")
        1.0
        >>> round(question_similarity("How many dogs are there?", "How many cats are there?"), 3)
        0.65
    """
    words_a, words_b = re.findall(r"[^\W_]+", a.lower()), re.findall(r"[^\W_]+", b.lower())
    overlaps = []
    for n in (1, 2):
        grams_a, grams_b = _ngrams(words_a, n), _ngrams(words_b, n)
        total = grams_a.total() + grams_b.total()
        if total:
            overlaps.append(2 * (grams_a & grams_b).total() / total)
    return sum(overlaps) / len(overlaps) if overlaps else 0.0


def repetition_penalty(questions: Sequence[str | None], threshold: float = 0.5) -> list[float]:
    """R-Zero's repetition term: the share of the batch in each question's cluster.

    Why: without it the questioner repeats one question that happens to score well. Questions are
    joined (single linkage) when 1 - question_similarity < threshold; each question's value is
    its cluster size / number of non-None questions. None questions get 0.0.

    Example:
        >>> repetition_penalty(["How many dogs?", "How many dogs are there?", "Is it raining?", None])
        [0.6666666666666666, 0.6666666666666666, 0.3333333333333333, 0.0]
    """
    parsed = [i for i, question in enumerate(questions) if question is not None]
    cluster = {i: {i} for i in parsed}
    for i, j in combinations(parsed, 2):
        if cluster[i] is not cluster[j] and 1 - question_similarity(questions[i], questions[j]) < threshold:
            merged = cluster[i] | cluster[j]
            for k in merged:
                cluster[k] = merged
    return [len(cluster[i]) / len(parsed) if i in cluster else 0.0 for i in range(len(questions))]


def questioner_reward_terms(
    candidates: Sequence[QuestionCandidate | None],
    answers: Sequence[Sequence[str | None]],
    blind_answers: Sequence[Sequence[str | None]],
    *,
    blind_weight: float = 1.0,
    repetition_weight: float = 1.0,
    repetition_threshold: float = 0.5,
    format_penalty: float = -1.0,
) -> list[dict[str, float]]:
    """Every term of the questioner's reward, per candidate, for logging and for the reward itself.

    Why: the parts (format, p, agreement, blind agreement, difficulty, penalties) are what one reads
    to see why training goes where it goes. `answers[i]` are the answerer's samples for candidate i
    with the image, `blind_answers[i]` without it (an empty list turns the blind penalty off).
    agreement is the share of sighted answers that give the candidate's own reference, and
        reward = difficulty(agreement) - blind_weight * vision_dependence_penalty(agreement, blind_agreement)
                 - repetition_weight * repetition
    for parsed candidates; an unparsed candidate (None) gets reward = format_penalty, other terms 0.0.

    Example:
        >>> from roles.formats import QuestionCandidate
        >>> candidate = QuestionCandidate("How many dogs?", "2", "number")
        >>> terms = questioner_reward_terms([candidate, None], [["2", "two", "3", "3"], []], [["3"] * 4, []])
        >>> terms[0]["agreement"], terms[0]["blind_penalty"], terms[0]["repetition"], terms[0]["reward"]
        (0.5, 0.0, 1.0, 0.0)
        >>> terms[1]["reward"]
        -1.0
    """
    questions = [candidate.question if candidate else None for candidate in candidates]
    repetition = repetition_penalty(questions, repetition_threshold)
    terms = []
    rows = zip(candidates, answers, blind_answers, repetition, strict=True)
    for candidate, sighted, blind, repeated in rows:
        if candidate is None:
            terms.append(dict.fromkeys(QUESTIONER_TERMS, 0.0) | {"reward": format_penalty})
            continue
        _, p = majority_vote(sighted)
        agree, blind_agree = agreement(sighted, candidate.reference), agreement(blind, candidate.reference)
        hardness = difficulty(agree)
        penalty = vision_dependence_penalty(agree, blind_agree)
        terms.append({
            "format": 1.0, "p": p, "agreement": agree, "blind_agreement": blind_agree, "difficulty": hardness,
            "blind_penalty": penalty, "repetition": repeated,
            "reward": hardness - blind_weight * penalty - repetition_weight * repeated,
        })
    return terms

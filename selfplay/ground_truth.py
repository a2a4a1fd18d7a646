"""The shapes world's hidden ground truth: question-answer pairs read off a scene graph, the answer to
any question that follows the templates, and the accuracy of guessing.

`questions` writes the pairs that `selfplay.world.generate` puts in ``qa.jsonl``, a file a training
run never reads; `truth` answers a question a model wrote, so that a run's pseudo-labels can be
checked after it; `chance` is the floor an accuracy is read against. Both `questions` and `truth`
use the same answer functions, so they cannot disagree.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from functools import lru_cache

from .scene import (MAX_OBJECTS, MIN_SIZE, PALETTE, SHAPES, Scene, SceneObject, article, check_domain_and_size,
                    describe, objects_by_kind, plural_of)

QTYPES = ("attribute", "count", "existence", "spatial", "comparison")
SPATIAL_MARGIN = 0.15  # a spatial question is asked only when centres differ by more than this
_EVERYTHING = {"source": "shapes", "scan": "findings"}  # "How many shapes are there?"


@dataclass
class QA:
    question: str
    answer: str  # "yes"/"no", digits, or a short phrase ("red", "blue square")
    qtype: str
    choices: list[str] | None = None  # given for multiple-choice questions


def _kinds(domain: str) -> list[tuple[str, str]]:
    return [(s, c) for s, colours in SHAPES[domain].items() for c in colours]


# The answer to each template, shared by ``questions`` (which writes them) and ``truth`` (which reads
# them back). A (shape, colour) selector leaves out what it does not constrain (None).


def _matching(objs: list[SceneObject], shape: str | None, colour: str | None) -> list[SceneObject]:
    return [o for o in objs if (shape is None or o.shape == shape) and (colour is None or o.colour == colour)]


def _count(objs: list[SceneObject], shape: str | None, colour: str | None) -> int:
    return len(_matching(objs, shape, colour))


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _exists(objs: list[SceneObject], shape: str | None, colour: str | None) -> str:
    return _yes(_count(objs, shape, colour) > 0)


def _more(nx: int, ny: int) -> str:
    return _yes(nx > ny)


def _only(objs: list[SceneObject], shape: str | None, colour: str | None) -> SceneObject | None:
    """The one object the selector picks out, or None when it picks out none or several."""
    found = _matching(objs, shape, colour)
    return found[0] if len(found) == 1 else None


def _attribute_of(objs: list[SceneObject], shape: str) -> str | None:
    o = _only(objs, shape, None)
    return None if o is None else o.colour


_RELATIONS = {"left of": ("x", True), "right of": ("x", False), "above": ("y", True), "below": ("y", False)}
_EXTREMES = {"further left": ("x", True), "further right": ("x", False), "higher": ("y", True), "lower": ("y", False)}


def _first(a: SceneObject, b: SceneObject, axis: str, lower: bool) -> bool | None:
    """Whether ``a`` lies before ``b`` (``lower``: smaller coordinate) on ``axis``; None within the margin."""
    if abs(getattr(a, axis) - getattr(b, axis)) <= SPATIAL_MARGIN:
        return None
    return (getattr(a, axis) < getattr(b, axis)) == lower


def _relation(a: SceneObject, word: str, b: SceneObject) -> str | None:
    """``Is the a <word> the b?``: yes/no, or None when the centres are too close on that axis."""
    first = _first(a, b, *_RELATIONS[word])
    return None if first is None else _yes(first)


def _which(a: SceneObject, da: str, b: SceneObject, db: str, word: str) -> str | None:
    """``Which is <word>, the da or the db?``: the phrase of the one that is, or None when too close."""
    first = _first(a, b, *_EXTREMES[word])
    return None if first is None else da if first else db


def _ask_count(scene: Scene, rng: random.Random) -> QA:
    d, objs = scene.domain, scene.objects
    forms = ["kind", "shape"] + (["colour"] if d == "source" else []) + (["all"] if d in _EVERYTHING else [])
    form = rng.choice(forms)
    ask_present = rng.random() < 0.75  # most questions are about what is there; some answers are 0
    if form == "kind":
        present = sorted(objects_by_kind(scene))
        shape, colour = rng.choice(present if ask_present else _kinds(d))
        n, noun = _count(objs, shape, colour), describe(d, shape, colour, True)
    elif form == "shape":
        shape = rng.choice(sorted({o.shape for o in objs}) if ask_present else sorted(SHAPES[d]))
        n, noun = _count(objs, shape, None), plural_of(shape)
    elif form == "colour":
        colour = rng.choice(sorted({o.colour for o in objs}) if ask_present else sorted(PALETTE[d]))
        n, noun = _count(objs, None, colour), f"{colour} shapes"
    else:
        n, noun = _count(objs, None, None), _EVERYTHING[d]
    return QA(f"How many {noun} are there?", str(n), "count")


def _ask_existence(scene: Scene, rng: random.Random) -> QA:
    d, present = scene.domain, set(objects_by_kind(scene))
    if rng.random() < 0.5:
        shape, colour = rng.choice(sorted(present))
    else:  # prefer near misses: an absent kind that shares a shape or a colour with one present
        absent = [k for k in _kinds(d) if k not in present]
        near = [k for k in absent if any(k[0] == p[0] or k[1] == p[1] for p in present)]
        shape, colour = rng.choice(near or absent)
    desc = describe(d, shape, colour)
    return QA(f"Is there {article(desc)} {desc}?", _exists(scene.objects, shape, colour), "existence")


def _attribute_question(domain: str, shape: str) -> str:
    return f"Is the {shape} bright or dark?" if domain == "scan" else f"What colour is the {shape}?"


def _ask_attribute(scene: Scene, rng: random.Random) -> QA | None:
    d, objs = scene.domain, scene.objects
    unique = [o for o in objs if len(SHAPES[d][o.shape]) > 1 and sum(p.shape == o.shape for p in objs) == 1]
    if not unique:
        return None
    o = rng.choice(unique)
    choices = list(SHAPES[d][o.shape])
    return QA(_attribute_question(d, o.shape), _attribute_of(objs, o.shape), "attribute", choices)


def _referring(scene: Scene) -> list[tuple[SceneObject, str]]:
    """Objects a short phrase picks out on its own: the only one of its shape, or of its kind."""
    d, objs, out = scene.domain, scene.objects, []
    for o in objs:
        if sum(p.shape == o.shape for p in objs) == 1:
            out.append((o, o.shape))
        elif sum(p.shape == o.shape and p.colour == o.colour for p in objs) == 1 and len(SHAPES[d][o.shape]) > 1:
            out.append((o, describe(d, o.shape, o.colour)))
    return out


def _ask_spatial(scene: Scene, rng: random.Random) -> QA | None:
    named = _referring(scene)
    pairs = [(a, b) for a in named for b in named if a[0] is not b[0]]
    rng.shuffle(pairs)
    for (a, da), (b, db) in pairs:
        axes = [ax for ax in ("x", "y") if abs(getattr(a, ax) - getattr(b, ax)) > SPATIAL_MARGIN]
        if not axes:
            continue
        axis = rng.choice(axes)
        if rng.random() < 0.5:
            word = rng.choice(("left of", "right of") if axis == "x" else ("above", "below"))
            return QA(f"Is the {da} {word} the {db}?", _relation(a, word, b), "spatial")
        word = rng.choice(("further left", "further right") if axis == "x" else ("higher", "lower"))
        return QA(f"Which is {word}, the {da} or the {db}?", _which(a, da, b, db, word), "spatial", [da, db])
    return None


def _families(domain: str) -> list[list[tuple[str, str | None, str | None]]]:
    """The groups of plural phrases a comparison question pairs up: (phrase, shape, colour)."""
    families = [[(plural_of(s), s, None) for s in SHAPES[domain]]]
    if domain == "source":
        families.append([(f"{c} shapes", None, c) for c in PALETTE[domain]])
    if any(len(c) > 1 for c in SHAPES[domain].values()):
        families.append([(describe(domain, s, c, True), s, c) for s, c in _kinds(domain) if len(SHAPES[domain][s]) > 1])
    return families


def _ask_comparison(scene: Scene, rng: random.Random) -> QA:
    objs = scene.objects
    families = [[(phrase, _count(objs, s, c)) for phrase, s, c in family] for family in _families(scene.domain)]
    for tries in range(20):
        (x, nx), (y, ny) = rng.sample(rng.choice(families), 2)
        if nx + ny and (nx != ny or tries >= 10 or rng.random() < 0.3):
            break
    if nx != ny and (nx > ny) != (rng.random() < 0.5):  # order the pair so yes and no come out even
        (x, nx), (y, ny) = (y, ny), (x, nx)
    return QA(f"Are there more {x} than {y}?", _more(nx, ny), "comparison")


_ASK = {"attribute": _ask_attribute, "count": _ask_count, "existence": _ask_existence,
        "spatial": _ask_spatial, "comparison": _ask_comparison}


def questions(scene: Scene, rng: random.Random, n: int = 4) -> list[QA]:
    """Up to ``n`` distinct questions with ground-truth answers, of random types where the scene
    allows them (attribute needs a shape seen once; spatial needs two nameable objects apart)."""
    out: list[QA] = []
    for _ in range(20 * n):
        if len(out) == n:
            break
        qa = _ASK[rng.choice(QTYPES)](scene, rng)
        if qa is not None and all(qa.question != q.question for q in out):
            out.append(qa)
    return out


@lru_cache(maxsize=None)
def _phrases(domain: str) -> tuple[dict[str, tuple[str | None, str | None]], dict[str, tuple[str | None, str | None]]]:
    """The object phrases the templates use in ``domain``, each with its (shape, colour) selector:
    singular (``circle``, ``red circle``, ``pond``) and plural (``red circles``, ``circles``,
    ``red shapes``, ``shapes``), written by the same helpers that write the questions."""
    singular: dict[str, tuple[str | None, str | None]] = {}
    for s, c in _kinds(domain):
        singular.setdefault(describe(domain, s, c), (s, c))
        singular.setdefault(s, (s, None))
    plural = {phrase: (s, c) for family in _families(domain) for phrase, s, c in family}
    if domain in _EVERYTHING:
        plural[_EVERYTHING[domain]] = (None, None)
    return singular, plural


_SPELLINGS = ((r"\bcolor\b", "colour"), (r"\bgray\b", "grey"))


def _normalise(question: str) -> str:
    text = " ".join(question.lower().split())
    text = re.sub(r"[\s?]+$", "", text)
    text = re.sub(r"\s*,\s*", ", ", text)
    for pattern, word in _SPELLINGS:
        text = re.sub(pattern, word, text)
    return text


def truth(scene: Scene, question: str) -> str | None:
    """The ground-truth answer to ``question`` about ``scene``, in the form ``questions`` writes it
    (digits, ``yes``/``no``, a colour word or an object phrase), when the question follows one of
    its templates with any of the domain's object phrases; else None.

    Matching ignores case, extra spaces and trailing question marks, and reads ``color`` as
    ``colour``, ``gray`` as ``grey`` and ``a`` and ``an`` alike. None also when a phrase is not in
    the domain's vocabulary, or when this scene leaves the answer open: an attribute or spatial
    question whose object phrase does not pick out exactly one object (or picks the same one
    twice), or a spatial relation whose centres differ by no more than ``SPATIAL_MARGIN`` on its axis.
    """
    check_domain_and_size(scene.domain, MIN_SIZE)
    d, objs = scene.domain, scene.objects
    singular, plural = _phrases(d)
    q = _normalise(question)
    if m := re.fullmatch(r"how many (.+) are there", q):
        return str(_count(objs, *plural[m[1]])) if m[1] in plural else None
    if m := re.fullmatch(r"is there an? (.+)", q):
        return _exists(objs, *singular[m[1]]) if m[1] in singular else None
    if m := re.fullmatch(_normalise(_attribute_question(d, "(.+)")), q):
        return _attribute_of(objs, m[1]) if m[1] in SHAPES[d] else None
    if m := re.fullmatch(r"are there more (.+) than (.+)", q):
        if m[1] in plural and m[2] in plural:
            return _more(_count(objs, *plural[m[1]]), _count(objs, *plural[m[2]]))
        return None
    if m := re.fullmatch(r"is the (.+) (left of|right of|above|below) the (.+)", q):
        a, b = _referent(objs, singular, m[1]), _referent(objs, singular, m[3])
        return _relation(a, m[2], b) if a is not None and b is not None and a is not b else None
    if m := re.fullmatch(r"which is (further left|further right|higher|lower),? the (.+) or the (.+)", q):
        a, b = _referent(objs, singular, m[2]), _referent(objs, singular, m[3])
        return _which(a, m[2], b, m[3], m[1]) if a is not None and b is not None and a is not b else None
    return None


def _referent(objs: list[SceneObject], singular: dict, phrase: str) -> SceneObject | None:
    return _only(objs, *singular[phrase]) if phrase in singular else None


def chance(qtype: str, domain: str) -> float:
    """The accuracy of guessing uniformly among the answers a question of this type can have."""
    if qtype not in QTYPES:
        raise ValueError(f"qtype must be one of {QTYPES}, got {qtype!r}")
    check_domain_and_size(domain, MIN_SIZE)
    if qtype == "attribute":
        return 1 / max(len(c) for c in SHAPES[domain].values())
    if qtype == "count":
        return 1 / (MAX_OBJECTS + 1)
    return 0.5

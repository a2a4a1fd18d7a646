"""A synthetic shapes world with hidden ground truth, to measure whether self-play helps a tiny model.

No VLM can be downloaded where this project is built, so progress is measured on a world whose
answers are known. Every image is drawn from a scene graph; its caption is written from that graph
(sometimes leaving one kind of object out, as real captions do); question-answer pairs come from the
same graph and go to a separate ``qa.jsonl`` that a training run never reads.

Three domains share the question forms but differ in look and statistics, so a model trained on
``source`` meets a visible shift on the others:

* ``source``: flat colourful circles, squares and triangles on a light background;
* ``scan``: grayscale and noisy; bright or dark findings (nodule, mass, line) inside an organ;
* ``aerial``: buildings (grey or red roofs), ponds, trees and roads on textured fields.

Objects never overlap and keep a gap of a few pixels, so counts, colours and positions can be read
back from the pixels. All randomness flows from the seed: the same seed gives byte-identical files.
"""

from __future__ import annotations

import json
import math
import random
import re
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

DOMAINS = ("source", "scan", "aerial")
QTYPES = ("attribute", "count", "existence", "spatial", "comparison")
MAX_OBJECTS = 4
SPATIAL_MARGIN = 0.15  # a spatial question is asked only when centres differ by more than this
MIN_SIZE = 32
_GAP = 0.05  # empty space between objects, as a share of the image side (about 3 px at 56 px)
_EDGE = 0.03

# Each shape and the attribute words (colour or intensity) it may take.
SHAPES: dict[str, dict[str, tuple[str, ...]]] = {
    "source": {
        s: ("red", "green", "blue", "yellow", "purple", "orange") for s in ("circle", "square", "triangle")
    },
    "scan": {"nodule": ("bright", "dark"), "mass": ("bright", "dark"), "line": ("bright", "dark")},
    "aerial": {"building": ("grey", "red"), "pond": ("blue",), "tree": ("green",), "road": ("grey",)},
}
# The nominal RGB of each attribute word (scan intensities and aerial fills are jittered around it).
PALETTE: dict[str, dict[str, tuple[int, int, int]]] = {
    "source": {
        "red": (220, 40, 40), "green": (40, 170, 70), "blue": (40, 90, 220),
        "yellow": (240, 210, 30), "purple": (140, 60, 180), "orange": (245, 140, 20),
    },
    "scan": {"bright": (230, 230, 230), "dark": (25, 25, 25)},
    "aerial": {"grey": (170, 170, 170), "red": (180, 55, 45), "blue": (45, 95, 180), "green": (25, 80, 35)},
}
_SIDE = {  # (small, large) side as a share of the image
    "circle": (0.18, 0.28), "square": (0.18, 0.28), "triangle": (0.2, 0.3),
    "nodule": (0.12, 0.18), "mass": (0.22, 0.28),
    "building": (0.16, 0.24), "pond": (0.22, 0.3), "tree": (0.12, 0.18),
}
_LONG = {"line": ((0.3, 0.44), 0.06), "road": ((0.5, 0.7), 0.08)}  # (small, large) length, thickness
_SOURCE_BACKGROUNDS = ((255, 255, 255), (248, 246, 238), (240, 244, 250), (246, 246, 246))
_FIELDS = ((105, 150, 60), (135, 170, 80), (150, 120, 75), (175, 145, 95))
_NUMBERS = {2: "two", 3: "three", 4: "four"}
_EVERYTHING = {"source": "shapes", "scan": "findings"}  # "How many shapes are there?"
_TEMPLATES = {
    "source": ("A picture of {facts}.", "This image shows {facts}.", "{Facts} on a plain background.",
               "A simple drawing with {facts}.", "Shapes: {facts}."),
    "scan": ("Findings: {facts}.{neg}", "Scan shows {facts}.{neg}", "Report: {facts}.{neg}",
             "Impression: {facts}."),
    "aerial": ("An aerial view of {facts}.", "A satellite image with {facts}.", "Top-down view of {facts}.",
               "Remote sensing image: {facts}."),
}
_NEGATIVES = {"nodule": " No nodules.", "mass": " No mass.", "line": " No line."}


@dataclass
class SceneObject:
    shape: str
    colour: str  # a colour word, or "bright"/"dark" in the scan domain
    size: str  # "small" or "large"
    x: float  # centre, as a share of the image width (0 left, 1 right)
    y: float  # centre, as a share of the image height (0 top, 1 bottom)
    w: float  # extent, as a share of the image side
    h: float
    bbox: tuple[int, int, int, int]  # pixels (x0, y0, x1, y1), inclusive, at Scene.size
    variant: int  # seeds an irregular outline and the intensity jitter


@dataclass
class Scene:
    domain: str
    size: int  # the pixel size the bboxes are given at
    seed: int  # seeds the background texture and noise
    objects: list[SceneObject]
    organ: tuple[float, float, float, float] | None = None  # scan only: centre x, y and radii

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, row: dict) -> Scene:
        objects = [SceneObject(**{**o, "bbox": tuple(o["bbox"])}) for o in row["objects"]]
        organ = tuple(row["organ"]) if row.get("organ") is not None else None
        return cls(row["domain"], row["size"], row["seed"], objects, organ)


@dataclass
class QA:
    question: str
    answer: str  # "yes"/"no", digits, or a short phrase ("red", "blue square")
    qtype: str
    choices: list[str] | None = None  # given for multiple-choice questions


def _check(domain: str, size: int) -> None:
    if domain not in DOMAINS:
        raise ValueError(f"domain must be one of {DOMAINS}, got {domain!r}")
    if size < MIN_SIZE:
        raise ValueError(f"size must be at least {MIN_SIZE} px, got {size}")


# ---------------------------------------------------------------------------------------------
# Scenes
# ---------------------------------------------------------------------------------------------


def bbox_at(obj: SceneObject, size: int) -> tuple[int, int, int, int]:
    """The inclusive pixel box an object is drawn in at ``size`` px."""
    x0, y0 = round((obj.x - obj.w / 2) * size), round((obj.y - obj.h / 2) * size)
    x1, y1 = round((obj.x + obj.w / 2) * size) - 1, round((obj.y + obj.h / 2) * size) - 1
    return x0, y0, x1, y1


def _extent(shape: str, size: str, rng: random.Random) -> tuple[float, float]:
    large = size == "large"
    if shape in _LONG:
        lengths, thickness = _LONG[shape]
        return (lengths[large], thickness) if rng.random() < 0.5 else (thickness, lengths[large])
    side = _SIDE[shape][large]
    return side, side


def _apart(o: SceneObject, x: float, y: float, w: float, h: float) -> bool:
    return abs(o.x - x) >= (o.w + w) / 2 + _GAP or abs(o.y - y) >= (o.h + h) / 2 + _GAP


def _in_organ(organ: tuple, x: float, y: float, w: float, h: float) -> bool:
    ox, oy, rx, ry = organ
    corners = [(x + sx * w / 2, y + sy * h / 2) for sx in (-1, 1) for sy in (-1, 1)]
    return all(((cx - ox) / rx) ** 2 + ((cy - oy) / ry) ** 2 <= 0.9 for cx, cy in corners)


def _pick_kind(rng: random.Random, domain: str, objects: list[SceneObject]) -> tuple[str, str]:
    shapes = SHAPES[domain]
    if objects and rng.random() < 0.35:  # repeat a kind now and then, so counts above one occur
        other = rng.choice(objects)
        return other.shape, other.colour
    shape = rng.choice(sorted(shapes))
    return shape, rng.choice(shapes[shape])


def make_scene(rng: random.Random, domain: str, size: int = 56) -> Scene:
    """Draw 1 to ``MAX_OBJECTS`` non-overlapping objects; rejected positions are sampled again."""
    _check(domain, size)
    organ = None
    if domain == "scan":
        organ = (round(0.5 + rng.uniform(-0.03, 0.03), 4), round(0.5 + rng.uniform(-0.03, 0.03), 4),
                 round(rng.uniform(0.41, 0.46), 4), round(rng.uniform(0.38, 0.44), 4))
    objects: list[SceneObject] = []
    target = rng.randint(1, MAX_OBJECTS)
    while not objects or len(objects) < target:
        shape, colour = _pick_kind(rng, domain, objects)
        size_word = rng.choice(("small", "large"))
        w, h = _extent(shape, size_word, rng)
        for _ in range(200):
            x = round(rng.uniform(w / 2 + _EDGE, 1 - w / 2 - _EDGE), 4)
            y = round(rng.uniform(h / 2 + _EDGE, 1 - h / 2 - _EDGE), 4)
            if (organ is None or _in_organ(organ, x, y, w, h)) and all(_apart(o, x, y, w, h) for o in objects):
                obj = SceneObject(shape, colour, size_word, x, y, w, h, (0, 0, 0, 0), rng.randrange(2**31))
                obj.bbox = bbox_at(obj, size)
                objects.append(obj)
                break
        else:
            target -= 1  # no room left for this one: the scene keeps fewer objects
    return Scene(domain, size, rng.randrange(2**31), objects, organ)


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------


def _smooth_noise(rng: np.random.Generator, size: int, cells: int = 6) -> np.ndarray:
    coarse = Image.fromarray(rng.uniform(-1, 1, (cells, cells)).astype(np.float32), mode="F")
    return np.asarray(coarse.resize((size, size), Image.Resampling.BILINEAR), dtype=np.float64)


def _fields(rng: np.random.Generator, size: int) -> np.ndarray:
    """Patches of green and brown fields, each striped like ploughed rows."""
    out = np.zeros((size, size, 3))
    cuts = [np.unique(rng.integers(size // 5, size - size // 5, rng.integers(1, 4))) for _ in range(2)]
    rows, cols = np.split(np.arange(size), cuts[0]), np.split(np.arange(size), cuts[1])
    period = max(3, size // 14)
    for r in rows:
        for c in cols:
            colour = np.array(_FIELDS[rng.integers(len(_FIELDS))], dtype=float)
            along = r[:, None] if rng.random() < 0.5 else c[None, :]
            stripes = 7 * np.sin(2 * np.pi * along / period)
            out[r[0]:r[-1] + 1, c[0]:c[-1] + 1] = colour + stripes[..., None]
    return out


def _outline(obj: SceneObject, box: tuple[int, int, int, int]) -> list[tuple[float, float]]:
    """An irregular star-shaped outline inside ``box``; it always covers the box centre."""
    x0, y0, x1, y1 = box
    cx, cy, rx, ry = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2
    rand = random.Random(obj.variant)
    points = []
    for i in range(11):
        a, f = 2 * math.pi * i / 11, rand.uniform(0.7, 1.0)
        points.append((cx + rx * f * math.cos(a), cy + ry * f * math.sin(a)))
    return points


def _draw(draw: ImageDraw.ImageDraw, obj: SceneObject, size: int, fill) -> None:
    box = bbox_at(obj, size)
    x0, y0, x1, y1 = box
    if obj.shape in ("circle", "nodule", "tree"):
        draw.ellipse(box, fill=fill)
    elif obj.shape == "triangle":
        draw.polygon([((x0 + x1) / 2, y0), (x0, y1), (x1, y1)], fill=fill)
    elif obj.shape in ("mass", "pond"):
        draw.polygon(_outline(obj, box), fill=fill)
    elif obj.shape == "building":
        draw.rectangle(box, fill=fill, outline=tuple(v * 3 // 5 for v in fill))
    else:  # square, line, road
        draw.rectangle(box, fill=fill)


def render(scene: Scene, size: int | None = None) -> Image.Image:
    """Draw ``scene`` as an RGB image of ``size`` x ``size`` px (default: the scene's own size).

    Deterministic: the texture and noise are seeded by the scene's seed and the size.
    """
    size = size or scene.size
    _check(scene.domain, size)
    rng = np.random.default_rng([scene.seed, size])
    if scene.domain == "scan":
        ox, oy, rx, ry = scene.organ
        yy, xx = (np.mgrid[0:size, 0:size] + 0.5) / size
        organ = ((xx - ox) / rx) ** 2 + ((yy - oy) / ry) ** 2 <= 1
        low = _smooth_noise(rng, size)
        image = Image.fromarray(np.where(organ, 125 + 22 * low, 40 + 12 * low).round().astype(np.uint8), "L")
        draw = ImageDraw.Draw(image)
        for obj in scene.objects:
            jitter = random.Random(obj.variant).randint(-12, 12)
            _draw(draw, obj, size, PALETTE["scan"][obj.colour][0] + jitter)
        noisy = np.asarray(image, dtype=float) + rng.normal(0, 7, (size, size))
        return Image.fromarray(np.clip(noisy, 0, 255).round().astype(np.uint8), "L").convert("RGB")
    if scene.domain == "aerial":
        image = Image.fromarray(np.clip(_fields(rng, size), 0, 255).round().astype(np.uint8), "RGB")
    else:
        image = Image.new("RGB", (size, size), _SOURCE_BACKGROUNDS[scene.seed % len(_SOURCE_BACKGROUNDS)])
    draw = ImageDraw.Draw(image)
    for obj in scene.objects:
        _draw(draw, obj, size, PALETTE[scene.domain][obj.colour])
    if scene.domain == "aerial":
        noisy = np.asarray(image, dtype=float) + rng.normal(0, 5, (size, size, 3))
        image = Image.fromarray(np.clip(noisy, 0, 255).round().astype(np.uint8), "RGB")
    return image


# ---------------------------------------------------------------------------------------------
# Words
# ---------------------------------------------------------------------------------------------


def _plural(shape: str) -> str:
    return shape + "es" if shape.endswith("s") else shape + "s"


def article(phrase: str) -> str:
    """The indefinite article of a phrase, by its first letter (the world's words need no more)."""
    return "an" if phrase[0] in "aeiou" else "a"


def _desc(domain: str, shape: str, colour: str | None, plural: bool = False) -> str:
    """``red circle`` / ``pond``: the colour is named only where the shape can take more than one."""
    noun = _plural(shape) if plural else shape
    return f"{colour} {noun}" if colour and len(SHAPES[domain][shape]) > 1 else noun


def _groups(scene: Scene) -> dict[tuple[str, str], list[SceneObject]]:
    groups: dict[tuple[str, str], list[SceneObject]] = {}
    for o in scene.objects:
        groups.setdefault((o.shape, o.colour), []).append(o)
    return groups


def _where(objs: list[SceneObject]) -> str:
    if all(o.x < 0.5 for o in objs):
        return "in the left region"
    if all(o.x >= 0.5 for o in objs):
        return "in the right region"
    return "on both sides"


def _fact(domain: str, shape: str, colour: str, objs: list[SceneObject], rng: random.Random) -> str:
    phrase = _desc(domain, shape, colour, plural=len(objs) > 1)
    if domain == "source" and len(objs) == 1 and rng.random() < 0.4:
        phrase = f"{objs[0].size} {phrase}"
    if domain == "scan":
        phrase = f"{phrase} {_where(objs)}"
    return f"{_NUMBERS[len(objs)]} {phrase}" if len(objs) > 1 else f"{article(phrase)} {phrase}"


def _join(facts: list[str]) -> str:
    return facts[0] if len(facts) == 1 else ", ".join(facts[:-1]) + " and " + facts[-1]


def caption(scene: Scene, rng: random.Random, omit: float = 0.3) -> str:
    """A short templated caption, facts in random order; with probability ``omit`` (and at least
    two kinds in the scene) the fact about one kind of object is left out. Never states a falsehood."""
    groups = _groups(scene)
    kinds = list(groups)
    if len(kinds) > 1 and rng.random() < omit:
        kinds.remove(rng.choice(kinds))
    rng.shuffle(kinds)
    facts = [(shape, _fact(scene.domain, shape, colour, groups[shape, colour], rng)) for shape, colour in kinds]
    texts = [text for _, text in facts]
    ponds = [text for shape, text in facts if shape == "pond"]
    if scene.domain == "aerial" and ponds and len(facts) > 1 and rng.random() < 0.4:
        others = [text for shape, text in facts if shape != "pond"]
        return f"An aerial view of {_join(others)} near {_join(ponds)}."
    present = {o.shape for o in scene.objects}
    neg = "".join(_NEGATIVES[s] for s in sorted(_NEGATIVES) if s not in present)
    joined = _join(texts)
    template = rng.choice(_TEMPLATES[scene.domain])
    return template.format(facts=joined, Facts=joined[0].upper() + joined[1:], neg=neg)


# ---------------------------------------------------------------------------------------------
# Hidden ground truth
# ---------------------------------------------------------------------------------------------


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
        present = sorted(_groups(scene))
        shape, colour = rng.choice(present if ask_present else _kinds(d))
        n, noun = _count(objs, shape, colour), _desc(d, shape, colour, True)
    elif form == "shape":
        shape = rng.choice(sorted({o.shape for o in objs}) if ask_present else sorted(SHAPES[d]))
        n, noun = _count(objs, shape, None), _plural(shape)
    elif form == "colour":
        colour = rng.choice(sorted({o.colour for o in objs}) if ask_present else sorted(PALETTE[d]))
        n, noun = _count(objs, None, colour), f"{colour} shapes"
    else:
        n, noun = _count(objs, None, None), _EVERYTHING[d]
    return QA(f"How many {noun} are there?", str(n), "count")


def _ask_existence(scene: Scene, rng: random.Random) -> QA:
    d, present = scene.domain, set(_groups(scene))
    if rng.random() < 0.5:
        shape, colour = rng.choice(sorted(present))
    else:  # prefer near misses: an absent kind that shares a shape or a colour with one present
        absent = [k for k in _kinds(d) if k not in present]
        near = [k for k in absent if any(k[0] == p[0] or k[1] == p[1] for p in present)]
        shape, colour = rng.choice(near or absent)
    desc = _desc(d, shape, colour)
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
            out.append((o, _desc(d, o.shape, o.colour)))
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
    families = [[(_plural(s), s, None) for s in SHAPES[domain]]]
    if domain == "source":
        families.append([(f"{c} shapes", None, c) for c in PALETTE[domain]])
    if any(len(c) > 1 for c in SHAPES[domain].values()):
        families.append([(_desc(domain, s, c, True), s, c) for s, c in _kinds(domain) if len(SHAPES[domain][s]) > 1])
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
        singular.setdefault(_desc(domain, s, c), (s, c))
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
    _check(scene.domain, MIN_SIZE)
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
    _check(domain, MIN_SIZE)
    if qtype == "attribute":
        return 1 / max(len(c) for c in SHAPES[domain].values())
    if qtype == "count":
        return 1 / (MAX_OBJECTS + 1)
    return 0.5


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def generate(out_dir: str | Path, domain: str, n: int, seed: int, size: int = 56,
             qa_per_image: int = 4, omit: float = 0.3) -> Path:
    """Write ``n`` scenes of ``domain`` under ``out_dir`` and return ``out_dir``.

    ``images/<id>.png``; ``manifest.jsonl`` (``{"id", "image", "text"}``, what training reads);
    ``qa.jsonl`` (``{"id", "image", "question", "answer", "qtype", "choices"}``, for evaluation
    only); ``scenes.jsonl`` (``{"id", "image", "scene"}``). Scene, caption and questions draw from
    separate streams, so changing ``omit`` or ``qa_per_image`` leaves the images unchanged.
    """
    _check(domain, size)
    if n < 0 or qa_per_image < 0 or not 0 <= omit <= 1:
        raise ValueError(f"need n >= 0, qa_per_image >= 0 and 0 <= omit <= 1; got {n}, {qa_per_image}, {omit}")
    out = Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    manifest, qa_rows, scene_rows = [], [], []
    for i in range(n):
        item_id, key = f"{domain}-{i:05d}", f"shapes-world/{domain}/{seed}/{i}"
        image = f"images/{item_id}.png"
        scene = make_scene(random.Random(f"{key}/scene"), domain, size)
        render(scene).save(out / image, format="PNG")
        manifest.append({"id": item_id, "image": image, "text": caption(scene, random.Random(f"{key}/text"), omit)})
        for qa in questions(scene, random.Random(f"{key}/qa"), qa_per_image):
            qa_rows.append({"id": item_id, "image": image, **asdict(qa)})
        scene_rows.append({"id": item_id, "image": image, "scene": scene.to_dict()})
    _write_jsonl(out / "manifest.jsonl", manifest)
    _write_jsonl(out / "qa.jsonl", qa_rows)
    _write_jsonl(out / "scenes.jsonl", scene_rows)
    return out


def load_scenes(folder: str | Path) -> dict[str, Scene]:
    """The scenes ``generate`` wrote under ``folder`` (or to the ``scenes.jsonl`` given), by item id."""
    path = Path(folder)
    if path.is_dir():
        path = path / "scenes.jsonl"
    scenes: dict[str, Scene] = {}
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                scenes[row["id"]] = Scene.from_dict(row["scene"])
    return scenes

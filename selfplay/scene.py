"""The shapes world's scenes: scene graphs in three domains, their images and their captions.

No VLM can be downloaded where this project is built, so progress is measured on a world whose
answers are known (selfplay/ground_truth.py reads them off the same scene graphs). Every image is
drawn from a scene graph, and its caption is written from that graph (sometimes leaving one kind of
object out, as real captions do).

Three domains share the question forms but differ in look and statistics, so a model trained on
``source`` meets a visible shift on the others:

* ``source``: flat colourful circles, squares and triangles on a light background;
* ``scan``: grayscale and noisy; bright or dark findings (nodule, mass, line) inside an organ;
* ``aerial``: buildings (grey or red roofs), ponds, trees and roads on textured fields.

Objects never overlap and keep a gap of a few pixels, so counts, colours and positions can be read
back from the pixels. All randomness flows from the caller's random streams and the scene's seed.
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image, ImageDraw

DOMAINS = ("source", "scan", "aerial")
MAX_OBJECTS = 4
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


def check_domain_and_size(domain: str, size: int) -> None:
    """Refuse a domain the world does not have, or an image too small to read objects back from."""
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
    check_domain_and_size(domain, size)
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
    check_domain_and_size(scene.domain, size)
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


def plural_of(shape: str) -> str:
    return shape + "es" if shape.endswith("s") else shape + "s"


def article(phrase: str) -> str:
    """The indefinite article of a phrase, by its first letter (the world's words need no more)."""
    return "an" if phrase[0] in "aeiou" else "a"


def describe(domain: str, shape: str, colour: str | None, plural: bool = False) -> str:
    """``red circle`` / ``pond``: the colour is named only where the shape can take more than one."""
    noun = plural_of(shape) if plural else shape
    return f"{colour} {noun}" if colour and len(SHAPES[domain][shape]) > 1 else noun


def objects_by_kind(scene: Scene) -> dict[tuple[str, str], list[SceneObject]]:
    """The scene's objects by (shape, colour): a caption states one fact per kind, and questions ask about kinds."""
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
    phrase = describe(domain, shape, colour, plural=len(objs) > 1)
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
    groups = objects_by_kind(scene)
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

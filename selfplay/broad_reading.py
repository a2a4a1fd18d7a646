"""Broad words for the warm start of the built-in shapes model (selfplay/shapes_base.py): what a
pretrained VLM brings to a domain nobody planned for, without the targets' words (issue 16, parts 1
and 5).

* `reading_rows`: text-only questioner rows whose captions and questions name broad nouns (NOUNS) and
  attribute words: a pretrained questioner has read about ten thousand things. Measured (1000
  steps): the questioner then invents words on the targets instead of copying their unseen nouns.
* `copy_rows`: the same rows with a made-up word new in every scene, so that only copying lowers the
  loss; copying then comes through a plateau-then-drop, as reading the image does.
* `answering_rows`: answerer rows on rendered scenes with renamed nouns and basic colour terms, in
  varied styles and on blank pages, with "A or B?" questions: the answerer answers any noun in the
  question's form, with the image or without.

NOUNS holds none of the shapes world's target nouns (a test checks it), so on the targets the base
meets their nouns first, as on a domain nobody planned for.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

NOUNS = tuple("""
anchor apple arch arrow axe bag ball balloon banana barrel basket bead bean bear bee bell belt bench
bird blade block boat bolt bone book boot bottle bowl box brick bridge brush bubble bucket bug bulb
bus button cable cake camera candle cap car card cart cat chain chair cherry chip clock cloud coin
comb cone cork cow crab crown cube cup cushion dart desk dial dish dog doll door dot drum duck egg
engine fan feather fence fig flag flask flower fork fox frog fruit gate gear gem glass glove goat
grape hammer hat hook horn horse house jar jug kettle key kite knot ladder lamp leaf lemon lens
lever lid lock log magnet mask mat mirror mitten moon mouse mug nail needle nest net nut onion
orb owl pail pan pear pearl pebble pen pencil pepper piano pig pillow pin pipe plate plum pot
puppet purse rabbit rake ring rock roof rope rose ruler sack saw scarf screw seed shed sheep shell
ship shoe sock spoon spring star stick stone stool sun swan table tag tent tile tin tomato tooth
torch towel toy train tray truck tube turtle umbrella valve vase wagon wall wand watch wave wheel
whistle window wing wire wolf yarn
""".split())

ATTRIBUTES = tuple("""
red green blue yellow purple orange pink brown black white grey cyan gold silver bright dark pale
shiny dull striped spotted rough smooth wooden metal plastic glass
""".split())


def plural(noun: str) -> str:
    """English plural of a NOUNS word (the list avoids irregular plurals).

    >>> [plural(n) for n in ("box", "brush", "cherry", "key", "leaf", "lamp")]
    ['boxes', 'brushes', 'cherries', 'keys', 'leaves', 'lamps']
    """
    if noun in ("leaf", "wolf", "knife"):
        return noun[:-1] + "ves"
    if noun.endswith(("s", "x", "sh", "ch")):
        return noun + "es"
    if noun.endswith("y") and noun[-2] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


def renaming(shapes: list[str], colours: list[str], rng: random.Random) -> dict[str, str]:
    """A word map for one scene: each shape (singular and plural) to a distinct noun, each colour to
    a distinct attribute word."""
    nouns = rng.sample(NOUNS, len(shapes))
    words = rng.sample(ATTRIBUTES, len(colours))
    names = {s: n for s, n in zip(shapes, nouns)}
    names.update({s + "s": plural(n) for s, n in zip(shapes, nouns)})
    names.update(zip(colours, words))
    return names


def rename(text: str, names: dict[str, str]) -> str:
    """Replace whole words of `text` by `names`, keeping a capital first letter; "a"/"an" are fixed up
    before a renamed word.

    >>> rename("A red circle and two circles. Is there an orange square?",
    ...        {"red": "pale", "circle": "apple", "circles": "apples", "orange": "dull", "square": "key"})
    'A pale apple and two apples. Is there a dull key?'
    """
    def swap(match: re.Match) -> str:
        word = match.group(0)
        new = names.get(word.lower())
        if new is None:
            return word
        return new[0].upper() + new[1:] if word[0].isupper() else new

    out = re.sub(r"[A-Za-z]+", swap, text)
    return re.sub(r"\b([Aa])n? (?=([A-Za-z]))", lambda m: _article(m.group(1), m.group(2)), out)


def _article(a: str, first: str) -> str:
    word = "an" if first.lower() in "aeiou" else "a"
    return (word.capitalize() if a == "A" else word) + " "


def reading_rows(n: int, seed: int = 0, per_scene: int = 2) -> list[dict]:
    """Questioner rows for `n` source scenes, drawn but never rendered, renamed into the broad
    vocabulary; the image is blank grey and there is no answerer row: text only."""
    from .scene import PALETTE, SHAPES

    return _renamed_questioner_rows(
        n, f"warmstart-reading/{seed}", per_scene, seed,
        lambda rng: renaming(sorted(SHAPES["source"]), sorted(PALETTE["source"]), rng))


def _renamed_questioner_rows(n: int, stream: str, per_scene: int, seed: int, names_for,
                             reframe: Callable[[str, object, random.Random], str] | None = None) -> list[dict]:
    """Text-only questioner rows for `n` source scenes, every word renamed by `names_for(rng)`; with
    `reframe`, each caption is rewritten by `reframe(caption, scene, rng)` before renaming."""
    from PIL import Image

    from rewards.grounding import grounded_in

    from .ground_truth import questions
    from .images import BLANK_GREY
    from .scene import caption, make_scene
    from .warmstart import WORLD_QUESTION_WORDS, questioner_row

    blank = Image.new("RGB", (56, 56), BLANK_GREY)
    rows = []
    for i in range(n):
        key = f"{stream}/{i}"
        scene = make_scene(random.Random(f"{key}/scene"), "source")
        names = names_for(random.Random(f"{key}/names"))
        text = caption(scene, random.Random(f"{key}/text"))
        if reframe is not None:
            text = reframe(text, scene, random.Random(f"{key}/frame"))
        text = rename(text, names)
        for qa in questions(scene, random.Random(f"{key}/qa"), per_scene):
            question, answer = rename(qa.question, names), rename(qa.answer, names)
            if grounded_in(question, text, WORLD_QUESTION_WORDS):
                rows.append(questioner_row(text, question, answer, blank))
    random.Random(seed).shuffle(rows)
    return rows


# Basic colour terms (Berlin and Kay's eleven, less black and white, which vanish on dark and light
# pages), drawn as plain fills: the answerer's colour words are those of any language, not of one world.
BASIC_COLOURS = {"red": (210, 40, 40), "green": (40, 160, 60), "blue": (40, 80, 210), "yellow": (235, 210, 40),
                 "purple": (130, 50, 170), "orange": (240, 140, 30), "pink": (240, 150, 190),
                 "brown": (120, 75, 35), "grey": (150, 150, 150)}
STYLES = ("plain", "field", "grey", "blank")
_LIGHT, _DARK = 165, 100  # luminance of a fill that is plainly light, plainly dark


def _luminance(rgb: tuple[int, int, int]) -> float:
    return 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]


def styled(scene, fills: dict[str, tuple[int, int, int]], style: str, rng: random.Random):
    """`scene` (a source scene) with each colour word drawn as `fills` gives it, in one of STYLES: on
    the world's light page (plain), on a noisy field of a random colour (field), in noisy grayscale
    (grey), or not at all (blank: the blank grey image the blind answers get), as photographs, maps,
    scans and missing pictures differ; colour words cannot be read from grey or blank images."""
    import numpy as np
    from PIL import Image, ImageDraw

    from .images import BLANK_GREY
    from .look_stage import background
    from .scene import _SOURCE_BACKGROUNDS, _draw

    if style == "blank":
        return Image.new("RGB", (scene.size, scene.size), BLANK_GREY)
    page = background(rng) if style == "field" else Image.new(
        "RGB", (scene.size, scene.size), _SOURCE_BACKGROUNDS[scene.seed % len(_SOURCE_BACKGROUNDS)])
    draw = ImageDraw.Draw(page)
    for obj in scene.objects:
        _draw(draw, obj, scene.size, fills[obj.colour])
    if style != "grey":
        return page
    grey = np.asarray(page.convert("L"), dtype=float)
    noise = np.random.default_rng(rng.getrandbits(32)).normal(0, 7, grey.shape)
    return Image.fromarray(np.clip(grey * rng.uniform(0.6, 1.0) + noise, 0, 255).round().astype(np.uint8), "L").convert("RGB")


def _choice(obj, noun: str, colour: str, rgb, style: str, rng: random.Random) -> tuple[str, str]:
    """An "A or B?" question about one object, answered with one of the words it offers: its colour
    (not on grey pages), its size, or whether it is light or dark where it plainly is.

    The light and the dark word are drawn apart (light or bright, dark or dim): drawn as fixed pairs,
    the warm start learned to complete the pair rather than choose, and answered "Is the nodule bright
    or dark?" with "dim" (docs/learning.md, stop 48)."""
    luminance = _luminance(rgb)
    forms = ["size"] + ([] if style == "grey" else ["colour"])
    if luminance >= _LIGHT or luminance <= _DARK:
        forms.append("tone")
    form = rng.choice(forms)
    if form == "colour":
        pair = [colour, rng.choice([c for c in BASIC_COLOURS if c != colour])]
        answer = colour
    elif form == "size":
        pair, answer = ["small", "large"], obj.size
    else:
        light, dark = rng.choice(("light", "bright")), rng.choice(("dark", "dim"))
        pair, answer = [light, dark], light if luminance >= _LIGHT else dark
    rng.shuffle(pair)
    return f"Is the {noun} {pair[0]} or {pair[1]}?", answer


def answering_rows(n: int, seed: int = 0, per_scene: int = 2) -> list[dict]:
    """Answerer rows for `n` source scenes whose shapes are renamed to NOUNS and colours to
    BASIC_COLOURS (consistently within a scene, so a noun never tells which shape it is), drawn in a
    random one of STYLES, plus one "A or B?" question per scene where an object allows it.

    Why: the warm start's answerer has only met the source world's nouns and colours, so on a new
    domain ("Is there a pond?", "Which is higher, the tree or the pond?", "Is the X bright or dark?")
    it answered in the wrong form (colour words to yes/no questions and to choices, source nouns to
    choices), and most of all with a blank image; training then spent itself on the form, which
    raises blind answers as much as sighted ones, and sight measured against such a base is not
    sight. A pretrained VLM answers any noun in the question's form, with a picture or without;
    these rows teach that (yes/no, a number, one of the offered words, a colour it sees; on a blank
    page, the answer a question usually has) and nothing about the targets: colours are drawn as
    their words say, a grey or blank page is never asked a colour, the nouns hold none of the targets'.
    """
    from .ground_truth import questions
    from .scene import PALETTE, SHAPES, make_scene
    from .warmstart import answerer_row

    rows = []
    for i in range(n):
        key = f"warmstart-answering/{seed}/{i}"
        rng = random.Random(f"{key}/style")
        scene = make_scene(random.Random(f"{key}/scene"), "source")
        names = renaming(sorted(SHAPES["source"]), [], random.Random(f"{key}/names"))
        recolour = dict(zip(sorted(PALETTE["source"]), rng.sample(sorted(BASIC_COLOURS), len(PALETTE["source"]))))
        names.update(recolour)
        fills = {c: BASIC_COLOURS[word] for c, word in recolour.items()}
        style = rng.choice(STYLES)
        image = styled(scene, fills, style, rng)
        asked = [(rename(qa.question, names), rename(qa.answer, names))
                 for qa in questions(scene, random.Random(f"{key}/qa"), per_scene)]
        unique = [o for o in scene.objects if sum(p.shape == o.shape for p in scene.objects) == 1]
        if unique and style != "blank":
            obj = rng.choice(unique)
            asked.append(_choice(obj, names[obj.shape], recolour[obj.colour], fills[obj.colour], style, rng))
        for question, answer in asked:
            if style in ("grey", "blank") and set(BASIC_COLOURS) & set(re.findall(r"[a-z]+", f"{question} {answer}".lower())):
                continue
            rows.append(answerer_row(question, answer, image))
    random.Random(seed).shuffle(rows)
    return rows


def made_up_word(rng: random.Random) -> str:
    """A lower-case letter string of 3 to 8 letters: a word nobody has read."""
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 8)))


def facts_of(text: str) -> str:
    """The facts of a source caption, its frame (one of the source templates) taken off.

    >>> facts_of("This image shows a red circle and two blue squares.")
    'a red circle and two blue squares'
    >>> facts_of("A red circle on a plain background.")
    'a red circle'
    """
    from .scene import _TEMPLATES

    for template in _TEMPLATES["source"]:
        pattern = re.escape(template).replace(r"\{facts\}", "(.+)").replace(r"\{Facts\}", "(.+)")
        match = re.fullmatch(pattern, text)
        if match:
            facts = match.group(1)
            return facts[0].lower() + facts[1:] if template.startswith("{Facts}") else facts
    raise ValueError(f"not a source caption: {text!r}")


def made_up_frame(word: Callable[[random.Random], str]):
    """A `reframe` for `_renamed_questioner_rows`: the caption's facts in a frame of made-up words
    (a header, a "... of" phrase, a "... shows" sentence, or the source frame as it was), a third of
    the facts followed by a made-up place ("in the X Y"), and, half the time, a sentence saying that
    one or two kinds the scene lacks are absent ("No Xs.").

    Why: the targets frame their facts in words the warm start never read ("Remote sensing image:",
    "Findings:"), place them ("in the left region") and state absences ("No nodules."); a questioner
    taught on the source frames alone copied the frame's unknown word ("What colour is the
    sensingot?"), and one taught on frames but no places asked about the place ("How many regions
    are there?"). With frames and places as new as the objects, what tells an object apart is its
    place after "a", "an" or a number, on any domain.
    """
    from .scene import SHAPES

    def reframe(text: str, scene, rng: random.Random) -> str:
        facts = facts_of(text)
        placed = re.sub(r"(?=, |\Z| and )", lambda m: f" {rng.choice(['in', 'on', 'at', 'along'])} the {word(rng)} "
                        f"{word(rng)}" if rng.random() < 1 / 3 else "", facts)
        head = " ".join(word(rng) for _ in range(rng.randint(1, 2)))
        opening = head[0].upper() + head[1:]
        form = rng.randrange(4)
        if form == 0:
            text = f"{opening}: {placed}."
        elif form == 1:
            text = f"A {head} {rng.choice(['of', 'with'])} {placed}."
        elif form == 2:
            text = f"{opening} shows {placed}."
        else:
            text = text.replace(facts, placed) if facts in text else text.replace(
                facts[0].upper() + facts[1:], placed[0].upper() + placed[1:])
        absent = sorted(set(SHAPES["source"]) - {o.shape for o in scene.objects})  # not merely left unsaid
        if absent and rng.random() < 0.5:
            text += "".join(f" No {shape}s." for shape in rng.sample(absent, min(len(absent), rng.randint(1, 2))))
        return text

    return reframe


def copy_rows(n: int, seed: int = 0, per_scene: int = 2, word: Callable[[random.Random], str] = made_up_word,
              frames: bool = False) -> list[dict]:
    """Questioner rows as `reading_rows` gives them, but every shape and colour renamed to a made-up
    word (`word`, by default `made_up_word`), new for each scene: text only, blank grey image. With
    `frames`, each caption's frame and some places are made up too, and some captions state what is
    absent (`made_up_frame`).

    Why: a questioner on a domain nobody planned for must ask about what its text names, words it
    has never read, by copying them. With a broad but fixed vocabulary the tiny model learned the
    shape of a word, not to copy one (it invented words on the targets). With a word that is new in
    every row, copying is the only way to lower the loss, and it is learned, like reading the image
    tokens, through a sudden drop in the loss after a plateau (docs/learning.md).
    """
    from .scene import PALETTE, SHAPES

    def made_up(rng: random.Random) -> dict[str, str]:
        names = {}
        for shape in sorted(SHAPES["source"]):
            names[shape] = word(rng)
            names[shape + "s"] = names[shape] + "s"
        names.update((colour, word(rng)) for colour in sorted(PALETTE["source"]))
        return names

    return _renamed_questioner_rows(n, f"copy/{seed}", per_scene, seed, made_up,
                                    made_up_frame(word) if frames else None)

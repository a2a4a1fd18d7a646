"""Looks for the warm start of the built-in shapes model (selfplay/shapes_base.py): nouns that keep one
look in every scene and style, so that whether a named thing is there, and how many, is read from the
image (issue 16, parts 1 and 5).

Why: the broad answering rows (selfplay/broad_reading.py) rename the source shapes to a new noun in
every scene, so that their answers cannot be had from the source nouns; but "Is there a kettle?" is then
answered by a noun bound to no look, and the only thing that lowers its loss is the answer's prior.
A base built so answered existence, counts and comparisons of every new noun by prior: on scan no GRPO
run read them, though a small CNN reads scan's existence facts from the same pixels at 0.92-1.00
(benchmarks/pixels_ceiling.py). A pretrained VLM has the opposite habit: a thing named has a look, and
it is looked for. These rows bind each of LOOK_NOUNS to one form and one size, drawn in any colour and
in the varied styles of the answering rows (the world's page, a noisy coloured field, noisy grey), and
ask whether one is there, how many, and whether there are more of one than of another; a near miss
shares the form or the size of what is there, so that telling both apart is what lowers the loss.

Nothing here is a target's word or look: the forms are the source world's three in its two sizes, and
the nouns are none of broad_reading.NOUNS, which name a new shape in every scene of the answering rows.
"""

from __future__ import annotations

import random

from .broad_reading import BASIC_COLOURS, plural
from .scene import article

FORMS = ("circle", "square", "triangle")
SIZES = ("small", "large")
# two nouns a look, none of them in broad_reading.NOUNS (whose nouns name a new shape in every scene) and
# none a shape's own word: the same in every build and every row
LOOK_NOUNS: dict[str, tuple[str, str]] = {
    "acorn": ("circle", "small"), "locket": ("circle", "small"), "muffin": ("circle", "large"),
    "beacon": ("circle", "large"), "badge": ("square", "small"), "parcel": ("square", "small"),
    "crate": ("square", "large"), "saddle": ("square", "large"), "funnel": ("triangle", "small"),
    "thimble": ("triangle", "small"), "goblet": ("triangle", "large"), "lantern": ("triangle", "large")}
STYLES = ("plain", "field", "grey")
ASKED = ("existence", "count", "comparison")


def near_misses(look: tuple[str, str]) -> list[tuple[str, str]]:
    """The looks that share the form or the size of `look`: an absent thing asked about is one of
    these, so a "no" is earned by telling form and size apart, not by a scene's emptiness.

    >>> near_misses(("circle", "small"))
    [('circle', 'large'), ('square', 'small'), ('triangle', 'small')]
    """
    return [(f, s) for f in FORMS for s in SIZES if (f, s) != look and (f == look[0] or s == look[1])]


def looks_questions(counts: dict[tuple[str, str], int], rng: random.Random, per_scene: int = 2) -> list[tuple[str, str]]:
    """`per_scene` (question, answer) pairs of different forms about a scene with `counts` objects of
    each look (at least one drawn): whether one is there (a drawn look or an absent near miss of one,
    evenly), how many (a drawn look half the time, else a near miss), and whether there are more of one
    than of a near miss (ordered so that "yes" and "no" are as likely where the counts differ).

    >>> counts = {(f, s): 0 for f in FORMS for s in SIZES} | {("circle", "small"): 2}
    >>> looks_questions(counts, random.Random(3), per_scene=3)
    [('Is there a badge?', 'no'), ('Are there more acorns than badges?', 'yes'), ('How many thimbles are there?', '0')]
    """
    nouns: dict[tuple[str, str], list[str]] = {}
    for noun, look in LOOK_NOUNS.items():
        nouns.setdefault(look, []).append(noun)
    present = [look for look, n in counts.items() if n]
    asked = []
    for form in rng.sample(ASKED, per_scene):
        if form == "existence":
            look = rng.choice(present) if rng.random() < 0.5 else rng.choice(
                [m for p in present for m in near_misses(p) if not counts[m]])  # four objects leave one absent
            noun = rng.choice(nouns[look])
            asked.append((f"Is there {article(noun)} {noun}?", "yes" if counts[look] else "no"))
        elif form == "count":
            look = rng.choice(present) if rng.random() < 0.5 else rng.choice(near_misses(rng.choice(present)))
            asked.append((f"How many {plural(rng.choice(nouns[look]))} are there?", str(counts[look])))
        else:
            a = rng.choice(present)
            b = rng.choice(near_misses(a))
            if (counts[a] > counts[b]) != (rng.random() < 0.5):
                a, b = b, a
            asked.append((f"Are there more {plural(rng.choice(nouns[a]))} than {plural(rng.choice(nouns[b]))}?",
                          "yes" if counts[a] > counts[b] else "no"))
    return asked


def looks_rows(n: int, seed: int = 0, per_scene: int = 2) -> list[dict]:
    """Answerer rows for `n` source scenes, each drawn in one of STYLES with a random basic colour per
    kind, with `looks_questions` about them: 2 rows a scene by default."""
    from .broad_reading import styled
    from .scene import PALETTE, make_scene
    from .warmstart import answerer_row

    rows = []
    for i in range(n):
        key = f"warmstart-looks/{seed}/{i}"
        rng = random.Random(key)
        scene = make_scene(random.Random(f"{key}/scene"), "source")
        recolour = dict(zip(sorted(PALETTE["source"]), rng.sample(sorted(BASIC_COLOURS), len(PALETTE["source"]))))
        image = styled(scene, {c: BASIC_COLOURS[w] for c, w in recolour.items()}, rng.choice(STYLES), rng)
        counts = {(f, s): 0 for f in FORMS for s in SIZES}
        for obj in scene.objects:
            counts[obj.shape, obj.size] += 1
        rows += [answerer_row(q, a, image) for q, a in looks_questions(counts, rng, per_scene)]
    random.Random(seed).shuffle(rows)
    return rows

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

Nothing here is a target's word or look: the forms are the source world's three in its two sizes.
"""

from __future__ import annotations

import random

from .broad_reading import BASIC_COLOURS, NOUNS, plural

FORMS = ("circle", "square", "triangle")
SIZES = ("small", "large")
# two nouns a look, drawn once from the broad vocabulary: the same in every build and every row
_DRAWN = random.Random("broad-looks").sample(NOUNS, 2 * len(FORMS) * len(SIZES))
LOOK_NOUNS: dict[str, tuple[str, str]] = {
    noun: (form, size) for i, (form, size) in enumerate((f, s) for f in FORMS for s in SIZES)
    for noun in _DRAWN[2 * i:2 * i + 2]}
STYLES = ("plain", "field", "grey")


def near_misses(look: tuple[str, str]) -> list[tuple[str, str]]:
    """The looks that share the form or the size of `look`: an absent thing asked about is one of
    these, so a "no" is earned by telling form and size apart, not by a scene's emptiness.

    >>> near_misses(("circle", "small"))
    [('circle', 'large'), ('square', 'small'), ('triangle', 'small')]
    """
    return [(f, s) for f in FORMS for s in SIZES if (f, s) != look and (f == look[0] or s == look[1])]


def looks_rows(n: int, seed: int = 0, per_scene: int = 2) -> list[dict]:
    """Answerer rows for `n` source scenes, each object named by its look's noun, drawn in one of STYLES
    with a random basic colour per kind: `per_scene` of "Is there a N?", "How many Ns are there?" and
    "Are there more Ns than Ms?", their answers read off the scene."""
    from .scene import PALETTE, make_scene
    from .broad_reading import styled
    from .warmstart import answerer_row

    by_look = {}
    for noun, look in LOOK_NOUNS.items():
        by_look.setdefault(look, []).append(noun)
    rows = []
    for i in range(n):
        key = f"warmstart-looks/{seed}/{i}"
        rng = random.Random(key)
        scene = make_scene(random.Random(f"{key}/scene"), "source")
        recolour = dict(zip(sorted(PALETTE["source"]), rng.sample(sorted(BASIC_COLOURS), len(PALETTE["source"]))))
        image = styled(scene, {c: BASIC_COLOURS[w] for c, w in recolour.items()}, rng.choice(STYLES), rng)
        counts = {look: 0 for look in by_look}
        for obj in scene.objects:
            counts[obj.shape, obj.size] += 1
        present = [look for look, c in counts.items() if c]
        for _ in range(per_scene):
            form = rng.choice(("existence", "count", "comparison"))
            if form == "existence":
                look = rng.choice(present) if rng.random() < 0.5 else rng.choice(
                    [m for p in present for m in near_misses(p) if not counts[m]] or list(counts))
                noun = rng.choice(by_look[look])
                question, answer = f"Is there {'an' if noun[0] in 'aeiou' else 'a'} {noun}?", \
                    "yes" if counts[look] else "no"
            elif form == "count":
                look = rng.choice(present + near_misses(rng.choice(present)))
                question, answer = f"How many {plural(rng.choice(by_look[look]))} are there?", str(counts[look])
            else:
                a = rng.choice(present)
                b = rng.choice(near_misses(a))
                if rng.random() < 0.5:
                    a, b = b, a
                question = f"Are there more {plural(rng.choice(by_look[a]))} than {plural(rng.choice(by_look[b]))}?"
                answer = "yes" if counts[a] > counts[b] else "no"
            rows.append(answerer_row(question, answer, image))
    random.Random(seed).shuffle(rows)
    return rows

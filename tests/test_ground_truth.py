"""The shapes world's hidden ground truth: every answer agrees with what was drawn, and truth()
answers questions the generator never wrote.

Answers are recomputed here from the images themselves (source domain) or from the scene graph after
its colours were checked on the pixels (scan, aerial; tests/test_scene.py), by a parser of the
question templates that shares no code with the generator.
"""

import random
import re
from collections import Counter

import pytest

from selfplay.ground_truth import QTYPES, SPATIAL_MARGIN, chance, questions, truth
from selfplay.scene import DOMAINS, PALETTE, SHAPES, Scene, SceneObject, bbox_at, make_scene
from selfplay.world import load_scenes
from world_files import source_inventory

EVERYTHING = {"source": "shapes", "scan": "findings"}


def select(desc, inventory, domain):
    words = desc.split()
    if words == [EVERYTHING.get(domain)]:
        return list(inventory)
    colour = words[0] if len(words) == 2 else None
    noun, shapes = words[-1], set(SHAPES[domain])
    shape = next((s for s in (noun, noun[:-1], noun[:-2]) if s in shapes), None)
    assert shape or noun == "shapes", desc
    return [o for o in inventory
            if (colour is None or o["colour"] == colour) and (shape is None or o["shape"] == shape)]


def one(desc, inventory, domain):
    found = select(desc, inventory, domain)
    assert len(found) == 1, f"{desc!r} does not name exactly one object"
    return found[0]


def expected_answer(qa, inventory, domain, slack=0.0):
    q = qa["question"]
    yn = lambda b: "yes" if b else "no"  # noqa: E731
    if m := re.fullmatch(r"How many (.+) are there\?", q):
        return str(len(select(m[1], inventory, domain)))
    if m := re.fullmatch(r"Is there an? (.+)\?", q):
        return yn(select(m[1], inventory, domain))
    if m := re.fullmatch(r"What colour is the (\w+)\?|Is the (\w+) bright or dark\?", q):
        return one(m[1] or m[2], inventory, domain)["colour"]
    if m := re.fullmatch(r"Are there more (.+) than (.+)\?", q):
        return yn(len(select(m[1], inventory, domain)) > len(select(m[2], inventory, domain)))
    if m := re.fullmatch(r"Is the (.+) (left of|right of|above|below) the (.+)\?", q):
        a, b = one(m[1], inventory, domain), one(m[3], inventory, domain)
        axis, sign = {"left of": ("x", 1), "right of": ("x", -1), "above": ("y", 1), "below": ("y", -1)}[m[2]]
        assert abs(a[axis] - b[axis]) > 0.15 - slack, f"ambiguous: {q}"
        return yn(sign * (b[axis] - a[axis]) > 0)
    if m := re.fullmatch(r"Which is (further left|further right|higher|lower), the (.+) or the (.+)\?", q):
        a, b = one(m[2], inventory, domain), one(m[3], inventory, domain)
        axis, sign = {"further left": ("x", 1), "further right": ("x", -1),
                      "higher": ("y", 1), "lower": ("y", -1)}[m[1]]
        assert abs(a[axis] - b[axis]) > 0.15 - slack, f"ambiguous: {q}"
        return m[2] if sign * (b[axis] - a[axis]) > 0 else m[3]
    raise AssertionError(f"unknown question form: {q}")


# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------


def test_source_answers_agree_with_pixels(worlds):
    root, _, _, qa = worlds["source"]
    inventories = {}
    for row in qa:
        inventory = inventories.setdefault(row["id"], source_inventory(root / row["image"]))
        assert row["answer"] == expected_answer(row, inventory, "source", slack=2 / 56), row


@pytest.mark.parametrize("domain", DOMAINS)
def test_answers_agree_with_scene_graph(worlds, domain):
    _, scenes, _, qa = worlds[domain]
    for row in qa:
        inventory = [vars(o) for o in scenes[row["id"]].objects]
        assert row["answer"] == expected_answer(row, inventory, domain), row


def test_question_types_answers_and_balance(worlds):
    every = [(d, r) for d in DOMAINS for r in worlds[d][3]]
    assert {r["qtype"] for _, r in every} == set(QTYPES)
    for domain, r in every:
        if r["qtype"] in ("existence", "comparison"):
            assert r["answer"] in ("yes", "no") and r["choices"] is None
        elif r["qtype"] == "count":
            assert r["answer"].isdigit() and 0 <= int(r["answer"]) <= 4
        elif r["qtype"] == "attribute":
            assert r["answer"] in r["choices"]
            assert r["choices"] == (["grey", "red"] if domain == "aerial" else list(PALETTE[domain]))
        else:
            assert r["answer"] in ("yes", "no") if r["choices"] is None else r["answer"] in r["choices"]
    existence = [r["answer"] for _, r in every if r["qtype"] == "existence"]
    assert 0.35 <= existence.count("yes") / len(existence) <= 0.65
    yes_no_spatial = [r["answer"] for _, r in every if r["qtype"] == "spatial" and r["choices"] is None]
    assert 0.25 <= yes_no_spatial.count("yes") / len(yes_no_spatial) <= 0.75
    per_image = Counter(r["id"] for _, r in every)
    assert max(per_image.values()) == 4


def test_chance():
    assert chance("existence", "scan") == chance("spatial", "aerial") == chance("comparison", "source") == 0.5
    assert chance("attribute", "source") == pytest.approx(1 / 6)
    assert chance("attribute", "scan") == chance("attribute", "aerial") == 0.5
    assert chance("count", "source") == pytest.approx(1 / 5)
    with pytest.raises(ValueError, match="qtype"):
        chance("colour", "source")


# ---------------------------------------------------------------------------------------------
# truth(): answers for questions the generator never wrote
# ---------------------------------------------------------------------------------------------


def plural(shape):
    return shape + "es" if shape.endswith("s") else shape + "s"


def vocabulary(domain):
    """Every singular and plural object phrase the templates use in ``domain`` (written here anew)."""
    singular, many = [], []
    for shape, colours in SHAPES[domain].items():
        singular.append(shape)
        many.append(plural(shape))
        if len(colours) > 1:
            singular += [f"{c} {shape}" for c in colours]
            many += [f"{c} {plural(shape)}" for c in colours]
    if domain == "source":
        many += [f"{c} shapes" for c in PALETTE[domain]]
    many += [EVERYTHING[domain]] if domain in EVERYTHING else []
    return singular, many


def template_grid(domain, rng, spatial=200):
    singular, many = vocabulary(domain)
    out = [f"How many {p} are there?" for p in many]
    out += [f"Is there {'an' if p[0] in 'aeiou' else 'a'} {p}?" for p in singular]
    attribute = "Is the {} bright or dark?" if domain == "scan" else "What colour is the {}?"
    out += [attribute.format(s) for s in SHAPES[domain]]
    out += [f"Are there more {x} than {y}?" for x in many for y in many if x != y]
    for _ in range(spatial):
        a, b = rng.sample(singular, 2)
        if rng.random() < 0.5:
            out.append(f"Is the {a} {rng.choice(['left of', 'right of', 'above', 'below'])} the {b}?")
        else:
            out.append(f"Which is {rng.choice(['further left', 'further right', 'higher', 'lower'])}, "
                       f"the {a} or the {b}?")
    return out


def variants(question):
    yield question
    yield question.lower().rstrip("?")
    yield "  " + question.upper().replace(" ", "   ") + " ??"
    yield question.replace("colour", "color").replace("grey", "gray")


def obj(shape, colour, x, y, side=0.1):
    o = SceneObject(shape, colour, "small", x, y, side, side, (0, 0, 0, 0), 0)
    o.bbox = bbox_at(o, 56)
    return o


@pytest.mark.parametrize("domain", DOMAINS)
def test_truth_recomputes_every_generated_answer(domain):
    seen = Counter()
    for seed in range(400):
        scene = make_scene(random.Random(f"truth/{seed}"), domain)
        for qa in questions(scene, random.Random(f"truth/{seed}/qa"), 8):
            seen[qa.qtype] += 1
            for text in variants(qa.question):
                assert truth(scene, text) == qa.answer, (text, qa, scene)
    assert set(seen) == set(QTYPES)


@pytest.mark.parametrize("domain", DOMAINS)
def test_truth_matches_the_qa_files_through_load_scenes(worlds, domain):
    root, _, _, qa = worlds[domain]
    scenes = load_scenes(root)
    assert all(truth(scenes[r["id"]], r["question"]) == r["answer"] for r in qa)


@pytest.mark.parametrize("domain", DOMAINS)
def test_truth_answers_every_template_like_an_independent_parser(worlds, domain):
    """Every template filled with every phrase of the domain, present or not: truth() agrees with
    the parser above, and gives None exactly where that parser finds the question ambiguous."""
    _, scenes, _, _ = worlds[domain]
    rng = random.Random(domain)
    answered = Counter()
    for scene in scenes.values():
        inventory = [vars(o) for o in scene.objects]
        for question in template_grid(domain, rng):
            try:
                expected = expected_answer({"question": question}, inventory, domain)
            except AssertionError:
                expected = None
            assert truth(scene, question) == expected, (question, scene)
            answered[expected is None] += 1
    assert answered[True] and answered[False]


def test_truth_of_absent_kinds():
    scene = Scene("source", 56, 0, [obj("circle", "red", 0.2, 0.2), obj("square", "blue", 0.7, 0.25),
                                    obj("square", "green", 0.25, 0.75)])
    assert truth(scene, "How many purple triangles are there?") == "0"
    assert truth(scene, "How many triangles are there?") == "0"
    assert truth(scene, "How many orange shapes are there?") == "0"
    assert truth(scene, "how many squares are there") == "2"
    assert truth(scene, "How many shapes are there?") == "3"
    assert truth(scene, "Is there a purple triangle?") == "no"
    assert truth(scene, "Is there an orange square?") == "no"
    assert truth(scene, "Is there a triangle?") == "no"
    assert truth(scene, "Is there a blue square?") == "yes"
    assert truth(scene, "Are there more triangles than circles?") == "no"
    assert truth(scene, "Are there more squares than purple circles?") == "yes"
    aerial = Scene("aerial", 56, 0, [obj("pond", "blue", 0.3, 0.3)])
    assert truth(aerial, "How many grey buildings are there?") == "0"
    assert truth(aerial, "Is there a red building?") == "no"
    assert truth(aerial, "What colour is the pond?") == "blue"


def test_truth_refuses_what_is_not_a_template_or_not_in_the_vocabulary():
    scene = Scene("source", 56, 0, [obj("circle", "red", 0.2, 0.2), obj("square", "blue", 0.7, 0.6)])
    assert truth(scene, "How many circles are there?") == "1"  # the template itself is answered
    for question in ("Why is the sky blue?", "", "?", "How many circles can you see?", "Is there a red circle here?",
                     "What colour is the circle and the square?", "Is the circle near the square?"):
        assert truth(scene, question) is None, question
    for question in ("How many dogs are there?", "Is there a pink circle?", "What colour is the hexagon?",
                     "How many ponds are there?", "Is there a bright nodule?", "Are there more circles than cats?",
                     "Is the circle left of the dog?", "Which is higher, the red circle or the cube?",
                     "What colour is the red circle?", "Is the circle bright or dark?"):
        assert truth(scene, question) is None, question
    scan = Scene("scan", 56, 0, [obj("nodule", "bright", 0.4, 0.4)], (0.5, 0.5, 0.44, 0.4))
    assert truth(scan, "Is the nodule bright or dark?") == "bright"
    assert truth(scan, "How many circles are there?") is None  # another domain's word
    assert truth(scan, "What colour is the nodule?") is None  # scan asks bright or dark
    aerial = Scene("aerial", 56, 0, [obj("pond", "blue", 0.3, 0.3)])
    assert truth(aerial, "How many shapes are there?") is None  # aerial has no word for everything
    assert truth(aerial, "Is there a blue pond?") is None  # ponds are never named with their colour


def test_truth_refuses_ambiguous_attributes():
    scene = Scene("source", 56, 0, [obj("circle", "red", 0.2, 0.2), obj("square", "blue", 0.7, 0.25),
                                    obj("square", "green", 0.25, 0.75)])
    assert truth(scene, "What colour is the circle?") == "red"
    assert truth(scene, "What color is the square?") is None  # two squares
    assert truth(scene, "What colour is the triangle?") is None  # none
    scan = Scene("scan", 56, 0, [obj("mass", "dark", 0.3, 0.4), obj("mass", "bright", 0.7, 0.6)],
                 (0.5, 0.5, 0.44, 0.4))
    assert truth(scan, "Is the mass bright or dark?") is None
    assert truth(Scene("scan", 56, 0, scan.objects[:1], scan.organ), "Is the mass bright or dark?") == "dark"


def test_truth_refuses_near_equal_spatial_relations():
    near = SPATIAL_MARGIN * 2 / 3
    scene = Scene("source", 56, 0, [obj("circle", "red", 0.3, 0.2), obj("triangle", "blue", 0.3 + near, 0.8)])
    assert truth(scene, "Is the circle left of the triangle?") is None
    assert truth(scene, "Is the triangle right of the circle?") is None
    assert truth(scene, "Which is further left, the circle or the triangle?") is None
    assert truth(scene, "Is the circle above the triangle?") == "yes"
    assert truth(scene, "Is the circle below the triangle?") == "no"
    assert truth(scene, "Which is higher, the triangle or the circle?") == "circle"
    assert truth(scene, "which is lower the red circle or the blue triangle") == "blue triangle"
    apart = Scene("source", 56, 0, [obj("circle", "red", 0.3, 0.2), obj("triangle", "blue", 0.3 + 2 * near, 0.2)])
    assert truth(apart, "Is the circle left of the triangle?") == "yes"
    assert truth(apart, "Is the circle above the triangle?") is None


def test_truth_needs_phrases_that_single_out_one_object():
    scene = Scene("aerial", 56, 0, [obj("building", "grey", 0.2, 0.2), obj("building", "red", 0.8, 0.2),
                                    obj("pond", "blue", 0.5, 0.8)])
    assert truth(scene, "Is the building left of the pond?") is None  # two buildings
    assert truth(scene, "Is the grey building left of the pond?") == "yes"
    assert truth(scene, "Is the Gray  Building above the pond") == "yes"
    assert truth(scene, "Which is further right, the gray building or the red building?") == "red building"
    assert truth(scene, "Which is further left, the gray building or the red building?") == "grey building"
    assert truth(scene, "Is the tree above the pond?") is None  # no tree
    assert truth(scene, "Is the pond below the pond?") is None  # one object twice

"""The shapes world: files are deterministic, and every hidden answer agrees with what was drawn.

Answers are recomputed here from the images themselves (source domain: connected components of
each colour, shapes told apart by how much of their box they fill) or from the scene graph after
its colours were checked on the pixels (scan, aerial), by a parser of the question templates that
shares no code with the generator.
"""

import json
import random
import re
from collections import Counter, deque
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from selfplay.manifest import read_items
from selfplay.world import (
    DOMAINS,
    PALETTE,
    QTYPES,
    SHAPES,
    SPATIAL_MARGIN,
    Scene,
    SceneObject,
    bbox_at,
    chance,
    generate,
    load_scenes,
    make_scene,
    questions,
    render,
    truth,
)

N = {"source": 40, "scan": 30, "aerial": 30}
EVERYTHING = {"source": "shapes", "scan": "findings"}


def rows(path):
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]


def tree_bytes(root):
    root = Path(root)
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def worlds(tmp_path_factory):
    out = {}
    for domain in DOMAINS:
        root = generate(tmp_path_factory.mktemp(domain), domain, N[domain], seed=7)
        scenes = {r["id"]: Scene.from_dict(r["scene"]) for r in rows(root / "scenes.jsonl")}
        out[domain] = (root, scenes, rows(root / "manifest.jsonl"), rows(root / "qa.jsonl"))
    return out


# ---------------------------------------------------------------------------------------------
# Reading the pixels back
# ---------------------------------------------------------------------------------------------


def components(mask):
    """4-connected components of a boolean mask, as lists of (row, col)."""
    seen = np.zeros_like(mask, dtype=bool)
    found = []
    for r0, c0 in zip(*np.nonzero(mask)):
        if seen[r0, c0]:
            continue
        seen[r0, c0] = True
        queue, pixels = deque([(r0, c0)]), []
        while queue:
            r, c = queue.popleft()
            pixels.append((r, c))
            for rr, cc in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
                if 0 <= rr < mask.shape[0] and 0 <= cc < mask.shape[1] and mask[rr, cc] and not seen[rr, cc]:
                    seen[rr, cc] = True
                    queue.append((rr, cc))
        found.append(pixels)
    return found


def source_inventory(png):
    """(colour, shape, x, y, box) for each blob of a palette colour in a source-domain image."""
    image = np.asarray(Image.open(png).convert("RGB")).astype(int)
    size = image.shape[0]
    found = []
    for colour, rgb in PALETTE["source"].items():
        mask = np.abs(image - np.array(rgb)).max(-1) < 30
        for pixels in components(mask):
            rs, cs = [p[0] for p in pixels], [p[1] for p in pixels]
            box = (min(cs), min(rs), max(cs), max(rs))
            fill = len(pixels) / ((box[2] - box[0] + 1) * (box[3] - box[1] + 1))
            shape = "square" if fill > 0.9 else "circle" if fill > 0.65 else "triangle"
            x, y = (box[0] + box[2] + 1) / 2 / size, (box[1] + box[3] + 1) / 2 / size
            found.append({"colour": colour, "shape": shape, "x": x, "y": y, "box": box})
    return found


def centre_colour(image, box, domain):
    """The palette word nearest the pixel at the centre of ``box``, or None when none is near."""
    pixel = np.asarray(image)[(box[1] + box[3]) // 2, (box[0] + box[2]) // 2].astype(int)
    dist = {word: np.abs(pixel - np.array(rgb)).max() for word, rgb in PALETTE[domain].items()}
    word = min(dist, key=dist.get)
    return word if dist[word] < 45 else None


# ---------------------------------------------------------------------------------------------
# Answering the templates independently
# ---------------------------------------------------------------------------------------------


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


def test_generate_is_deterministic_per_seed(tmp_path):
    first = tree_bytes(generate(tmp_path / "a", "aerial", 6, seed=3))
    again = tree_bytes(generate(tmp_path / "b", "aerial", 6, seed=3))
    other = tree_bytes(generate(tmp_path / "c", "aerial", 6, seed=4))
    images = {f"images/aerial-{i:05d}.png" for i in range(6)}
    assert set(first) == {"manifest.jsonl", "qa.jsonl", "scenes.jsonl"} | images
    assert first == again
    assert set(other) == set(first)
    assert other["manifest.jsonl"] != first["manifest.jsonl"]
    assert all(other[k] != first[k] for k in first if k.startswith("images/"))


def test_source_pixels_show_exactly_the_scene_objects(worlds):
    root, scenes, _, _ = worlds["source"]
    for item_id, scene in scenes.items():
        found = source_inventory(root / "images" / f"{item_id}.png")
        drawn = Counter((o["colour"], o["shape"]) for o in found)
        assert drawn == Counter((o.colour, o.shape) for o in scene.objects), item_id
        boxes = sorted(o["box"] for o in found)
        assert boxes == sorted(tuple(o.bbox) for o in scene.objects), item_id  # drawn where the graph says


def test_source_answers_agree_with_pixels(worlds):
    root, _, _, qa = worlds["source"]
    inventories = {}
    for row in qa:
        inventory = inventories.setdefault(row["id"], source_inventory(root / row["image"]))
        assert row["answer"] == expected_answer(row, inventory, "source", slack=2 / 56), row


@pytest.mark.parametrize("domain", DOMAINS)
def test_object_centres_have_their_colour(worlds, domain):
    root, scenes, _, _ = worlds[domain]
    for item_id, scene in scenes.items():
        image = Image.open(root / "images" / f"{item_id}.png").convert("RGB")
        for obj in scene.objects:
            assert centre_colour(image, obj.bbox, domain) == obj.colour, (item_id, obj)


@pytest.mark.parametrize("domain", DOMAINS)
def test_answers_agree_with_scene_graph(worlds, domain):
    _, scenes, _, qa = worlds[domain]
    for row in qa:
        inventory = [vars(o) for o in scenes[row["id"]].objects]
        assert row["answer"] == expected_answer(row, inventory, domain), row


@pytest.mark.parametrize("domain", DOMAINS)
def test_objects_are_apart_and_inside_the_image(worlds, domain):
    _, scenes, _, _ = worlds[domain]
    for scene in scenes.values():
        assert 1 <= len(scene.objects) <= 4
        for i, a in enumerate(scene.objects):
            assert 0 <= a.bbox[0] <= a.bbox[2] < scene.size and 0 <= a.bbox[1] <= a.bbox[3] < scene.size
            for b in scene.objects[i + 1:]:
                gap_x = max(b.bbox[0] - a.bbox[2], a.bbox[0] - b.bbox[2]) - 1
                gap_y = max(b.bbox[1] - a.bbox[3], a.bbox[1] - b.bbox[3]) - 1
                assert max(gap_x, gap_y) >= 2, (a, b)


@pytest.mark.parametrize("size", [56, 84, 112])
@pytest.mark.parametrize("domain", DOMAINS)
def test_every_domain_renders_at_each_size(tmp_path, domain, size):
    root = generate(tmp_path, domain, 3, seed=1, size=size)
    for row in rows(root / "scenes.jsonl"):
        scene = Scene.from_dict(row["scene"])
        image = Image.open(root / row["image"])
        assert image.mode == "RGB" and image.size == (size, size)
        for obj in scene.objects:
            assert centre_colour(image, obj.bbox, domain) == obj.colour
    scene = make_scene(random.Random(5), domain, 56)  # a scene laid out once renders at any size
    big = render(scene, size)
    assert big.size == (size, size)
    assert all(centre_colour(big, bbox_at(o, size), domain) == o.colour for o in scene.objects)


def test_domains_look_different(worlds):
    stats = {}
    for domain in DOMAINS:
        root, _, manifest, _ = worlds[domain]
        pixels = np.stack([np.asarray(Image.open(root / r["image"])).astype(float) for r in manifest[:10]])
        saturation = (pixels.max(-1) - pixels.min(-1)).mean()
        stats[domain] = (pixels.mean(), saturation, np.median(np.abs(np.diff(pixels, axis=2))))
    assert stats["source"][0] > stats["aerial"][0] + 40 and stats["source"][0] > stats["scan"][0] + 40  # light
    assert stats["scan"][1] < 1  # grayscale
    assert stats["source"][2] == 0 and stats["scan"][2] > 3 and stats["aerial"][2] > 3  # clean vs textured


@pytest.mark.parametrize("domain", DOMAINS)
def test_manifest_rows_are_the_user_format(worlds, domain):
    root, _, manifest, qa = worlds[domain]
    assert len(manifest) == N[domain]
    for row in manifest:
        assert set(row) == {"id", "image", "text"}
        assert row["image"] == f"images/{row['id']}.png" and (root / row["image"]).is_file()
        assert isinstance(row["text"], str) and row["text"]
    items, skipped = read_items(root / "manifest.jsonl", require_text=True)
    assert not skipped and [i.id for i in items] == [r["id"] for r in manifest]
    text = (root / "manifest.jsonl").read_text()
    assert "qa.jsonl" not in text
    assert not any(r["question"] in text for r in qa)
    assert all(set(r) == {"id", "image", "question", "answer", "qtype", "choices"} for r in qa)


def test_captions_vary_and_sometimes_omit_a_kind(tmp_path):
    full = rows(generate(tmp_path / "full", "source", 80, seed=2, omit=0.0) / "manifest.jsonl")
    part_root = generate(tmp_path / "part", "source", 80, seed=2, omit=0.5)
    part = rows(part_root / "manifest.jsonl")
    scenes = [Scene.from_dict(r["scene"]) for r in rows(part_root / "scenes.jsonl")]
    same_image = (tmp_path / "full/images/source-00000.png").read_bytes()
    assert same_image == (part_root / "images/source-00000.png").read_bytes()  # omit leaves images alone
    assert len({" ".join(r["text"].split()[:2]) for r in part}) >= 4  # several templates
    missing = multi = reordered = 0
    number = {1: r"an? (?:small |large )?", 2: "two ", 3: "three ", 4: "four "}
    for scene, f, p in zip(scenes, full, part):
        kinds = Counter((o.colour, o.shape) for o in scene.objects)
        for (colour, shape), n in kinds.items():
            pattern = number[n] + colour + " " + shape + ("s" if n > 1 else "") + r"\b"
            assert re.search(pattern, f["text"], re.I), (f["text"], kinds)
            missing += not re.search(pattern, p["text"], re.I)
        said = re.findall(r"(\w+) (circle|square|triangle)", p["text"])
        assert all((c, s) in kinds for c, s in said), p["text"]  # never a false fact
        assert len(said) >= len(kinds) - 1  # at most one kind left out
        multi += len(kinds) > 1
        in_text = re.findall(r"(\w+) (circle|square|triangle)", f["text"])
        reordered += in_text != list(dict.fromkeys((o.colour, o.shape) for o in scene.objects))
    assert 0.2 * multi <= missing <= 0.8 * multi
    assert reordered > 0


def test_scan_and_aerial_captions_state_only_true_facts(worlds):
    for item_id, scene in worlds["scan"][1].items():
        text = next(r["text"] for r in worlds["scan"][2] if r["id"] == item_id)
        shapes = {o.shape for o in scene.objects}
        assert ("No mass." in text) == ("mass" not in shapes) or "Impression" in text, text
        stated = re.sub(r"No (mass|line|nodules)\.", "", text)
        for shape in re.findall(r"(nodule|mass|line)", stated):
            assert shape in shapes, text
    for item_id, scene in worlds["aerial"][1].items():
        text = next(r["text"] for r in worlds["aerial"][2] if r["id"] == item_id)
        shapes = {o.shape for o in scene.objects}
        assert all(s in shapes for s in re.findall(r"(building|pond|tree|road)", text)), text


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


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match="domain"):
        generate(tmp_path, "xray", 1, seed=0)
    with pytest.raises(ValueError, match="size"):
        generate(tmp_path, "source", 1, seed=0, size=16)
    with pytest.raises(ValueError, match="omit"):
        generate(tmp_path, "source", 1, seed=0, omit=1.5)


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


def test_load_scenes_round_trips_generated_scenes(tmp_path):
    for domain in DOMAINS:
        root = generate(tmp_path / domain, domain, 5, seed=9)
        scenes = load_scenes(root)
        raw = rows(root / "scenes.jsonl")
        assert list(scenes) == [r["id"] for r in raw] == [r["id"] for r in rows(root / "manifest.jsonl")]
        assert load_scenes(root / "scenes.jsonl") == scenes
        for r in raw:
            scene = scenes[r["id"]]
            assert isinstance(scene, Scene) and json.loads(json.dumps(scene.to_dict())) == r["scene"]
            assert all(isinstance(o.bbox, tuple) for o in scene.objects)
            assert (scene.organ is not None) == (domain == "scan")
            png = tmp_path / "again.png"
            render(scene).save(png, format="PNG")
            assert png.read_bytes() == (root / r["image"]).read_bytes()

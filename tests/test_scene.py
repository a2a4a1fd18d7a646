"""The shapes world's scenes: objects are drawn where the scene graph says, in their colours, apart,
at any size; domains look different; captions vary, sometimes omit a kind and never state a falsehood.

The objects are read back from the images themselves (source domain: connected components of each
colour, shapes told apart by how much of their box they fill; scan, aerial: the colour at each
object's centre).
"""

import random
import re
from collections import Counter

import numpy as np
import pytest
from PIL import Image

from selfplay.scene import DOMAINS, Scene, bbox_at, make_scene, render
from selfplay.world import generate
from world_files import centre_colour, rows, source_inventory


def test_source_pixels_show_exactly_the_scene_objects(worlds):
    root, scenes, _, _ = worlds["source"]
    for item_id, scene in scenes.items():
        found = source_inventory(root / "images" / f"{item_id}.png")
        drawn = Counter((o["colour"], o["shape"]) for o in found)
        assert drawn == Counter((o.colour, o.shape) for o in scene.objects), item_id
        boxes = sorted(o["box"] for o in found)
        assert boxes == sorted(tuple(o.bbox) for o in scene.objects), item_id  # drawn where the graph says


@pytest.mark.parametrize("domain", DOMAINS)
def test_object_centres_have_their_colour(worlds, domain):
    root, scenes, _, _ = worlds[domain]
    for item_id, scene in scenes.items():
        image = Image.open(root / "images" / f"{item_id}.png").convert("RGB")
        for obj in scene.objects:
            assert centre_colour(image, obj.bbox, domain) == obj.colour, (item_id, obj)


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

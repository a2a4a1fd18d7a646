"""selfplay.data on real files written with PIL: good images converted, bad ones skipped and recorded."""

import json
import logging

import numpy as np
import pytest
from PIL import Image

from selfplay.data import (
    BadImage,
    DataError,
    ImageTextData,
    fit_size,
    load_image,
    read_items,
    shard,
    verify_image,
)

BUDGET = 256 * 256


def save(path, image, **kwargs):
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **kwargs)
    return path


def noisy_png(path, size=(64, 64)):
    rng = np.random.default_rng(0)
    return save(path, Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)))


def noisy_jpeg(path, size=(64, 64)):
    rng = np.random.default_rng(1)
    return save(path, Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)), quality=90)


def write_manifest(path, rows):
    """Rows are dicts (dumped as JSON) or raw bytes (written as they are)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [row if isinstance(row, bytes) else json.dumps(row).encode() for row in rows]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def good_images(folder, n):
    return [noisy_png(folder / f"good{i}.png", (8, 8)) for i in range(n)]


def read_skipped(output_dir):
    return [json.loads(line) for line in (output_dir / "skipped_items.jsonl").read_text().splitlines()]


# --- conversions: awkward but valid images come out as correct RGB -----------------------------


def test_rgb_png_loads_unchanged(tmp_path):
    array = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    path = save(tmp_path / "a.png", Image.fromarray(array))
    im = load_image(path, max_pixels=BUDGET)
    assert im.mode == "RGB" and im.size == (30, 20)
    assert np.array_equal(np.asarray(im), array)


def test_jpeg_exif_orientation_is_applied(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, displayed rotated 90 degrees
    path = save(tmp_path / "rot.jpg", Image.new("RGB", (40, 20), (200, 10, 10)), exif=exif.tobytes())
    im = load_image(path, max_pixels=BUDGET)
    assert im.size == (20, 40)


def test_large_rotated_jpeg_is_fitted_after_rotation(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6
    path = save(tmp_path / "big.jpg", Image.new("RGB", (2000, 1000), (0, 120, 0)), exif=exif.tobytes())
    im = load_image(path, max_pixels=100 * 50)
    assert im.size == (50, 100)
    assert np.abs(np.asarray(im).astype(int) - (0, 120, 0)).max() < 8


def test_cmyk_jpeg_is_converted(tmp_path):
    path = save(tmp_path / "cmyk.jpg", Image.new("CMYK", (16, 16), (0, 255, 255, 0)), quality=95)
    assert Image.open(path).mode == "CMYK"
    im = load_image(path, max_pixels=BUDGET)
    assert im.mode == "RGB"
    r, g, b = im.getpixel((8, 8))
    assert r > 240 and g < 15 and b < 15


def test_16bit_png_is_scaled_by_its_range_not_clipped(tmp_path):
    values = np.linspace(0, 4095, 64 * 64).round().astype(np.uint16).reshape(64, 64)
    path = save(tmp_path / "deep.png", Image.fromarray(values))
    assert Image.open(path).mode in {"I;16", "I"}
    out = np.asarray(load_image(path, max_pixels=BUDGET))
    assert out.min() == 0 and out.max() == 255
    assert abs(int(out[32, 0, 0]) - 128) <= 2  # value ~2048 is mid-grey, not clipped to 255
    assert len(np.unique(out)) > 200


def test_palette_png_transparency_becomes_white(tmp_path):
    im = Image.new("P", (4, 4), 0)
    im.putpalette([0, 0, 0, 255, 0, 0] + [0] * (254 * 3))
    im.putpixel((1, 1), 1)
    path = save(tmp_path / "pal.png", im, transparency=0)
    out = load_image(path, max_pixels=BUDGET)
    assert out.getpixel((0, 0)) == (255, 255, 255)
    assert out.getpixel((1, 1)) == (255, 0, 0)


def test_rgba_is_composited_on_white(tmp_path):
    im = Image.new("RGBA", (3, 1))
    im.putdata([(255, 0, 0, 0), (255, 0, 0, 255), (0, 0, 0, 128)])
    out = load_image(save(tmp_path / "rgba.png", im), max_pixels=BUDGET)
    assert out.getpixel((0, 0)) == (255, 255, 255)
    assert out.getpixel((1, 0)) == (255, 0, 0)
    assert all(120 <= c <= 135 for c in out.getpixel((2, 0)))


def test_la_is_composited_on_white(tmp_path):
    im = Image.new("LA", (2, 1))
    im.putdata([(0, 0), (0, 255)])
    out = load_image(save(tmp_path / "la.png", im), max_pixels=BUDGET)
    assert out.getpixel((0, 0)) == (255, 255, 255)
    assert out.getpixel((1, 0)) == (0, 0, 0)


def test_one_bit_and_grayscale_become_rgb(tmp_path):
    bits = Image.new("1", (2, 1))
    bits.putpixel((1, 0), 1)
    out = load_image(save(tmp_path / "bits.png", bits), max_pixels=BUDGET)
    assert out.mode == "RGB" and out.getpixel((0, 0)) == (0, 0, 0) and out.getpixel((1, 0)) == (255, 255, 255)
    gray = load_image(save(tmp_path / "gray.png", Image.new("L", (2, 2), 100)), max_pixels=BUDGET)
    assert gray.mode == "RGB" and gray.getpixel((0, 0)) == (100, 100, 100)


# --- pixel budget ------------------------------------------------------------------------------


def test_downscale_keeps_aspect_and_budget(tmp_path):
    path = save(tmp_path / "wide.png", Image.new("RGB", (400, 100), (0, 0, 255)))
    w, h = load_image(path, max_pixels=56 * 56).size
    assert w * h <= 56 * 56
    assert w * h > 0.9 * 56 * 56
    assert abs(w / h - 4) < 0.1


def test_upscale_to_min_pixels(tmp_path):
    path = save(tmp_path / "tiny.png", Image.new("RGB", (10, 5), (0, 0, 255)))
    w, h = load_image(path, max_pixels=BUDGET, min_pixels=1000).size
    assert 1000 <= w * h <= BUDGET
    assert abs(w / h - 2) < 0.1
    assert load_image(path, max_pixels=BUDGET).size == (10, 5)


@pytest.mark.parametrize(
    ("size", "max_pixels", "min_pixels"),
    [((10000, 1), 100, None), ((1, 10000), 100, None), ((3, 3), 10, 10), ((7, 13), 91, 90), ((1, 1), 5, 5)],
)
def test_fit_size_bounds(size, max_pixels, min_pixels):
    w, h = fit_size(*size, max_pixels=max_pixels, min_pixels=min_pixels)
    assert w >= 1 and h >= 1 and w * h <= max_pixels
    if min_pixels is not None:
        assert w * h >= min_pixels


def test_fit_size_exhaustive_small():
    for width in range(1, 30):
        for height in range(1, 30):
            for max_pixels, min_pixels in [(50, None), (200, 100), (400, 390), (64, 64)]:
                w, h = fit_size(width, height, max_pixels=max_pixels, min_pixels=min_pixels)
                assert 1 <= w * h <= max_pixels, (width, height, max_pixels)
                if width * height <= max_pixels and (min_pixels is None or width * height >= min_pixels):
                    assert (w, h) == (width, height)
                if min_pixels is not None:
                    assert w * h >= min_pixels or (w + 1) * h > max_pixels and w * (h + 1) > max_pixels


def test_fit_size_rejects_impossible_budget():
    with pytest.raises(ValueError, match="min_pixels"):
        fit_size(10, 10, max_pixels=100, min_pixels=200)


# --- bad images --------------------------------------------------------------------------------


def test_bad_files_raise_bad_image_with_reason(tmp_path):
    zero = tmp_path / "zero.png"
    zero.write_bytes(b"")
    text = tmp_path / "text.png"
    text.write_text("this is not an image\n")
    whole = noisy_png(tmp_path / "whole.png").read_bytes()
    truncated = tmp_path / "half.png"
    truncated.write_bytes(whole[: len(whole) // 2])
    bomb = save(tmp_path / "bomb.png", Image.new("RGB", (100, 100)))
    cases = [
        (tmp_path / "missing.png", "missing file"),
        (zero, "zero-byte"),
        (text, "not an image"),
        (truncated, "truncated"),
    ]
    for path, reason in cases:
        for check in (verify_image, lambda p: load_image(p, max_pixels=BUDGET)):
            with pytest.raises(BadImage, match=reason) as info:
                check(path)
            assert str(path) in str(info.value) or reason == "truncated"
    with pytest.raises(BadImage, match=r"decompression bomb: 100 x 100 pixels exceeds"):
        verify_image(bomb, max_image_pixels=5000)
    with pytest.raises(BadImage, match=r"decompression bomb: 100 x 100 pixels exceeds"):
        load_image(bomb, max_pixels=BUDGET, max_image_pixels=5000)


def test_truncated_jpeg_fails_on_full_decode_only(tmp_path):
    whole = noisy_jpeg(tmp_path / "whole.jpg", (128, 128)).read_bytes()
    half = tmp_path / "half.jpg"
    half.write_bytes(whole[: len(whole) // 2])
    verify_image(half)  # the header is fine
    with pytest.raises(BadImage, match="truncated"):
        load_image(half, max_pixels=BUDGET)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_pil_global_limit_is_respected_and_restored(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    path = save(tmp_path / "big.png", Image.new("RGB", (100, 100)))
    assert load_image(path, max_pixels=BUDGET, max_image_pixels=10**6).size == (100, 100)
    verify_image(path, max_image_pixels=10**6)
    assert Image.MAX_IMAGE_PIXELS == 1000
    with pytest.raises(BadImage, match="decompression bomb"):
        load_image(path, max_pixels=BUDGET, max_image_pixels=5000)
    assert Image.MAX_IMAGE_PIXELS == 1000


# --- manifests ---------------------------------------------------------------------------------


def test_manifest_problems_are_skipped_by_line(tmp_path, caplog):
    good = noisy_png(tmp_path / "good.png", (8, 8))
    manifest = write_manifest(
        tmp_path / "m.jsonl",
        [
            {"image": "good.png", "text": "ok"},
            b'{"image": "good.png", "text": "caf\xe9"}',
            b'{"image": "good.png", "text": ',
            {"text": "no image"},
            {"image": "good.png", "text": 5},
            {"image": 7},
            [1, 2],
            {"image": str(good), "text": "   "},
            {"image": str(good)},
        ],
    )
    with caplog.at_level(logging.WARNING, logger="selfplay.data"):
        items, skipped = read_items(manifest, require_text=True)
    assert [item.line for item in items] == [1]
    reasons = {record["line"]: record["reason"] for record in skipped}
    assert set(reasons) == {2, 3, 4, 5, 6, 7, 8, 9}
    assert "not valid UTF-8" in reasons[2]
    assert "invalid JSON" in reasons[3] and "invalid JSON" in reasons[7]
    assert "missing field 'image'" in reasons[4]
    assert "wrong field type" in reasons[5] and "'text'" in reasons[5]
    assert "wrong field type" in reasons[6] and "'image'" in reasons[6]
    assert "empty text" in reasons[8] and "empty text" in reasons[9]
    assert all(record["source"] == str(manifest) for record in skipped)
    assert all(set(record) == {"source", "line", "id", "image", "reason"} for record in skipped)
    assert f"{manifest} line 2: not valid UTF-8" in caplog.text

    items, skipped = read_items(manifest)  # text is optional now
    assert [item.line for item in items] == [1, 8, 9]
    assert items[2].text is None and items[1].text == "   "


def test_relative_and_absolute_paths_and_ids(tmp_path, monkeypatch):
    folder = tmp_path / "data" / "set"
    rel = noisy_png(folder / "imgs" / "a.png", (8, 8))
    absolute = noisy_png(tmp_path / "elsewhere" / "b.png", (8, 8))
    manifest = write_manifest(
        folder / "m.jsonl",
        [{"image": "imgs/a.png", "text": "t", "id": "x"}, {"image": str(absolute)}, {"image": "imgs/a.png", "id": "x"}],
    )
    monkeypatch.chdir(tmp_path)
    items, skipped = read_items(manifest.relative_to(tmp_path))
    assert skipped == []
    assert [item.image_path for item in items] == [rel, absolute, rel]
    assert [item.id for item in items] == ["x", "2", "x_2"]
    assert items[0].source == str(manifest) and items[0].text == "t"
    load_image(items[0].image_path, max_pixels=BUDGET)


def test_imagefolder_form(tmp_path):
    folder = tmp_path / "folder"
    noisy_png(folder / "train" / "cat.png", (8, 8))
    noisy_png(folder / "dog.png", (8, 8))
    write_manifest(
        folder / "metadata.jsonl",
        [{"file_name": "train/cat.png", "text": "a cat"}, {"file_name": "dog.png", "id": "d1"}, {"image": "dog.png"}],
    )
    data = ImageTextData.open(folder, output_dir=tmp_path / "out", max_pixels=BUDGET, max_bad_share=0.5)
    assert [(item.id, item.text) for item in data.items] == [("cat", "a cat"), ("d1", None)]
    assert data.items[0].image_path == folder / "train" / "cat.png"
    assert read_skipped(tmp_path / "out") == [
        {"source": str(folder), "line": 3, "id": None, "image": None, "reason": "missing field 'file_name'"}
    ]
    assert data.image(data.items[0]).mode == "RGB"


def test_unknown_source_is_an_error(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_items(tmp_path / "nope.jsonl")
    with pytest.raises(DataError, match="metadata.jsonl"):
        read_items(tmp_path)
    (tmp_path / "list.txt").write_text("a.png\n")
    with pytest.raises(DataError, match="list.txt"):
        read_items(tmp_path / "list.txt")


# --- the data set: verification, records and the bad share -------------------------------------


def test_open_skips_bad_images_and_records_them(tmp_path, caplog):
    images = tmp_path / "images"
    rows = [{"image": str(p), "text": "t"} for p in good_images(images, 8)]
    (images / "zero.png").write_bytes(b"")
    rows.append({"image": "images/zero.png", "id": "z"})
    rows.append({"image": "images/missing.png"})
    manifest = write_manifest(tmp_path / "m.jsonl", rows)
    out = tmp_path / "run" / "out"
    with caplog.at_level(logging.INFO, logger="selfplay.data"):
        data = ImageTextData.open(manifest, output_dir=out, max_pixels=BUDGET, max_bad_share=0.2)
    assert len(data) == 8 and len(data.skipped) == 2
    records = read_skipped(out)
    assert records == data.skipped
    assert records[0] == {
        "source": str(manifest), "line": 9, "id": "z", "image": str(images / "zero.png"),
        "reason": f"zero-byte file {images / 'zero.png'}",
    }
    assert records[1]["line"] == 10 and "missing file" in records[1]["reason"]
    assert f"data: 8 usable of 10 items from {manifest} (2 skipped, see {out / 'skipped_items.jsonl'})" in caplog.text
    assert "missing.png" in caplog.text and "zero-byte" in caplog.text


def test_no_file_without_output_dir(tmp_path):
    rows = [{"image": str(p)} for p in good_images(tmp_path, 9)] + [{"image": "missing.png"}]
    data = ImageTextData.open(write_manifest(tmp_path / "m.jsonl", rows), output_dir=None, max_pixels=BUDGET)
    assert len(data.skipped) == 1
    assert not list(tmp_path.rglob("skipped_items.jsonl"))


def test_bad_share_threshold(tmp_path):
    good = [{"image": str(p)} for p in good_images(tmp_path, 9)]
    at_limit = write_manifest(tmp_path / "one_bad.jsonl", good + [{"image": "missing.png"}])
    data = ImageTextData.open(at_limit, output_dir=tmp_path / "out", max_pixels=BUDGET, max_bad_share=0.1)
    assert len(data) == 9

    over = write_manifest(tmp_path / "two_bad.jsonl", good[:8] + [{"image": "missing.png"}, b"not json"])
    with pytest.raises(DataError, match=r"two_bad.jsonl: 2 of 10 items are bad") as info:
        ImageTextData.open(over, output_dir=tmp_path / "out2", max_pixels=BUDGET, max_bad_share=0.1)
    assert "max_bad_share" in str(info.value)
    assert len(read_skipped(tmp_path / "out2")) == 2  # recorded before stopping
    ImageTextData.open(over, output_dir=None, max_pixels=BUDGET, max_bad_share=0.2)


def test_no_usable_items_is_an_error(tmp_path):
    manifest = write_manifest(tmp_path / "m.jsonl", [{"image": "missing.png"}])
    with pytest.raises(DataError, match="no usable items"):
        ImageTextData.open(manifest, output_dir=None, max_pixels=BUDGET, max_bad_share=1.0)


def test_lazy_load_failure_is_recorded_once_and_counted(tmp_path):
    rows = [{"image": str(p)} for p in good_images(tmp_path / "img", 8)]
    for name in ("a.jpg", "b.jpg"):
        whole = noisy_jpeg(tmp_path / "img" / name, (128, 128)).read_bytes()
        (tmp_path / "img" / name).write_bytes(whole[: len(whole) // 2])
        rows.append({"image": f"img/{name}", "id": name})
    out = tmp_path / "out"
    data = ImageTextData.open(write_manifest(tmp_path / "m.jsonl", rows), output_dir=out, max_pixels=BUDGET)
    assert len(data) == 10 and data.skipped == []  # verify cannot see a cut JPEG
    assert data.image(data.items[0]).size == (8, 8)
    assert data.image(data.items[8]) is None
    assert data.image(data.items[8]) is None
    assert len(data.skipped) == 1 and read_skipped(out) == data.skipped
    assert data.skipped[0]["id"] == "a.jpg" and "truncated" in data.skipped[0]["reason"]
    with pytest.raises(DataError, match="2 of 10 items are bad"):
        data.image(data.items[9])
    assert len(read_skipped(out)) == 2


# --- sharding ----------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 1, 7, 10])
@pytest.mark.parametrize("world_size", [1, 2, 3, 4])
def test_shard_is_disjoint_and_complete(n, world_size):
    items = list(range(n))
    shards = [shard(items, rank, world_size) for rank in range(world_size)]
    assert sorted(x for s in shards for x in s) == items
    assert max(map(len, shards)) - min(map(len, shards)) <= 1
    assert shards[0] == items[0::world_size]


def test_shard_rejects_bad_rank():
    with pytest.raises(ValueError):
        shard([1, 2], 2, 2)
    with pytest.raises(ValueError):
        shard([1, 2], 0, 0)

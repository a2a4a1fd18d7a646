"""selfplay.images on real files written with PIL: awkward images converted to RGB, bad ones a BadImage."""

import numpy as np
import pytest
from image_files import noisy_jpeg, noisy_png, save
from PIL import Image

from selfplay.images import BLANK_GREY, BadImage, blind_image, fit_size, load_image, verify_image

BUDGET = 256 * 256


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


# --- the blinded answerer's image ----------------------------------------------------------------


def test_blind_image_is_grey_of_the_same_size_or_nothing():
    image = Image.new("RGB", (30, 20), "red")
    blank = blind_image(image, "blank")
    assert blank.mode == "RGB" and blank.size == (30, 20)
    assert blank.getcolors() == [(30 * 20, BLANK_GREY)]
    assert blind_image(image, "none") is None
    with pytest.raises(ValueError, match="'grey'"):
        blind_image(image, "grey")

"""Decoding one image file for the model, safely: a bad file is a ``BadImage`` with a reason, never a crash.

A manifest points at files nobody has looked at. Missing, empty, non-image, truncated and
decompression-bomb files raise ``BadImage`` (never a PIL or OS error), so the data set can skip and
record the one item. Awkward but valid images (CMYK, 16-bit, palette, alpha, 1-bit, grayscale) are
converted to RGB rather than skipped, and every image is fitted to the model's pixel budget.
``blind_image`` is what the answerer sees when it is asked without the picture.

A DICOM, NIfTI or GeoTIFF listed directly in a manifest is skipped with a reason that names the way in,
``selfplay prepare medical|remote-sensing``, rather than read here: those files need choices a row cannot
hold (a window in HU, a frame or slice, bands and a stretch; a scene is many tiles, not one image), the
readers are optional packages, and prepare writes the previews and masks identifiers in the text.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

logger = logging.getLogger("selfplay.images")

PIL_DEFAULT_MAX_IMAGE_PIXELS = 89_478_485
BLANK_GREY = (128, 128, 128)
BLIND_MODES = ("blank", "none")
_WHITE = (255, 255, 255)
_HIGH_BIT_MODES = {"I", "I;16", "I;16L", "I;16B", "I;16N", "F"}
_ALPHA_MODES = {"RGBA", "RGBa", "LA", "La", "PA"}
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*")


class BadImage(Exception):
    """One image cannot be used; ``str(exc)`` is a reason a person can act on."""


_pil_limit_lock = threading.Lock()


@contextlib.contextmanager
def _pil_limit(max_image_pixels: int) -> Iterator[None]:
    """Let PIL open images up to our own limit; we check the size ourselves.

    PIL refuses images above 2 * ``Image.MAX_IMAGE_PIXELS`` on its own. Only when our limit is
    above PIL's is the global raised, under a lock and restored at once; otherwise it is untouched.
    """
    current = Image.MAX_IMAGE_PIXELS
    if current is None or current >= max_image_pixels:
        yield
        return
    with _pil_limit_lock:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = max_image_pixels
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def _check_file(path: Path) -> None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise BadImage(f"missing file {path}") from None
    except OSError as exc:
        raise BadImage(f"cannot read file {path}: {exc.strerror or exc}") from None
    if not path.is_file():
        raise BadImage(f"not a regular file: {path}")
    if stat.st_size == 0:
        raise BadImage(f"zero-byte file {path}")


def _prepare_hint(path: Path) -> str:
    """For a raw scan or scene PIL cannot open: what it is and the command that turns it into images.
    A DICOM or NIfTI is told as `selfplay prepare medical` tells it (`medical.scans.is_medical_file`)."""
    from .medical.scans import is_medical_file

    name = path.name.lower()
    if name.endswith((".nii", ".nii.gz")):
        kind, domain = "a NIfTI volume", "medical"
    elif not name.endswith((".png", ".jpg", ".jpeg")) and is_medical_file(path):
        kind, domain = "a DICOM file", "medical"
    else:
        try:
            with open(path, "rb") as f:
                head = f.read(4)
        except OSError:
            return ""
        if not (name.endswith((".tif", ".tiff")) or head in _TIFF_MAGIC):
            return ""
        kind, domain = "a TIFF that PIL cannot read (a GeoTIFF's many bands or 16-bit samples)", "remote-sensing"
    return f": {kind}; convert it with `selfplay prepare {domain} SRC OUT` and train on the manifest it writes"


def _open(path: Path) -> Image.Image:
    try:
        return Image.open(path)
    except Image.UnidentifiedImageError:
        raise BadImage(f"not an image (PIL cannot identify {path}){_prepare_hint(path)}") from None
    except Image.DecompressionBombError as exc:
        raise BadImage(f"decompression bomb: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - any decoder failure is one bad item
        raise BadImage(f"corrupt or truncated image header: {type(exc).__name__}: {exc}") from None


def _check_size(im: Image.Image, max_image_pixels: int) -> None:
    w, h = im.size
    if w < 1 or h < 1:
        raise BadImage(f"empty image: {w} x {h} pixels")
    if w * h > max_image_pixels:
        raise BadImage(f"decompression bomb: {w} x {h} pixels exceeds max_image_pixels={max_image_pixels}")


def verify_image(path: Path, *, max_image_pixels: int = PIL_DEFAULT_MAX_IMAGE_PIXELS) -> None:
    """Cheap check without a full decode: the file exists, is an image, and passes PIL's verify.

    Catches missing, empty, non-image, bomb-sized and most truncated files; a few corruptions
    (e.g. in JPEG scan data) show only on decode, which ``load_image`` reports.
    """
    path = Path(path)
    _check_file(path)
    with _pil_limit(max_image_pixels):
        im = _open(path)
    with im:
        _check_size(im, max_image_pixels)
        try:
            im.verify()
        except Exception as exc:  # noqa: BLE001
            raise BadImage(f"corrupt or truncated image (verify failed: {type(exc).__name__}: {exc})") from None


def fit_size(width: int, height: int, *, max_pixels: int, min_pixels: int | None = None) -> tuple[int, int]:
    """Size keeping the aspect ratio with ``w*h <= max_pixels`` (and ``>= min_pixels`` if given).

    Sides are at least 1; an image too thin to keep its aspect within the budget is squeezed.
    max_pixels wins when rounding makes both bounds unreachable.

    >>> fit_size(400, 100, max_pixels=56 * 56)
    (112, 28)
    """
    if max_pixels < 1:
        raise ValueError(f"max_pixels must be >= 1, got {max_pixels}")
    if min_pixels is not None and min_pixels > max_pixels:
        raise ValueError(f"min_pixels ({min_pixels}) must be <= max_pixels ({max_pixels})")
    area = width * height
    if area > max_pixels:
        scale = math.sqrt(max_pixels / area)
        w, h = max(1, math.floor(width * scale + 1e-6)), max(1, math.floor(height * scale + 1e-6))
    elif min_pixels is not None and area < min_pixels:
        scale = math.sqrt(min_pixels / area)
        w, h = max(1, math.ceil(width * scale - 1e-6)), max(1, math.ceil(height * scale - 1e-6))
    else:
        return width, height
    # Rounding and the 1-pixel floor can miss a bound; trim the longer side, grow the shorter.
    while w * h > max_pixels:
        if w >= h and w > 1:
            w = max(1, max_pixels // h) if h > 1 else min(w - 1, max_pixels)
        else:
            h = max(1, max_pixels // w) if w > 1 else min(h - 1, max_pixels)
    while min_pixels is not None and w * h < min_pixels:
        grow_w, grow_h = (w + 1) * h <= max_pixels, w * (h + 1) <= max_pixels
        if grow_w and (w <= h or not grow_h):
            w += 1
        elif grow_h:
            h += 1
        else:
            break
    return w, h


def _to_rgb(im: Image.Image) -> Image.Image:
    mode = im.mode
    if mode == "RGB" and "transparency" not in im.info:
        return im
    if mode in _HIGH_BIT_MODES:
        arr = np.nan_to_num(np.asarray(im, dtype=np.float64))
        lo, hi = float(arr.min()), float(arr.max())
        if hi > lo:
            arr = (arr - lo) * (255.0 / (hi - lo))
        else:  # flat image: keep its level on the type's full scale
            full = 65535.0 if mode.startswith("I;16") or hi > 255 else 255.0
            arr = np.full_like(arr, min(max(lo, 0.0), full) * 255.0 / full)
        return Image.fromarray(np.rint(arr).astype(np.uint8)).convert("RGB")
    if mode in _ALPHA_MODES or "transparency" in im.info:
        rgba = im.convert("RGBA")
        canvas = Image.new("RGB", im.size, _WHITE)
        canvas.paste(rgba.convert("RGB"), mask=rgba.getchannel("A"))
        return canvas
    return im.convert("RGB")


def load_image(
    path: Path,
    *,
    max_pixels: int,
    min_pixels: int | None = None,
    max_image_pixels: int = PIL_DEFAULT_MAX_IMAGE_PIXELS,
) -> Image.Image:
    """Fully decode one image: EXIF orientation applied, RGB, fitted to the pixel budget.

    16-bit and float images are stretched from their own min..max to 0..255; alpha and palette
    transparency are composited on white. Raises ``BadImage`` (never a PIL or OS error).
    """
    path = Path(path)
    _check_file(path)
    with _pil_limit(max_image_pixels), _open(path) as src:
        _check_size(src, max_image_pixels)
        width, height = src.size
        target = fit_size(width, height, max_pixels=max_pixels, min_pixels=min_pixels)
        try:
            if src.format == "JPEG" and target[0] * target[1] < width * height:
                src.draft(None, target)  # decode at 1/2, 1/4 or 1/8 scale when that is enough
            src.load()
            try:
                im = ImageOps.exif_transpose(src)
            except Exception as exc:  # noqa: BLE001 - a broken EXIF block costs the rotation, not the item
                logger.debug("images: ignoring unreadable EXIF in %s: %s", path, exc)
                im = src
            if im.size != src.size and im.size == (src.size[1], src.size[0]):
                target = (target[1], target[0])
            im = _to_rgb(im)
            if im is src:  # src is closed on leaving this block
                im = src.copy()
        except BadImage:
            raise
        except Exception as exc:  # noqa: BLE001 - any decoder failure is one bad item
            raise BadImage(f"corrupt or truncated image ({type(exc).__name__}: {exc})") from None
    if im.size != target:
        resample = Image.Resampling.LANCZOS if target[0] * target[1] < im.size[0] * im.size[1] else Image.Resampling.BICUBIC
        im = im.resize(target, resample)
    return im


def blind_image(image: Image.Image, mode: str) -> Image.Image | None:
    """What a blinded answerer is shown instead of ``image``: a grey image of its size, or nothing.

    "blank" keeps the prompt's shape (the same image tokens, no content), so a blind answer differs
    from a seeing one only in what the picture shows; "none" drops the image from the prompt.

    >>> blind_image(Image.new("RGB", (4, 3), "red"), "blank").getpixel((0, 0)), blind_image(None, "none")
    ((128, 128, 128), None)
    """
    if mode not in BLIND_MODES:
        raise ValueError(f"blind mode {mode!r}: choose one of {', '.join(BLIND_MODES)}")
    return Image.new("RGB", image.size, BLANK_GREY) if mode == "blank" else None

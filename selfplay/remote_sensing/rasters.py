"""Remote-sensing rasters for a VLM: GeoTIFF and multispectral scenes as 8-bit RGB tiles.

A VLM sees 8-bit RGB; a Sentinel-2 scene is a dozen bands of 16-bit reflectance, larger than the
model's input and ragged with nodata. The readers here close that gap:

* **Bands** by name (the file's band descriptions; case and zero padding ignored, ``B4`` is ``B04``),
  by 1-based index, or by a ``BAND_PRESETS`` name. ``None``: the first three bands, or one as grey.
* **Nodata** (the argument, else the file's value; NaN always) is left out of the statistics and
  painted black; a pixel is nodata when any chosen band holds the value.
* **Stretch**: per band, the low and high percentiles of the valid pixels map to 0 and 255, values
  outside clip, a flat band maps to 0. ``tiles()`` takes them over the whole scene (every pixel up to
  ``_STATS_MAX_PIXELS``, a strided sample beyond), so a scene's tiles share one colour scale.
  ``stretch=None`` clips the values to 0..255 as they are: for 8-bit imagery that is display-ready.
* **Tiles** step by ``tile_size - overlap``; the last of a row or column shifts inward to end at the
  edge, so every tile is full size and no edge is lost. A smaller scene gives one tile of its size.

rasterio reads rasters where installed, else tifffile (band names, nodata and georeference from the
GDAL and GeoTIFF tags; the whole scene in memory). PNG/JPEG go through PIL; 8-bit ones are
display-ready and not stretched. Unreadable files raise RasterError naming the file.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
from PIL import Image

BAND_PRESETS: dict[str, tuple[int | str, ...]] = {
    "rgb": (1, 2, 3),
    "sentinel2_rgb": ("B4", "B3", "B2"),
    "sentinel2_false_colour": ("B8", "B4", "B3"),
}
RASTER_SUFFIXES = (".tif", ".tiff", ".png", ".jpg", ".jpeg")
_PIL_SUFFIXES = (".png", ".jpg", ".jpeg")
_PIL_HIGH_BIT_MODES = {"I", "I;16", "I;16L", "I;16B", "I;16N", "F"}
_STATS_MAX_PIXELS = 2048 * 2048
_INSTALL_HINT = 'pip install "selfplay[geo]"'

Bands = str | Sequence[int | str] | None  # a BAND_PRESETS name, or band names and 1-based indexes
Stretch = tuple[float, float] | None  # low and high percentiles; None: values used as they are
Bounds = tuple[float, float, float, float]


class RasterError(ValueError):
    """A raster or caption file cannot be used; ``str(exc)`` names the file and the reason."""


@dataclass(frozen=True)
class Tile:
    """One crop of a scene as the model sees it, with where it lies so answers can be mapped back."""

    image: Image.Image  # RGB, 8-bit
    row: int  # the pixel window in the source scene
    col: int
    width: int
    height: int
    bounds: Bounds | None  # (left, bottom, right, top) in the CRS
    crs: str | None  # e.g. "EPSG:32633"
    valid_share: float  # share of pixels that are not nodata


@dataclass(frozen=True)
class _Scene:
    """What the readers need of an open raster, whichever library opened it."""

    name: str
    width: int
    height: int
    band_names: tuple[str, ...]  # "" where a band has no name
    nodata: float | None
    crs: str | None
    transform: tuple[float, float, float, float, float, float] | None  # GDAL order: a, b, c, d, e, f
    read: Callable[..., np.ndarray]  # (indexes, row, col, height, width, step=1) -> (bands, h, w)
    display_ready: bool = False


def read_raster(
    path: str | Path, *, bands: Bands = None, stretch: Stretch = (2.0, 98.0), nodata: float | None = None
) -> Tile:
    """The whole scene as one Tile: for chips already cut to the model's size (use tiles() otherwise)."""
    with _open_scene(path) as scene:
        indexes, nodata, stretch = _resolve(scene, bands, nodata, stretch)
        pixels = scene.read(indexes, 0, 0, scene.height, scene.width)
        valid = _valid_mask(pixels, nodata)
        return _tile(scene, pixels, valid, 0, 0, _levels(pixels, valid, stretch))


def tiles(
    path: str | Path, tile_size: int, *, bands: Bands = None, stretch: Stretch = (2.0, 98.0),
    nodata: float | None = None, overlap: int = 0, min_valid_share: float = 0.5,
) -> Iterator[Tile]:
    """Model-sized crops of a large scene, row by row, skipping those with too little valid data."""
    if tile_size < 1 or not 0 <= overlap < tile_size:
        raise ValueError(f"need tile_size >= 1 and 0 <= overlap < tile_size, got {tile_size} and {overlap}")
    with _open_scene(path) as scene:
        indexes, nodata, stretch = _resolve(scene, bands, nodata, stretch)
        levels = _scene_levels(scene, indexes, nodata, stretch)
        height, width = min(tile_size, scene.height), min(tile_size, scene.width)
        for row in _starts(scene.height, tile_size, tile_size - overlap):
            for col in _starts(scene.width, tile_size, tile_size - overlap):
                pixels = scene.read(indexes, row, col, height, width)
                valid = _valid_mask(pixels, nodata)
                if valid.mean() >= min_valid_share:
                    yield _tile(scene, pixels, valid, row, col, levels)


def raster_backend(path: str | Path) -> str:
    """Which library opens ``path``: "pil", "rasterio" or "tifffile" (tests patch this to force one)."""
    if Path(path).suffix.lower() in _PIL_SUFFIXES:
        return "pil"
    try:
        import rasterio  # noqa: F401
    except ImportError:
        return "tifffile"
    return "rasterio"


def _open_scene(path: str | Path):
    """A context manager yielding the scene; only rasterio keeps the file open while tiles are read."""
    backend = raster_backend(path)
    if backend == "rasterio":
        return _rasterio_scene(path)
    return nullcontext(_pil_scene(path) if backend == "pil" else _tifffile_scene(path))


@contextmanager
def _rasterio_scene(path: str | Path) -> Iterator[_Scene]:
    """The scene through GDAL, kept open so that tiles read only their own window."""
    import rasterio
    from rasterio.errors import RasterioError
    from rasterio.windows import Window

    try:
        with rasterio.open(path) as ds:

            def read(indexes, row, col, height, width, step=1):
                shape = (len(indexes), -(-height // step), -(-width // step))
                return ds.read(indexes, window=Window(col, row, width, height), out_shape=shape)

            georeferenced = ds.crs is not None or not ds.transform.is_identity
            names = tuple(name or "" for name in ds.descriptions)
            crs = ds.crs.to_string() if ds.crs else None
            transform = tuple(ds.transform)[:6] if georeferenced else None
            yield _Scene(str(path), ds.width, ds.height, names, ds.nodata, crs, transform, read)
    except RasterioError as exc:
        raise RasterError(f"{path}: {exc}") from exc


def _tifffile_scene(path: str | Path) -> _Scene:
    """The fallback where rasterio (a compiled GDAL wheel) cannot be installed; reads it all at once."""
    try:
        import tifffile
    except ImportError as exc:
        raise ImportError(f"reading {path} needs rasterio or tifffile: {_INSTALL_HINT}") from exc
    try:
        with tifffile.TiffFile(path) as tif:
            if not tif.series or not {"Y", "X"} <= set(tif.series[0].axes):
                raise ValueError("no image in the file")
            axes, pixels = tif.series[0].axes, tif.series[0].asarray()
            tags = tif.pages[0].tags
            names = _gdal_band_names(tags.get("GDAL_METADATA"))
            nodata = tags.get("GDAL_NODATA")
            geo = tif.geotiff_metadata or {}
    except (OSError, ValueError, IndexError, ElementTree.ParseError) as exc:
        raise RasterError(f"{path}: {exc}") from exc
    pixels = np.moveaxis(pixels, (axes.index("Y"), axes.index("X")), (-2, -1))
    pixels = pixels.reshape(-1, *pixels.shape[-2:])  # bands first, planar or interleaved
    names = tuple(names.get(i, "") for i in range(len(pixels)))
    nodata = float(nodata.value) if nodata is not None else None
    return _array_scene(path, pixels, names, nodata, *_geotiff_georeference(geo))


def _gdal_band_names(tag) -> dict[int, str]:
    """Band descriptions as GDAL writes them: <Item name="DESCRIPTION" sample="0" role="description">."""
    if tag is None:
        return {}
    items = ElementTree.fromstring(tag.value).iter("Item")
    return {int(i.get("sample")): i.text or "" for i in items if i.get("role") == "description"}


def _geotiff_georeference(geo: dict) -> tuple[str | None, tuple[float, ...] | None]:
    """The CRS as "EPSG:n" and the affine transform from GeoTIFF keys (None where absent)."""
    code = geo.get("ProjectedCSTypeGeoKey") or geo.get("GeographicTypeGeoKey")
    crs = f"EPSG:{int(code)}" if code and int(code) != 32767 else None  # 32767: user-defined
    if "ModelTransformation" in geo:
        m = np.ravel(geo["ModelTransformation"]).astype(float)
        return crs, (m[0], m[1], m[3], m[4], m[5], m[7])
    if "ModelPixelScale" in geo and "ModelTiepoint" in geo:
        sx, sy = (float(v) for v in geo["ModelPixelScale"][:2])
        i, j, _, x, y = (float(v) for v in geo["ModelTiepoint"][:5])
        return crs, (sx, 0.0, x - i * sx, 0.0, -sy, y + j * sy)
    return crs, None


def _pil_scene(path: str | Path) -> _Scene:
    """PNG/JPEG: 8-bit images as RGB, display-ready; 16-bit and float ones as one band to stretch."""
    try:
        with Image.open(path) as img:
            deep = img.mode in _PIL_HIGH_BIT_MODES
            pixels = np.asarray(img)[None] if deep else np.moveaxis(np.asarray(img.convert("RGB")), -1, 0)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise RasterError(f"{path}: {exc}") from exc
    return _array_scene(path, pixels, ("",) * len(pixels), None, None, None, display_ready=not deep)


def _array_scene(path, pixels, names, nodata, crs, transform, display_ready=False) -> _Scene:
    def read(indexes, row, col, height, width, step=1):
        return pixels[np.asarray(indexes) - 1, row : row + height : step, col : col + width : step]

    height, width = pixels.shape[-2:]
    return _Scene(str(path), width, height, names, nodata, crs, transform, read, display_ready)


def _resolve(scene: _Scene, bands: Bands, nodata: float | None, stretch: Stretch):
    """The 1-based band indexes to read, and the nodata and stretch in force; checks the arguments."""
    if stretch is not None and not 0 <= stretch[0] < stretch[1] <= 100:
        raise ValueError(f"stretch must be percentiles (low, high), 0 <= low < high <= 100, got {stretch}")
    if isinstance(bands, str):
        if bands not in BAND_PRESETS:
            raise ValueError(f"unknown band preset {bands!r}; presets: {', '.join(BAND_PRESETS)}")
        bands = BAND_PRESETS[bands]
    count = len(scene.band_names)
    if bands is None:
        bands = (1,) if count == 1 else (1, 2, 3) if count >= 3 else ()
    if len(bands) not in (1, 3):
        raise RasterError(f"{scene.name}: has {_describe(scene)}; choose one band (grey) or three (RGB)")
    indexes = [_band_index(scene, band) for band in bands]
    return indexes, scene.nodata if nodata is None else nodata, None if scene.display_ready else stretch


def _band_index(scene: _Scene, band: int | str) -> int:
    keys = [_band_key(name) for name in scene.band_names]
    if isinstance(band, str) and band and _band_key(band) in keys:
        return keys.index(_band_key(band)) + 1
    if isinstance(band, numbers.Integral) and 1 <= band <= len(keys):
        return int(band)
    raise RasterError(f"{scene.name}: asked for band {band} but the file has {_describe(scene)}")


def _band_key(name: str) -> str:
    """Case and zero padding do not matter: "b04", "B4" and "b4" name one band."""
    return re.sub(r"(?<=\D)0+(?=\d)", "", name.lower()) if name else ""


def _describe(scene: _Scene) -> str:
    """What a file offers, for error messages: "4 bands (B2, B3, B4, B8)"."""
    count, names = len(scene.band_names), ", ".join(scene.band_names)
    names = names if all(scene.band_names) else "unnamed: use 1-based indexes"
    return f"{count} band{'s' * (count != 1)} ({names})"


def _starts(size: int, tile_size: int, stride: int) -> list[int]:
    """Window starts along one axis, the last shifted inward to end at the edge."""
    if size <= tile_size:
        return [0]
    starts = list(range(0, size - tile_size + 1, stride))
    return starts if starts[-1] == size - tile_size else [*starts, size - tile_size]


def _valid_mask(pixels: np.ndarray, nodata: float | None) -> np.ndarray:
    """(h, w) True where no chosen band is nodata (or NaN): such a pixel has no colour to show."""
    valid = np.ones(pixels.shape[1:], dtype=bool)
    if nodata is not None and not math.isnan(nodata):
        valid &= ~(pixels == nodata).any(axis=0)
    if np.issubdtype(pixels.dtype, np.floating):
        valid &= ~np.isnan(pixels).any(axis=0)
    return valid


def _scene_levels(scene: _Scene, indexes: list[int], nodata: float | None, stretch) -> np.ndarray | None:
    """Levels from the whole scene, strided down to _STATS_MAX_PIXELS, so its tiles share one scale."""
    if stretch is None:
        return None
    step = math.ceil(math.sqrt(scene.width * scene.height / _STATS_MAX_PIXELS))
    sample = scene.read(indexes, 0, 0, scene.height, scene.width, step)
    return _levels(sample, _valid_mask(sample, nodata), stretch)


def _levels(pixels: np.ndarray, valid: np.ndarray, stretch) -> np.ndarray | None:
    """(bands, 2) low and high stretch values from the valid pixels; None when there is no stretch."""
    if stretch is None:
        return None
    if not valid.any():
        return np.zeros((len(pixels), 2))
    return np.array([np.percentile(band[valid], stretch) for band in pixels])


def _tile(scene: _Scene, pixels: np.ndarray, valid: np.ndarray, row: int, col: int, levels) -> Tile:
    height, width = valid.shape
    bounds = _window_bounds(scene.transform, row, col, height, width) if scene.transform else None
    image = _to_image(pixels, valid, levels)
    return Tile(image, row, col, width, height, bounds, scene.crs, float(valid.mean()))


def _to_image(pixels: np.ndarray, valid: np.ndarray, levels: np.ndarray | None) -> Image.Image:
    """8-bit RGB: each band's levels map to 0 and 255 (a flat band to 0), nodata painted black."""
    values = pixels.astype(np.float64)
    if levels is not None:
        low, high = levels[:, 0, None, None], levels[:, 1, None, None]
        scale = np.divide(255.0, high - low, out=np.zeros_like(low), where=high > low)
        values = (values - low) * scale
    values[:, ~valid] = 0
    rgb = np.rint(np.clip(values, 0, 255)).astype(np.uint8)
    rgb = np.repeat(rgb, 3, axis=0) if len(rgb) == 1 else rgb
    return Image.fromarray(np.ascontiguousarray(np.moveaxis(rgb, 0, -1)))


def _window_bounds(transform, row: int, col: int, height: int, width: int) -> Bounds:
    """(left, bottom, right, top) of a pixel window: the extremes of its four mapped corners."""
    a, b, c, d, e, f = transform
    corners = [(x, y) for y in (row, row + height) for x in (col, col + width)]
    xs = [c + a * x + b * y for x, y in corners]
    ys = [f + d * x + e * y for x, y in corners]
    return (min(xs), min(ys), max(xs), max(ys))

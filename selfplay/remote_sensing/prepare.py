"""`selfplay prepare remote-sensing`: every raster under a folder cut into tiles, each with its scene's captions.

``rasters`` reads and tiles a scene, ``captions`` gives its text; the folder walk, the output folder and
the skipped list are ``selfplay.prepare``'s, shared with medical imagery.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from ..prepare import Item, PrepareError, Summary, check_folders, convert_folder, walk
from .captions import caption_text, read_captions
from .rasters import BAND_PRESETS, RASTER_SUFFIXES, RasterError, tiles

_BAND_NAME = re.compile(r"[A-Za-z]{1,3}\d{1,2}[A-Za-z]?")


def parse_bands(value: str | None) -> str | list[int | str] | None:
    """A preset name, or one or three bands by 1-based index or name, comma-separated.

    A single word that is neither a preset nor shaped like a band name (B11, B8A) is taken for a
    mistyped preset; write a lone band of another name with a comma ("nir,").

    >>> parse_bands("B4,B3,B2"), parse_bands("1,2,3"), parse_bands("B11")
    (['B4', 'B3', 'B2'], [1, 2, 3], ['B11'])
    """
    if value is None or value in BAND_PRESETS:
        return value
    names = [v.strip() for v in value.split(",") if v.strip()]
    if "," not in value and not (value.isdigit() or _BAND_NAME.fullmatch(value)):
        raise PrepareError(f"--bands {value!r}: unknown band preset; presets: {', '.join(BAND_PRESETS)}; "
                           "or bands by name or 1-based index, comma-separated (B4,B3,B2 or 1,2,3)")
    if len(names) not in (1, 3):
        raise PrepareError(f"--bands {value!r}: name one band (grey) or three (RGB), not {len(names)}")
    return [int(v) if v.isdigit() else v for v in names]


def parse_stretch(value: str | None) -> tuple[float, float] | None:
    """ "low,high" percentiles, or "none" to take the values as they are (8-bit imagery)."""
    if value is None or value.lower() == "none":
        return None
    try:
        low, high = (float(v) for v in value.split(","))
    except ValueError:
        raise PrepareError(f"--stretch {value!r}: use LOW,HIGH percentiles such as 2,98, or none") from None
    if not 0 <= low < high <= 100:
        raise PrepareError(f"--stretch {value!r}: need 0 <= LOW < HIGH <= 100")
    return low, high


def prepare_remote_sensing(src: str | Path, out: str | Path, *, captions: str | Path | None = None,
                           bands: str | None = None, tile_size: int = 448, stretch: str | None = "2,98",
                           nodata: float | None = None, min_valid_share: float = 0.5, previews: int = 8,
                           overwrite: bool = False) -> Summary:
    """Cut every raster under ``src`` into tiles and pair each with its scene's captions."""
    chosen, levels = parse_bands(bands), parse_stretch(stretch)
    if tile_size < 28:
        raise PrepareError(f"--tile-size {tile_size}: must be at least 28 pixels")
    if not 0 <= min_valid_share <= 1:
        raise PrepareError(f"--min-valid {min_valid_share}: must be in [0, 1]")
    src, out = check_folders(src, out, overwrite)
    table: dict[str, list[str]] = {}
    if captions:
        if not Path(captions).expanduser().is_file():
            raise PrepareError(f"captions file {captions} does not exist")
        try:
            table = read_captions(Path(captions).expanduser())
        except RasterError as exc:
            raise PrepareError(str(exc)) from exc
        table.update({Path(name).stem: texts for name, texts in list(table.items())
                      if Path(name).stem not in table})
    files = walk(src, out)
    rasters = [path for path in files if path.name.lower().endswith(RASTER_SUFFIXES)]

    def convert(path: Path, source: str) -> Iterator[Item]:
        text, count = caption_text(table, path, src), 0
        for count, tile in enumerate(tiles(path, tile_size, bands=chosen, stretch=levels, nodata=nodata,
                                           min_valid_share=min_valid_share), start=1):
            meta = {"window": [tile.row, tile.col, tile.height, tile.width],
                    "bounds": list(tile.bounds) if tile.bounds else None, "crs": tile.crs,
                    "valid_share": round(tile.valid_share, 4)}
            yield Item(f"{source}/r{tile.row}_c{tile.col}", tile.image, text, source, meta)
        if count == 0:
            raise RasterError(f"{path}: no tile has {min_valid_share:.0%} or more valid (not nodata) pixels")

    options = {"captions": str(captions) if captions else None, "bands": bands, "tile_size": tile_size,
               "stretch": list(levels) if levels else None, "nodata": nodata, "min_valid_share": min_valid_share}
    return convert_folder("remote-sensing", src, out, rasters, len(files) - len(rasters), convert,
                          previews=previews, options=options)

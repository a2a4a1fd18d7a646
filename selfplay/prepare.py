"""`selfplay prepare`: a folder of scans with reports, or of satellite scenes with captions, to the JSONL
manifest the trainer reads.

Every image (a DICOM frame, a NIfTI slice, a PNG/JPEG radiograph; every tile of a GeoTIFF, or a plain
RGB scene) becomes an 8-bit PNG under ``OUT/images/`` and one row of ``OUT/manifest.jsonl``:
``{"id", "image", "text", "source", ...}`` plus the domain's metadata (window, frame or slice; a tile's
pixel window, bounds and CRS). A file that cannot be read costs that file only: it is skipped with a
warning naming it and the reason, and listed in ``OUT/skipped.jsonl``. An image without text is kept
with ``"text": null``; the trainer plays it images-only. ``OUT/previews/`` holds a contact sheet of
the first images and ``previews.md`` with their text, to look at before spending GPU hours.

This module is what both domains share: the folder checks and walk, the conversion loop with its skipped
list, the previews and the summary. Each domain's readers, pairing rules and options live in its own
package: ``selfplay.medical`` (``prepare_medical``) and ``selfplay.remote_sensing``
(``prepare_remote_sensing``).

Text goes through ``identifiers.mask_identifiers`` before it is written anywhere, the manifest included:
the trainer copies an item's text into the questioner's prompt and into ``games.jsonl``. File and
folder names are copied as they are. This is not de-identification.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageOps

from .identifiers import mask_identifiers
from .progress import Progress, on_terminal
from .records import SKIPPED_FILE, write_jsonl, write_text_atomic

logger = logging.getLogger("selfplay.prepare")

MANIFEST_FILE = "manifest.jsonl"
SUMMARY_FILE = "prepare.json"
IMAGES_DIR = "images"
PREVIEWS_DIR = "previews"
PROGRESS_EVERY = 50
_PREVIEW_CELL = 160
_PREVIEW_LABEL = 16
# What one unreadable file may raise: the readers' own errors are ValueErrors, PIL's are OSErrors.
_READ_ERRORS = (ValueError, OSError, EOFError, Image.DecompressionBombError)


class PrepareError(ValueError):
    """A bad option, source or output folder: nothing is converted; the command exits 2."""


@dataclass
class Item:
    """One converted image before it is written: the manifest row's fields and the picture."""
    id: str
    image: Image.Image
    text: str | None
    source: str
    meta: dict = field(default_factory=dict)


@dataclass
class Summary:
    """What a prepare call did, for the closing report and for tests."""
    domain: str
    src: Path
    out: Path
    files: int = 0
    converted: int = 0
    without_text: int = 0
    ignored: int = 0
    skipped: list[dict] = field(default_factory=list)
    previews: int = 0

    def lines(self) -> list[str]:
        reasons = Counter(_reason_kind(record["reason"]) for record in self.skipped)
        grouped = ", ".join(f"{reason} ({count})" for reason, count in reasons.most_common())
        lines = [f"prepare {self.domain}: {_count(self.converted, 'image')} from {_count(self.files, 'file')} "
                 f"in {self.src} -> {self.out / MANIFEST_FILE}"]
        lines.append(f"skipped {_count(len(self.skipped), 'file')}" + (
            f": {grouped}; see {self.out / SKIPPED_FILE}" if self.skipped else ""))
        lines.append(f"without text: {_count(self.without_text, 'image')} (kept with text null, played images-only)")
        if self.ignored:
            lines.append(f"ignored {_count(self.ignored, 'file')} that are not images of this domain (reports, sidecars)")
        lines.append(f"previews: {self.previews} in {self.out / PREVIEWS_DIR} (sheet.png, previews.md)")
        return lines


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _reason_kind(reason: str) -> str:
    """The reason without its details, to group: "unreadable DICOM (EOFError: ...)" -> "unreadable DICOM"."""
    return re.split(r" \(|: ", reason, maxsplit=1)[0]


# ---------------------------------------------------------------------------------------------
# The folder walk and the output folder, shared by both domains
# ---------------------------------------------------------------------------------------------


def check_folders(src: str | Path, out: str | Path, overwrite: bool) -> tuple[Path, Path]:
    """SRC must be a folder; OUT must be new or empty (or ``overwrite``), and never SRC or above it."""
    src, out = Path(src).expanduser().resolve(), Path(out).expanduser().resolve()
    if not src.is_dir():
        raise PrepareError(f"source folder {src} does not exist" if not src.exists() else f"{src} is not a folder")
    if out == src or out in src.parents:
        raise PrepareError(f"output folder {out} must not be the source folder or a folder above it")
    if out.exists() and not out.is_dir():
        raise PrepareError(f"output {out} is a file, not a folder")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise PrepareError(f"output folder {out} is not empty; pass --overwrite to write over it "
                           "(same-named files are replaced, nothing is deleted)")
    return src, out


def walk(src: Path, out: Path) -> list[Path]:
    """Every file under ``src`` in sorted order, leaving out hidden files and ``out`` if it lies inside."""
    files = []
    for path in src.rglob("*"):
        rel = path.relative_to(src)
        if any(part.startswith(".") for part in rel.parts) or out == path or out in path.parents:
            continue
        if path.is_file():
            files.append(path)
    return sorted(files, key=lambda p: p.relative_to(src).as_posix())


def _write_png(image: Image.Image, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    image.save(tmp, format="PNG")
    os.replace(tmp, path)


def convert_folder(domain: str, src: Path, out: Path, files: list[Path], ignored: int,
                   convert: Callable[[Path, str], Iterable[Item]], *, previews: int, options: dict) -> Summary:
    """Run ``convert`` on every file, write each image and row, skip and record files that fail.

    ``convert(path, source)`` yields the file's items; one that raises a reader error part-way (a
    scene that breaks after some tiles) loses all its items, so a file is in the manifest whole or
    not at all.
    """
    summary = Summary(domain, src, out, files=len(files), ignored=ignored)
    rows: list[dict] = []
    out.mkdir(parents=True, exist_ok=True)
    bar = Progress("prepare", len(files), "file", logger=logger) if on_terminal() else None
    for count, path in enumerate(files, start=1):
        source = path.relative_to(src).as_posix()
        written: list[dict] = []
        try:
            for item in convert(path, source):
                image_rel = f"{IMAGES_DIR}/{item.id}.png"
                _write_png(item.image, out / image_rel)
                written.append({"id": item.id, "image": image_rel, "text": item.text, "source": item.source,
                                **item.meta})
        except _READ_ERRORS as exc:
            for row in written:
                (out / row["image"]).unlink(missing_ok=True)
            reason = mask_identifiers(getattr(exc, "reason", None) or _strip_path(str(exc), path))
            summary.skipped.append({"file": source, "reason": reason})
            logger.warning("prepare: skipped %s: %s", path, reason)
        else:
            rows += written
        if bar is not None:
            bar.advance(1, skipped=len(summary.skipped))
        elif count % PROGRESS_EVERY == 0 and count < len(files):
            logger.info("prepare: %d of %d files, %s, %d skipped", count, len(files),
                        _count(len(rows), "image"), len(summary.skipped))
    if bar is not None:
        bar.close(None)
    summary.converted = len(rows)
    summary.without_text = sum(row["text"] is None for row in rows)
    write_jsonl(out / MANIFEST_FILE, rows)
    write_jsonl(out / SKIPPED_FILE, summary.skipped)
    summary.previews = write_previews(out, rows[:previews])
    counts = {"files": summary.files, "converted": summary.converted, "skipped": len(summary.skipped),
              "without_text": summary.without_text, "ignored": summary.ignored}
    write_text_atomic(out / SUMMARY_FILE, json.dumps({"domain": domain, "src": str(src), "options": options,
                                                  **counts}, indent=1) + "\n")
    return summary


def _strip_path(message: str, path: Path) -> str:
    return message.removeprefix(f"{path}: ").removeprefix(f"{path}:").strip() or message


def write_previews(out: Path, rows: list[dict]) -> int:
    """``previews/sheet.png``, the images numbered on a grid, and ``previews.md`` with their (masked) text."""
    if not rows:
        return 0
    folder = out / PREVIEWS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    columns = min(4, len(rows))
    cell_h = _PREVIEW_CELL + _PREVIEW_LABEL
    sheet = Image.new("RGB", (columns * _PREVIEW_CELL, math.ceil(len(rows) / columns) * cell_h), "white")
    draw = ImageDraw.Draw(sheet)
    lines = ["# Previews", "", "The first images of the manifest, numbered as on the contact sheet. Text is "
             "shown as written to the manifest (identifiers masked; this is not de-identification).", "",
             "![contact sheet](sheet.png)", ""]
    for index, row in enumerate(rows, start=1):
        with Image.open(out / row["image"]) as image:
            thumb = ImageOps.contain(image.convert("RGB"), (_PREVIEW_CELL - 4, _PREVIEW_CELL - 4))
        x, y = ((index - 1) % columns) * _PREVIEW_CELL, ((index - 1) // columns) * cell_h
        sheet.paste(thumb, (x + (_PREVIEW_CELL - thumb.width) // 2, y + _PREVIEW_LABEL))
        draw.text((x + 4, y + 2), str(index), fill="black")
        meta = {k: v for k, v in row.items() if k not in ("id", "image", "text", "source")}
        lines += [f"## {index}. `{row['id']}`", "", f"![{index}](../{row['image']})", "",
                  f"- source: `{row['source']}`", *(f"- {k}: `{json.dumps(v)}`" for k, v in meta.items()),
                  f"- text: {row['text'] if row['text'] is not None else '(none)'}", ""]
    _write_png(sheet, folder / "sheet.png")
    write_text_atomic(folder / "previews.md", "\n".join(lines) + "\n")
    return len(rows)

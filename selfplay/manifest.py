"""Unlabeled image-text data: read a manifest, skip and record bad items, share them among processes.

Two sources are understood:

* a JSONL manifest, one object per line: ``{"image": path, "text": optional str, "id": optional str}``;
  a relative ``image`` path is taken relative to the manifest's folder;
* an HF ``imagefolder`` directory whose ``metadata.jsonl`` rows are
  ``{"file_name": path, "text": optional str, "id": optional str}``, paths relative to the folder.

Self-play needs no labels, so a bad item costs one example, not a run: it is skipped with a warning
(logger ``selfplay.data``), counted, and written to ``skipped.jsonl``. The run stops with a
``DataError`` only when more than ``max_bad_share`` of the items are bad, which says the data, not an
item, is wrong. Images are opened lazily, through ``selfplay.images``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from .images import PIL_DEFAULT_MAX_IMAGE_PIXELS, BadImage, fit_size, load_image, verify_image
from .records import SKIPPED_FILE, append_jsonl

logger = logging.getLogger("selfplay.manifest")


class DataError(ValueError):
    """The data as a whole is unusable: too many bad items, none left, or no readable source."""


@dataclass(frozen=True)
class ImageTextItem:
    id: str
    image_path: Path
    text: str | None
    source: str
    line: int | None


# ---------------------------------------------------------------------------------------------
# Reading manifests
# ---------------------------------------------------------------------------------------------


def read_items(
    source: str | Path, *, require_text: bool = False
) -> tuple[list[ImageTextItem], list[dict]]:
    """Read a ``.jsonl`` manifest or an imagefolder directory (one holding ``metadata.jsonl``).

    Returns the good items and one skipped record per bad line (invalid UTF-8 or JSON, a missing
    or wrongly typed field, empty text when ``require_text``). Images are not opened here.
    Ids default to the line number (manifest) or the file stem (imagefolder); a repeated id is
    renamed ``<id>_2``, ``<id>_3``, ... with a warning.
    """
    path = Path(source).expanduser().absolute()
    if not path.exists():
        raise DataError(f"data source {path} does not exist")
    if path.is_dir():
        manifest = path / "metadata.jsonl"
        if not manifest.is_file():
            raise DataError(f"data source {path} is a folder without metadata.jsonl (imagefolder form)")
        image_key, base, default_id = "file_name", path, "stem"
    elif path.suffix == ".jsonl":
        manifest, image_key, base, default_id = path, "image", path.parent, "line"
    else:
        raise DataError(f"data source {path} is neither a .jsonl manifest nor an imagefolder directory")

    source_name = str(path)
    items: list[ImageTextItem] = []
    skipped: list[dict] = []
    seen_ids: set[str] = set()

    def skip(line: int, reason: str, id_: str | None = None, image: str | None = None) -> None:
        record = _record(source_name, line, id_, image, reason)
        skipped.append(record)
        logger.warning("data: skipped %s line %d: %s", manifest, line, reason)

    for line_no, raw in enumerate(manifest.read_bytes().splitlines(), start=1):
        if line_no == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            decoded = raw.decode("utf-8", errors="strict")
        except UnicodeDecodeError as exc:
            skip(line_no, f"not valid UTF-8 ({exc.reason} at byte {exc.start})")
            continue
        if not decoded.strip():
            continue
        try:
            row = json.loads(decoded)
        except json.JSONDecodeError as exc:
            skip(line_no, f"invalid JSON: {exc.msg} (column {exc.colno})")
            continue
        if not isinstance(row, dict):
            skip(line_no, f"invalid JSON: expected an object, got {type(row).__name__}")
            continue

        raw_id = row.get("id")
        if raw_id is not None and (isinstance(raw_id, bool) or not isinstance(raw_id, (str, int))):
            skip(line_no, f"wrong field type: 'id' must be a string, got {type(raw_id).__name__}")
            continue
        id_ = None if raw_id is None else str(raw_id)

        if image_key not in row or row[image_key] is None:
            skip(line_no, f"missing field {image_key!r}", id_)
            continue
        image = row[image_key]
        if not isinstance(image, str):
            skip(line_no, f"wrong field type: {image_key!r} must be a string, got {type(image).__name__}", id_)
            continue
        if not image.strip():
            skip(line_no, f"empty field {image_key!r}", id_)
            continue
        image_path = Path(image)
        if not image_path.is_absolute():
            image_path = base / image_path

        text = row.get("text")
        if text is not None and not isinstance(text, str):
            skip(line_no, f"wrong field type: 'text' must be a string, got {type(text).__name__}", id_, str(image_path))
            continue
        if require_text and (text is None or not text.strip()):
            skip(line_no, "empty text (text is required)", id_, str(image_path))
            continue

        if id_ is None:
            id_ = str(line_no) if default_id == "line" else image_path.stem
        if id_ in seen_ids:
            n = 2
            while f"{id_}_{n}" in seen_ids:
                n += 1
            logger.warning("data: duplicate id %r at %s line %d, renamed %r", id_, manifest, line_no, f"{id_}_{n}")
            id_ = f"{id_}_{n}"
        seen_ids.add(id_)
        items.append(ImageTextItem(id=id_, image_path=image_path, text=text, source=source_name, line=line_no))
    return items, skipped


def _record(source: str, line: int | None, id_: str | None, image: str | None, reason: str) -> dict:
    return {"source": source, "line": line, "id": id_, "image": image, "reason": reason}


# ---------------------------------------------------------------------------------------------
# The data set the loop uses
# ---------------------------------------------------------------------------------------------


class ImageTextData:
    """Good items of a source, with bad ones skipped, recorded and counted against a share.

    Build with ``ImageTextData.open``. ``image(item)`` decodes lazily and returns None for an
    item that turns out bad; the caller skips it. Under several processes, give ``output_dir``
    on every rank only if duplicate lines in ``skipped.jsonl`` are acceptable (appends add whole
    lines); otherwise pass None on all but the main process.
    """

    def __init__(
        self,
        source: str,
        items: list[ImageTextItem],
        skipped: list[dict],
        total: int,
        *,
        skipped_path: Path | None,
        max_pixels: int,
        min_pixels: int | None,
        max_bad_share: float,
        max_image_pixels: int,
    ):
        self.source = source
        self.items = items
        self.skipped = skipped
        self.total = total
        self.skipped_path = skipped_path
        self.max_pixels = max_pixels
        self.min_pixels = min_pixels
        self.max_bad_share = max_bad_share
        self.max_image_pixels = max_image_pixels
        self._bad_ids: set[str] = set()

    @classmethod
    def open(
        cls,
        source: str | Path,
        *,
        output_dir: Path | None,
        max_pixels: int,
        min_pixels: int | None = None,
        require_text: bool = False,
        max_bad_share: float = 0.1,
        max_image_pixels: int = PIL_DEFAULT_MAX_IMAGE_PIXELS,
    ) -> ImageTextData:
        """Read ``source``, verify every image cheaply, record what was skipped, check the share."""
        if not 0.0 <= max_bad_share <= 1.0:
            raise ValueError(f"max_bad_share must be in [0, 1], got {max_bad_share}")
        fit_size(1, 1, max_pixels=max_pixels, min_pixels=min_pixels)  # validates the budget
        if max_image_pixels < 1:
            raise ValueError(f"max_image_pixels must be >= 1, got {max_image_pixels}")
        candidates, skipped = read_items(source, require_text=require_text)
        source_name = str(Path(source).expanduser().absolute())
        total = len(candidates) + len(skipped)
        items: list[ImageTextItem] = []
        image_skipped: list[dict] = []
        for item in candidates:
            try:
                verify_image(item.image_path, max_image_pixels=max_image_pixels)
            except BadImage as exc:
                image_skipped.append(_record(item.source, item.line, item.id, str(item.image_path), str(exc)))
                logger.warning("data: skipped %s (%s line %s): %s", item.image_path, source_name, item.line, exc)
            else:
                items.append(item)
        skipped = skipped + image_skipped

        skipped_path = None
        if output_dir is not None:
            skipped_path = Path(output_dir) / SKIPPED_FILE
            if skipped:
                append_jsonl(skipped_path, skipped)
        data = cls(
            source_name,
            items,
            skipped,
            total,
            skipped_path=skipped_path,
            max_pixels=max_pixels,
            min_pixels=min_pixels,
            max_bad_share=max_bad_share,
            max_image_pixels=max_image_pixels,
        )
        where = f"see {skipped_path}" if skipped_path else "not written: no output_dir"
        logger.info("data: %d usable of %d items from %s (%d skipped, %s)", len(items), total, source_name, len(skipped), where)
        if not items:
            raise DataError(f"{source_name}: no usable items ({len(skipped)} of {total} skipped{data._examples()})")
        data._check_share()
        return data

    def __len__(self) -> int:
        return len(self.items)

    def image(self, item: ImageTextItem) -> Image.Image | None:
        """Decode ``item``'s image, or record it as skipped and return None."""
        try:
            return load_image(
                item.image_path,
                max_pixels=self.max_pixels,
                min_pixels=self.min_pixels,
                max_image_pixels=self.max_image_pixels,
            )
        except BadImage as exc:
            if item.id not in self._bad_ids:  # a second epoch does not count it twice
                self._bad_ids.add(item.id)
                record = _record(item.source, item.line, item.id, str(item.image_path), str(exc))
                self.skipped.append(record)
                logger.warning("data: skipped %s (%s line %s): %s", item.image_path, item.source, item.line, exc)
                if self.skipped_path is not None:
                    append_jsonl(self.skipped_path, [record])
                self._check_share()
            return None

    def _check_share(self) -> None:
        bad = len(self.skipped)
        if self.total and bad / self.total > self.max_bad_share:
            where = f"; see {self.skipped_path}" if self.skipped_path else ""
            raise DataError(
                f"{self.source}: {bad} of {self.total} items are bad ({bad / self.total:.1%}), "
                f"more than max_bad_share={self.max_bad_share:.1%}{where}{self._examples()}"
            )

    def _examples(self, n: int = 3) -> str:
        if not self.skipped:
            return ""
        shown = "; ".join(f"line {r['line']}: {r['reason']}" for r in self.skipped[:n])
        return f". First reasons: {shown}"


def shard(items: Sequence, rank: int, world_size: int) -> list:
    """This process's share of ``items``: ``items[rank::world_size]``.

    Shards are disjoint and together complete; their lengths differ by at most one, so a loop
    that must take the same number of steps on every rank should stop at the shortest shard
    (``len(items) // world_size``) or cycle.
    """
    if world_size < 1:
        raise ValueError(f"world_size must be >= 1, got {world_size}")
    if not 0 <= rank < world_size:
        raise ValueError(f"rank must be in [0, {world_size}), got {rank}")
    return list(items)[rank::world_size]

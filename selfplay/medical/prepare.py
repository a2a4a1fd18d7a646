"""`selfplay prepare medical`: DICOM, NIfTI, PNG and JPEG under a folder, each paired with its report.

Each file gives one image (a DICOM frame, a NIfTI slice, a radiograph as it is) windowed to 8 bits by
``scans``, with the report text ``reports`` finds for it; the folder walk, the output folder and the
skipped list are ``selfplay.prepare``'s, shared with remote sensing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ..prepare import Item, PrepareError, Summary, check_folders, convert_folder, walk
from .reports import SECTIONS, find_report, index_reports, read_table
from .scans import WINDOW_PRESETS, is_medical_file, read_medical_image


def parse_window(value: str | None) -> str | tuple[float, float] | None:
    """A preset name (lung, mediastinum, bone, brain) or "centre,width" in the image's units (HU)."""
    if value is None or value in WINDOW_PRESETS:
        return value
    try:
        centre, width = (float(v) for v in value.split(","))
    except ValueError:
        raise PrepareError(f"--window {value!r}: use a preset ({', '.join(WINDOW_PRESETS)}) or CENTRE,WIDTH") from None
    if not width > 0:
        raise PrepareError(f"--window {value!r}: the width must be above 0")
    return centre, width


def prepare_medical(src: str | Path, out: str | Path, *, reports: str | Path | None = None,
                    section: str = "findings", window: str | None = None, frame: int | None = None,
                    slice_index: int | None = None, previews: int = 8, overwrite: bool = False) -> Summary:
    """Convert every DICOM, NIfTI, PNG and JPEG under ``src`` and pair it with its report."""
    if section not in SECTIONS:
        raise PrepareError(f"--section {section!r}: choose one of {', '.join(SECTIONS)}")
    centre_width = parse_window(window)
    src, out = check_folders(src, out, overwrite)
    table = index_reports(read_table(reports)) if reports else {}
    files = walk(src, out)
    images = [path for path in files if is_medical_file(path)]

    def convert(path: Path, source: str) -> Iterator[Item]:
        image = read_medical_image(path, window=centre_width, frame=frame, slice_index=slice_index)
        name, shown = path.name.lower(), list(centre_width) if isinstance(centre_width, tuple) else centre_width
        if name.endswith((".png", ".jpg", ".jpeg")):
            meta = {}  # already 8-bit: no window, no plane to choose
        elif name.endswith((".nii", ".nii.gz")):
            meta = {"window": shown, "slice": slice_index}
        else:  # DICOM, with or without a suffix
            meta = {"window": shown, "frame": frame}
        yield Item(source, image, find_report(path, src, table, section), source, meta)

    options = {"reports": str(reports) if reports else None, "section": section, "window": window,
               "frame": frame, "slice": slice_index}
    return convert_folder("medical", src, out, images, len(files) - len(images), convert,
                          previews=previews, options=options)

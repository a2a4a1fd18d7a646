"""Radiology reports: their sections, the text to pair with an image, and where an image's report lies.

A report comes as a row of a reports table (IU X-Ray's findings/impression columns, or a free-text
``report`` column) or as a free-text ``.txt`` file beside the images (MIMIC-CXR's layout). Either way
the item's text is one section of it, findings by default, with obvious identifiers masked.
"""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

from ..identifiers import mask_identifiers
from ..prepare import PrepareError
from .scans import MEDICAL_SUFFIXES

SECTIONS = ("findings", "impression", "both")
# Columns of a reports table that name the image or study a row belongs to, tried in this order.
REPORT_KEYS = ("image", "file_name", "filename", "path", "study", "study_id", "uid", "id")

_HEADING = re.compile(  # known headings in any case or other ALL-CAPS ones at a line's start; main ones inline
    r"(?:^[ \t]*(?P<name>(?i:findings|impression|indication|history|clinical history|comparison|technique|"
    r"examination|exam|reason for exam|recommendations?|conclusions?|notification|wet read)"
    r"|[A-Z][A-Z /()&-]{2,40}?)|(?<=\s)(?P<inline>FINDINGS|IMPRESSION))[ \t]*:", re.MULTILINE)


def report_sections(text: str) -> dict[str, str]:
    """Split a free-text report at its ``HEADING:`` lines; keys are lower-case, bodies one line each.

    Known headings are matched in any case, other ALL-CAPS ones too; text before the first heading
    is kept as ``"preamble"``.

    >>> report_sections("FINAL REPORT\\nINDICATION: cough.\\nFindings:\\n Lungs are\\n clear.\\nIMPRESSION: Normal.")
    {'preamble': 'FINAL REPORT', 'indication': 'cough.', 'findings': 'Lungs are clear.', 'impression': 'Normal.'}
    """
    sections: dict[str, str] = {}
    matches = list(_HEADING.finditer(text))
    bounds = [m.start() for m in matches[1:]] + [len(text)]
    preamble = " ".join(text[: matches[0].start() if matches else len(text)].split())
    if preamble:
        sections["preamble"] = preamble
    for match, end in zip(matches, bounds):
        key = "_".join((match["name"] or match["inline"]).lower().split())
        body = " ".join(text[match.end():end].split())
        sections[key] = f"{sections[key]} {body}".strip() if key in sections else body
    return sections


def _clean(value) -> str:
    """A section's text, with a missing value (None, pandas' NaN) as empty."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return " ".join(str(value).split())


def report_text(row_or_text: dict | str, section: str = "findings") -> str | None:
    """The report text to pair with an image: findings (else impression), impression, or both.

    A dict is read by its ``findings``/``impression`` keys (IU X-Ray), else its ``report``/``text``
    parsed as free text (MIMIC-CXR); a free-text report without any heading counts as findings.

    >>> report_text({"findings": "", "impression": "No acute disease."})
    'No acute disease.'
    >>> report_text("FINDINGS: Clear lungs.\\nIMPRESSION: Normal.", "both")
    'Findings: Clear lungs.\\nImpression: Normal.'
    """
    if section not in SECTIONS:
        raise ValueError(f"section={section!r}; choose 'findings', 'impression' or 'both'")
    if isinstance(row_or_text, dict):
        row = {str(k).lower(): v for k, v in row_or_text.items()}
        if "findings" in row or "impression" in row:
            parts = {k: _clean(row.get(k)) for k in ("findings", "impression")}
        else:
            return report_text(_clean(row.get("report") or row.get("text")), section)
    else:
        sections = report_sections(row_or_text)
        has_heading = set(sections) != {"preamble"}
        parts = {k: sections.get(k, "") for k in ("findings", "impression")}
        if not has_heading:
            parts["findings"] = sections.get("preamble", "")
    if section == "both":
        joined = "\n".join(f"{k.capitalize()}: {v}" for k, v in parts.items() if v)
        return joined or None
    if section == "findings":
        return parts["findings"] or parts["impression"] or None
    return parts["impression"] or None



def read_table(path: str | Path) -> list[dict]:
    """Rows of a reports table: CSV with a header, a JSON list of objects, or JSONL (any other suffix)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise PrepareError(f"reports file {path} does not exist")
    try:
        text = path.read_text(encoding="utf-8-sig")
        if path.suffix.lower() == ".csv":
            rows = list(csv.DictReader(text.splitlines()))
        elif path.suffix.lower() == ".json":
            rows = json.loads(text)
        else:
            rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    except (UnicodeDecodeError, json.JSONDecodeError, csv.Error) as exc:
        raise PrepareError(f"reports file {path} cannot be read: {exc}") from exc
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise PrepareError(f"reports file {path} must hold one object per row")
    return rows


def index_reports(rows: list[dict]) -> dict[str, dict]:
    """Each row under every key it names (see REPORT_KEYS), also by that key's file name and stem, so
    "files/1_IM-0001-4001.dcm.png" finds 1_IM-0001-4001.dcm; the first row wins a repeated key."""
    index: dict[str, dict] = {}
    for row in rows:
        lowered = {str(k).lower(): v for k, v in row.items()}
        for key in REPORT_KEYS:
            value = str(lowered.get(key) or "").strip()
            if value:
                name = value.replace("\\", "/").rsplit("/", 1)[-1]
                for alias in (value, name, _stem(name)):
                    index.setdefault(alias, row)
    return index


def _stem(name: str) -> str:
    """A file name without its image suffixes: "1_IM-0001-4001.dcm.png" -> "1_IM-0001-4001"."""
    lowered = name.lower()
    while suffix := next((s for s in MEDICAL_SUFFIXES if lowered.endswith(s) and len(lowered) > len(s)), None):
        name, lowered = name[: -len(suffix)], lowered[: -len(suffix)]
    return name


def image_keys(path: Path, src: Path) -> list[str]:
    """What a reports row may call this image: its path under SRC, file name, stem, then its folders'
    names, nearest first (a MIMIC-style "s50414267" also as "50414267")."""
    rel = path.relative_to(src)
    keys = [rel.as_posix(), path.name, _stem(path.name)]
    for folder in list(rel.parents)[:-1]:
        keys.append(folder.name)
        if re.fullmatch(r"[A-Za-z]\d+", folder.name):
            keys.append(folder.name[1:])
    return keys


def report_files(path: Path, src: Path) -> list[Path]:
    """Where a free-text report may lie, in order: ``<stem>.txt`` beside the image, ``report.txt`` in
    its folder, then ``<folder>.txt`` beside each enclosing folder up to SRC (MIMIC-CXR's layout)."""
    candidates = [path.with_name(f"{_stem(path.name)}.txt"), path.parent / "report.txt"]
    folder = path.parent
    while folder != src and src in folder.parents:
        candidates.append(folder.parent / f"{folder.name}.txt")
        folder = folder.parent
    return candidates


def find_report(path: Path, src: Path, reports: dict[str, dict], section: str) -> str | None:
    """The masked report text of one image: a reports-table row first, else a free-text .txt report."""
    text = None
    row = next((reports[key] for key in image_keys(path, src) if key in reports), None)
    if row is not None:
        text = report_text(row, section)
    else:
        found = next((p for p in report_files(path, src) if p.is_file()), None)
        if found is not None:
            text = report_text(found.read_text(encoding="utf-8", errors="replace"), section)
    return mask_identifiers(text) if text else None

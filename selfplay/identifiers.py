"""Obvious identifiers out of text before it is written anywhere: reports, captions, skip reasons.

Both domains of ``selfplay prepare`` copy text from the user's files into the manifest, and the trainer
copies an item's text into prompts and ``games.jsonl``; every such text goes through
``mask_identifiers`` first. It is a safety net, not de-identification (see its docstring).
"""

from __future__ import annotations

import re

_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_NAME_WORD = r"[A-Z](?:\.|[A-Za-z'-]+\b)(?!\s*:)"  # "John", "J.", "SMITH"; not the next "MRN:"
_TITLE = r"(?:Dr|Mr|Mrs|Ms|Miss)\.?\s+"  # kept, so that "Signed by: Dr. Adams" loses the name, not the title
_NAME = rf"{_NAME_WORD}(?:,?[ \t]+{_NAME_WORD}){{0,2}}"
_IDENTIFIER_PATTERNS = [
    (re.compile(rf"\b\d{{4}}-\d{{1,2}}-\d{{1,2}}\b|\b\d{{1,2}}/\d{{1,2}}/\d{{2,4}}\b"
                rf"|\b\d{{1,2}}[.-]\d{{1,2}}[.-]\d{{4}}\b|\b\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH},?\s+\d{{4}}\b"
                rf"|\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}\b", re.IGNORECASE), "[DATE]"),
    (re.compile(r"(?<!\w)(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]\d{4}\b"), "[ID]"),
    (re.compile(r"(\b(?:MRN|medical record(?: number)?|record(?: number)?|accession(?: number)?|acc|"
                r"patient id|study id|ID)\s*(?:no\.?|number|#)?\s*[:#]?\s*)(?=[A-Z-]*\d)[A-Z0-9][A-Z0-9-]{3,}\b",
                re.IGNORECASE), r"\1[ID]"),
    (re.compile(r"\b\d{6,}\b"), "[ID]"),
    (re.compile(rf"(\b(?i:(?:patient )?name|patient|pt|physician|radiologist|attending|signed by|"
                rf"referring(?: physician)?)\s*:\s*(?:{_TITLE})?|\b{_TITLE}){_NAME}"), r"\1[NAME]"),
]


def mask_identifiers(text: str) -> str:
    """Replace obvious identifiers with ``[NAME]``, ``[DATE]`` and ``[ID]`` so they do not reach prompts.

    This is NOT de-identification: it catches labelled names, common date forms, labelled record
    numbers, long digit runs and phone numbers, and misses anything else (a name in running text,
    an address, a rare date format). Use a validated de-identification tool on data that needs one.
    MIMIC-style ``___`` placeholders are already masked and stay as they are.

    >>> mask_identifiers("Patient: John Smith, MRN: 1234567, seen 2019-03-04 by Dr. Lee. Compared with ___.")
    'Patient: [NAME], MRN: [ID], seen [DATE] by Dr. [NAME]. Compared with ___.'
    """
    for pattern, replacement in _IDENTIFIER_PATTERNS:
        text = pattern.sub(replacement, text)
    return text

"""Captions of remote-sensing scenes: read from the RSICD / UCM-captions / RSITMD JSON or a flat mapping,
and joined into the text of each of a scene's tiles."""

from __future__ import annotations

import json
from pathlib import Path

from ..identifiers import mask_identifiers
from .rasters import RasterError


def read_captions(path: str | Path) -> dict[str, list[str]]:
    """Captions by image file name, from the RSICD / UCM-captions / RSITMD JSON or a flat mapping.

    The first shape is ``{"images": [{"filename": ..., "sentences": [{"raw": ...}, ...]}, ...]}``
    (a name listed twice gets both lists); the second is ``{"x.jpg": ["...", ...]}`` or
    ``{"x.jpg": "..."}``. A malformed file raises RasterError naming the file and the field.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RasterError(f"{path}: cannot read captions: {exc}") from exc
    if isinstance(data, dict) and "images" in data:
        return _listed_captions(path, data["images"])
    if not isinstance(data, dict):
        raise RasterError(f"{path}: expected an object with 'images' or file name -> captions")
    captions = {}
    for name, texts in data.items():
        texts = [texts] if isinstance(texts, str) else texts
        if not isinstance(texts, list) or not all(isinstance(text, str) for text in texts):
            raise RasterError(f"{path}: {name!r} must map to a caption or a list of captions")
        captions[name] = [text.strip() for text in texts]
    return captions


def _listed_captions(path: str | Path, images: object) -> dict[str, list[str]]:
    """The RSICD shape: each image's file name and the raw text of its sentences."""
    if not isinstance(images, list):
        raise RasterError(f"{path}: 'images' must be a list")
    captions: dict[str, list[str]] = {}
    for i, image in enumerate(images):
        if not isinstance(image, dict) or not isinstance(image.get("filename"), str):
            raise RasterError(f"{path}: images[{i}] has no 'filename' string")
        sentences = image.get("sentences")
        if not isinstance(sentences, list):
            raise RasterError(f"{path}: images[{i}].sentences must be a list")
        for j, sentence in enumerate(sentences):
            if not isinstance(sentence, dict) or not isinstance(sentence.get("raw"), str):
                raise RasterError(f"{path}: images[{i}].sentences[{j}] has no 'raw' string")
        captions.setdefault(image["filename"], []).extend(s["raw"].strip() for s in sentences)
    return captions


def caption_text(captions: dict[str, list[str]], path: Path, src: Path) -> str | None:
    """A scene's captions, de-duplicated and joined, matched by path under SRC, file name, then stem."""
    rel = path.relative_to(src).as_posix()
    texts = captions.get(rel) or captions.get(path.name) or captions.get(path.stem)
    if not texts:
        return None
    joined = " ".join(dict.fromkeys(" ".join(text.split()) for text in texts if text.strip()))
    return mask_identifiers(joined) if joined else None

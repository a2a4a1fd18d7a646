"""Reading a generated shapes world back, shared by test_scene, test_ground_truth and test_world:
its JSONL rows, and the objects in its pixels (connected components of each palette colour)."""

import json
from collections import deque
from pathlib import Path

import numpy as np
from PIL import Image

from selfplay.scene import PALETTE

N = {"source": 40, "scan": 30, "aerial": 30}


def rows(path):
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]


def components(mask):
    """4-connected components of a boolean mask, as lists of (row, col)."""
    seen = np.zeros_like(mask, dtype=bool)
    found = []
    for r0, c0 in zip(*np.nonzero(mask)):
        if seen[r0, c0]:
            continue
        seen[r0, c0] = True
        queue, pixels = deque([(r0, c0)]), []
        while queue:
            r, c = queue.popleft()
            pixels.append((r, c))
            for rr, cc in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
                if 0 <= rr < mask.shape[0] and 0 <= cc < mask.shape[1] and mask[rr, cc] and not seen[rr, cc]:
                    seen[rr, cc] = True
                    queue.append((rr, cc))
        found.append(pixels)
    return found


def source_inventory(png):
    """(colour, shape, x, y, box) for each blob of a palette colour in a source-domain image."""
    image = np.asarray(Image.open(png).convert("RGB")).astype(int)
    size = image.shape[0]
    found = []
    for colour, rgb in PALETTE["source"].items():
        mask = np.abs(image - np.array(rgb)).max(-1) < 30
        for pixels in components(mask):
            rs, cs = [p[0] for p in pixels], [p[1] for p in pixels]
            box = (min(cs), min(rs), max(cs), max(rs))
            fill = len(pixels) / ((box[2] - box[0] + 1) * (box[3] - box[1] + 1))
            shape = "square" if fill > 0.9 else "circle" if fill > 0.65 else "triangle"
            x, y = (box[0] + box[2] + 1) / 2 / size, (box[1] + box[3] + 1) / 2 / size
            found.append({"colour": colour, "shape": shape, "x": x, "y": y, "box": box})
    return found


def centre_colour(image, box, domain):
    """The palette word nearest the pixel at the centre of ``box``, or None when none is near."""
    pixel = np.asarray(image)[(box[1] + box[3]) // 2, (box[0] + box[2]) // 2].astype(int)
    dist = {word: np.abs(pixel - np.array(rgb)).max() for word, rgb in PALETTE[domain].items()}
    word = min(dist, key=dist.get)
    return word if dist[word] < 45 else None

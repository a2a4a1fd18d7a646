"""Image files written with PIL for the data tests: noisy pixels, so that a resize or a re-encode shows."""

import numpy as np
from PIL import Image


def save(path, image, **kwargs):
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **kwargs)
    return path


def noisy_png(path, size=(64, 64)):
    rng = np.random.default_rng(0)
    return save(path, Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)))


def noisy_jpeg(path, size=(64, 64)):
    rng = np.random.default_rng(1)
    return save(path, Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)), quality=90)

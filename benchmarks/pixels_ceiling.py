"""What do a domain's images show at all? A small CNN trained from scratch on the training split's
images reads each existence fact the held-out questions ask about, with no VLM in the way.

Why: when neither GRPO nor SFT on the labels makes the VLM read a question type (scan's existence,
docs/learning.md), either the images do not show it at the world's resolution, or the model does not
extract it. A three-layer CNN over the same pixels, trained on the same 2000 images, separates the
two: a fact it reads is in the pixels (what it misses may still be there; it is a floor, not a
ceiling, on what the images show). The facts are what the existence questions ask, in their words
(is there a <colour> <kind> where the domain has several colours of the kind, is there a <kind>), and
whether the scene holds two or more objects; each is printed beside the held-out share of its
majority answer, which a model that does not look gets at best. Counts, positions and comparisons
are not measured.

    python benchmarks/pixels_ceiling.py --domain scan
    python benchmarks/pixels_ceiling.py --domain aerial --epochs 10
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from selfplay.builtin import resolve_world  # noqa: E402
from selfplay.records import read_jsonl  # noqa: E402
from selfplay.scene import DOMAINS, SHAPES, describe  # noqa: E402


def scene_facts(objects: list[dict], domain: str) -> dict[str, bool]:
    """The yes/no facts of one scene that the domain's existence questions ask, named as they ask
    them (selfplay.scene.describe), and whether it holds two or more objects.

    Example:
        >>> scene_facts([{"shape": "pond", "colour": "blue"}, {"shape": "tree", "colour": "green"}], "aerial")
        {'has grey building': False, 'has red building': False, 'has building': False, 'has pond': True, \
'has tree': True, 'has road': False, 'two or more objects': True}
    """
    facts = {}
    for kind, colours in SHAPES[domain].items():
        if len(colours) > 1:
            facts.update({f"has {describe(domain, kind, c)}": any(o["shape"] == kind and o["colour"] == c
                                                                    for o in objects) for c in colours})
        facts[f"has {describe(domain, kind, None)}"] = any(o["shape"] == kind for o in objects)
    facts["two or more objects"] = len(objects) >= 2
    return facts


def read_split(folder: Path):
    """The folder's images as a tensor (N, 3, side, side) in [0, 1], and each scene's objects."""
    import numpy as np
    import torch
    from PIL import Image

    rows = read_jsonl(folder / "scenes.jsonl")
    pixels = np.stack([np.asarray(Image.open(folder / row["image"]).convert("RGB"), dtype=np.float32) / 255
                       for row in rows])
    return torch.from_numpy(pixels).permute(0, 3, 1, 2), [row["scene"]["objects"] for row in rows]


def pixels_ceiling(train: Path, held_out: Path, domain: str, epochs: int = 30,
                   seed: int = 0) -> dict[str, tuple[float, float]]:
    """Each fact's held-out accuracy of a small CNN trained on `train`'s images, and its majority share."""
    import torch

    torch.manual_seed(seed)
    x, train_objects = read_split(train)
    x_held, held_objects = read_split(held_out)
    names = list(scene_facts([], domain))
    y, y_held = (torch.tensor([list(scene_facts(o, domain).values()) for o in scenes], dtype=torch.float32)
                 for scenes in (train_objects, held_objects))
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(32, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveMaxPool2d(1), torch.nn.Flatten(),
        torch.nn.Linear(32, len(names)))
    optimizer = torch.optim.Adam(net.parameters(), lr=2e-3)
    for _ in range(epochs):
        order = torch.randperm(len(x))
        for start in range(0, len(x), 64):
            batch = order[start:start + 64]
            optimizer.zero_grad()
            torch.nn.functional.binary_cross_entropy_with_logits(net(x[batch]), y[batch]).backward()
            optimizer.step()
    with torch.no_grad():
        right = ((net(x_held) > 0).float() == y_held).float().mean(0)
    share = y_held.mean(0)
    return {name: (float(a), float(max(s, 1 - s))) for name, a, s in zip(names, right, share)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--domain", default="scan", choices=DOMAINS)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", default="~/.cache/selfplay")
    args = parser.parse_args()
    train = resolve_world(f"builtin:shapes-{args.domain}", args.cache, "--domain")
    held_out = resolve_world(f"builtin:shapes-{args.domain}-eval", args.cache, "--domain")
    started = time.perf_counter()
    ceiling = pixels_ceiling(train, held_out, args.domain, args.epochs, args.seed)
    print(f"{args.domain}: a small CNN from scratch on {train.name}'s images, {args.epochs} epochs, read on "
          f"{held_out.name} ({time.perf_counter() - started:.0f} s)\n")
    print("| fact | CNN | majority |\n|---|---|---|")
    for fact, (accuracy, majority) in ceiling.items():
        print(f"| {fact} | {accuracy:.3f} | {majority:.3f} |")


if __name__ == "__main__":
    main()

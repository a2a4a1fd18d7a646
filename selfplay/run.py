"""Entry point: `accelerate launch selfplay/run.py [CONFIG.yaml] [--section.key value ...] [--resume [PATH]]`.

Parsing is kept apart from doing: `selfplay.runner.main(config)` runs the job and is what tests call.
"""

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from selfplay.config import ConfigError  # noqa: E402
from selfplay.config_parser import parse_args  # noqa: E402


def run(argv: list[str] | None = None) -> int:
    try:
        cfg = parse_args(argv)
    except ConfigError as error:
        print(f"selfplay: config error: {error}", file=sys.stderr)
        return 2
    from selfplay.checkpoint import CheckpointError
    from selfplay.runner import main

    try:
        main(cfg)
    except ConfigError as error:  # what only the run can check: a tracker package that is missing
        print(f"selfplay: config error: {error}", file=sys.stderr)
        return 2
    except CheckpointError as error:
        print(f"selfplay: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(run())

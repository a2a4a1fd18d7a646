"""How many CPU threads torch uses when a launcher, not the user, pinned it to one.

Why: `accelerate launch` always exports OMP_NUM_THREADS, set to `--num_cpu_threads_per_process`,
which is 1 unless that flag is passed or the launch is marked as a CPU one (`--cpu`, or `use_cpu` in
a config such as launch/cpu.yaml: then physical cores per process); the README's plain `accelerate
launch selfplay/run.py` is neither. torchrun exports 1 to every process when it starts several.
torch then runs the whole job, the warm start included, on one core: the README's first command
ran at half speed on 2 cores. So on CPU, under a launcher that left OMP_NUM_THREADS at 1, each
process takes its share of the cores this process may run on. An OMP_NUM_THREADS the user set
without a launcher (`OMP_NUM_THREADS=1 python selfplay/run.py`), or set to anything but 1, is kept.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

log = logging.getLogger("selfplay")

# Variables only the launchers export: accelerate launch's process environment, torchrun's agent.
LAUNCHER_MARKERS = {"ACCELERATE_MIXED_PRECISION": "accelerate launch", "TORCHELASTIC_RUN_ID": "torchrun"}


def launcher(environ: Mapping[str, str]) -> str | None:
    """The launcher that started this process, if any.

    Example:
        >>> launcher({"ACCELERATE_MIXED_PRECISION": "no", "OMP_NUM_THREADS": "1"})
        'accelerate launch'
        >>> launcher({"OMP_NUM_THREADS": "1"}) is None
        True
    """
    return next((name for key, name in LAUNCHER_MARKERS.items() if key in environ), None)


def cpu_threads(*, on_cpu: bool, omp_num_threads: str | None, launched_by: str | None, cores: int,
                local_processes: int) -> int | None:
    """Threads per process to set, or None to leave torch as it is.

    A launcher's OMP_NUM_THREADS=1 on CPU becomes this process's share of `cores`; with one core per
    process (or fewer) that share is 1 and nothing changes. GPU runs and users' own settings are kept.

    Example:
        >>> cpu_threads(on_cpu=True, omp_num_threads="1", launched_by="accelerate launch", cores=2, local_processes=1)
        2
        >>> cpu_threads(on_cpu=True, omp_num_threads="1", launched_by="torchrun", cores=16, local_processes=2)
        8
        >>> cpu_threads(on_cpu=True, omp_num_threads="1", launched_by="torchrun", cores=2, local_processes=2) is None
        True
        >>> cpu_threads(on_cpu=True, omp_num_threads="1", launched_by=None, cores=2, local_processes=1) is None
        True
    """
    if not on_cpu or launched_by is None or omp_num_threads != "1":
        return None
    share = cores // max(1, local_processes)
    return share if share > 1 else None


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, where the platform tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def use_available_cores(on_cpu: bool) -> int | None:
    """Apply `cpu_threads` to torch for this process; returns the threads set, or None."""
    import torch

    by = launcher(os.environ)
    threads = cpu_threads(on_cpu=on_cpu, omp_num_threads=os.environ.get("OMP_NUM_THREADS"), launched_by=by,
                          cores=available_cores(), local_processes=int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    if threads is not None:
        torch.set_num_threads(threads)
        log.info("cpu: %s set OMP_NUM_THREADS=1; torch uses %d threads, this process's share of the cores "
                 "(run with python and OMP_NUM_THREADS=1 to keep one)", by, threads)
    return threads

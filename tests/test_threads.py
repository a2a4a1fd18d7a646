"""A launcher's OMP_NUM_THREADS=1 on CPU becomes the process's share of the cores; users' settings stay."""

import torch

from selfplay.threads import available_cores, use_available_cores


def test_accelerate_launch_one_thread_becomes_the_cores(monkeypatch):
    before = torch.get_num_threads()
    monkeypatch.setenv("ACCELERATE_MIXED_PRECISION", "no")  # what accelerate launch exports, with:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    try:
        torch.set_num_threads(1)
        threads = use_available_cores(on_cpu=True)
        expected = available_cores() if available_cores() > 1 else None
        assert threads == expected
        assert torch.get_num_threads() == (expected or 1)
        torch.set_num_threads(1)
        assert use_available_cores(on_cpu=False) is None and torch.get_num_threads() == 1  # a GPU run keeps it
        monkeypatch.delenv("ACCELERATE_MIXED_PRECISION")
        assert use_available_cores(on_cpu=True) is None and torch.get_num_threads() == 1  # the user's own 1
    finally:
        torch.set_num_threads(before)

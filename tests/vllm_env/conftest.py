"""These checks need vLLM: the main environment leaves them to tests/test_vllm.py, which runs them in the
vLLM environment and hands over the tiny models and world it already built (SELFPLAY_TEST_*), so they
are not built twice."""

import importlib.util
import os
from pathlib import Path

import pytest

if importlib.util.find_spec("vllm") is None:
    collect_ignore_glob = ["check_*.py"]


def _given(name: str, request, fixture: str) -> Path:
    path = os.environ.get(name)
    return Path(path) if path else request.getfixturevalue(fixture)


@pytest.fixture(scope="session")
def tiny_model(request):
    return _given("SELFPLAY_TEST_TINY_MODEL", request, "tiny_qwen")


@pytest.fixture(scope="session")
def warm_model(request):
    return _given("SELFPLAY_TEST_WARM_MODEL", request, "warm_qwen")


@pytest.fixture(scope="session")
def world(request):
    return _given("SELFPLAY_TEST_WORLD", request, "shapes_world")

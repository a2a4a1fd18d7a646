"""The vLLM engine's tests, run in the vLLM environment: vLLM pins its own torch and transformers, so it
lives in a virtual environment of its own (.ci/run builds it; the recipe is in README.md), and these
tests run tests/vllm_env/ there with its python, named by SELFPLAY_VLLM_PYTHON. Without that variable
they are skipped, unless SELFPLAY_REQUIRE_VLLM=1 (CI), where a missing environment is a failure."""

import os
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
CHECKS = ROOT / "tests" / "vllm_env"
HOW = ("set SELFPLAY_VLLM_PYTHON to the python of a vLLM environment built as .ci/run builds it "
       "(README.md, 'vLLM rollouts')")


def vllm_python() -> str:
    python = os.environ.get("SELFPLAY_VLLM_PYTHON", "")
    if not python:
        if os.environ.get("SELFPLAY_REQUIRE_VLLM") == "1":
            pytest.fail(f"SELFPLAY_REQUIRE_VLLM=1 but no vLLM environment: {HOW}")
        pytest.skip(f"no vLLM environment: {HOW}")
    if not Path(python).is_file():
        pytest.fail(f"SELFPLAY_VLLM_PYTHON={python}: no such file")
    return python


def _run_checks(checks: str, tmp_path, **given) -> None:
    """pytest on tests/vllm_env/`checks` with the vLLM environment's python; `given`: SELFPLAY_TEST_* paths."""
    python = vllm_python()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")]),
           **{f"SELFPLAY_TEST_{name.upper()}": str(path) for name, path in given.items()}}
    env.pop("SELFPLAY_ARTIFACTS", None)
    result = subprocess.run([python, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                             "--basetemp", str(tmp_path / "basetemp"), str(CHECKS / checks)],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, f"{checks} failed in {python}:\n{result.stdout[-8000:]}"
    assert " passed" in summary and "skipped" not in summary, summary


def test_engine_against_peft(tiny_qwen, tmp_path):
    _run_checks("check_engine.py", tmp_path, tiny_model=tiny_qwen)


def test_round_records_and_resumes(warm_qwen, shapes_world, tmp_path):
    _run_checks("check_round.py", tmp_path, warm_model=warm_qwen, world=shapes_world)

"""The vLLM engine's tests, run in the vLLM environment: vLLM pins its own torch and transformers, so it
lives in a virtual environment of its own (.ci/run builds it; the recipe is in README.md), and these
tests run tests/vllm_env/ there with its python, named by SELFPLAY_VLLM_PYTHON. Without that variable
they are skipped, unless SELFPLAY_REQUIRE_VLLM=1 (CI), where a missing environment is a failure."""

import os
import subprocess
import sys
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


@pytest.mark.parametrize("checks", ["check_engine.py", "check_round.py"])
def test_in_the_vllm_environment(checks, tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    env.pop("SELFPLAY_ARTIFACTS", None)
    result = subprocess.run([vllm_python(), "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                             "--basetemp", str(tmp_path / "basetemp"), str(CHECKS / checks)],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=1500)
    sys.stdout.write(result.stdout[-6000:])
    sys.stderr.write(result.stderr[-6000:])
    assert result.returncode == 0, f"{checks} failed in {vllm_python()}:\n{result.stdout[-6000:]}"
    assert " passed" in result.stdout and "skipped" not in result.stdout.splitlines()[-1]

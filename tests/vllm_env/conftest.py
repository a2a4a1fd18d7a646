"""These checks need vLLM: the main environment leaves them to tests/test_vllm.py, which runs them in the
vLLM environment."""

import importlib.util

if importlib.util.find_spec("vllm") is None:
    collect_ignore_glob = ["check_*.py"]

#!/usr/bin/env bash
# The learning table on a machine lent for a few minutes (docs/benchmarks/gpu.md): all 18 runs side by side on
# its CPU cores, cut off at a deadline and summarised as far as every run got (learning.py --from-runs).
#
#   bash benchmarks/learning_by_deadline.sh MODEL SECONDS OUT [learning.py options...]
#
# MODEL: the base (a checkpoint folder); SECONDS: when to stop the runs; OUT: where learning.json,
# learning.md, the log and the runs' eval/metrics records go. Python packages the machine lacks travel as
# wheels in .whl/ (the device tool's README); with none there, the machine's own are used.
# The GPU stays hidden: on a lent H200 the 18 runs sharing it went 2.5 to 3 times slower each than one run on
# one CPU core of this project's machines (the tiny model leaves the GPU idle between its small kernels).
set -uo pipefail
model=$1 seconds=$2 out=$3
mkdir -p "$out"
exec > >(tee "$out/log") 2>&1
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false CUDA_VISIBLE_DEVICES=
if compgen -G ".whl/*.whl" > /dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site:$PWD
  if ! python3 -c "import transformers, trl, peft, datasets" ; then  # carried transformers needs more: keep the machine's
    rm -rf /tmp/site && mkdir /tmp/site
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site \
      .whl/trl-*.whl .whl/datasets-*.whl .whl/dill-*.whl .whl/multiprocess-*.whl .whl/peft-*.whl .whl/accelerate-*.whl
  fi
fi
export PYTHONPATH=${PYTHONPATH:-$PWD}
python3 -c "import torch, transformers, trl, peft; print('torch', torch.__version__, 'transformers', transformers.__version__,
'trl', trl.__version__, 'peft', peft.__version__)" || exit 1
table=(benchmarks/learning.py --model "$model" --eval-every 5 --jobs 18 --work /tmp/table --out "$out" "${@:4}")
started=$(date +%s)
timeout -k 5 "$seconds" python3 "${table[@]}"
status=$?
pkill -9 -f spawn_main || true
echo "learning.py ended with $status after $(( $(date +%s) - started )) s"
if [ "$status" != 0 ]; then
  python3 "${table[@]}" --from-runs
fi
tar czf "$out/runs.tgz" -C /tmp/table --exclude rounds --exclude '*.png' --exclude 'games.jsonl' --exclude report --exclude 'model-*' . || true

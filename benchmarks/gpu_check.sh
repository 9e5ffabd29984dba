#!/usr/bin/env bash
# The GPU session of issue 12, run from the repository root on a CUDA machine; results go to $OUT (default outputs/gpu).
#   1. the CUDA tests (tests/test_precision.py: fp16 loss scaling, auto precision, rollout on the GPU, bf16 training)
#   2. python -m benchmarks --only training,evaluation --quick (ours fp32 / auto precision / tutorial / floor)
#   3. the paper's budget: 100,000 steps of the tutorial preset on the 1,000 bundled expert episodes, stopped
#      after BUDGET_SECONDS (default 150) with the full run's time projected, then a timed 10-episode evaluation.
# Packages the GPU image lacks travel as wheels in .whl/ (benchmarks/gpu_wheels.sh makes it); install them first:
#   python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
#     && export PYTHONPATH=/tmp/site || exit; bash benchmarks/gpu_check.sh
set -uo pipefail
OUT=${OUT:-outputs/gpu}
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 DT_TUTORIAL_CACHE=${DT_TUTORIAL_CACHE:-/tmp/dt_cache}
export TOKENIZERS_PARALLELISM=false  # MUJOCO_GL: dt_tutorial picks it (nothing here renders)
status=0
phase() { echo "=== $1 ($(date +%T), load $(cut -d' ' -f1-3 /proc/loadavg))"; }

phase "machine" | tee "$OUT/log"
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; python3 -c "import torch, transformers, gymnasium, mujoco, datasets
print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'bf16', torch.cuda.is_available() and torch.cuda.is_bf16_supported())
print('transformers', transformers.__version__, 'gymnasium', gymnasium.__version__, 'mujoco', mujoco.__version__, 'datasets', datasets.__version__)"; } 2>&1 | tee -a "$OUT/log" || exit 1

phase "data: the bundled expert episodes (collected once, ~1 min)" | tee -a "$OUT/log"
python3 -c "from dt_tutorial.data import load_episodes; print(load_episodes('${BUDGET_DATASET:-bundled-expert}'))" 2>&1 | tail -3 | tee -a "$OUT/log" || status=1

phase "CUDA tests" | tee -a "$OUT/log"
timeout 150 python3 -m pytest tests/test_precision.py -q -rs -p no:cacheprovider 2>&1 | tail -15 | tee -a "$OUT/log" || status=1

phase "benchmarks: training, evaluation" | tee -a "$OUT/log"
timeout 200 python3 -m benchmarks --quick --only training,evaluation --json "$OUT/benchmarks.json" 2>&1 | tail -20 | tee -a "$OUT/log" || status=1

phase "budget: 100,000 steps, tutorial preset, stopped after ${BUDGET_SECONDS:-150} s" | tee -a "$OUT/log"
python3 -m benchmarks.budget "$OUT/budget.json" --dataset "${BUDGET_DATASET:-bundled-expert}" --seconds "${BUDGET_SECONDS:-150}" 2>&1 \
  | grep -v -E "it/s\]|Warning" | tail -25 | tee -a "$OUT/log" || status=1
phase "done (status $status)" | tee -a "$OUT/log"
exit $status

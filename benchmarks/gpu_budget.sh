#!/usr/bin/env bash
# The paper's budget run whole on a GPU (100,000 steps of the tutorial preset on the 1,000 bundled expert episodes,
# compiled with CUDA graphs, then a timed 10-episode evaluation), over two device calls: one call may run 10 minutes
# and the run takes about that, so it runs detached (setsid) and the second call, on the still-warm machine, collects it.
#   bash benchmarks/gpu_budget.sh start   # machine facts, the data, the CUDA tests, then the budget; returns after WAIT_S
#   bash benchmarks/gpu_budget.sh wait    # waits (up to WAIT_S) for the budget to end
# BUDGET_SECONDS stops the training that long after its warm-up (a dry run; the default runs it whole).
# Both copy what there is to $OUT (default outputs/gpu). Install the wheels first, as for benchmarks/gpu_check.sh.
set -uo pipefail
OUT=${OUT:-outputs/gpu} RUN=${RUN:-/tmp/gpu-budget} WAIT_S=${WAIT_S:-560}
mkdir -p "$OUT" "$RUN"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 DT_TUTORIAL_CACHE=${DT_TUTORIAL_CACHE:-/tmp/dt_cache}
phase() { echo "=== $1 ($(date +%T), load $(cut -d' ' -f1-3 /proc/loadavg))" | tee -a "$RUN/log"; }

case ${1:-} in
  start)
    phase "machine"
    { nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; nproc; python3 -c "import torch, transformers, accelerate
print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'transformers', transformers.__version__, 'accelerate', accelerate.__version__)"; } 2>&1 | tee -a "$RUN/log"
    phase "data"
    python3 -c "from dt_tutorial.sources import load_episodes; print(load_episodes('bundled-expert'))" 2>&1 | tail -3 | tee -a "$RUN/log"
    phase "CUDA tests"
    timeout 240 python3 -m pytest tests/test_precision.py tests/test_last_action.py tests/test_train.py tests/test_rollout.py -q -rs \
      -p no:cacheprovider > "$RUN/tests.log" 2>&1; tail -15 "$RUN/tests.log" | tee -a "$RUN/log"
    phase "budget: 100,000 steps, precision auto, compile reduce-overhead, detached"
    setsid bash -c "python3 -m benchmarks.budget '$RUN/budget.json' --seconds ${BUDGET_SECONDS:-1e9} --precision auto --compile reduce-overhead \
      --eval-episodes 10 > '$RUN/budget.log' 2>&1; echo \$? > '$RUN/budget.rc'" < /dev/null > /dev/null 2>&1 &
    ;;
  wait) phase "waiting for the budget" ;;
  *) echo "usage: $0 start|wait" >&2; exit 2 ;;
esac
while [ ! -f "$RUN/budget.rc" ] && [ "$SECONDS" -lt "$WAIT_S" ]; do sleep 5; done
phase "budget $( [ -f "$RUN/budget.rc" ] && echo "ended, exit status $(cat "$RUN/budget.rc")" || echo "still running")"
grep -v -E "Warning|it/s\]" "$RUN/budget.log" | tail -25
cp "$RUN"/* "$OUT"/ 2>/dev/null
exit 0

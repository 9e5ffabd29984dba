#!/usr/bin/env bash
# The GPU checks (the paper's budget, bf16, the CUDA tests), run from the repository root on a CUDA machine; results go to $OUT (default outputs/gpu).
#   1. the paper's budget: 100,000 steps of the tutorial preset on the 1,000 bundled expert episodes, in four variants
#      (fp32 / auto precision eager; auto compiled, with and without CUDA graphs), each stopped VARIANT_SECONDS
#      (default 25) after its warm-up, the full run's time projected from its rate; a timed 10-episode evaluation
#      after the eager ones
#   2. the CUDA tests (tests/test_precision.py: fp16 loss scaling, auto precision, rollout on the GPU, compiled training)
#   3. python -m benchmarks --only training,evaluation --quick (ours fp32 / auto precision / tutorial / floor)
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
python3 -c "from dt_tutorial.sources import load_episodes; print(load_episodes('${BUDGET_DATASET:-bundled-expert}'))" 2>&1 | tail -3 | tee -a "$OUT/log" || status=1

VARIANTS=${VARIANTS:-"fp32 auto auto:reduce-overhead auto:default"}
phase "budget: 100,000-step schedule, tutorial preset, variants $VARIANTS, each stopped after ${VARIANT_SECONDS:-25} s" | tee -a "$OUT/log"
for variant in $VARIANTS; do
  precision=${variant%%:*}; mode=${variant#"$precision"}; mode=${mode#:}
  phase "budget $variant" | tee -a "$OUT/log"
  timeout 200 python3 -m benchmarks.budget "$OUT/budget-${variant/:/-}.json" --dataset "${BUDGET_DATASET:-bundled-expert}" \
    --seconds "${VARIANT_SECONDS:-25}" --precision "$precision" ${mode:+--compile "$mode"} --eval-episodes $([ -z "$mode" ] && echo 10 || echo 0) 2>&1 \
    | grep -v -E "it/s\]|Warning" | tail -22 | tee -a "$OUT/log" || status=1
done
phase "CUDA tests" | tee -a "$OUT/log"
timeout 150 python3 -m pytest tests/test_precision.py -q -rs -p no:cacheprovider 2>&1 | tail -15 | tee -a "$OUT/log" || status=1

phase "benchmarks: training, evaluation" | tee -a "$OUT/log"
timeout 200 python3 -m benchmarks --quick --only training,evaluation --json "$OUT/benchmarks.json" 2>&1 | tail -20 | tee -a "$OUT/log" || status=1

python3 - "$OUT" <<'PY' 2>&1 | tee -a "$OUT/log"
import json, pathlib, sys
print(f"{'variant':<26}{'steps/s':>9}{'100k steps':>12}{'warm-up s':>11}{'eval 10 eps s':>15}")
for path in sorted(pathlib.Path(sys.argv[1]).glob("budget-*.json")):
    r = json.loads(path.read_text())
    print(f"{path.stem[7:]:<26}{r['steps_per_s']:>9.1f}{r['projected_budget_s'] / 60:>10.1f} m{r['warmup_s']:>11.1f}{r.get('eval_s', '-'):>15}")
PY
phase "done (status $status)" | tee -a "$OUT/log"
exit $status

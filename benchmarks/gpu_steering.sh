#!/usr/bin/env bash
# Steering variants side by side on a GPU machine: every (variant, seed) pair trains at once in its own
# process (the tiny model leaves the GPU mostly idle), then sweeps 8 targets x 10 episodes. Reports go to
# $OUT/steering/*.json, a table to $OUT/log, all reports in one file to $OUT/sweep.json.
# Install the wheels first, as for gpu_check.sh.
set -uo pipefail
OUT=${OUT:-outputs/gpu}
mkdir -p "$OUT/steering"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 DT_TUTORIAL_CACHE=${DT_TUTORIAL_CACHE:-/tmp/dt_cache}
export OMP_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false
echo "=== $(date +%T) $(nvidia-smi --query-gpu=name --format=csv,noheader), $(nproc --all) cores" | tee "$OUT/log"
run() {  # run VARIANTS SEEDS: each variant with each seed
  timeout "${SWEEP_SECONDS:-420}" python3 -m benchmarks.steering --variant "$1" --seeds "$2" --jobs "${JOBS:-16}" \
    --no-progress --out "$OUT/steering" 2>&1 | grep -E "^\[|^  [0-9]|Error|error" | tee -a "$OUT/log"
}
run "${VARIANTS:-demo,pace,demo-draw1@42,pace-draw1@42,pace-2k@42,pace-1500@42,pace-4k@42,pace-h64@42,pace-k10@42,pace-nodrop@42,pace-held-switch@42,held-switch@42}" "${SEEDS:-42,1,7}"
echo "=== $(date +%T) done" | tee -a "$OUT/log"
# Some trained models come back for study, 4 to a tar (the tool returns at most 8 files of 16 MB)
i=0; for group in $(ls -d "$OUT"/steering/*/ 2>/dev/null | grep -E "${MODELS_BACK:-^$}" | xargs -n 4 | tr ' ' ','); do
  i=$((i + 1)); tar -cf "$OUT/models-$i.tar" $(echo "$group" | tr ',' '\n' | sed 's|$|model.safetensors|; p; s|model.safetensors|config.json|'); done
python3 - "$OUT" <<'PY'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
reports = [json.loads(p.read_text()) for p in sorted((out / "steering").glob("*.json"))]
(out / "sweep.json").write_text(json.dumps(reports))
for r in sorted(reports, key=lambda r: -r["spearman_rho"]):
    print(f"{r['variant']:<18}{r['train_config']['seed']:>4} rho {r['spearman_rho']:.3f} err {r['mean_abs_error_in_range']:6.0f} "
          f"D4RL {r['top_target_d4rl_score']:5.1f} train {r['seconds']['training']:6.1f} s  " + " ".join(f"{m:.0f}" for m in r["mean"]))
PY

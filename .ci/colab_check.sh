#!/usr/bin/env bash
# The Colab-like check. In a fresh virtual environment: Google Colab's preinstalled versions first
# (.ci/colab/pyX.Y.txt), then the notebooks' own install cell, run as on Colab but with its two release URLs
# pointed at this checkout; no preinstalled package may change, and everything it adds must be something Colab
# lacks; then every notebook in fast mode (nbmake) and the slider's tests on those versions.
#   bash .ci/colab_check.sh [3.13|3.12 [NOTEBOOK...]]
# 3.13 (the default) is Colab's runtime, 3.12 the runtimes before it; NOTEBOOK: a name's start (04), default all.
# Needs that Python (pythonX.Y on PATH, or a pyenv version X.Y.*), ~7 GB of disk for the environment (PyPI's torch
# 2.11.0 is its CUDA build: the constraints file says why), and root or sudo for the apt step if libOSMesa is
# missing. The environment lives in a temporary folder, removed at the end.
set -euo pipefail
PY=${1:-3.13}
shift $(( $# > 0 ? 1 : 0 ))
NOTEBOOKS=("${@:-0}")
cd "$(dirname "$0")/.."
ROOT=$PWD
CONSTRAINTS=$ROOT/.ci/colab/py$PY.txt
[ -f "$CONSTRAINTS" ] || { echo "error: no Colab runtime listed for Python $PY (.ci/colab/py*.txt)" >&2; exit 2; }
# What the package and the notebooks touch, at Colab's versions (with their dependencies, also at Colab's versions).
PREINSTALLED=(pip setuptools torch transformers accelerate datasets huggingface_hub gymnasium numpy pyarrow pandas
  scipy tqdm filelock matplotlib pillow imageio imageio-ffmpeg threadpoolctl absl-py "etils[epath]" PyOpenGL packaging
  websockets safetensors tokenizers ipywidgets widgetsnbextension jupyterlab_widgets ipykernel ipython traitlets
  jupyter_client jupyter_core notebook nbclient nbformat pytest)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/colab-check.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
unset PYTHONPATH  # the notebooks must import the package as installed, not a checkout
export JUPYTER_DATA_DIR=$WORK/jupyter  # a user's own kernels must not replace the environment's python3 kernel
START=$SECONDS
step() { local t=$SECONDS; echo "== colab $PY: $1"; shift; "$@"; echo "   ($((SECONDS - t)) s)"; }

# Not the python of an activated virtual environment (.ci/run has one active): the interpreter itself.
if [ -n "${VIRTUAL_ENV:-}" ]; then PATH=${PATH//$VIRTUAL_ENV\/bin:/}; unset VIRTUAL_ENV; fi
if python$PY --version >/dev/null 2>&1; then PYTHON=python$PY
elif VERSION=$(pyenv versions --bare 2>/dev/null | grep -E "^${PY//./\\.}\.[0-9]+$" | tail -1) && [ -n "$VERSION" ]; then
  PYTHON=$(pyenv prefix "$VERSION")/bin/python$PY
else echo "error: Python $PY not found (python$PY, pyenv)" >&2; exit 2; fi
[ "$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" = "$PY" ] || { echo "error: $PYTHON is not Python $PY" >&2; exit 2; }

step "a fresh environment with $("$PYTHON" --version)" "$PYTHON" -m venv "$WORK/venv"
. "$WORK/venv/bin/activate"
preinstall() { pip install -q -c "$CONSTRAINTS" pip && pip install -q -c "$CONSTRAINTS" "${PREINSTALLED[@]}"; }
step "Colab's preinstalled packages" preinstall
pip freeze --all > "$WORK/before.txt"

mkdir "$WORK/content"  # Colab's working folder
step "the notebooks' install cell, pointed at this checkout" python - "$ROOT" "$WORK/content" <<'EOF'
import json, os, re, sys, types
root, content = sys.argv[1:]
cell = "".join(next(c["source"] for c in json.load(open(f"{root}/notebooks/01_load_the_dataset.ipynb"))["cells"]
                    if c["cell_type"] == "code"))
cell, n_script = re.subn(r'"https://github\.com/[^"]+/raw/[^"/]+/', f'"file://{root}/', cell)
cell, n_source = re.subn(r'"git\+https://github\.com/[^"]+@[^"]+"', repr(root).replace("'", '"'), cell)
assert n_script == n_source == 1, f"the install cell no longer names one script URL and one package source:\n{cell}"
os.chdir(content)
sys.path.insert(0, "")
sys.modules["google.colab"] = types.ModuleType("google.colab")
exec(compile(cell, "install cell", "exec"), {"__name__": "__main__"})
EOF
pip freeze --all > "$WORK/after.txt"

# compare BEFORE AFTER [--only-changes]: no package of BEFORE changed; (unless --only-changes) none of those added
# is one Colab has, else the check would run with versions Colab does not.
compare() { python - "$@" "$CONSTRAINTS" <<'EOF'
import re, sys
def versions(path):
    pairs = (re.split(r"==| @ ", line.strip()) for line in open(path) if line.strip() and not line.startswith("#"))
    return {re.sub(r"[-_.]+", "-", name).lower(): version for name, version in pairs}
before, after, colab = versions(sys.argv[1]), versions(sys.argv[2]), versions(sys.argv[-1])
changed = [f"{n} {v} -> {after.get(n, 'removed')}" for n, v in sorted(before.items()) if after.get(n) != v]
added = {n: after[n] for n in sorted(after.keys() - before.keys())}
print("   added:", ", ".join(f"{n} {v}" for n, v in added.items()) or "nothing")
assert not changed, f"preinstalled packages changed: {changed}"
known = sorted(n for n in added if n in colab)
assert "--only-changes" in sys.argv or not known, f"Colab has {known}: add them to PREINSTALLED in .ci/colab_check.sh"
EOF
}
step "nothing preinstalled changed, nothing Colab has was added" compare "$WORK/before.txt" "$WORK/after.txt"

step "nbmake, at Colab's versions of what it needs" pip install -q -c "$CONSTRAINTS" nbmake
pip freeze --all > "$WORK/nbmake.txt"
compare "$WORK/after.txt" "$WORK/nbmake.txt" --only-changes
python -X frozen_modules=off - <<'EOF'  # (debugpy, which this loads, warns about frozen modules)
import shutil, sys
from jupyter_client.kernelspec import KernelSpecManager
argv0 = KernelSpecManager().get_kernel_spec("python3").argv[0]
assert shutil.which(argv0) and shutil.which(argv0).startswith(sys.prefix), f"the python3 kernel runs {argv0}, not {sys.prefix}"
EOF
for name in "${NOTEBOOKS[@]}"; do cp "$ROOT"/notebooks/"$name"*.ipynb "$WORK/content/"; done
cd "$WORK/content"  # not the checkout: the tests and notebooks import the package as installed
step "the notebooks in fast mode" env DT_TUTORIAL_FAST=1 python -m pytest -q -p no:cacheprovider -p no:warnings --nbmake ./*.ipynb
step "the slider's and the install step's tests" python -m pytest -q -p no:cacheprovider -p no:warnings \
  "$ROOT/tests/test_widgets.py" "$ROOT/tests/test_colab_install.py"
echo "== colab $PY: passed in $((SECONDS - START)) s"

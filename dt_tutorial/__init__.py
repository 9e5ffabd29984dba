"""dt_tutorial: train your first Decision Transformer (🤗 transformers + gymnasium + MuJoCo).

The modules follow the data: data (load, flatten) → collator (batches) → model (TrainableDT) →
train (🤗 Trainer) → rollout (evaluate) → video / widgets / plots. `collect` makes datasets.
"""

import os

# torch's OpenMP threads (libgomp) spin while they wait for each other: 300,000 spins by default, which on a busy
# CPU made 2-thread training ~10x slower here; never spinning (OMP_WAIT_POLICY=PASSIVE) cost ~20% of the steps/s on
# an idle one. A short spin measured as fast as PASSIVE under heavy load and ~20% faster idle (BENCHMARKS.md,
# "OpenMP"). Read when torch loads (import dt_tutorial first); your own OMP_WAIT_POLICY or GOMP_SPINCOUNT wins.
GOMP_SPINCOUNT = "3000"
if "OMP_WAIT_POLICY" not in os.environ:
    os.environ.setdefault("GOMP_SPINCOUNT", GOMP_SPINCOUNT)

from dt_tutorial.render import choose_gl_backend  # noqa: E402

choose_gl_backend()  # before anything imports mujoco: pick a headless OpenGL backend

__version__ = "0.2.0"  # the one place: pyproject.toml reads it; Colab installs its release tag (notebook.RELEASE)

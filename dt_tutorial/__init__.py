"""dt_tutorial: train your first Decision Transformer (🤗 transformers + gymnasium + MuJoCo).

The modules follow the data: data (load, flatten) → collator (batches) → model (TrainableDT) →
train (🤗 Trainer) → rollout (evaluate) → video / widgets / plots. `collect` makes datasets.
"""

import os

# torch's OpenMP threads spin while waiting for each other; on a busy CPU that made 2-thread training ~10x
# slower here (BENCHMARKS.md); on an idle CPU it should change little (not measured). Read when torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from dt_tutorial.render import choose_gl_backend  # noqa: E402

choose_gl_backend()  # before anything imports mujoco: pick a headless OpenGL backend

__version__ = "0.1.0"

"""dt_tutorial: train your first Decision Transformer (🤗 transformers + gymnasium + MuJoCo).

The modules follow the data: data (load, flatten) → collator (batches) → model (TrainableDT) →
train (🤗 Trainer) → rollout (evaluate) → video / widgets / plots. `collect` makes datasets.
"""

from dt_tutorial.video import choose_gl_backend

choose_gl_backend()  # before anything imports mujoco: pick a headless OpenGL backend

__version__ = "0.1.0"

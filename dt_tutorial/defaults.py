"""Every default value and choice list of the package, each defined once here and imported where it is used.

No torch, no transformers: the command line builds its `--help` from these without loading either.
"""

# The blog's data and model settings.
CONTEXT_LENGTH = 20
"""K: time steps per window (the blog's `max_len`); the hub's pretrained checkpoints use it too."""
RETURN_SCALE = 1000.0
"""Returns-to-go are divided by this (the blog's `scale`)."""
MAX_EP_LEN = 1000
"""Timestep embeddings cover 0 .. MAX_EP_LEN - 1; later steps are clipped."""

# Evaluation and videos.
TARGET_RETURN = 12000.0
"""The return a rollout is conditioned on (the blog's HalfCheetah target)."""
MAX_EVAL_EPISODES = 2000
"""Most episodes one evaluation runs (targets x episodes): they run side by side, each env holding about 1 MB."""
RENDER_SIZE = (320, 240)
"""(width, height) of rendered frames."""
FPS = 20
"""Video frames per second: HalfCheetah's 0.05 s steps play in real time."""

# Choices, with the default first.
PRESET_NAMES = ("tutorial", "demo", "tiny")
"""The training presets (`train.PRESETS`): the blog's settings, the CPU demo's, and the tests' and fast notebooks'."""
DEVICES = ("auto", "cpu", "cuda", "mps")
"""Where to train: 'auto' takes a CUDA GPU, else an Apple GPU, else the CPU."""
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
"""Compute precision (`precision.py`): 'auto' is bf16 where the hardware has it, fp16 on older CUDA GPUs, else fp32."""
PRECISION = "auto"
"""The one precision default of training, evaluation, videos, the slider and the command line."""
ATTENTIONS = ("auto", "eager", "sdpa")
"""The model's attention in training: 'auto' is eager on a CPU, the model's default (sdpa) elsewhere."""
COMPILE_MODES = (None, "default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
"""`torch.compile` modes for training; None runs eagerly."""

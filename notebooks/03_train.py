# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/dt-tutorial/dt_tutorial/blob/v0.2.0/notebooks/03_train.ipynb)
#
# # 3 · Train the Decision Transformer
#
# Time to train. The 🤗 `Trainer` runs the training loop for us: batches, optimizer, learning-rate
# schedule, logging, checkpoints. We bring three things: a model whose forward pass returns a loss, the
# collator from notebook 2, and the settings (`TrainingArguments`).

# %% [markdown]
# ## Setup
#
# On Google Colab the next cell installs what the runtime lacks, one line per step with its time (under a minute
# in a Colab-like test; it ends with what it installed): the `dt_tutorial` package at its release, with MuJoCo, and the system library
# MuJoCo draws with when there is no screen (EGL on a GPU runtime, OSMesa on a CPU one). It keeps Colab's own
# packages as they are, so no restart is needed. Anywhere else it does nothing: install the package yourself first
# (see the README).

# %%
# Colab only. It spells out REPO and RELEASE from dt_tutorial/notebook.py (it runs before the package is installed);
# tests/test_notebook_structure.py checks that it and the badge above agree with them in every notebook.
import sys

if "google.colab" in sys.modules:
    from urllib.request import urlretrieve

    urlretrieve("https://github.com/dt-tutorial/dt_tutorial/raw/v0.2.0/dt_tutorial/colab_install.py", "colab_install.py")
    from colab_install import install

    install("git+https://github.com/dt-tutorial/dt_tutorial@v0.2.0")

# %% [markdown]
# The versions this notebook runs with, and the device (CPU or GPU) that training will use:

# %%
from dt_tutorial.notebook import show_versions

show_versions()

# %% [markdown]
# ## Parameters
#
# Every size in this notebook follows from one switch, `FAST`. Continuous integration sets the environment
# variable `DT_TUTORIAL_FAST=1` so that the notebook runs in seconds; leave it unset to get the real thing.
#
# `BLOG_SETTINGS` picks the data (keep the same value in all four notebooks). By default (`False`) we train on
# the bundled **multi-skill** data: the expert held at 24 speeds, so that the target return you ask for in
# notebook 4 steers the cheetah. `True` gives the blog's exact setup: expert-only data (the hub's
# `halfcheetah-expert-v2` when reachable) and the blog's `tutorial` training settings.

# %%
import os

from dt_tutorial.notebook import tutorial_choice

FAST = os.environ.get("DT_TUTORIAL_FAST") == "1"  # CI sets DT_TUTORIAL_FAST=1: every size below shrinks
BLOG_SETTINGS = False  # True: the blog's expert-only data and training settings (a slider that cannot steer)
DATASET, USE_HUB, PRESET = tutorial_choice(BLOG_SETTINGS, FAST)  # by default: "bundled", False, "demo"
N_EPISODES = 20 if FAST else 1000  # episodes of the bundled dataset (the hub's set has its own 1,000)
RUN_DIR = "runs/03_train"  # where the model is saved; notebook 4 loads it from here
PUSH_TO_HUB = False  # True uploads the model to the hub (needs a login); never done in CI
HUB_MODEL_ID = "your-username/decision-transformer-halfcheetah"

# %% [markdown]
# ## The data
#
# The same dataset as notebook 1, in one call: the bundled multi-skill episodes by default (the blog's
# expert-only data with `BLOG_SETTINGS = True`). `Trajectories` flattens it once into plain arrays.

# %%
from dt_tutorial.data import Trajectories
from dt_tutorial.notebook import load_tutorial_dataset

episodes, dataset_name = load_tutorial_dataset(DATASET, N_EPISODES, use_hub=USE_HUB)
traj = Trajectories.from_dataset(episodes, dataset_name)
print(f"{dataset_name}: {traj.n_episodes} episodes, {traj.n_steps:,} steps, state_dim {traj.state_dim}, act_dim {traj.act_dim}")

# %% [markdown]
# ## The model: `TrainableDT`
#
# transformers' `DecisionTransformerModel` is GPT-2 with embeddings for returns-to-go, states, actions
# and timesteps. Given a batch of windows it predicts an action for every step. The `Trainer` needs the
# forward pass to return a **loss**, so `TrainableDT` subclasses the model and adds the tutorial's loss:
# the mean squared error between predicted and true actions, over the real steps only (the attention
# mask zeroes the padding). Here is its forward pass:

# %%
import inspect

from dt_tutorial.model import TrainableDT

print(inspect.getsource(TrainableDT.forward))

# %% [markdown]
# ## The settings: three presets
#
# All training settings live in one `TrainConfig`, and three presets name useful combinations:
#
# - **`tutorial`**: the blog's exact values: windows of $K = 20$, batch 64, learning rate 1e-4, weight
#   decay 1e-4, 10 % linear warm-up then linear decay, AdamW, gradient-norm clipping at 0.25, 120 epochs;
#   GPT-2 with 3 layers, 128 hidden units, 1 head, dropout 0.1.
# - **`demo`**: a budget of 3000 steps at a 10× higher learning rate with a cosine schedule, no dropout, and
#   the return-to-go read as a pace (notebook 2), chosen by measurement to make the cheetah run and follow
#   the target after a few minutes on a CPU.
# - **`tiny`**: 20 steps of a 1-layer, 32-wide model. It learns next to nothing; it proves the whole
#   pipeline runs, in seconds (tests and this notebook's fast mode).
#
# This notebook trains `demo` by default (`PRESET` in the parameters). The blog's `tutorial` settings
# (`BLOG_SETTINGS = True`) were measured on 1,000 expert episodes: a D4RL score of **18.9 ± 18.8** at target
# 12,000 (returns 104 … 7,470 over 10 episodes: the cheetah mostly falls or stalls), against **97.7 ± 1.4**
# for `demo` on the same data (BENCHMARKS.md, "Learning quality"). A learning rate of 1e-4 decaying to 0 over
# 1,920 steps stops before this model has learned a stable gait; `demo` takes 3,000 steps at 1e-3.
#
# An *epoch* here follows the tutorial: one pass over the episodes, i.e. ⌈episodes / batch size⌉ steps
# (each step samples fresh windows). When `max_steps` is positive it sets the number of steps instead,
# and `epochs` is ignored (as in `demo` and `tiny` below).

# %%
import dataclasses

import pandas as pd

from dt_tutorial.train import PRESETS, get_config

pd.DataFrame({name: dataclasses.asdict(preset) for name, preset in PRESETS.items()})

# %% [markdown]
# The blog's settings, and the preset this notebook uses:

# %%
from dt_tutorial.train import steps_per_epoch

print(get_config("tutorial"))
config = get_config(PRESET)
n_steps = config.max_steps if config.max_steps > 0 else config.epochs * steps_per_epoch(traj.n_episodes, config.batch_size)
print(f"\nthis notebook trains the {PRESET!r} preset: {n_steps:.0f} optimizer steps on {traj.n_episodes} episodes")

# %% [markdown]
# ## `TrainingArguments` and the `Trainer`
#
# `make_trainer` turns the config into `TrainingArguments`, builds the collator and a fresh `TrainableDT`
# sized from the data (its config also stores the state mean/std, the scale and the env id, which
# evaluation needs), and hands them to a `Trainer`.
#
# One change from the blog: it passed `warmup_ratio=0.1`. **transformers 5 removed `warmup_ratio`**;
# `warmup_steps` now takes either a whole number of steps or a float below 1, read as a fraction of all
# steps. So the tutorial's warm-up is `warmup_steps=0.1`.
#
# The `Trainer` also needs a dataset to count epochs with. Our collator ignores the rows it is given,
# so the `Trainer` gets a cheap stand-in with one row per episode instead of the heavy episode table.

# %%
from dt_tutorial.train import make_trainer

trainer = make_trainer(traj, config, RUN_DIR, progress=False)
for field in ("num_train_epochs", "max_steps", "per_device_train_batch_size", "learning_rate", "weight_decay",
              "warmup_steps", "lr_scheduler_type", "optim", "max_grad_norm"):
    print(f"{field:<28} {getattr(trainer.args, field)}")
print(f"\nmodel: {trainer.model.num_parameters():,} parameters")

# %% [markdown]
# Before training, the loss on one batch: the untrained model predicts actions near 0, so the loss is
# about the mean squared size of the expert's actions.

# %%
import torch

batch = trainer.data_collator([None] * config.batch_size)
with torch.no_grad():
    loss = trainer.model(**{k: v.to(trainer.model.device) for k, v in batch.items()})["loss"]
print(f"loss of the untrained model: {loss.item():.3f}")
print(f"mean squared action in the data: {(traj.actions ** 2).mean():.3f}")

# %% [markdown]
# ## Train
#
# `train(...)` builds this same `Trainer` with `make_trainer`, runs **`Trainer.train()`**, then saves the
# model, its loss history and its config to `RUN_DIR`. (It can also resume an interrupted run from its
# last checkpoint: `train(..., resume=True)`.) On a GPU it uses the GPU.

# %%
from dt_tutorial.train import train

result = train(traj, config, RUN_DIR, progress=not FAST)
runtime = next(h["train_runtime"] for h in result.history if "train_runtime" in h)
print(f"trained {result.trainer.state.global_step} steps in {runtime:.0f} s; saved to {result.output_dir}")

# %% [markdown]
# ## The loss curve
#
# The loss is the action error on the windows of each batch, logged every `logging_steps` steps. It
# should fall fast at first, then slowly. (With the `tiny` preset it barely moves: 20 steps is nothing.)

# %%
import matplotlib.pyplot as plt

from dt_tutorial.plots import plot_loss

plot_loss(result.history, title=f"training loss ({PRESET} preset)")
plt.show()

# %% [markdown]
# ## The saved run, loaded back
#
# `RUN_DIR` now holds the model (`config.json` + `model.safetensors`), the loss history, the training
# config and the last checkpoints. Because the state mean/std, the scale and the env id are in
# `config.json`, `load_model(RUN_DIR)` is all that evaluation needs. It returns the model in **eval
# mode**: dropout off. (The blog evaluated with dropout still on, which adds noise to every action.)

# %%
from pathlib import Path

from dt_tutorial.model import load_model

print("files in", RUN_DIR, ":", sorted(p.name for p in Path(RUN_DIR).iterdir()))
loaded = load_model(RUN_DIR)
print({key: getattr(loaded.config, key) for key in ("env_id", "dataset_name", "scale", "context_length")})

# %% [markdown]
# A check that nothing was lost: the loaded model predicts the same actions as the one in memory.

# %%
trained = result.model.to("cpu").eval()
with torch.no_grad():
    in_memory = trained.original_forward(**batch, return_dict=True).action_preds
    reloaded = loaded.original_forward(**batch, return_dict=True).action_preds
print("same predictions:", torch.allclose(in_memory, reloaded, atol=1e-6))
assert torch.allclose(in_memory, reloaded, atol=1e-6), "the reloaded model predicts other actions than the trained one"

# %% [markdown]
# ## Share it on the hub (optional)
#
# `push_to_hub` uploads the model with its config to your account, so anyone can load it with
# `load_model("your-username/...")`. It needs a Hugging Face token (`huggingface_hub.notebook_login()`
# or `hf auth login`). It only runs when you set `PUSH_TO_HUB = True` in the parameters.

# %%
if PUSH_TO_HUB:
    loaded.push_to_hub(HUB_MODEL_ID)
    print(f"uploaded: https://huggingface.co/{HUB_MODEL_ID}")
else:
    print("PUSH_TO_HUB is False: nothing uploaded")

# %% [markdown]
# ## How long does the real run take?
#
# <!-- TIMINGS --> Measured (BENCHMARKS.md): on a 2-core CPU the `tutorial` preset's 1,920 steps run at 6-9
# steps/s in bf16 (4-5 minutes; the blog's own pipeline managed 1.4 steps/s there), the `demo` preset's
# 3,000 steps at 10-13 steps/s, in about 4-5 minutes. Two settings matter on a CPU: bf16 autocast where the CPU
# computes bf16 natively (`precision="auto"`), and attention as plain matmuls and a softmax (`attention="auto"`):
# torch's fused attention kernel, transformers' default, has a slow backward for windows this short. On a GPU (an H200) this small model trains at ~70 steps/s: 1,920 steps in
# under 30 s. Its step is bound by Python, not by the GPU, so for long runs such as the paper's 100,000
# steps set `config.compile = "reduce-overhead"` (`torch.compile` with CUDA graphs: ~30 s to warm up, then
# ~190 steps/s: the paper's 100,000 steps took 8.9 minutes on an H200, ~24 without it, and scored D4RL 98.8).
#
# ## Next
#
# [Notebook 4](04_watch_it_run.ipynb) loads this run, evaluates it in the simulator and shows the cheetah running.

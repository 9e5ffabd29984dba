# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/dt-tutorial/dt_tutorial/blob/v0.2.0/notebooks/04_watch_it_run.ipynb)
#
# # 4 · Watch it run
#
# The payoff: put the trained Decision Transformer in the HalfCheetah simulator, measure how well it
# does, watch a video of it, and ask it for different returns to see what return-conditioning means.

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
RUN_DIR = "runs/03_train"  # notebook 3's model: used only if it was trained with these settings on this data
OUT_DIR = "runs/04_watch_it_run"  # videos, and the models this notebook trains itself
TARGET_RETURN = 12000  # about the expert's return
N_EVAL_EPISODES = 2 if FAST else 10
MAX_STEPS = 100 if FAST else None  # steps per evaluation episode; None: the env's full 1000
VIDEO_STEPS = 50 if FAST else None  # steps of the filmed episodes (each frame is rendered, which is slow on a CPU)
VIDEO_SIZE = (160, 120) if FAST else (320, 240)  # (width, height) of each video panel in pixels
VIDEO_TARGETS = (2000, 6000, 12000)  # one cheetah per target, side by side
CONDITIONING_TARGETS = [2000, 12000] if FAST else [1000, 2500, 4000, 5500, 7000, 8500, 10000, 12000]
N_CONDITIONING_EPISODES = 2 if FAST else 5
CONTRAST_DATASET = "bundled" if BLOG_SETTINGS else "bundled-expert"  # the other data, for the last section
CONTRAST_PRESET = "tiny" if FAST else "demo"

# %% [markdown]
# ## The model
#
# `load_or_train` uses notebook 3's model from `RUN_DIR` only if it was trained on this notebook's data
# (`DATASET`) with this notebook's settings (`PRESET`): it compares the run's saved `config.json` (the dataset
# name) and `train_config.json` with them and says why it will not use a stale run, e.g. one left over from
# an older session with `BLOG_SETTINGS = True`. Then it trains the model here instead (`demo`: a few CPU
# minutes; `tiny` in fast mode: seconds), so this notebook also works on its own.

# %%
from pathlib import Path

from dt_tutorial.notebook import load_or_train
from dt_tutorial.train import get_config

model = load_or_train([RUN_DIR, Path(OUT_DIR) / "model"], get_config(PRESET), DATASET, N_EPISODES, use_hub=USE_HUB, progress=not FAST)
print(f"{model.num_parameters():,} parameters, trained on {model.config.dataset_name} for {model.config.env_id}")

# %% [markdown]
# ## Evaluate: how well does it run?
#
# An evaluation episode goes like this. Reset the environment and set the return-to-go to the target we
# ask for, divided by the scale (12 000 → 12.0). At each step, give the model the last $K$ steps
# (normalised with the mean/std saved in the model, left-padded at the start exactly as in training),
# take its predicted action for the newest step, apply it in the environment, and lower the return-to-go
# by the reward received. The model runs in eval mode without gradients, and all episodes advance
# together: one model call per time step for the whole batch.
#
# We report the returns and their **D4RL score** (0 = random policy, 100 = D4RL expert).
# In fast mode the episodes stop after `MAX_STEPS` and the model is the `tiny` one, so expect returns
# near 0: the cheetah barely moves. The `demo` model runs at about the expert's speed when asked for 12,000.

# %%
import numpy as np

from dt_tutorial.rollout import evaluate

evaluation = evaluate(model, target_return=TARGET_RETURN, n_episodes=N_EVAL_EPISODES, max_steps=MAX_STEPS, progress=not FAST)
print(evaluation.summary())
print("returns:    ", np.round(evaluation.returns, 1).tolist())
print("D4RL scores:", np.round(evaluation.scores, 1).tolist())
low, high = model.config.dataset_return_range
print(f"(the training episodes returned {low:.0f} to {high:.0f})")

# %% [markdown]
# ## Return conditioning: achieved vs target
#
# The Decision Transformer's whole idea: ask for a return, get that return. `return_conditioning` runs
# `N_CONDITIONING_EPISODES` episodes at every target **in one batch** (every (target, episode) pair steps
# together; episode *i* of every target starts from the same state), and the plot shows the return achieved
# against the return asked for: each episode as a dot, mean ± std per target, the achieved = target diagonal,
# and on the right where the training data's episode returns lie. Inside the data's range a model that learned
# what returns-to-go mean follows the diagonal; above it, it levels off: asking for more than the data ever
# got does not make it better than the data. Spearman's rho (rank correlation of target and achieved return
# over all episodes) sums it up: 1 = the higher the target, the faster the cheetah. (In fast mode the episodes
# are cut short, so the data's returns are left out of the plot.)
#
# What to expect at full size (measured, BENCHMARKS.md "Steering"): the `demo` model follows the diagonal to within
# a few returns up to ~10,500 (1,500 → 1,499, 6,000 → 6,000, 9,000 → 9,020; rho 0.990) and levels off at the
# expert's ~11,400 above it (D4RL ~94 at 12,000). That precision comes from reading the return-to-go as a pace
# (notebook 2): with the paper's plain return-to-go the same training followed only loosely (rho 0.70-0.84,
# 1,500 → ~2,400). Now and then an episode stumbles and falls behind its target (about one in sixty in our
# runs): the pace then asks for more speed, which the cheetah cannot always give.

# %%
import matplotlib.pyplot as plt

from dt_tutorial.model import dataset_return_quantiles
from dt_tutorial.plots import plot_return_conditioning
from dt_tutorial.rollout import conditioning_summary, return_conditioning

results = return_conditioning(model, CONDITIONING_TARGETS, n_episodes=N_CONDITIONING_EPISODES, max_steps=MAX_STEPS, progress=False)
for r in results:
    print(r.summary())
print(f"Spearman rho over all episodes: {conditioning_summary(results)['spearman_rho']:.2f}")
plot_return_conditioning(results, None if MAX_STEPS else dataset_return_quantiles(model.config))
plt.show()

# %% [markdown]
# ## Three targets, side by side
#
# `record_targets_video` runs one episode per target in one batch with rendering on (MuJoCo draws each frame
# off-screen, through EGL on a machine without a display) and writes one video whose panels show the
# cheetahs side by side, each labelled with its target and the return it has collected so far. Asked for
# 2,000 the cheetah trots, asked for 12,000 it sprints. (The blog's recorder no longer works with today's
# libraries.)

# %%
from dt_tutorial.video import record_targets_video, show_video

video_path = Path(OUT_DIR) / "targets.mp4"
for r in record_targets_video(model, VIDEO_TARGETS, video_path, max_steps=VIDEO_STEPS, render_size=VIDEO_SIZE, progress=not FAST):
    print(r.summary())
show_video(video_path, width=len(VIDEO_TARGETS) * VIDEO_SIZE[0])

# %% [markdown]
# ## The target-return slider
#
# Pick a target return, press *run episode*, and watch what the model does when asked for that much
# reward. (In fast mode, nobody is there to click, so the cell runs one episode itself.)

# %%
from IPython.display import display

from dt_tutorial.widgets import target_return_slider

slider_video = Path(OUT_DIR) / "slider_episode.mp4"
slider = target_return_slider(model, value=TARGET_RETURN, max_steps=VIDEO_STEPS, video_path=slider_video)
display(slider)
if FAST:
    slider_video.unlink(missing_ok=True)
    slider.run()  # one episode at the slider's value, as a click would
    # The widget shows errors instead of raising them, so check that the episode's video was written.
    assert slider_video.exists(), "the slider's episode failed: see the error in the widget above"

# %% [markdown]
# ## Why expert-only data cannot steer
#
# The blog trained on expert episodes only. Here the same training (`CONTRAST_PRESET`) runs on the other
# dataset (`CONTRAST_DATASET`: expert-only by default), and both models are asked for the same targets.
# (Without fast mode this trains a second `demo` model: a few more CPU minutes.)

# %%
from dt_tutorial.plots import plot_conditioning_curves

contrast = load_or_train([Path(OUT_DIR) / CONTRAST_DATASET], get_config(CONTRAST_PRESET), CONTRAST_DATASET, N_EPISODES, progress=not FAST)
contrast_results = return_conditioning(contrast, CONDITIONING_TARGETS, n_episodes=N_CONDITIONING_EPISODES, max_steps=MAX_STEPS, progress=False)
print(f"Spearman rho, {contrast.config.dataset_name}: {conditioning_summary(contrast_results)['spearman_rho']:.2f}")
plot_conditioning_curves({
    f"{model.config.dataset_name} ({PRESET})": results,
    f"{contrast.config.dataset_name} ({CONTRAST_PRESET})": contrast_results,
})
plt.show()

# %% [markdown]
# The expert-only model's curve is flat: whatever we ask for, it runs like the expert (or stumbles). In its
# training data every episode earned about the same return, so the return-to-go was nearly the same number
# in every window and carried no information about which action to take; the model learned to ignore it.
# The multi-skill data pairs each return with its own speed, so the return-to-go is the one input that says
# how fast to run, and the model learns to follow it. (In fast mode both models are `tiny` and barely move,
# so both curves sit near 0: run without fast mode to see the difference; BENCHMARKS.md has the measured one.)

# %% [markdown]
# ## Where next
#
# - `BLOG_SETTINGS = True` in all four notebooks reproduces the blog: expert-only data and its training
#   settings (D4RL 18.9 in our measurement: the cheetah mostly falls or stalls).
# - The command line does all of this in one go: `python -m dt_tutorial demo`.
# - Other data: `bundled-agents` (six real agents of graded skill: distinct gaits, which did not steer in our
#   measurements), `hopper-medium-v2`, `walker2d-medium-replay-v2`, … (`python -m dt_tutorial train --dataset ...`).

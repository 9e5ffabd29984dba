# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/dt-tutorial/dt_tutorial/blob/main/notebooks/04_watch_it_run.ipynb)
#
# # 4 · Watch it run
#
# The payoff: put the trained Decision Transformer in the HalfCheetah simulator, measure how well it
# does, watch a video of it, and ask it for different returns to see what return-conditioning means.

# %% [markdown]
# ## Setup
#
# On Google Colab the next cell installs the `dt_tutorial` package from GitHub, plus the system libraries
# MuJoCo needs to draw the simulation without a screen (EGL). Anywhere else it does nothing: install the
# package yourself first (see the README).

# %%
# Colab only. The URL spells out REPO from dt_tutorial/notebook.py (this cell runs before the package is installed);
# tests/test_notebook_structure.py checks that this cell and the badge above agree with it in every notebook.
import os
import subprocess
import sys

if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "dt-tutorial @ git+https://github.com/dt-tutorial/dt_tutorial"], check=True)
    subprocess.run("apt-get update -qq && apt-get install -y -qq libegl1 libosmesa6 > /dev/null", shell=True, check=True)
    os.environ["MUJOCO_GL"] = "egl"  # headless OpenGL for MuJoCo's renderer

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

# %%
import os

FAST = os.environ.get("DT_TUTORIAL_FAST") == "1"  # CI sets DT_TUTORIAL_FAST=1: every size below shrinks
USE_HUB = not FAST  # try the tutorial's dataset on the Hugging Face hub (else: the bundled expert data)
N_BUNDLED_EPISODES = 20 if FAST else 1000  # episodes of the bundled dataset (used when the hub is not)
RUN_DIR = "runs/03_train"  # notebook 3's saved model
FALLBACK_PRESET = "tiny" if FAST else "demo"  # trained here if notebook 3's model is missing
OUT_DIR = "runs/04_watch_it_run"  # videos (and the fallback model) go here
TARGET_RETURN = 12000  # the tutorial's target, about the expert's return
N_EVAL_EPISODES = 2 if FAST else 10
MAX_STEPS = 100 if FAST else None  # steps per evaluation episode; None: the env's full 1000
VIDEO_STEPS = 50 if FAST else None  # steps of the filmed episodes (each frame is rendered, which is slow on a CPU)
VIDEO_SIZE = (160, 120) if FAST else (480, 360)  # (width, height) in pixels
CONDITIONING_TARGETS = [0, 12000] if FAST else [0, 2000, 4000, 6000, 8000, 10000, 12000, 14000]
N_CONDITIONING_EPISODES = 2 if FAST else 5

# %% [markdown]
# ## The model
#
# If notebook 3 saved a model in `RUN_DIR` we load it. Otherwise this notebook trains one itself with
# `FALLBACK_PRESET` (`demo` takes a few CPU minutes and runs well; `tiny` takes seconds and barely moves),
# so it also works on its own.

# %%
from pathlib import Path

from dt_tutorial.model import count_parameters, load_model

if (Path(RUN_DIR) / "config.json").exists():
    model = load_model(RUN_DIR)
    print(f"loaded notebook 3's model from {RUN_DIR}")
else:
    from dt_tutorial.data import Trajectories
    from dt_tutorial.notebook import load_tutorial_dataset
    from dt_tutorial.train import get_config, train

    print(f"no model in {RUN_DIR} (run notebook 3 to use yours): training the {FALLBACK_PRESET!r} preset here")
    episodes, dataset_name = load_tutorial_dataset(USE_HUB, N_BUNDLED_EPISODES)
    trajectories = Trajectories.from_dataset(episodes, dataset_name)
    model = train(trajectories, get_config(FALLBACK_PRESET), Path(OUT_DIR) / "model", progress=not FAST).model.eval()
print(f"{count_parameters(model):,} parameters, trained on {model.config.dataset_name} for {model.config.env_id}")

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
# near 0: the cheetah barely moves. A model trained with the `demo` or `tutorial` preset runs.

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
# ## The video
#
# `record_video` runs one episode with rendering on: MuJoCo draws each frame off-screen (through EGL on
# a machine without a display), the frames are written to an mp4 file with imageio, and `show_video`
# embeds it here. (The blog's recorder no longer works with today's libraries.)

# %%
from dt_tutorial.video import record_video, show_video

video_path = Path(OUT_DIR) / "cheetah.mp4"
episode = record_video(model, video_path, target_return=TARGET_RETURN, max_steps=VIDEO_STEPS, render_size=VIDEO_SIZE, progress=not FAST)
print(episode.summary())
show_video(video_path)

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
# ## Return conditioning
#
# The Decision Transformer paper's signature plot: the return achieved against the return asked for.
# A model that learned what returns-to-go mean follows the diagonal inside the range of returns it saw
# in training (shaded) and levels off above it: asking for more than the data ever got does not make it
# better than the data. With only expert episodes, low targets are outside what it has seen too, so
# expect it to follow them loosely at best; datasets with mixed quality (`halfcheetah-medium-replay-v2`)
# cover more of the range. (In fast mode the episodes are cut short, so the shaded range is left out.)

# %%
import matplotlib.pyplot as plt

from dt_tutorial.plots import plot_return_conditioning
from dt_tutorial.rollout import return_conditioning

results = return_conditioning(model, CONDITIONING_TARGETS, n_episodes=N_CONDITIONING_EPISODES, max_steps=MAX_STEPS, progress=False)
for r in results:
    print(r.summary())
plot_return_conditioning(results, None if MAX_STEPS else model.config.dataset_return_range)
plt.show()

# %% [markdown]
# ## Where next
#
# - Train longer (`PRESET = "demo"` or `"tutorial"` in notebook 3) and rerun this notebook.
# - The command line does all of this in one go: `python -m dt_tutorial demo`.
# - Other datasets: `hopper-medium-v2`, `walker2d-medium-replay-v2`, … (`python -m dt_tutorial train --dataset ...`),
#   or your own: `python -m dt_tutorial collect --noise 0.3` makes lower-quality HalfCheetah data.

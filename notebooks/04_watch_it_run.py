# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/dt-tutorial/dt_tutorial/blob/v0.2.0/notebooks/04_watch_it_run.ipynb)
#
# # 4 · Watch it run
#
# The payoff: put the trained Decision Transformer in the HalfCheetah simulator, measure how well it
# does, watch a video of it, and ask it for different returns to see what return-conditioning means. First we
# write the blog's evaluation loop ourselves, then meet `evaluate`, the same loop run for many episodes at once.
#
# > **What it needs and how long it takes.** A CPU is fine; a GPU helps little (the simulator runs on the CPU).
# > Run in full on an idle 2-core CPU right after notebook 3 it took 393 s (BENCHMARKS.md, "The notebooks"): it
# > reused notebook 3's model, and generated the expert-only data and trained the expert-data model for its last
# > section (3,000 steps, like notebook 3's training), which a second run reuses. Where notebook 3's run is missing
# > (a fresh Colab runtime) or was trained with other settings, it says so in one line and trains it here too. On a
# > Colab GPU: not measured; the training would take about a minute each there (an estimate from BENCHMARKS.md,
# > "GPU budget"), the episodes as long as on a CPU.

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
# `BLOG_SETTINGS` picks the data and the training settings, read the same way by all five notebooks: it is
# `True` when the environment variable `DT_TUTORIAL_BLOG_SETTINGS=1` is set (start Jupyter with it; on Colab run
# `%env DT_TUTORIAL_BLOG_SETTINGS=1` before this cell). By default (`False`) we train on the bundled
# **multi-skill** data: the expert held at 24 speeds, so that the target return you ask for in notebook 4 steers
# the cheetah. `True` gives the blog's setup: expert-only data (the hub's `halfcheetah-expert-v2` when
# reachable) and the blog's `tutorial` training settings.

# %%
import os

from dt_tutorial.notebook import blog_settings, tutorial_choice

FAST = os.environ.get("DT_TUTORIAL_FAST") == "1"  # CI sets DT_TUTORIAL_FAST=1: every size below shrinks
BLOG_SETTINGS = blog_settings()  # DT_TUTORIAL_BLOG_SETTINGS=1: the blog's expert-only data and training settings
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
CONDITIONING_TARGETS = [2000, 12000] if FAST else [1500, 3000, 4500, 6000, 7500, 9000, 10500, 12000]
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
# ## The evaluation loop, written out
#
# An evaluation episode goes like this (the blog's loop, one episode, one model call per step):
#
# - reset the environment; the return-to-go starts at the target we ask for, divided by the scale (12,000 →
#   12.0); states are normalised with the mean/std saved in the model;
# - at each step, hand the model the last $K$ steps of states, actions, returns-to-go and timesteps, left-padded
#   exactly as in training, with the current step's action still 0 (it is what we ask for), and take its
#   predicted action for the newest step;
# - apply that action in the environment, and **subtract the reward received from the return-to-go**: what is
#   still to be earned.
#
# The model runs in eval mode (dropout off) without gradients.

# %%
import torch

from dt_tutorial.collator import PAD_ACTION
from dt_tutorial.envs import make_env
from dt_tutorial.model import state_normalisation


@torch.no_grad()
def run_one_episode(model, target_return, seed=0, max_steps=None):
    """The blog's evaluation loop: one episode at one target return; returns the episode's return."""
    config, K = model.config, model.config.context_length
    mean, std = state_normalisation(config)
    env = make_env(config.env_id)
    obs, _ = env.reset(seed=seed)
    states = torch.from_numpy((obs - mean) / std).float()[None]  # [t + 1, state_dim]
    actions = torch.zeros((0, config.act_dim))  # [t, act_dim]
    returns_to_go = torch.tensor([[target_return / config.scale]])  # [t + 1, 1]
    episode_return = 0.0
    for t in range(max_steps or env.spec.max_episode_steps):
        actions = torch.cat([actions, torch.zeros((1, config.act_dim))])  # this step's action: 0 until predicted
        n = min(t + 1, K)  # real steps in the window
        pad = K - n  # left padding, with the collator's values (masked: they do not change the prediction)
        window = {
            "states": torch.cat([torch.from_numpy((0.0 - mean) / std)[None].expand(pad, -1), states[-n:]])[None],
            "actions": torch.cat([torch.full((pad, config.act_dim), PAD_ACTION), actions[-n:]])[None],
            "rewards": torch.zeros((1, K, 1)),  # the model does not read rewards
            "returns_to_go": torch.cat([torch.zeros((pad, 1)), returns_to_go[-n:]])[None],
            "timesteps": torch.cat([torch.zeros(pad, dtype=torch.long), torch.arange(t + 1 - n, t + 1).clamp(max=config.max_ep_len - 1)])[None],
            "attention_mask": torch.cat([torch.zeros(pad), torch.ones(n)])[None],
        }
        action = model.original_forward(**window, return_dict=True).action_preds[0, -1]  # [act_dim]
        actions[-1] = action
        obs, reward, terminated, truncated, _ = env.step(action.numpy())
        episode_return += reward
        states = torch.cat([states, torch.from_numpy((obs - mean) / std).float()[None]])
        returns_to_go = torch.cat([returns_to_go, returns_to_go[-1:] - reward / config.scale])  # what is left to earn
        if terminated or truncated:
            break
    env.close()
    return episode_return


# %% [markdown]
# One episode at `TARGET_RETURN`, reset with seed 0:

# %%
import time

start = time.perf_counter()
loop_return = run_one_episode(model, TARGET_RETURN, seed=0, max_steps=MAX_STEPS)
loop_seconds = time.perf_counter() - start
print(f"target {TARGET_RETURN}: return {loop_return:.1f} in {loop_seconds:.1f} s")

# %% [markdown]
# ## `evaluate`: the same loop, batched over episodes
#
# `dt_tutorial.rollout.evaluate` runs this loop for many episodes (and many targets) at once: all of them
# advance together, so each time step is one model call for the whole batch, and the windows live in
# preallocated tensors instead of growing lists. Episode $i$ is reset with `seed + i`. It reports the returns
# and their **D4RL score** (0 = random policy, 100 = the D4RL expert).
#
# The check: one episode with the same seed gives the same return. `evaluate` normally runs the model through
# `dt_tutorial.speed`, an optimisation shown next; with its switch off (`speed.ENABLED = False`) it calls the
# model's `predict_actions`, the same whole forward pass (`original_forward`) as the loop above. In float32
# (`precision="fp32"`) the two must agree to the last digit:

# %%
from dt_tutorial import speed
from dt_tutorial.rollout import evaluate

speed.ENABLED = False
try:
    same_seed = evaluate(model, target_return=TARGET_RETURN, n_episodes=1, seed=0, max_steps=MAX_STEPS, precision="fp32", progress=False)
finally:
    speed.ENABLED = True
print(f"the loop: {loop_return:.6f}   evaluate: {same_seed.returns[0]:.6f}")
assert same_seed.returns[0] == loop_return, "evaluate and the loop disagree"

# %% [markdown]
# By default `evaluate` adds the speed layer (`dt_tutorial/speed/`): the policy computes only the newest step's
# action instead of the whole window's outputs, and chooses how many CPU threads each call uses. The same action up
# to float rounding (tested against the whole forward pass in `tests/`; BENCHMARKS.md, "Evaluation", has its
# speed); rounding differences of that size can move a 1,000-step episode a little:

# %%
fast_path = evaluate(model, target_return=TARGET_RETURN, n_episodes=1, seed=0, max_steps=MAX_STEPS, precision="fp32", progress=False)
print(f"the loop: {loop_return:.1f}   evaluate with the speed layer: {fast_path.returns[0]:.1f} "
      f"({100 * abs(fast_path.returns[0] - loop_return) / max(1.0, abs(loop_return)):.2f} % apart)")

# %% [markdown]
# Now `N_EVAL_EPISODES` episodes in one batch. In fast mode the episodes stop after `MAX_STEPS` and the model is
# the `tiny` one, so expect returns near 0: the cheetah barely moves.

# %%
import numpy as np

start = time.perf_counter()
evaluation = evaluate(model, target_return=TARGET_RETURN, n_episodes=N_EVAL_EPISODES, max_steps=MAX_STEPS, progress=not FAST)
print(evaluation.summary())
print(f"({N_EVAL_EPISODES} episodes in {time.perf_counter() - start:.1f} s; the loop took {loop_seconds:.1f} s for one)")
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
# What to expect at full size: BENCHMARKS.md, "The demo", has the `demo` model measured at these same targets,
# 10 episodes each (`python -m dt_tutorial demo`: 1,500 → 1,499 ± 1, 6,000 → 6,000 ± 28, 12,000 → 11,420 ± 322;
# rho 0.990): on the diagonal inside the data's range, levelling off near the expert at the top. Now and then an
# episode stumbles and falls behind its target (1 of 60 episodes at target 12,000 in BENCHMARKS.md, "Steering"):
# the pace then asks for more speed, which the cheetah cannot always give.

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
# ## Exercises
#
# 1. **A target above the data.** Evaluate the model at 20,000 and at 12,000 (`evaluate(model,
#    target_return=[12000, 20000], n_episodes=5)`). *You should see* about the same return for both, near the
#    best episodes of the data: the pace is clipped to the data's highest return (notebook 2), so both targets
#    feed the model the same number.
# 2. **A slow target.** Run `run_one_episode(model, 3000)`. *You should see* a return within a few hundred of
#    3,000 with the `demo` model (in fast mode: a number near 0, the `tiny` model barely moves).
# 3. **Six agents instead of one held at many speeds.** Train on `bundled-agents` (six agents of graded skill,
#    each with its own gait) with `load_or_train([Path(OUT_DIR) / "bundled-agents"], get_config(PRESET),
#    "bundled-agents", N_EPISODES)`, then run `return_conditioning` as above. *You should see* a rank correlation
#    far below the default model's, and think about why: each agent is a different motion, not a faster or slower
#    version of one, and the model averages them (BENCHMARKS.md, "Steering", row `pure`: −0.12).
#
# <details><summary>Solutions</summary>
#
# ```python
# # 1
# at_12000, at_20000 = evaluate(model, target_return=[12000, 20000], n_episodes=5, max_steps=MAX_STEPS, progress=False)
# print(at_12000.summary(), at_20000.summary(), sep="\n")
# assert abs(at_20000.mean_return - at_12000.mean_return) < 0.1 * abs(at_12000.mean_return) + 100
#
# # 2
# slow = run_one_episode(model, 3000, seed=1, max_steps=MAX_STEPS)
# print(f"asked for 3000, got {slow:.0f}")
# assert FAST or abs(slow - 3000) < 500
#
# # 3
# agents = load_or_train([Path(OUT_DIR) / "bundled-agents"], get_config(PRESET), "bundled-agents", N_EPISODES)
# agents_results = return_conditioning(agents, CONDITIONING_TARGETS, n_episodes=N_CONDITIONING_EPISODES, max_steps=MAX_STEPS, progress=False)
# rho_agents = conditioning_summary(agents_results)["spearman_rho"]
# print(f"rho: six agents {rho_agents:.2f}, default data {conditioning_summary(results)['spearman_rho']:.2f}")
# ```
#
# </details>

# %% [markdown]
# ## Where next
#
# - [Notebook 5](05_dt_vs_behaviour_cloning.ipynb) asks whether the transformer is worth it, against behaviour
#   cloning given its own training budget.
# - `DT_TUTORIAL_BLOG_SETTINGS=1` reproduces the blog in every notebook: expert-only data and its training
#   settings (D4RL 18.9 in BENCHMARKS.md, "Learning quality": the cheetah mostly falls or stalls).
# - The command line does all of this in one go: `python -m dt_tutorial demo`.
# - Other data: `bundled-agents` (exercise 3), `hopper-medium-v2`, `walker2d-medium-replay-v2`, …
#   (`python -m dt_tutorial train --dataset ...`).

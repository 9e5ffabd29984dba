# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/dt-tutorial/dt_tutorial/blob/v0.2.0/notebooks/01_load_the_dataset.ipynb)
#
# # 1 · Offline RL, the Decision Transformer, and the dataset
#
# This is the first of five notebooks that rebuild the 🤗 blog tutorial
# [*Train your first Decision Transformer*](https://huggingface.co/blog/train-decision-transformers)
# on today's libraries. At the end of notebook 4 a simulated half-cheetah runs across the screen, steered
# by a transformer that never touched the simulator while it learned; notebook 5 compares it with behaviour
# cloning.
#
# Here we meet the ideas and the data: what offline reinforcement learning is, how a Decision
# Transformer reads an episode, and what is inside the HalfCheetah dataset we train on.
#
# > **What it needs and how long it takes.** A CPU is fine; a GPU does not help here. Run in full on an idle 2-core
# > CPU it took 64 s the first time on that machine (BENCHMARKS.md, "The notebooks"), generating the multi-skill
# > data first (1,000 episodes; every new Colab runtime does this too); later runs, and notebooks 2-5, read the data
# > from a cache.

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
# ## Offline reinforcement learning
#
# In reinforcement learning (RL) an *agent* acts in an *environment*: at each time step it sees a
# *state*, picks an *action*, and gets a *reward*. Its goal is to collect as much reward as possible
# over an *episode*. Usually it learns by trial and error: act, see what happens, adjust.
#
# **Offline** RL removes the trial and error. The agent gets a fixed dataset of episodes that someone
# else recorded (states, actions, rewards) and must learn a good way to act from that alone, without
# acting during training. This is how you learn from logs when trying things out is slow, expensive or
# dangerous: robots, driving, medicine.
#
# Our environment is **HalfCheetah**: a two-legged 2-D robot in the MuJoCo physics simulator. The
# state is 17 numbers (joint angles and velocities), the action is 6 numbers (the torque on each joint,
# between −1 and 1), and the reward is mostly the forward speed. An episode lasts 1000 steps.

# %% [markdown]
# ## The Decision Transformer
#
# The Decision Transformer (Chen et al., 2021) treats offline RL as *sequence modelling*, the job
# language models do. Each time step $t$ of an episode becomes three tokens:
#
# - the **return-to-go** $\hat R_t = r_t + r_{t+1} + \dots + r_T$: the reward still to come from step $t$ to the end;
# - the **state** $s_t$: what the agent sees;
# - the **action** $a_t$: what it did.
#
# The model reads the last $K$ steps (here $K = 20$) as one sequence
# $\hat R_1, s_1, a_1, \hat R_2, s_2, a_2, \dots$ and learns to predict each action from the tokens before it.
#
# The backbone is **GPT-2**, a decoder-only transformer with **causal attention**: every token may look
# only at tokens to its left. So the prediction of $a_t$ sees $\hat R_t$, $s_t$ and all earlier steps,
# but never $a_t$ itself or the future. A timestep embedding tells the model where in the episode each
# step is.
#
# Why the return-to-go? During training it tells the model how well the rest of this episode went.
# At test time *we choose it*: ask for a high return and the model imitates the behaviour that led to
# high returns in the data. Notebook 4 puts this on a slider.

# %% [markdown]
# ## What changed since the blog post
#
# The original notebook no longer runs, and its defaults do not make a cheetah that runs and steers on a CPU in
# minutes. Every departure these notebooks make, why, and where to read more (`DT_TUTORIAL_BLOG_SETTINGS=1`
# switches the data and the training settings back to the blog's, in all five notebooks):
#
# | what | the blog | here, by default | why | where |
# |---|---|---|---|---|
# | simulator | `gym==0.21` + mujoco-py | gymnasium `HalfCheetah-v5` + the official `mujoco` bindings | the old ones no longer install | `dt_tutorial/envs.py` |
# | loading the data | the dataset's loading script | the hub's parquet export of the same data, or a copy generated offline | `datasets` ≥ 4 refuses loading scripts | below; `dt_tutorial/data.py` |
# | **the data** | the D4RL expert's episodes (`halfcheetah-expert-v2`) | **multi-skill**: a pretrained expert held at 24 speeds, generated on your machine | expert-only data cannot be steered by the target return | below; notebook 4, last section; BENCHMARKS.md, "Steering" |
# | **training settings** | `tutorial`: lr 1e-4, linear decay, dropout 0.1, 120 epochs | **`demo` preset**: 3,000 steps at lr 1e-3 with cosine decay, no dropout | the blog's settings stop before the cheetah runs (D4RL 18.9 on expert data, against 97.7) | notebook 3; BENCHMARKS.md, "Learning quality" |
# | **the return-to-go the model reads** | the return-to-go itself | a **pace**, $\hat R_t \cdot H/(H-t)$, clipped to the data's range of returns; it assumes every episode lasts $H = 1000$ steps | the model follows the target far more closely | notebook 2, "the return-to-go as a pace"; BENCHMARKS.md, "Steering" |
# | the collator | a Python loop over the rows of each batch | the same windows from a few array operations (checked against the blog's, written out) | it was most of the training time | notebook 2 |
# | the loss | boolean indexing of the real steps | the same value with fixed shapes (checked against the blog's class, written out) | no data-dependent shapes (`torch.compile`) | notebook 3 |
# | warm-up | `warmup_ratio=0.1` | `warmup_steps=0.1` | transformers 5 removed `warmup_ratio` | notebook 3 |
# | speed on a CPU | float32, torch's fused attention | bf16 autocast where the CPU has it, attention as plain matrix products | faster steps, the same training | notebook 3; BENCHMARKS.md |
# | evaluation | dropout on, one episode at a time | eval mode (dropout off), many episodes in one batch, only the newest action computed | dropout adds noise to every action; speed | notebook 4 (the blog's loop written out and checked against `evaluate`) |
# | the video | a recorder that no longer works | frames written with imageio, shown inline | | notebook 4 |
# | randomness | the global `random` / `np.random` | each collator its own seeded generator | the same batches on every run, also when resumed | notebook 2 |

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
TRY_OTHER_SOURCES = False  # True: the optional section at the end downloads a hub checkpoint and a Minari dataset

# %% [markdown]
# ## Load the dataset
#
# The blog's data is the `halfcheetah-expert-v2` configuration of the hub dataset
# `edbeeching/decision_transformer_gym_replay`: 1000 episodes of an expert HalfCheetah policy from the
# D4RL benchmark. The blog loaded it with `load_dataset(...)`, which ran a script stored in the dataset
# repo; `datasets` ≥ 4 no longer runs such scripts, so `load_episodes` reads the hub's automatic parquet
# export of the same data (with `BLOG_SETTINGS = True`).
#
# **Why not expert data by default?** A Decision Transformer is asked for a *return* and acts like the
# training episodes that earned it. If every episode is an expert's, every episode earns about the same
# return, so the return-to-go tells the model nothing: it learns one gait, and the target-return slider of
# notebook 4 moves without changing anything. So by default we use the **bundled multi-skill** dataset:
# the package's pretrained expert (TQC) held at one of 24 speeds per episode (0.5 to 12 m/s: its actions are
# scaled down, more when the cheetah runs faster than its speed, less when slower), plus a fifth of the episodes
# at its own full speed, so the returns spread evenly from about 500 to the expert's ~11,400. Mixing six
# different agents instead was measured and did *not* steer (their gaits average out into no gait), and fixed
# action scales steered less precisely: see BENCHMARKS.md, "Steering".
#
# The bundled data is generated on your machine the first time (a minute or two; seconds in fast mode), then
# read from a cache. It has the hub's columns, so nothing downstream changes. Notebooks 2–4 load it with
# one call, `load_tutorial_dataset(DATASET, N_EPISODES, use_hub=USE_HUB)`, the one used here.

# %%
from dt_tutorial.notebook import load_tutorial_dataset

episodes, dataset_name = load_tutorial_dataset(DATASET, N_EPISODES, use_hub=USE_HUB)
episodes

# %% [markdown]
# Who drove each episode? The bundled sets have a `policy` column: `tqc~6.0` is the expert held at 6 m/s (a
# slower gait of the same motion), `tqc` the expert itself at full speed. (The hub's data has no such column.)

# %%
from collections import Counter


def speed(policy: str) -> float:
    """'tqc~6.0' -> 6.0; the expert at full speed ('tqc') last."""
    return float(policy.partition("~")[2] or "inf")


if "policy" in episodes.column_names:
    for policy, count in sorted(Counter(episodes["policy"]).items(), key=lambda item: speed(item[0])):
        print(f"{policy:<10} {count:>5} episodes")

# %% [markdown]
# ## One row is one episode
#
# A 🤗 `Dataset` is a table. Here each row is a whole episode, and each column holds one list per episode:
# `observations` (one 17-number state per step), `actions` (6 numbers per step), `rewards` and `dones`
# (one per step; `dones` marks a real ending such as a fall, which the cheetah cannot do).

# %%
first = episodes.with_format("numpy")[0]  # episode 0 as numpy arrays
for column, values in first.items():
    print(f"{column:<13} shape {values.shape}  dtype {values.dtype}")

# %% [markdown]
# ## Flatten it once: `Trajectories`
#
# Training cuts thousands of short windows out of these episodes, so reading the table row by row each
# time would be slow. `Trajectories.from_dataset` converts it **once** into flat arrays (all steps of all
# episodes one after another), the start and length of each episode, the returns-to-go of every step, and
# the mean and standard deviation of each state dimension. It also checks the data (matching lengths, no
# NaNs) and fails with a one-line message if something is wrong.

# %%
from dt_tutorial.data import Trajectories

traj = Trajectories.from_dataset(episodes, dataset_name)
print(f"{traj.n_episodes} episodes, {traj.n_steps:,} time steps in all")
print(f"state_dim {traj.state_dim}, act_dim {traj.act_dim}, environment {traj.env_id}")
print(f"observations array: {traj.observations.shape}, actions array: {traj.actions.shape}")
lengths, returns = traj.episode_lengths, traj.episode_returns
print(f"episode lengths: min {lengths.min()}, mean {lengths.mean():.0f}, max {lengths.max()}")
print(f"episode returns: min {returns.min():.0f}, mean {returns.mean():.0f}, max {returns.max():.0f}")

# %% [markdown]
# ## How good are the episodes?
#
# The return of an episode is the sum of its rewards. The left histogram shows them: the multi-skill data
# spreads over the whole range, from a cheetah that barely moves to the expert, which is what lets the
# return-to-go mean something; an expert-only dataset (`BLOG_SETTINGS = True`) sits in one narrow band near
# the top. The right one shows the lengths: every HalfCheetah episode runs the full 1000 steps, because the
# cheetah cannot fall and the episode only ends at the time limit.

# %%
import matplotlib.pyplot as plt

from dt_tutorial.plots import plot_episode_returns

plot_episode_returns(traj)
plt.show()

# %% [markdown]
# RL papers report HalfCheetah results as a **D4RL score**: 0 is a random policy, 100 is the D4RL
# expert (a return of about 12,135). We use it in notebook 4 to judge our trained model; here is the
# dataset's own score, the level the model imitates.

# %%
from dt_tutorial.envs import d4rl_score

scores = d4rl_score(traj.env_id, traj.episode_returns)
print(f"D4RL score of the dataset's episodes: {scores.mean():.1f} ± {scores.std():.1f}")

# %% [markdown]
# ## State statistics
#
# The 17 state numbers come in very different units and sizes: angles in radians (around 0.1), the
# forward velocity (around 10 for an expert). The table lists each dimension's mean, standard deviation
# and range; the bar plot shows mean ± std. Notebook 2 rescales every dimension to mean 0 and std 1
# with exactly these statistics.

# %%
import pandas as pd

# HalfCheetah's observation, in the order of the gymnasium documentation (the x position is left out).
STATE_NAMES = [
    "tip height", "tip angle", "back thigh angle", "back shin angle", "back foot angle",
    "front thigh angle", "front shin angle", "front foot angle", "x velocity", "z velocity",
    "tip angular vel.", "back thigh ang. vel.", "back shin ang. vel.", "back foot ang. vel.",
    "front thigh ang. vel.", "front shin ang. vel.", "front foot ang. vel.",
]
stats = pd.DataFrame(
    {"mean": traj.state_mean, "std": traj.state_std, "min": traj.observations.min(0), "max": traj.observations.max(0)},
    index=pd.Index(STATE_NAMES, name="state dimension"),
).astype(float)
stats.round(3)

# %% [markdown]
# The same numbers as a picture: the velocities vary far more than the angles.

# %%
fig, ax = plt.subplots(figsize=(10, 4))
ax.bar(range(traj.state_dim), traj.state_mean, yerr=traj.state_std, capsize=3, color="tab:blue")
ax.set_xticks(range(traj.state_dim), STATE_NAMES, rotation=60, ha="right", fontsize=8)
ax.set(xlabel="state dimension", ylabel="value (mean ± std)", title=f"{dataset_name}: state statistics")
ax.grid(axis="y", alpha=0.3)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Optional: the hub's pretrained Decision Transformers and Minari datasets
#
# The blog's authors trained nine models, `edbeeching/decision-transformer-gym-{halfcheetah,hopper,walker2d}-{expert,medium,medium-replay}`.
# Their `config.json` holds no state mean/std, so `load_model(..., stats_from=DATASET)` computes them from the data
# the model was trained on, exactly as training does (for these nine ids that dataset is inferred).
# [Minari](https://minari.farama.org), D4RL's successor, is read with `load_episodes("minari:<dataset id>")`
# (`pip install 'dt-tutorial[minari]'`) into the same one-row-per-episode schema. Minari's HalfCheetah returns are
# not on D4RL's scale: the printed D4RL score always uses D4RL's reference returns. Both need internet: set
# `TRY_OTHER_SOURCES = True` in the parameters cell to run the next cell (CI never does).

# %%
if TRY_OTHER_SOURCES:
    from dt_tutorial.sources import load_episodes
    from dt_tutorial.model import load_model
    from dt_tutorial.rollout import evaluate

    hub_model = load_model("edbeeching/decision-transformer-gym-halfcheetah-expert", stats_from="halfcheetah-expert-v2")
    print(evaluate(hub_model, target_return=12000, n_episodes=2).summary())
    print(load_episodes("minari:mujoco/halfcheetah/expert-v0"))
else:
    print("TRY_OTHER_SOURCES is False: nothing downloaded")

# %% [markdown]
# ## Exercises
#
# 1. **Return against speed.** For the multi-skill data, plot each episode's return against the speed its driver
#    was held at (`speed(policy)` above; leave out the full-speed expert, `inf`). *You should see* the return rise
#    with the speed, almost on a line: the rank correlation the solution prints is close to 1.
# 2. **The expert-only data.** Load it with `load_tutorial_dataset("bundled-expert", N_EPISODES)` and compare the
#    spread of its episode returns with the multi-skill data's. *You should see* a standard deviation many times
#    smaller: nearly every episode earns the same return, which is why notebook 4's slider cannot steer a model
#    trained on it.
#
# <details><summary>Solutions</summary>
#
# ```python
# # 1
# import numpy as np
#
# from dt_tutorial.rollout import spearman_rho
#
# speeds = np.array([speed(policy) for policy in episodes["policy"]])
# held = np.isfinite(speeds)
# plt.scatter(speeds[held], traj.episode_returns[held], s=5)
# plt.xlabel("held speed (m/s)"), plt.ylabel("episode return"), plt.show()
# print(f"rank correlation: {spearman_rho(speeds[held], traj.episode_returns[held]):.3f}")
#
# # 2
# expert_episodes, expert_name = load_tutorial_dataset("bundled-expert", N_EPISODES)
# expert = Trajectories.from_dataset(expert_episodes, expert_name)
# print(f"std of the returns: expert-only {expert.episode_returns.std():.0f}, multi-skill {traj.episode_returns.std():.0f}")
# assert expert.episode_returns.std() < traj.episode_returns.std() / 4
# ```
#
# </details>

# %% [markdown]
# ## Next
#
# [Notebook 2](02_preprocessing_and_collator.ipynb) turns these episodes into training batches:
# normalised states, returns-to-go, length-weighted sampling, padding and the attention mask.

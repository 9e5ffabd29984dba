# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/dt-tutorial/dt_tutorial/blob/v0.2.0/notebooks/02_preprocessing_and_collator.ipynb)
#
# # 2 · Preprocessing and the data collator
#
# The model does not read whole episodes. It reads **windows** of $K = 20$ consecutive steps. A *data
# collator* cuts the windows out of the dataset, normalises them and stacks them into a batch, every
# training step. This notebook takes that preprocessing apart, one idea at a time, and shows each on
# real data and real batches.

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
K = 20  # context length: time steps per window (the tutorial's max_len)
SCALE = 1000.0  # returns-to-go are divided by this
BATCH_SIZE = 64  # windows per batch, as in the tutorial
N_SAMPLING_DRAWS = 20_000 if FAST else 500_000  # draws for the sampling check

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
# ## 1 · State normalisation
#
# Notebook 1 showed that the 17 state numbers have very different sizes. Neural networks learn best
# when every input is around 0 with a spread of about 1, so each dimension is shifted by its dataset
# mean and divided by its standard deviation:
#
# $$s' = \frac{s - \text{mean}}{\text{std} + 10^{-6}}$$
#
# (the $10^{-6}$ avoids dividing by zero for a constant dimension; `traj.state_std` already includes it).
# Evaluation must use the very same mean and std, so notebook 3 stores them in the model's config.

# %%
import numpy as np

normalised = (traj.observations - traj.state_mean) / traj.state_std  # [n_steps, state_dim]
print("std of each raw dimension:       ", np.round(traj.observations.std(0), 2))
print("mean of each normalised dimension:", np.round(normalised.mean(0), 3))
print("std of each normalised dimension: ", np.round(normalised.std(0), 3))

# %% [markdown]
# ## 2 · Returns-to-go
#
# The return-to-go of step $t$ is the sum of the rewards from $t$ to the end of the episode. The blog
# computes it per episode with `discount_cumsum(rewards, gamma=1.0)`: a cumulative sum run backwards from
# the last step, where each step adds its reward to `gamma` times the running total. With `gamma = 1`
# nothing is discounted: every future reward counts fully.
#
# `Trajectories` computes the returns-to-go of all episodes at once (suffix sums over the flat array).
# Let us check that both agree on one episode.

# %%
from dt_tutorial.data import discount_cumsum

ep = traj.episode(0)
rtg_loop = discount_cumsum(ep["rewards"], gamma=1.0)  # the tutorial's per-episode loop
print("loop (first 5 steps):        ", np.round(rtg_loop[:5], 1))
print("Trajectories (first 5 steps):", np.round(ep["returns_to_go"][:5], 1))
print(f"largest difference over the episode: {np.abs(rtg_loop - ep['returns_to_go']).max():.4f} (float32 rounding)")
np.testing.assert_allclose(ep["returns_to_go"], rtg_loop, rtol=1e-5, atol=0.05, err_msg="the two returns-to-go disagree")

# %% [markdown]
# Each episode's agent keeps one speed all episode, so its rewards stay level and its return-to-go falls
# almost linearly from the episode's return to 0 (steeply for a fast episode, gently for a slow one):

# %%
import matplotlib.pyplot as plt

fig, (ax_reward, ax_rtg) = plt.subplots(1, 2, figsize=(10, 3.2))
ax_reward.plot(ep["rewards"], lw=0.8)
ax_reward.set(xlabel="time step t", ylabel="reward $r_t$", title="rewards of episode 0")
ax_rtg.plot(ep["returns_to_go"] / SCALE)
ax_rtg.set(xlabel="time step t", ylabel="return-to-go / 1000", title="its returns-to-go, scaled")
fig.tight_layout()
plt.show()

# %% [markdown]
# ### The scale 1000
#
# The expert's return-to-go starts around 11 000, while the normalised states are around ±1. Dividing
# returns-to-go by `SCALE = 1000` brings them to roughly 0–12, a size the network handles well. It is
# only a unit change: evaluation divides by the same 1000, so "aim for 12 000" enters the model as 12.0.

# %% [markdown]
# ### What the model reads: the return-to-go as a pace
#
# The paper feeds the model the return-to-go itself. Our `demo` preset (`return_pace=True`, a difference from
# the paper) hands it over as a **pace**: $\hat R_t \cdot H / (H - t)$ with $H = 1000$ steps, the return a whole
# episode would reach at the rate still needed. At $t = 0$ it *is* the return-to-go, so a target of 6,000 still
# enters as 6.0; for an episode held at one speed it stays level all episode (the orange line below), where the
# return-to-go falls. Why bother? A return-to-go of 3.0 means "jog" at step 0 and "sprint" at step 750, so the
# model would have to divide by the steps left to read the speed out of it; in our measurements it learned that
# poorly in a few thousand steps. The pace *is* the speed still needed, and while the cheetah runs it also
# corrects it: fall behind and the pace rises, get ahead and it drops. Same data, same training: Spearman rho
# 0.92–0.99 between target and achieved return with the pace, 0.70–0.84 without (BENCHMARKS.md, "Steering").
# The collator still builds the paper's returns-to-go; the model converts them (`model.conditioned`) for
# training and evaluation alike.

# %%
import torch

from dt_tutorial.model import return_pace

steps = torch.arange(len(ep["rewards"]))  # [T]
rtg = torch.as_tensor(ep["returns_to_go"] / SCALE, dtype=torch.float32)[None, :, None]  # [1, T, 1]
pace = return_pace(rtg, steps[None], horizon=1000, low=0.0, high=float("inf"))[0, :, 0]  # [T]
fig, ax = plt.subplots(figsize=(6, 3.2))
ax.plot(rtg[0, :, 0], label="return-to-go / 1000 (the paper)")
ax.plot(pace, label="its pace (the demo preset)")
ax.set(xlabel="time step t", ylim=(0, 1.5 * float(rtg.max()) + 0.5), title="what the model reads about the return")
ax.legend()
plt.show()

# %% [markdown]
# ## 3 · Length-weighted sampling
#
# Each training window starts at a random step. The tutorial draws an **episode with probability
# proportional to its length**, then a **start uniformly inside** it. Why weight by length? So that every
# time step of the dataset is equally likely to start a window: with $N$ steps in all, step $t$ of an
# episode of length $L$ is drawn with probability
#
# $$\frac{L}{N} \times \frac{1}{L} = \frac{1}{N}.$$
#
# That is simply **one step drawn uniformly** from all $N$. So the collator draws one global step index
# per window (`collator.sample_starts`) and finds its episode with a binary search (`np.searchsorted`):
# no per-row loop, same distribution.
#
# All HalfCheetah episodes are 1000 steps long, which hides the weighting. For the check, we make a small
# dataset of episodes cut to 100, 300, 600 and 1000 steps, draw many starts both ways and compare.

# %%
import datasets

from dt_tutorial.collator import DecisionTransformerGymDataCollator
from dt_tutorial.schema import EPISODE_FEATURES

cut_lengths = [100, 300, 600, 1000]
uneven = datasets.Dataset.from_dict(
    {column: [traj.episode(i)[column][:n] for i, n in enumerate(cut_lengths)] for column in EPISODE_FEATURES},
    features=EPISODE_FEATURES,
)
uneven_traj = Trajectories.from_dataset(uneven, "uneven lengths")
sampler = DecisionTransformerGymDataCollator(uneven_traj, max_len=K, seed=0)

# The collator's way: one uniform global step, then its episode.
starts = sampler.sample_starts(N_SAMPLING_DRAWS)  # [draws] global step indices
episode_of_start = np.searchsorted(uneven_traj.episode_starts, starts, side="right") - 1  # [draws]

# The tutorial's way: an episode with p ∝ length (sampler.p_sample), then a uniform start inside it.
rng = np.random.default_rng(1)
tutorial_episode = rng.choice(uneven_traj.n_episodes, size=N_SAMPLING_DRAWS, p=sampler.p_sample)  # [draws]
tutorial_offset = rng.integers(0, uneven_traj.episode_lengths[tutorial_episode])  # [draws] start inside it

print("episode length     :", cut_lengths)
print("expected  p(episode):", np.round(sampler.p_sample, 3))
print("collator  p(episode):", np.round(np.bincount(episode_of_start, minlength=4) / N_SAMPLING_DRAWS, 3))
print("tutorial  p(episode):", np.round(np.bincount(tutorial_episode, minlength=4) / N_SAMPLING_DRAWS, 3))

# %% [markdown]
# Both ways pick the episodes in proportion to their length. Inside an episode the start must be
# uniform too: here are the start positions inside the 1000-step episode, from both ways.

# %%
last = uneven_traj.n_episodes - 1
collator_offset = starts[episode_of_start == last] - uneven_traj.episode_starts[last]
fig, ax = plt.subplots(figsize=(8, 3.2))
bins = np.linspace(0, cut_lengths[-1], 21)
ax.hist(collator_offset, bins=bins, histtype="step", lw=2, label="collator: uniform global step")
ax.hist(tutorial_offset[tutorial_episode == last], bins=bins, histtype="step", lw=2, label="tutorial: episode ∝ length, then uniform")
ax.set(xlabel="window start inside the 1000-step episode", ylabel="number of draws", title="start positions are uniform either way")
ax.legend(fontsize=8, loc="lower center")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 4 · A real batch
#
# Now the collator itself, on our dataset. Its constructor is the tutorial's:
# `DecisionTransformerGymDataCollator(dataset, max_len=20, scale=1000, ...)`. The 🤗 `Trainer` calls it
# with a list of dataset rows; this collator only uses how many there are (the batch size) and draws
# the windows itself. It returns a dict of tensors, the inputs of the model:

# %%
collator = DecisionTransformerGymDataCollator(traj, max_len=K, scale=SCALE, seed=0)
batch = collator([None] * BATCH_SIZE)  # what the Trainer does each step, with BATCH_SIZE rows
for name, tensor in batch.items():
    print(f"{name:<15} {str(tuple(tensor.shape)):<14} {tensor.dtype}")

# %% [markdown]
# `states`, `actions`, `rewards` and `returns_to_go` have one entry per step of each window;
# `timesteps` is each step's position inside its episode (for the timestep embedding, capped at
# `max_ep_len - 1 = 999`). Below, one window: its scaled return-to-go, three of its normalised state
# dimensions, and its attention mask.

# %%
from dt_tutorial.plots import plot_window

plot_window(batch, row=0)
plt.show()

# %% [markdown]
# ## 5 · Padding and the attention mask
#
# A window that starts fewer than $K$ steps before its episode's end has fewer than $K$ real steps.
# It is **padded on the left** up to $K$: padded states are zero states (then normalised), actions −10,
# rewards, returns-to-go and timesteps 0. The **attention mask** is 1 on real steps and 0 on padding:
# GPT-2 does not attend to masked positions, and the loss ignores them. Padding on the left keeps the
# newest real step in the last position, exactly where the model looks when it acts (notebook 4).
#
# With 1000-step episodes few random windows need padding, so let us ask for one that starts 6 steps
# before the end of episode 0: `collator.windows` takes the start indices directly.

# %%
padded_rows = int((batch["attention_mask"].sum(dim=1) < K).sum())
print(f"windows with padding in the random batch: {padded_rows} of {BATCH_SIZE}")

near_end = traj.episode_starts[0] + traj.episode_lengths[0] - 6  # global index: 6 steps before episode 0 ends
padded = collator.windows(np.array([near_end]))
print("attention mask:   ", padded["attention_mask"][0].int().tolist())
print("action[0] per step:", padded["actions"][0, :, 0].numpy().round(2))
print("timesteps:        ", padded["timesteps"][0].tolist())
plot_window(padded, row=0)
plt.show()

# %% [markdown]
# ## 6 · Vectorised: no Python loop over rows
#
# The blog's collator loops in Python over the 64 rows of every batch, slicing one episode at a time
# and concatenating small arrays; the `Trainer` calls it at every step, so it took most of the training
# time. This collator builds the whole batch with a few array operations: one random draw, one
# `searchsorted`, and one gather with a `[batch, K]` grid of indices into the flat arrays of
# `Trajectories`. Same windows, same padding, same distribution. Here is all of it:

# %%
import inspect

print(inspect.getsource(DecisionTransformerGymDataCollator.windows))

# %% [markdown]
# How much faster than the tutorial's row-by-row collator it is, measured on the same data: see
# BENCHMARKS.md. The time one batch takes here:

# %%
import time

n_batches = 50 if FAST else 500
t0 = time.perf_counter()
for _ in range(n_batches):
    collator([None] * BATCH_SIZE)
print(f"{(time.perf_counter() - t0) / n_batches * 1e3:.2f} ms per batch of {BATCH_SIZE} windows of {K} steps")

# %% [markdown]
# ## Next
#
# [Notebook 3](03_train.ipynb) gives these batches to the 🤗 `Trainer` and trains the Decision Transformer.

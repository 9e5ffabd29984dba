# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/dt-tutorial/dt_tutorial/blob/v0.2.0/notebooks/02_preprocessing_and_collator.ipynb)
#
# # 2 · Preprocessing and the data collator
#
# The model does not read whole episodes. It reads **windows** of $K = 20$ consecutive steps. A *data
# collator* cuts the windows out of the dataset, normalises them and stacks them into a batch, every
# training step. This notebook takes that preprocessing apart, one idea at a time, and shows each on
# real data and real batches.
#
# > **What it needs and how long it takes.** A CPU is fine; a GPU does not help here. Run in full on an idle 2-core
# > CPU it took 17 s (BENCHMARKS.md, "The notebooks").
# > It reuses the data notebook 1 generated on this machine; on a fresh machine (a new Colab runtime) it
# > generates them first (about a minute).

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
# A return-to-go starts at its episode's whole return, thousands, while the normalised states are around ±1.
# Dividing returns-to-go by `SCALE = 1000` brings them to a few units, a size the network handles well. It is
# only a unit change: evaluation divides by the same 1000, so "aim for 12,000" enters the model as 12.0.

# %% [markdown]
# ### What the model reads: the return-to-go as a pace
#
# The paper feeds the model the return-to-go itself. Our `demo` preset (`return_pace=True`, a difference from
# the paper and the blog) hands it over as a **pace**:
#
# $$\text{pace}_t = \hat R_t \cdot \frac{H}{H - t}, \qquad H = 1000 \text{ steps},$$
#
# the return a whole episode would reach at the rate still needed. At $t = 0$ it *is* the return-to-go, so a
# target of 6,000 still enters as 6.0; for an episode held at one speed it stays level all episode (the orange
# line below), where the return-to-go falls. Why bother? A return-to-go of 3.0 means "jog" at step 0 and
# "sprint" three quarters of the way through, so the model would have to divide by the steps left to read the speed out of it. The
# pace *is* the speed still needed, and while the cheetah runs it also corrects it: fall behind and the pace
# rises, get ahead and it drops.
#
# Two details, both in `model.conditioned`:
#
# - **It is clipped** to the range of the training data's episode returns: above at the highest return, below
#   at 0 (or the lowest return, if that is negative). Near the end of an episode $H - t$ is small, so a cheetah behind its target would
#   otherwise be asked for an enormous pace it has never seen; and a target above the data asks for no more
#   than the best episode did.
# - **It assumes every episode lasts $H = 1000$ steps** (`max_ep_len`), as HalfCheetah's episodes do: they end
#   at the time limit only. For an environment whose episodes end early (a Hopper that falls), $H - t$ would
#   not be the steps left, and the pace would be wrong; keep `return_pace=False` there.
#
# Does it help? Measured on otherwise equal settings (the same data, the same 3,000 steps, dropout 0.1 in both,
# training seeds 1, 7 and 42; BENCHMARKS.md, "Steering", rows `demo` and `pace`): the mean miss between target
# and achieved return, over the targets inside the data's range, fell from 613, 1,018 and 1,219 without the
# pace to 137, 149 and 461 with it. With dropout also switched off, as the `demo` preset does, five seeds
# steered with a rank correlation of 0.921 to 0.992 between target and achieved return (rows `pace-nodrop`).
# The collator still builds the paper's returns-to-go; the model converts them for training and evaluation alike.

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
# ## 4 · The blog's collator, written out
#
# Now the whole recipe as one class, the blog's `DecisionTransformerGymDataCollator` with its structure kept
# (its loops, its per-row slicing, its padding values). For each of the `batch_size` rows the 🤗 `Trainer`
# hands it, it
#
# 1. **samples an episode by length** and a uniform start inside it (section 3),
# 2. **cuts a window** of up to $K$ steps from that start, and the returns-to-go of those steps (section 2),
# 3. **pads it on the left** to $K$ steps: states 0, actions −10, rewards, returns-to-go and timesteps 0, and an
#    attention mask of 1 on real steps, 0 on padding (section 5 below),
# 4. **normalises the states** with the dataset's mean and std (section 1),
# 5. **scales the returns-to-go** by `SCALE` (section 2).
#
# Two small changes from the blog, so that we can check it against the package below: randomness comes from its
# own generator (`seed`), and the drawing (step 1) is a method of its own, `draw`, separate from building the
# windows (`windows`), so both collators can be handed the very same draws. (The blog also built a `dones`
# window and then left it out of the batch; it is left out here from the start.)

# %%
import torch

from dt_tutorial.data import discount_cumsum


class BlogCollator:
    """The blog's DecisionTransformerGymDataCollator: loops over the rows of a batch, one episode at a time."""

    def __init__(self, dataset, max_len=20, scale=1000.0, max_ep_len=1000, seed=None):
        self.dataset, self.max_len, self.scale, self.max_ep_len = dataset, max_len, scale, max_ep_len
        self.state_dim = len(dataset[0]["observations"][0])
        self.act_dim = len(dataset[0]["actions"][0])
        states = np.vstack(dataset["observations"])  # every state of every episode: [n_steps, state_dim]
        self.state_mean, self.state_std = states.mean(axis=0), states.std(axis=0) + 1e-6
        self.traj_lens = np.array([len(rewards) for rewards in dataset["rewards"]])
        self.p_sample = self.traj_lens / self.traj_lens.sum()  # episodes drawn in proportion to their length
        self.rng = np.random.default_rng(seed)

    def draw(self, batch_size):
        """Step 1: episodes by length, then a uniform start inside each. ([batch], [batch])"""
        episodes = self.rng.choice(len(self.traj_lens), size=batch_size, p=self.p_sample)
        starts = self.rng.integers(0, self.traj_lens[episodes])
        return episodes, starts

    def windows(self, episodes, starts):
        s, a, r, rtg, timesteps, mask = [], [], [], [], [], []
        for episode, si in zip(episodes, starts):
            feature = self.dataset[int(episode)]  # one row: one whole episode, as Python lists
            # Step 2: cut the window, and the returns-to-go of its steps.
            s.append(np.array(feature["observations"][si : si + self.max_len]))  # [tlen, state_dim]
            a.append(np.array(feature["actions"][si : si + self.max_len]))  # [tlen, act_dim]
            r.append(np.array(feature["rewards"][si : si + self.max_len]).reshape(-1, 1))  # [tlen, 1]
            tlen = len(s[-1])
            rtg.append(discount_cumsum(np.array(feature["rewards"][si:]), gamma=1.0)[:tlen].reshape(-1, 1))
            timesteps.append(np.minimum(np.arange(si, si + tlen), self.max_ep_len - 1))
            # Step 3: pad on the left up to max_len.
            pad = self.max_len - tlen
            s[-1] = np.concatenate([np.zeros((pad, self.state_dim)), s[-1]])
            a[-1] = np.concatenate([np.full((pad, self.act_dim), -10.0), a[-1]])
            r[-1] = np.concatenate([np.zeros((pad, 1)), r[-1]])
            rtg[-1] = np.concatenate([np.zeros((pad, 1)), rtg[-1]])
            timesteps[-1] = np.concatenate([np.zeros(pad, dtype=np.int64), timesteps[-1]])
            mask.append(np.concatenate([np.zeros(pad), np.ones(tlen)]))
            # Step 4: normalise the states; step 5: scale the returns-to-go.
            s[-1] = (s[-1] - self.state_mean) / self.state_std
            rtg[-1] = rtg[-1] / self.scale
        as_float = lambda rows: torch.from_numpy(np.stack(rows)).float()  # noqa: E731
        return {
            "states": as_float(s),  # [batch, max_len, state_dim]
            "actions": as_float(a),  # [batch, max_len, act_dim]
            "rewards": as_float(r),  # [batch, max_len, 1]
            "returns_to_go": as_float(rtg),  # [batch, max_len, 1]
            "timesteps": torch.from_numpy(np.stack(timesteps)),  # [batch, max_len]
            "attention_mask": as_float(mask),  # [batch, max_len]
        }

    def __call__(self, features):
        """What the Trainer calls with a list of dataset rows; only their number (the batch size) is used."""
        return self.windows(*self.draw(len(features)))


# %% [markdown]
# Run it the way the `Trainer` will, on a batch of `BATCH_SIZE` rows. It returns a dict of tensors, the inputs
# of the model:

# %%
blog_collator = BlogCollator(episodes, max_len=K, scale=SCALE, seed=0)
batch = blog_collator([None] * BATCH_SIZE)  # what the Trainer does each step, with BATCH_SIZE rows
for name, tensor in batch.items():
    print(f"{name:<15} {str(tuple(tensor.shape)):<14} {tensor.dtype}")

# %% [markdown]
# `states`, `actions`, `rewards` and `returns_to_go` have one entry per step of each window;
# `timesteps` is each step's position inside its episode (for the timestep embedding, capped at
# `max_ep_len - 1`). Below, one window: its scaled return-to-go, three of its normalised state
# dimensions, and its attention mask.

# %%
from dt_tutorial.plots import plot_window

plot_window(batch, row=0)
plt.show()

# %% [markdown]
# ## 5 · Padding and the attention mask
#
# A window that starts fewer than $K$ steps before its episode's end has fewer than $K$ real steps.
# It is **padded on the left** up to $K$. The **attention mask** is 1 on real steps and 0 on padding:
# GPT-2 does not attend to masked positions, and the loss ignores them. Padding on the left keeps the
# newest real step in the last position, exactly where the model looks when it acts (notebook 4).
#
# With long episodes few random windows need padding, so let us ask for one that starts 6 steps before the end
# of episode 0: `windows` takes the draws directly.

# %%
padded_rows = int((batch["attention_mask"].sum(dim=1) < K).sum())
print(f"windows with padding in the random batch: {padded_rows} of {BATCH_SIZE}")

near_end = np.array([blog_collator.traj_lens[0] - 6])  # a start 6 steps before episode 0 ends
padded = blog_collator.windows(np.array([0]), near_end)
print("attention mask:   ", padded["attention_mask"][0].int().tolist())
print("action[0] per step:", padded["actions"][0, :, 0].numpy().round(2))
print("timesteps:        ", padded["timesteps"][0].tolist())
plot_window(padded, row=0)
plt.show()

# %% [markdown]
# ## 6 · The same, faster: the package's collator
#
# The blog's collator works row by row in Python: for each of the 64 rows of every batch it fetches a whole
# episode from the table, slices it and concatenates small arrays. The `Trainer` calls it at every step, so it
# took most of the training time. `dt_tutorial`'s `DecisionTransformerGymDataCollator` (same constructor, same
# output) builds the whole batch with a few array operations over the flat arrays of `Trajectories`: it
# normalises every state once when it is built, draws one global step per window (section 3), finds its
# episode with one `np.searchsorted`, and gathers all windows with one `[batch, K]` grid of indices, padding
# included. Its `windows(starts)` takes global step indices: step `start` of episode `e` is
# `traj.episode_starts[e] + start`.
#
# First the check: handed the same draws, both collators build the same windows (up to float32 rounding: the
# blog's arithmetic runs in float64).

# %%
from dt_tutorial.collator import DecisionTransformerGymDataCollator

collator = DecisionTransformerGymDataCollator(traj, max_len=K, scale=SCALE, seed=0)
draw_episodes, draw_starts = blog_collator.draw(BATCH_SIZE)
draw_episodes[0], draw_starts[0] = 0, blog_collator.traj_lens[0] - 6  # include a padded window
ours = blog_collator.windows(draw_episodes, draw_starts)
theirs = collator.windows(traj.episode_starts[draw_episodes] + draw_starts)
for name in ours:
    torch.testing.assert_close(theirs[name], ours[name].to(theirs[name].dtype), rtol=1e-4, atol=1e-4, msg=f"{name} differs")
    print(f"{name:<15} same: largest difference {float((theirs[name] - ours[name]).abs().max()):.1e}")

# %% [markdown]
# And the time per batch, side by side on the same data (this machine, now; BENCHMARKS.md has the measurement
# across whole trainings):

# %%
import time


def seconds_per_batch(make_batch, n_batches):
    start = time.perf_counter()
    for _ in range(n_batches):
        make_batch([None] * BATCH_SIZE)
    return (time.perf_counter() - start) / n_batches


blog_seconds = seconds_per_batch(blog_collator, 3 if FAST else 20)
package_seconds = seconds_per_batch(collator, 50 if FAST else 500)
print(f"the blog's collator:      {blog_seconds * 1e3:8.2f} ms per batch of {BATCH_SIZE} windows of {K} steps")
print(f"the package's collator:   {package_seconds * 1e3:8.2f} ms per batch ({blog_seconds / package_seconds:.0f}x faster)")

# %% [markdown]
# From here on the notebooks use the package's collator. Here is all of its `windows`:

# %%
import inspect

print(inspect.getsource(DecisionTransformerGymDataCollator.windows))

# %% [markdown]
# ## Exercises
#
# Try these, then open the solution under each to compare.
#
# 1. **A shorter context.** Build the package's collator with `max_len=5` and draw a batch. *You should see*
#    `states` of shape `(BATCH_SIZE, 5, 17)` and `attention_mask` of shape `(BATCH_SIZE, 5)`.
# 2. **How often is a window padded?** A window is padded when it starts in the last $K - 1$ steps of its
#    episode. Draw a few thousand windows and count. *You should see roughly* $(K - 1) \cdot$ episodes $/$ steps
#    of them padded (the solution computes it), about two in a hundred for episodes of a thousand steps.
# 3. **Without the scale.** Build the blog's collator with `scale=1.0`. *You should see* returns-to-go as large
#    as the data's largest episode return (`traj.episode_returns.max()`), instead of numbers around 10.
#
# <details><summary>Solutions</summary>
#
# ```python
# # 1
# short = DecisionTransformerGymDataCollator(traj, max_len=5, seed=0)([None] * BATCH_SIZE)
# print(short["states"].shape, short["attention_mask"].shape)
# assert short["states"].shape == (BATCH_SIZE, 5, traj.state_dim)
#
# # 2
# many = collator([None] * 20_000)
# padded_share = float((many["attention_mask"].sum(dim=1) < K).float().mean())
# expected = (K - 1) * traj.n_episodes / traj.n_steps
# print(f"padded: {padded_share:.4f}, expected {expected:.4f}")
# assert abs(padded_share - expected) < 0.005
#
# # 3
# unscaled = BlogCollator(episodes, max_len=K, scale=1.0, seed=0)([None] * BATCH_SIZE)
# print(f"largest return-to-go in the batch: {float(unscaled['returns_to_go'].max()):.0f}, "
#       f"largest episode return: {traj.episode_returns.max():.0f}")
# assert unscaled["returns_to_go"].max() <= traj.episode_returns.max() + 1
# ```
#
# </details>

# %% [markdown]
# ## Next
#
# [Notebook 3](03_train.ipynb) gives these batches to the 🤗 `Trainer` and trains the Decision Transformer.

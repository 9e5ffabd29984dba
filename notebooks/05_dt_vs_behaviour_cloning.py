# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/dt-tutorial/dt_tutorial/blob/v0.2.0/notebooks/05_dt_vs_behaviour_cloning.ipynb)
#
# # 5 · The Decision Transformer vs behaviour cloning
#
# Is the transformer worth it? The honest baseline is **behaviour cloning (BC)**: a small MLP that maps the
# current state to the action in the data, trained with the same `Trainer` and the same collator, with windows
# of one step and no returns (`dt_tutorial/bc.py`). **%BC** (here 10%BC) clones only the best 10 % of the
# episodes by return. A baseline is only honest at its real level, so BC gets its own settings and a budget
# chosen by measurement (the notebook prints how much its loss still moves), and we check whether it reaches the
# level of the episodes it copies.
# Then we ask each policy for several target returns, on the expert-only data and on the multi-skill data.
#
# > **What it needs and how long it takes.** A CPU is fine; a GPU helps the Decision Transformers' training.
# > Run in full on an idle 2-core CPU right after notebooks 3 and 4 it took 918 s (BENCHMARKS.md, "The notebooks"),
# > reusing the two Decision Transformers they trained; its four BC models train here every time (204-226 s each). Where the DTs are missing (a fresh Colab runtime) or were trained with other settings,
# > it says so in one line and trains them (each like notebook 3's training). On a Colab GPU: not measured.

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
# Every size follows from one switch, `FAST`. Continuous integration sets `DT_TUTORIAL_FAST=1` so that the
# notebook runs in seconds (and the numbers mean nothing); leave it unset to get the real comparison.
#
# `BLOG_SETTINGS` (the environment variable `DT_TUTORIAL_BLOG_SETTINGS=1`, read the same way by all five
# notebooks) trains the Decision Transformers with the blog's `tutorial` preset instead of `demo`; BC keeps its
# own settings either way.

# %%
import os

from dt_tutorial.notebook import blog_settings, tutorial_choice

FAST = os.environ.get("DT_TUTORIAL_FAST") == "1"  # CI sets DT_TUTORIAL_FAST=1: every size below shrinks
BLOG_SETTINGS = blog_settings()  # DT_TUTORIAL_BLOG_SETTINGS=1: the blog's expert-only data and training settings
_, USE_HUB, PRESET = tutorial_choice(BLOG_SETTINGS, FAST)  # the Decision Transformers' preset: "demo" by default
DATASETS = ("bundled-expert", "bundled")  # expert-only data, then the multi-skill data (the expert held at 24 speeds)
N_EPISODES = 20 if FAST else 1000  # episodes of each bundled dataset
BC_STEPS = 20 if FAST else None  # None: BC's own budget (dt_tutorial.bc.BC_SETTINGS)
TARGETS = [3000, 12000] if FAST else [1500, 3000, 4500, 6000, 7500, 9000, 10500, 12000]
N_EVAL_EPISODES = 1 if FAST else 5  # per target, for the curves
N_BASELINE_EPISODES = 2 if FAST else 50  # BC and 10%BC ignore the target: their level is measured on this many episodes
MAX_STEPS = 50 if FAST else None  # steps per evaluation episode; None: the env's full 1000
EVAL_SEED = 1_000_000  # evaluation resets: never a seed the data was collected with
OUT_DIR = "runs/05_dt_vs_bc"

# %% [markdown]
# ## The data
#
# Both datasets, and how well the episodes each method copies did: all of them for BC, the best 10 % by return
# for 10%BC. These means are the bar each BC baseline must reach.

# %%
import numpy as np

from dt_tutorial.bc import top_episodes
from dt_tutorial.data import Trajectories
from dt_tutorial.notebook import load_tutorial_dataset

data, copied_mean = {}, {}
for dataset in DATASETS:
    episodes, name = load_tutorial_dataset(dataset, N_EPISODES)
    data[dataset] = episodes, name
    for method, fraction in (("BC", 1.0), ("10%BC", 0.1)):
        kept = top_episodes(episodes, fraction)
        copied_mean[dataset, method] = float(Trajectories.from_dataset(kept).episode_returns.mean())
        print(f"{dataset:<15} {method:<6} copies {len(kept):>4} episodes, mean return {copied_mean[dataset, method]:,.0f}")

# %% [markdown]
# ## The Decision Transformers: reused where notebooks 3 and 4 trained them
#
# Notebook 3 trained the DT on the multi-skill data, and notebook 4 trained one on the expert-only data for its
# last section, both with `PRESET`. `load_or_train` loads those runs when they exist on this machine and were
# trained with these settings on this data; otherwise (a fresh Colab runtime, other settings) it says why and
# trains here (a few CPU minutes each with `demo`).

# %%
from pathlib import Path

from dt_tutorial.notebook import load_or_train
from dt_tutorial.train import get_config

EARLIER_RUNS = {"bundled": "runs/03_train", "bundled-expert": "runs/04_watch_it_run/bundled-expert"}
policies = {}
dataset = DATASETS[0]
policies[dataset, "DT"] = load_or_train([EARLIER_RUNS[dataset], Path(OUT_DIR) / dataset / "DT"], get_config(PRESET),
                                        dataset, N_EPISODES, progress=not FAST)

# %%
dataset = DATASETS[1]
policies[dataset, "DT"] = load_or_train([EARLIER_RUNS[dataset], Path(OUT_DIR) / dataset / "DT"], get_config(PRESET),
                                        dataset, N_EPISODES, progress=not FAST)

# %% [markdown]
# ## Behaviour cloning, with its own settings
#
# `bc_train_config()` gives BC its own budget: the settings of `dt_tutorial.bc.BC_SETTINGS` (printed below),
# larger batches than the DT's, always full (a tenth of the episodes is fewer rows than a batch), no tight gradient
# clipping, and 20 times the DT's steps: with fewer, a few rollouts in fifty flip the cheetah onto its back
# (BENCHMARKS.md, "Behaviour cloning's budget"). Its MLP has a LayerNorm after each hidden layer: without it, more of its rollouts on
# the expert data stumbled (`dt_tutorial/bc.py`). `train_bc(..., top_fraction=0.1)` keeps exactly the best 10 % of the
# episodes by return (ties go to the earlier episode). One model per cell; each prints whether its loss has
# converged: the relative change of the mean logged loss between the last fifth of training and the fifth before.

# %%
import dataclasses

from dt_tutorial.bc import bc_train_config, loss_plateau, train_bc

bc_config = bc_train_config() if BC_STEPS is None else bc_train_config("tiny", max_steps=BC_STEPS)
print({k: v for k, v in dataclasses.asdict(bc_config).items() if k in ("max_steps", "batch_size", "learning_rate", "lr_scheduler", "max_grad_norm", "weight_decay")})
runs = {}


def train_baseline(dataset, method):
    episodes, name = data[dataset]
    fraction = 1.0 if method == "BC" else 0.1
    run = train_bc(episodes, name, bc_config, Path(OUT_DIR) / dataset / method.replace("%", "pct"), top_fraction=fraction, overwrite=True,
                   progress=not FAST)
    runs[dataset, method] = run
    policies[dataset, method] = run.model.eval()
    runtime = next(h["train_runtime"] for h in run.history if "train_runtime" in h)
    print(f"{dataset} {method}: {run.trainer.state.global_step} steps in {runtime:.0f} s; "
          f"loss changed {100 * loss_plateau(run.history):+.1f} % over the last fifth of training")


train_baseline("bundled-expert", "BC")

# %%
train_baseline("bundled-expert", "10%BC")

# %%
train_baseline("bundled", "BC")

# %%
train_baseline("bundled", "10%BC")

# %% [markdown]
# The BC loss curves: each should flatten out well before the end.

# %%
import matplotlib.pyplot as plt

from dt_tutorial.plots import loss_curve

fig, ax = plt.subplots(figsize=(7, 3.5))
for (dataset, method), run in runs.items():
    steps, losses = loss_curve(run.history)
    ax.plot(steps, losses, label=f"{dataset} {method}")
ax.set(xlabel="optimizer step", ylabel="action MSE", yscale="log", title="BC training loss")
ax.legend()
plt.show()

# %% [markdown]
# ## Ask every policy for every target
#
# One `evaluate` call per policy runs all targets in one batch. BC has no return input: its line is flat.

# %%
from dt_tutorial.plots import plot_conditioning_curves
from dt_tutorial.rollout import evaluate

panels = {}
for (dataset, method), policy in policies.items():
    panels.setdefault(dataset, {})[method] = evaluate(policy, target_return=TARGETS, n_episodes=N_EVAL_EPISODES,
                                                      seed=EVAL_SEED, max_steps=MAX_STEPS, progress=False)
plot_conditioning_curves({dataset: dict(sorted(curves.items())) for dataset, curves in panels.items()})
plt.show()

# %% [markdown]
# ## Did each baseline reach the episodes it copies?
#
# BC and 10%BC ignore the target, so above they ran the same few start states at every target. Their level is
# measured here on `N_BASELINE_EPISODES` start states of their own: a one-state policy that stumbles now and then
# loses thousands of return in that episode, and a handful of episodes would make the mean a lottery. Each row
# compares the mean achieved return with the mean return of the episodes it copies, and shows the worst episode.
# For the DT: its return at the top target and its rank correlation between target and achieved return (1: the
# higher the target, the faster it runs).

# %%
from dt_tutorial.rollout import conditioning_summary

rows = []
for dataset in DATASETS:
    for method in ("BC", "10%BC"):
        result = evaluate(policies[dataset, method], target_return=TARGETS[-1], n_episodes=N_BASELINE_EPISODES,
                          seed=EVAL_SEED, max_steps=MAX_STEPS, progress=False)
        share = result.mean_return / copied_mean[dataset, method]
        rows.append(dict(data=dataset, method=method, copied=copied_mean[dataset, method], achieved=result.mean_return, share=share))
        print(f"{dataset:<15} {method:<6} achieved {result.mean_return:8,.0f} ({N_BASELINE_EPISODES} episodes, worst "
              f"{min(result.returns):,.0f}), {100 * share:5.1f} % of the copied episodes' mean "
              f"{copied_mean[dataset, method]:,.0f}: {'within' if share >= 0.95 else 'not within'} 5 %")
    dt = panels[dataset]["DT"]
    print(f"{dataset:<15} DT     achieved {dt[-1].mean_return:8,.0f} at target {TARGETS[-1]:,}; "
          f"rank correlation target vs achieved {conditioning_summary(dt)['spearman_rho']:.2f}")

# %% [markdown]
# ## What to read from it
#
# - **How close the baselines come.** The table above prints each baseline's mean return over its own start
#   states as a share of the mean return of the episodes it copies, and its worst episode. The goal, for BC on the
#   expert-only data and for 10%BC on either: within 5 % (plain BC on the mixed data cannot reach it: next point).
#   Copying good episodes is easy, given the budget: most rollouts run like the episodes copied. What a one-state
#   policy cannot do is recover: once it stumbles it has no history to notice, and a cheetah on its back earns
#   nothing for the rest of the episode. The worst episode shows whether that happened here.
# - **Plain BC on mixed data copies the average** of all the speeds at once: far below the mean of the episodes it
#   copies (the table), whatever you ask for (a flat line). The blend of many gaits is no gait.
# - **What the DT adds is the question.** 10%BC needs to be told which episodes are good and throws the rest
#   away; it can then do one thing, the best. The DT uses all of the data and can be *asked* for a return: its
#   curve follows the target on the multi-skill data (its rank correlation above), and on the expert-only data
#   it is flat, like BC's, since every episode there earns about the same return (notebook 4).
#
# (In fast mode the models trained for a few steps only: the numbers above mean nothing.)

# %% [markdown]
# ## Exercises
#
# 1. **How little data does BC need?** Train BC on the best 1 % of the multi-skill episodes (`top_fraction=0.01`).
#    *You should see* it still run close to the expert: a few episodes of one good gait are enough to copy it.
# 2. **What plain BC copies on mixed data.** Compare the multi-skill BC's achieved return with the mean return of
#    all the episodes it copies (`copied_mean["bundled", "BC"]`) and of the best tenth (`copied_mean["bundled",
#    "10%BC"]`). *You should see* it far below the best episodes: it imitates every speed at once.
# 3. **Ask 10%BC for less.** Evaluate the multi-skill 10%BC at target 3,000. *You should see* the same return as
#    at 12,000: it cannot be asked for anything.
#
# <details><summary>Solutions</summary>
#
# ```python
# # 1
# episodes, name = data["bundled"]
# tiny_top = train_bc(episodes, name, bc_config, Path(OUT_DIR) / "bundled" / "1pctBC", top_fraction=0.01, overwrite=True, progress=False).model
# r = evaluate(tiny_top.eval(), target_return=12000, n_episodes=N_EVAL_EPISODES, seed=EVAL_SEED, max_steps=MAX_STEPS, progress=False)
# print(r.summary(), f"copied mean {copied_mean['bundled', '10%BC']:,.0f}")
#
# # 2
# bc_mixed = float(np.mean([r.mean_return for r in panels["bundled"]["BC"]]))
# print(f"BC on mixed data {bc_mixed:,.0f}; all episodes {copied_mean['bundled', 'BC']:,.0f}; best tenth {copied_mean['bundled', '10%BC']:,.0f}")
# assert bc_mixed < 0.9 * copied_mean["bundled", "10%BC"]
#
# # 3
# low, high = evaluate(policies["bundled", "10%BC"], target_return=[3000, 12000], n_episodes=2, seed=EVAL_SEED, max_steps=MAX_STEPS, progress=False)
# print(low.mean_return, high.mean_return)
# assert np.allclose(low.returns, high.returns)
# ```
#
# </details>
#
# ## Where next
#
# That is the tutorial. [Notebook 1](01_load_the_dataset.ipynb) lists what these notebooks changed from the blog
# and why; `python -m dt_tutorial --help` does all of it from the command line; BENCHMARKS.md has the
# measurements behind the choices.

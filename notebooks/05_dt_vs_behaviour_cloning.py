# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/dt-tutorial/dt_tutorial/blob/v0.2.0/notebooks/05_dt_vs_behaviour_cloning.ipynb)
#
# # 5 · The Decision Transformer vs behaviour cloning
#
# Is the transformer worth it? The honest baseline is **behaviour cloning (BC)**: a small MLP that maps the
# current state to the action in the data, trained with the same `Trainer` and the same collator, with windows
# of ONE step and no returns (`dt_tutorial/bc.py`). **%BC** (here 10%BC) clones only the best 10% of the
# episodes by return. We train all three on the expert-only data and on the multi-skill data, and ask each for
# several target returns.

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
# The versions this notebook runs with:

# %%
from dt_tutorial.notebook import show_versions

show_versions()

# %% [markdown]
# ## Parameters
#
# Every size follows from one switch, `FAST`. Continuous integration sets `DT_TUTORIAL_FAST=1` so that the
# notebook runs in seconds (and the numbers mean nothing); leave it unset to get the real comparison.

# %%
import os

FAST = os.environ.get("DT_TUTORIAL_FAST") == "1"  # CI sets DT_TUTORIAL_FAST=1: every size below shrinks
DATASETS = ("bundled-expert", "bundled")  # expert-only data, then the multi-skill data (the expert held at 24 speeds)
N_EPISODES = 20 if FAST else 1000  # episodes of each bundled dataset
PRESET = "tiny" if FAST else "demo"  # the same training settings for DT, BC and 10%BC
MAX_TRAIN_STEPS = 20 if FAST else None  # None: the preset's steps
TARGETS = [3000, 12000] if FAST else [1500, 3000, 4500, 6000, 7500, 9000, 10500, 12000]
N_EVAL_EPISODES = 1 if FAST else 5
MAX_STEPS = 50 if FAST else None  # steps per evaluation episode; None: the env's full 1000
OUT_DIR = "runs/05_dt_vs_bc"

# %% [markdown]
# ## Train the three policies on both datasets
#
# `train_bc(..., top_fraction=0.1)` keeps exactly the best 10% of the episodes by return (ties go to the
# earlier episode). BC and DT both implement `predict_actions(window)`, so one `evaluate` call runs every
# target of a policy in one batch.

# %%
import time
from pathlib import Path

from dt_tutorial.bc import bc_train_config, train_bc
from dt_tutorial.plots import plot_conditioning_curves
from dt_tutorial.data import Trajectories
from dt_tutorial.notebook import load_tutorial_dataset
from dt_tutorial.rollout import evaluate
from dt_tutorial.train import get_config, train

overrides = {} if MAX_TRAIN_STEPS is None else {"max_steps": MAX_TRAIN_STEPS}
panels, table = {}, []
for dataset in DATASETS:
    episodes, name = load_tutorial_dataset(dataset, N_EPISODES)
    for method, top_fraction in [("DT", None), ("BC", 1.0), ("10%BC", 0.1)]:
        run_dir = Path(OUT_DIR) / dataset / method.replace("%", "pct")
        start = time.perf_counter()
        if top_fraction is None:
            model = train(Trajectories.from_dataset(episodes, name), get_config(PRESET, **overrides), run_dir, progress=not FAST).model
        else:
            model = train_bc(episodes, name, bc_train_config(PRESET, **overrides), run_dir, top_fraction=top_fraction, progress=not FAST).model
        seconds = time.perf_counter() - start
        results = evaluate(model.eval(), target_return=TARGETS, n_episodes=N_EVAL_EPISODES, max_steps=MAX_STEPS, progress=False)
        panels.setdefault(dataset, {})[method] = results
        table.append((dataset, method, model.num_parameters(), seconds, [round(r.mean_return) for r in results]))

for dataset, method, parameters, seconds, achieved in table:
    print(f"{dataset:15s} {method:6s} {parameters:>8,} parameters, trained in {seconds:5.1f} s, achieved {achieved}")
assert len(table) == 3 * len(DATASETS)

# %%
plot_conditioning_curves(panels);

# %% [markdown]
# ## What to read from it
#
# - **Expert data: BC should win, if trained for it.** Every episode is good, so copying the actions is all it
#   takes, and BC trains in seconds (no attention, one step per window). An earlier measurement here (a 256x256
#   BC, 100 expert episodes, 3,000 steps of its own settings) reached ~10,800-11,500. But in BENCHMARKS.md's
#   side-by-side run, BC trained with the DT's `demo` preset for 1,500 steps (grad-norm clip 0.25) stayed at
#   ~1,400-2,900 (D4RL 13-26) against the DT's 64-77: a baseline needs its own budget before you call a winner.
# - **Mixed data: the DT pays off.** BC copies the *average* behaviour of all skills, a mediocre cheetah; its
#   achieved return is a flat line, whatever you ask for. 10%BC recovers the best behaviour, but only because
#   we told it which episodes are good (the returns) and threw 90% of the data away. The DT uses all the data
#   and can be *asked* for a return: its curve follows the target (measured with the `demo` preset at 1,500
#   steps: BC flat at ~2,300, 10%BC flat at ~3,600, the DT 3,000 → 2,994, 6,000 → 6,025, 9,000 → 9,230,
#   12,000 → 10,468).
#
# (In fast mode the models trained for a few steps only: the numbers above mean nothing.)

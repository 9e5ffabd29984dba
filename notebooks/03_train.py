# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/dt-tutorial/dt_tutorial/blob/v0.2.0/notebooks/03_train.ipynb)
#
# # 3 · Train the Decision Transformer
#
# Time to train. The 🤗 `Trainer` runs the training loop for us: batches, optimizer, learning-rate
# schedule, logging, checkpoints. We bring three things, and write each as the blog does: a model whose forward
# pass returns a loss (`TrainableDT`), the collator from notebook 2, and the settings (`TrainingArguments`).
#
# > **What it needs and how long it takes.** A CPU is fine; a GPU helps. It trains a model: the `demo` preset's
# > 3,000 steps are most of its time. Run in full on an idle 2-core CPU it took 204 s, of which training 196 s
# > (BENCHMARKS.md, "The notebooks"). On a Colab GPU: not measured; on an H200 the 3,000 steps took ~43 s (BENCHMARKS.md, "GPU budget"),
# > and a GPU runtime's training should be of that order (an estimate).
# > It saves the model to `runs/03_train`; notebooks 4 and 5 use it when it was trained with their settings on this
# > machine, instead of training their own.

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
# transformers' `DecisionTransformerModel` is GPT-2 with embeddings for returns-to-go, states, actions and
# timesteps. Given a batch of windows it predicts an action for every step. The `Trainer` needs the forward pass
# to return a **loss**, so the blog subclasses the model and adds one: the mean squared error between predicted
# and true actions, over the real steps only (where the attention mask is 1). Here is the blog's class; the
# one line it lacks is marked.

# %%
import torch
from transformers import DecisionTransformerModel

from dt_tutorial.model import conditioned


class TrainableDT(DecisionTransformerModel):
    def forward(self, **kwargs):
        # Added: the return-to-go as a pace when config.return_pace (the demo preset; notebook 2), else unchanged.
        kwargs = conditioned(self.config, kwargs)
        output = super().forward(**kwargs)
        action_preds = output[1]  # [batch, K, act_dim]
        action_targets = kwargs["actions"]  # [batch, K, act_dim]
        attention_mask = kwargs["attention_mask"]  # [batch, K]
        act_dim = action_preds.shape[2]
        action_preds = action_preds.reshape(-1, act_dim)[attention_mask.reshape(-1) > 0]  # real steps only
        action_targets = action_targets.reshape(-1, act_dim)[attention_mask.reshape(-1) > 0]
        loss = torch.mean((action_preds - action_targets) ** 2)
        return {"loss": loss}

    def original_forward(self, **kwargs):
        """The plain model: predicted states, actions and returns, for acting (notebook 4)."""
        return super().forward(**conditioned(self.config, kwargs))


# %% [markdown]
# ## The settings: three presets
#
# All training settings live in one `TrainConfig`, and three presets name useful combinations:
#
# - **`tutorial`**: the blog's exact values: windows of $K = 20$, batch 64, learning rate 1e-4, weight decay
#   1e-4, 10 % linear warm-up then linear decay, AdamW, gradient-norm clipping at 0.25, 120 epochs; GPT-2 with 3
#   layers, 128 hidden units, 1 head, dropout 0.1.
# - **`demo`**: 3,000 steps at a 10× higher learning rate with a cosine schedule, no dropout, and the
#   return-to-go read as a pace (notebook 2), chosen by measurement to make the cheetah run and follow the
#   target after a few minutes on a CPU.
# - **`tiny`**: 20 steps of a 1-layer, 32-wide model. It learns next to nothing; it proves the whole pipeline
#   runs, in seconds (tests and this notebook's fast mode).
#
# This notebook trains `PRESET`: `demo` by default, `tutorial` with the blog's settings, `tiny` in fast mode.
# How the blog's `tutorial` settings did on expert data (BENCHMARKS.md, "Learning quality"): a D4RL score of
# 18.9 ± 18.8 at target 12,000 (the cheetah mostly falls or stalls), against 97.7 ± 1.4 for `demo` on the same
# data: a learning rate of 1e-4 decaying to 0 over 1,920 steps stops before this model has learned a stable gait.
#
# An *epoch* follows the blog: one pass over the episodes, ⌈episodes / batch size⌉ steps (each step samples
# fresh windows). A positive `max_steps` sets the number of steps instead (`demo` and `tiny`).

# %%
import dataclasses

import pandas as pd

from dt_tutorial.train import PRESETS, get_config

config = get_config(PRESET)
print(f"this notebook trains the {PRESET!r} preset")
pd.DataFrame({name: dataclasses.asdict(preset) for name, preset in PRESETS.items()})

# %% [markdown]
# The model's size comes from the preset and its input sizes from the data. `make_config` is transformers'
# `DecisionTransformerConfig` plus what evaluation will need from the data (the state mean/std, the scale, $K$,
# the env id); they are saved in the model's `config.json`.

# %%
from dt_tutorial.model import make_config
from dt_tutorial.train import training_attention

model_config = make_config(
    traj, context_length=config.context_length, scale=config.scale, max_ep_len=config.max_ep_len,
    return_pace=config.return_pace, hidden_size=config.hidden_size, n_layer=config.n_layer, n_head=config.n_head,
    resid_pdrop=config.dropout, embd_pdrop=config.dropout, attn_pdrop=config.dropout,
    attn_implementation=training_attention(config),  # "eager" on a CPU (see the Trainer below); None: the default
)
torch.manual_seed(config.seed)  # the same initial weights on every run
model = TrainableDT(model_config)
print(f"model: {model.num_parameters():,} parameters")

# %% [markdown]
# And the collator of notebook 2, the package's vectorised one (the same windows as the blog's, faster):

# %%
from dt_tutorial.collator import DecisionTransformerGymDataCollator

collator = DecisionTransformerGymDataCollator(traj, max_len=config.context_length, scale=config.scale,
                                              max_ep_len=config.max_ep_len, seed=config.seed)

# %% [markdown]
# ### Check: the same loss as the package's `TrainableDT`
#
# The package's `TrainableDT` (in `dt_tutorial/model.py`, used by `python -m dt_tutorial train`) computes the same
# loss with fixed shapes: it replaces the padded predictions by their targets instead of dropping them (no
# shape that depends on the data, which `torch.compile` likes). Given the same weights and the same batch, both
# must give the same number:

# %%
from dt_tutorial.model import TrainableDT as PackageTrainableDT

package_model = PackageTrainableDT(model_config)
package_model.load_state_dict(model.state_dict())
batch = collator([None] * config.batch_size)
with torch.no_grad():
    loss = model(**batch)["loss"]
    package_loss = package_model(**batch)["loss"]
print(f"this notebook's TrainableDT: {loss.item():.6f}   the package's: {package_loss.item():.6f}")
torch.testing.assert_close(loss, package_loss, rtol=1e-5, atol=1e-6)

# %% [markdown]
# Before training the model predicts actions near 0, so this loss is about the mean squared size of the actions
# in the data:

# %%
print(f"loss of the untrained model: {loss.item():.3f}; mean squared action in the data: {(traj.actions ** 2).mean():.3f}")

# %% [markdown]
# ## `TrainingArguments`
#
# The blog's arguments, with the preset's values. One change from the blog: it passed `warmup_ratio=0.1`, which
# **transformers 5 removed**; `warmup_steps` now takes either a whole number of steps or a float below 1, read
# as a fraction of all steps. The lines below the blog's are extras, one line of why each.

# %%
from transformers import TrainingArguments

from dt_tutorial.precision import resolve_precision
from dt_tutorial.train import training_device

device = training_device(config)  # "cuda" when there is a GPU, else "cpu"
precision = resolve_precision(config.precision, device)  # "bf16" where the hardware computes it natively, else "fp32"
training_args = TrainingArguments(
    output_dir=RUN_DIR,
    remove_unused_columns=False,
    num_train_epochs=config.epochs,
    per_device_train_batch_size=config.batch_size,
    learning_rate=config.learning_rate,
    weight_decay=config.weight_decay,
    warmup_steps=config.warmup_ratio,  # the blog's warmup_ratio=0.1 (transformers 5: a float below 1 is a ratio)
    optim=config.optim,
    max_grad_norm=config.max_grad_norm,
    # Extras, not in the blog:
    max_steps=config.max_steps,  # a fixed number of steps, when positive (demo, tiny); -1: count epochs
    lr_scheduler_type=config.lr_scheduler,  # "linear" is the blog's (and transformers') default; demo: "cosine"
    bf16=precision == "bf16",  # mixed precision: ~1.3x faster steps on a CPU with bf16 (BENCHMARKS.md)
    use_cpu=device == "cpu",  # train on the CPU when there is no GPU (and let bf16 autocast run there)
    seed=config.seed,  # the Trainer's random seed
    logging_steps=config.logging_steps,  # how often the loss is logged (the loss curve below)
    save_steps=config.save_steps,  # checkpoints, so an interrupted run can resume
    save_total_limit=2,  # keep the last two
    report_to="none",  # no experiment tracker
    disable_tqdm=FAST,  # a progress bar, except in fast mode
)
for name in ("num_train_epochs", "max_steps", "learning_rate", "lr_scheduler_type", "warmup_steps", "bf16"):
    print(f"{name:<20} {getattr(training_args, name)}")

# %% [markdown]
# ### Check: the same arguments as the preset's
#
# `dt_tutorial.train.make_trainer` builds the `Trainer` that `python -m dt_tutorial train` uses, from the same
# preset. Every argument written above must have the value it passes (it also sets a few options that change
# speed or logging, not what is learned, such as `dataloader_num_workers`).

# %%
from dt_tutorial.train import make_trainer

reference = make_trainer(traj, config, RUN_DIR, progress=False).args
written = ["remove_unused_columns", "num_train_epochs", "per_device_train_batch_size", "learning_rate", "weight_decay",
           "warmup_steps", "max_grad_norm", "max_steps", "lr_scheduler_type", "bf16", "use_cpu", "seed", "logging_steps",
           "save_steps", "save_total_limit"]
different = {name: (getattr(training_args, name), getattr(reference, name)) for name in written
             if getattr(training_args, name) != getattr(reference, name)}
print("differences from the preset's arguments:", different or "none")
assert not different
assert training_args.optim == reference.optim or device == "cuda"  # on a GPU the package runs AdamW fused: the same update

# %% [markdown]
# ## The `Trainer`, and `trainer.train()`
#
# The blog's call, with one change: `train_dataset`. The `Trainer` counts epochs by the length of the dataset and
# hands the collator a list of rows; our collator draws its own windows and only uses how many rows it got. So
# instead of the heavy episode table the `Trainer` gets a cheap stand-in with one row per episode
# (`EpisodeIndexDataset`): the same epochs, nothing fetched. (On a CPU the model was built to compute attention as
# plain matrix products, `eager`: torch's fused attention kernel has a slow backward for windows this short.)

# %%
from transformers import Trainer

from dt_tutorial.train import EpisodeIndexDataset

trainer = Trainer(
    model=model,
    args=training_args,
    data_collator=collator,
    train_dataset=EpisodeIndexDataset(traj.n_episodes),
)

# %% [markdown]
# Now train: `trainer.train()` runs the loop (a progress bar shows the steps; on a GPU it uses the GPU).

# %%
train_output = trainer.train()
print(f"trained {trainer.state.global_step} steps in {train_output.metrics['train_runtime']:.0f} s")

# %% [markdown]
# Save it: `save_run` calls `trainer.save_model(RUN_DIR)` (the weights and `config.json`, which carries the data
# stats) and writes the loss history and the preset next to it, so that notebook 4 can check that this run was
# trained with its settings. (`python -m dt_tutorial train` and `dt_tutorial.train.train(...)` do all of this,
# plus resuming an interrupted run from its last checkpoint.)

# %%
from dt_tutorial.train import save_run

history = save_run(trainer, config, RUN_DIR)

# %% [markdown]
# ## The loss curve
#
# The loss is the action error on the windows of each batch, logged every `logging_steps` steps. It should fall
# fast at first, then slowly. (With the `tiny` preset it barely moves: 20 steps is nothing.)

# %%
import matplotlib.pyplot as plt

from dt_tutorial.plots import plot_loss

plot_loss(history, title=f"training loss ({PRESET} preset)")
plt.show()
losses = [h["loss"] for h in history if "loss" in h]
print(f"loss: first logged {losses[0]:.3f}, last logged {losses[-1]:.3f}")

# %% [markdown]
# ## The saved run, loaded back
#
# `RUN_DIR` now holds the model (`config.json` + `model.safetensors`), the loss history, the training config and
# the last checkpoints. `load_model(RUN_DIR)` is all that evaluation needs. It returns the package's
# `TrainableDT` (the same weights: the class only adds the loss) in **eval mode**: dropout off. (The blog
# evaluated with dropout still on, which adds noise to every action.)

# %%
from pathlib import Path

from dt_tutorial.model import load_model

print("files in", RUN_DIR, ":", sorted(p.name for p in Path(RUN_DIR).iterdir()))
loaded = load_model(RUN_DIR)
print({key: getattr(loaded.config, key) for key in ("env_id", "dataset_name", "scale", "context_length")})

# %% [markdown]
# A check that nothing was lost: the loaded model predicts the same actions as the one in memory.

# %%
trained = trainer.model.to("cpu").eval()
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
# ## Faster training
#
# For long runs, such as the paper's budget of 100,000 steps, on a GPU: set `config.compile = "reduce-overhead"`
# (`torch.compile` with CUDA graphs; `python -m dt_tutorial train --compile reduce-overhead`). This small model's
# step is bound by Python, not by the GPU, and compiling removes most of that: the paper's 100,000 steps took
# 8.87 min on an H200 and scored D4RL 98.8 (BENCHMARKS.md, "GPU budget").
#
# ## Exercises
#
# 1. **Count the blog's steps.** The `tutorial` preset trains 120 epochs of batch 64. How many optimizer steps is
#    that on 1,000 episodes? Compute it with `steps_per_epoch` (from `dt_tutorial.train`). *You should see*
#    1,920, the number quoted for the blog's budget above.
# 2. **The blog's loss by hand.** Take `batch` from above and compute the loss yourself from
#    `model.original_forward(**batch).action_preds`, the actions and the attention mask. *You should see* the
#    number this notebook's `TrainableDT` printed.
# 3. **Learning rate.** Train `get_config(PRESET, max_steps=300)` twice, with learning rates 1e-4 and 1e-3, and
#    compare the last logged losses. *You should see* the higher rate end lower (the reason `demo` uses it).
#
# <details><summary>Solutions</summary>
#
# ```python
# from dt_tutorial.train import train
#
# # 1
# from dt_tutorial.train import steps_per_epoch
#
# blog = get_config("tutorial")
# blog_steps = blog.epochs * steps_per_epoch(1000, blog.batch_size)
# print(blog_steps)
# assert blog_steps == 1920
#
# # 2
# with torch.no_grad():
#     preds = trained.original_forward(**batch, return_dict=True).action_preds
# real = batch["attention_mask"] > 0
# by_hand = ((preds - batch["actions"])[real] ** 2).mean()
# with torch.no_grad():
#     print(by_hand.item(), trained(**batch)["loss"].item())
#
# # 3
# last = {}
# for lr in (1e-4, 1e-3):
#     run = train(traj, get_config(PRESET, max_steps=300, learning_rate=lr), f"runs/03_lr{lr}", progress=False, overwrite=True)
#     last[lr] = [h["loss"] for h in run.history if "loss" in h][-1]
# print(last)
# assert last[1e-3] < last[1e-4]
# ```
#
# </details>
#
# ## Next
#
# [Notebook 4](04_watch_it_run.ipynb) loads this run, evaluates it in the simulator and shows the cheetah running.

"""Behaviour cloning (BC): the baseline a Decision Transformer should be compared with.

`BCPolicy` is an MLP (256x256, LayerNorm and ReLU, tanh output) from the normalised state to the action. It is trained with
the SAME 🤗 `Trainer` and the SAME collator as the DT, with windows of one step (`context_length=1`): BC is
literally "a DT without returns and history", so the comparison differs only in the model, and the
settings (optimizer, schedule, precision, devices, checkpoints) need no second training loop.
It implements the policy interface (`predict_actions(window)`), so `rollout.evaluate`, `record_video` and
the slider run it unchanged; it ignores the target return, so its achieved-vs-target curve is flat.

`top_episodes(episodes, fraction)` keeps the best episodes by return: "%BC" (e.g. 10%BC), which needs to
know which episodes are good; the DT is instead asked for a return.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import datasets
import numpy as np
import torch
from transformers import PretrainedConfig, PreTrainedModel

from dt_tutorial.data import Trajectories
from dt_tutorial.defaults import MAX_EP_LEN, RETURN_SCALE
from dt_tutorial.errors import UserError
from dt_tutorial.model import make_config
from dt_tutorial.train import TrainConfig, TrainResult, get_config, train

# What evaluation and the plots read from a policy's config, copied from the DT's `make_config`.
DATA_KEYS = ("state_dim", "act_dim", "max_ep_len", "state_mean", "state_std", "scale", "context_length",
             "env_id", "dataset_name", "dataset_return_range", "dataset_return_quantiles")


class BCConfig(PretrainedConfig):
    """An MLP policy's sizes plus the data fields evaluation needs (see `DATA_KEYS`)."""

    model_type = "dt_tutorial_bc"

    def __init__(self, state_dim: int = 17, act_dim: int = 6, hidden_sizes=(256, 256), context_length: int = 1, **kwargs):
        self.state_dim, self.act_dim = state_dim, act_dim
        self.hidden_sizes = list(hidden_sizes)
        self.context_length = context_length  # one step: BC sees the current state only
        super().__init__(**kwargs)


class BCPolicy(PreTrainedModel):
    """state -> action MLP; forward returns the masked action MSE the `Trainer` minimises."""

    config_class = BCConfig
    base_model_prefix = "bc"

    def __init__(self, config: BCConfig):
        super().__init__(config)
        sizes = [config.state_dim, *config.hidden_sizes]
        layers = []
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            # LayerNorm: measured on the expert data, fewer of its rollouts stumble (notebook 5).
            layers += [torch.nn.Linear(n_in, n_out), torch.nn.LayerNorm(n_out), torch.nn.ReLU()]
        self.net = torch.nn.Sequential(*layers, torch.nn.Linear(sizes[-1], config.act_dim), torch.nn.Tanh())
        self.post_init()

    def _init_weights(self, module):
        if isinstance(module, (torch.nn.Linear, torch.nn.LayerNorm)):
            module.reset_parameters()  # torch's default init

    def predict_actions(self, window: dict[str, torch.Tensor]) -> torch.Tensor:
        """The policy interface: the action for the last (always real, windows are left padded) step. [n, act_dim]"""
        return self.net(window["states"][:, -1])  # [n, state_dim] -> [n, act_dim]

    def forward(self, **window):
        """Training: the collator's batch in, {"loss"} out (MSE on the last step; its mask is 1 as it is real)."""
        predicted = self.predict_actions(window)  # [batch, act_dim]
        mask = window["attention_mask"][:, -1:].to(predicted.dtype)  # [batch, 1]
        loss = ((predicted - window["actions"][:, -1]) ** 2 * mask).sum() / (mask.sum() * predicted.shape[-1]).clamp(min=1)
        return {"loss": loss}


def make_bc_config(trajectories: Trajectories, hidden_sizes=(256, 256), *, scale: float = RETURN_SCALE,
                   max_ep_len: int = MAX_EP_LEN, env_id: str | None = None) -> BCConfig:
    """A BC config sized from the data, with the same normalisation and provenance fields as the DT's."""
    data_config = make_config(trajectories, context_length=1, scale=scale, max_ep_len=max_ep_len, env_id=env_id)
    return BCConfig(hidden_sizes=hidden_sizes, **{key: getattr(data_config, key) for key in DATA_KEYS})


def top_episodes(episodes: datasets.Dataset, fraction: float) -> datasets.Dataset:
    """The best ceil(fraction * n) episodes by return (at least one), in their original order.

    Ties at the cut go to the earlier episode (a stable sort), so the count is always exact."""
    if not 0 < fraction <= 1:
        raise UserError(f"top_fraction must be in (0, 1], got {fraction}")
    returns = Trajectories.from_dataset(episodes).episode_returns  # [n_episodes]
    n_keep = max(1, math.ceil(fraction * len(returns) - 1e-9))  # the tolerance keeps 0.07 * 100 at 7, not 8
    best = np.argsort(-returns, kind="stable")[:n_keep]
    return episodes.select(np.sort(best))


BC_SETTINGS = dict(max_steps=60000, batch_size=256, learning_rate=1e-3, lr_scheduler="cosine", max_grad_norm=1.0,
                   return_pace=False, logging_steps=1000, save_steps=60000)
"""BC's own budget (`TrainConfig` fields; the rest are the `demo` preset's): larger batches than the DT's, gradient
clipping at 1.0 instead of the DT's tight 0.25, and 20 times the DT's steps. Chosen by measurement (BENCHMARKS.md,
"Behaviour cloning's budget"): with 5,000 steps a few rollouts in fifty flip the cheetah over and the mean falls 5-10 %
short of the episodes BC copies; with 60,000 none did for 10%BC on the multi-skill data. An MLP step is cheap: 3-4
minutes a model on a 2-core CPU (204-226 s in notebook 5)."""


def bc_train_config(preset: str | None = None, **overrides) -> TrainConfig:
    """BC's training settings, always with one-step windows and no dropout: by default its own (`BC_SETTINGS` over
    the `demo` preset); with a preset name, that DT preset's settings (e.g. 'tiny' for tests, 'demo' for the DT's)."""
    base = BC_SETTINGS if preset is None else {}
    return get_config(preset or "demo", **{**base, "context_length": 1, "dropout": 0.0, **overrides})


def loss_plateau(history: list[dict], tail: float = 0.2) -> float:
    """How much the loss still moves: the relative change of the mean logged loss from the second-to-last `tail`
    of training to the last (e.g. -0.01: it fell 1 % more). Near 0 once the loss has converged."""
    from dt_tutorial.plots import loss_curve

    steps, losses = loss_curve(history)
    end = steps[-1]
    last = losses[steps > end * (1 - tail)]
    before = losses[(steps > end * (1 - 2 * tail)) & (steps <= end * (1 - tail))]
    if len(last) == 0 or len(before) == 0:
        raise UserError("too few logged losses to tell whether training converged: log more often (logging_steps)")
    return float(last.mean() / before.mean() - 1)


def train_bc(episodes: datasets.Dataset, name: str, config: TrainConfig | None = None, output_dir: str | Path = "runs/bc", *,
             top_fraction: float = 1.0, hidden_sizes=(256, 256), overwrite: bool = False, progress: bool = True) -> TrainResult:
    """Train a `BCPolicy` on `episodes` (only the best `top_fraction` of them by return) with the DT's `Trainer`.

    `name` is the dataset's name, e.g. "halfcheetah-bundled": it tells evaluation which env to use."""
    config = config or bc_train_config()
    if config.context_length != 1:
        config = dataclasses.replace(config, context_length=1)
    if top_fraction < 1:
        episodes = top_episodes(episodes, top_fraction)
    data = Trajectories.from_dataset(episodes, name)
    torch.manual_seed(config.seed)
    policy = BCPolicy(make_bc_config(data, hidden_sizes, scale=config.scale, max_ep_len=config.max_ep_len))
    policy.config.top_fraction = float(top_fraction)
    # Full batches: a top fraction of 100 episodes would otherwise give batches of 100 windows, not `batch_size`.
    return train(data, config, output_dir, overwrite=overwrite, progress=progress, model=policy, full_batches=True)


def load_bc(run_dir: str | Path) -> BCPolicy:
    """A saved BC run, ready for `evaluate` / `record_video`."""
    if not (Path(run_dir) / "config.json").exists():
        raise UserError(f"{run_dir} holds no saved BC policy (no config.json): pass the output folder of train_bc")
    return BCPolicy.from_pretrained(str(run_dir)).eval()


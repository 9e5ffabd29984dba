"""`TrainableDT`: the 🤗 DecisionTransformerModel plus the tutorial's masked action MSE loss.

Everything inference needs (state mean/std, return scale, context length, env id, dataset name,
the dataset's return range) is stored in the model's config, so `load_model(run_dir)` (or
`TrainableDT.from_pretrained`) is all evaluation, rendering or `push_to_hub` need.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from transformers import DecisionTransformerConfig, DecisionTransformerModel

from dt_tutorial.checks import check_config_fits_weights, check_inference_config
from dt_tutorial.data import Trajectories
from dt_tutorial.sources import load_episodes, source_name
from dt_tutorial.defaults import CONTEXT_LENGTH, MAX_EP_LEN, RETURN_SCALE
from dt_tutorial.errors import UserError
from dt_tutorial.pretrained import checkpoint_sources

N_RETURN_QUANTILES = 101  # percentiles 0, 1, ..., 100
INFERENCE_KEYS = ("state_mean", "state_std", "scale", "context_length", "env_id", "dataset_name")


class TrainableDT(DecisionTransformerModel):
    """DecisionTransformerModel whose forward returns the loss the `Trainer` minimises."""

    def forward(self, **kwargs):
        output = super().forward(**conditioned(self.config, kwargs), return_dict=True)
        # The tutorial read `output[1]`; the named field is the same tensor and robust to field order.
        action_preds = output.action_preds  # [batch, K, act_dim]
        action_targets = kwargs["actions"]  # [batch, K, act_dim]
        real = kwargs["attention_mask"].bool()[..., None]  # [batch, K, 1]
        # Mean squared error over the real (unpadded) steps only, as the tutorial's boolean indexing computed it.
        # Padded predictions are replaced by their targets (`where`, not a multiplication by the mask, so a NaN or
        # inf predicted there stays out), which keeps every shape fixed: no host sync, no recompiles under compile.
        preds = torch.where(real, action_preds.float(), action_targets.float())  # [batch, K, act_dim]
        loss = (preds - action_targets.float()).square().sum() / (real.sum() * action_preds.shape[-1])
        return {"loss": loss}

    def original_forward(self, **kwargs):
        """The plain DecisionTransformerModel forward (state, action and return predictions), for inference."""
        return super().forward(**conditioned(self.config, kwargs))

    def predict_actions(self, window: dict[str, torch.Tensor]) -> torch.Tensor:
        """The policy interface (rollout, video, slider): the action for the last step of each window, [n, act_dim].

        `window` has the collator's keys and layout ([n, K, ...], left padded). The blog's `get_action`, for a batch:
        the whole forward, its last action prediction (`dt_tutorial.speed` computes the same with less work)."""
        return self.original_forward(**window, return_dict=True).action_preds[:, -1]

def return_pace(returns_to_go: torch.Tensor, timesteps: torch.Tensor, horizon: int, low: float, high: float) -> torch.Tensor:
    """The return-to-go as a pace: RTG_t * H / (H - t), the return a whole episode of H steps would reach at the rate
    still needed, clipped to [low, high] (the data's episode returns). At t = 0 it is the return-to-go itself."""
    remaining = horizon - timesteps[..., None]  # [batch, K, 1], >= 1: timesteps stop at H - 1
    return (returns_to_go * (horizon / remaining)).clamp(low, high)  # [batch, K, 1]


def conditioned(config, inputs: dict) -> dict:
    """The model's inputs with the return-to-go as a pace when `config.return_pace` (a difference from the paper;
    BENCHMARKS.md, "Steering"), else unchanged. Padded steps (return-to-go 0, timestep 0) stay 0."""
    if not getattr(config, "return_pace", False):
        return inputs
    low, high = (r / config.scale for r in config.dataset_return_range)
    pace = return_pace(inputs["returns_to_go"], inputs["timesteps"], config.max_ep_len, min(low, 0.0), high)
    return {**inputs, "returns_to_go": pace}


def make_config(
    trajectories: Trajectories,
    *,
    context_length: int = CONTEXT_LENGTH,
    scale: float = RETURN_SCALE,
    max_ep_len: int = MAX_EP_LEN,
    env_id: str | None = None,
    **model_kwargs,
) -> DecisionTransformerConfig:
    """A model config sized from the data, carrying the data's normalisation and provenance."""
    config = DecisionTransformerConfig(
        state_dim=trajectories.state_dim,
        act_dim=trajectories.act_dim,
        max_ep_len=max_ep_len,
        bos_token_id=None,  # GPT-2's text token ids mean nothing here (and make transformers warn)
        eos_token_id=None,
        **model_kwargs,
    )
    attach_data_stats(config, trajectories, context_length=context_length, scale=scale, env_id=env_id)
    return config


def attach_data_stats(config, trajectories: Trajectories, *, context_length: int, scale: float, env_id: str | None = None) -> None:
    """Store in `config` what inference needs from the training data: normalisation, scale, K, env, provenance."""
    if (config.state_dim, config.act_dim) != (trajectories.state_dim, trajectories.act_dim):
        raise UserError(
            f"the model takes states of size {config.state_dim} and actions of size {config.act_dim}, but {trajectories.name} "
            f"has {trajectories.state_dim} and {trajectories.act_dim}: give the dataset the model was trained on"
        )
    returns = trajectories.episode_returns
    config.state_mean = trajectories.state_mean.tolist()
    config.state_std = trajectories.state_std.tolist()
    config.scale = float(scale)
    config.context_length = int(context_length)
    config.env_id = env_id or trajectories.env_id
    config.dataset_name = trajectories.name
    config.dataset_return_range = [float(returns.min()), float(returns.max())]
    # Percentiles 0..100 of the episode returns: where the data lies, for the return-conditioning plot.
    config.dataset_return_quantiles = np.percentile(returns, np.arange(N_RETURN_QUANTILES)).round(3).tolist()


def dataset_return_quantiles(config) -> np.ndarray | None:
    """The training data's episode-return percentiles (models saved before they were kept: just min and max)."""
    quantiles = getattr(config, "dataset_return_quantiles", None) or getattr(config, "dataset_return_range", None)
    return None if quantiles is None else np.asarray(quantiles, dtype=float)


def load_model(run_dir: str | Path, stats_from: str | None = None, env_id: str | None = None) -> TrainableDT:
    """Load a saved run (local folder or hub id), checking it has what inference needs.

    A plain DecisionTransformerModel checkpoint (e.g. the hub's edbeeching/decision-transformer-gym-*) lacks
    the state statistics: they are computed from `stats_from` (any `load_episodes` source; for the hub's nine
    checkpoints the dataset they were trained on by default), with the blog's context length 20 and scale 1000.
    A `stats_from` given for a dt_tutorial model replaces its saved statistics.
    `env_id` overrides the env the model is evaluated in."""
    path = Path(run_dir)
    if path.exists() and not (path / "config.json").exists():
        raise UserError(f"{run_dir} holds no saved model (no config.json): pass the --output folder of a train run")
    if path.is_dir():
        check_config_fits_weights(path)
    try:
        model = TrainableDT.from_pretrained(str(run_dir))
    except OSError as err:
        reason = str(err).splitlines()[0]
        if not path.exists():  # a mistyped run folder would otherwise get a message about hub repo ids
            raise UserError(f"no saved model at {run_dir}: no such folder, and no hub model either ({reason})") from None
        raise UserError(f"cannot load a model from {run_dir}: {reason}") from None
    except Exception as err:  # a damaged file: truncated weights (SafetensorError), bad JSON, wrong shapes...
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise UserError(f"cannot load a model from {run_dir}: its config.json or model.safetensors is damaged ({reason})") from None
    missing = [key for key in INFERENCE_KEYS[:4] if getattr(model.config, key, None) is None]
    if missing or stats_from:
        _attach_stats_from(model.config, run_dir, stats_from, ", ".join(missing))
    if env_id:
        model.config.env_id = env_id
    check_inference_config(model.config, str(run_dir))
    return model.eval()


def _attach_stats_from(config, run_dir, stats_from: str | None, missing: str) -> None:
    """Fill a plain checkpoint's inference settings from `stats_from`, or the dataset its hub name implies."""
    inferred = checkpoint_sources(str(run_dir))
    if stats_from is None and inferred is None:
        raise UserError(
            f"{run_dir} lacks {missing} in its config.json: it was not saved by dt_tutorial; pass the dataset it was "
            "trained on with --stats-from DATASET (stats_from=...), or retrain with `python -m dt_tutorial train`"
        )
    source = stats_from or inferred[0]
    data = Trajectories.from_dataset(load_episodes(source), name=source_name(source))
    context_length = getattr(config, "context_length", None) or CONTEXT_LENGTH
    attach_data_stats(config, data, context_length=context_length, scale=getattr(config, "scale", None) or RETURN_SCALE,
                      env_id=data.env_id or (inferred[1] if inferred else None))


def state_normalisation(config) -> tuple[np.ndarray, np.ndarray]:
    """(mean, std) as float32 arrays [state_dim]."""
    return np.asarray(config.state_mean, dtype=np.float32), np.asarray(config.state_std, dtype=np.float32)


"""Run a trained Decision Transformer in its gymnasium env: batched evaluation, D4RL scores.

Conditioning mirrors training exactly: the last K steps of (return-to-go, state, action, timestep),
states normalised with the stats saved in the model, the return-to-go starting at
target / scale and lowered by reward / scale after each step, timesteps clipped to max_ep_len - 1,
left padding as in the collator. The model runs in eval mode (no dropout) without gradients.

Differences from the tutorial's loop, on purpose: all episodes advance together (one model call
per time step for the whole batch); padding uses the collator's values (the tutorial padded
normalised states and actions with 0 at evaluation, -mean/std and -10 in training; masked
positions do not change the prediction either way); dropout is off.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from dt_tutorial.collator import PAD_ACTION
from dt_tutorial.envs import d4rl_score, make_env
from dt_tutorial.errors import UserError
from dt_tutorial.model import state_normalisation
from dt_tutorial.video import make_render_env, render_frame


@dataclass
class EvalResult:
    env_id: str
    target_return: float
    returns: np.ndarray  # [n_episodes]
    lengths: np.ndarray  # [n_episodes]
    scores: np.ndarray | None  # [n_episodes] D4RL-normalised, None for envs without reference returns
    frames: list[np.ndarray] = field(default_factory=list, repr=False)  # first episode's RGB frames if captured

    @property
    def mean_return(self) -> float:
        return float(self.returns.mean())

    @property
    def mean_score(self) -> float | None:
        return None if self.scores is None else float(self.scores.mean())

    def summary(self) -> str:
        score = "" if self.scores is None else f", D4RL score {self.mean_score:.1f} ± {self.scores.std():.1f}"
        return (
            f"{self.env_id} target {self.target_return:.0f}: return {self.mean_return:.1f} ± {self.returns.std():.1f} "
            f"over {len(self.returns)} episodes{score}"
        )


def resolve_env_id(model, env_id: str | None) -> str:
    env_id = env_id or getattr(model.config, "env_id", None)
    if not env_id:
        raise UserError("the model does not say which env it was trained for: pass env_id (--env), e.g. HalfCheetah-v5")
    return env_id


@torch.no_grad()
def evaluate(
    model,
    env_id: str | None = None,
    target_return: float = 12000.0,
    n_episodes: int = 10,
    seed: int = 0,
    *,
    max_steps: int | None = None,
    capture_video: bool = False,
    render_size: tuple[int, int] = (320, 240),
    device: str | torch.device | None = None,
    progress: bool = True,
) -> EvalResult:
    """Run `n_episodes` episodes (episode i reset with seed + i) at `target_return`, all in one batch.

    `max_steps` caps the episode length (default: the env's time limit). With `capture_video`,
    the first episode is rendered ((width, height) = `render_size`) and its frames are returned."""
    if n_episodes < 1:
        raise UserError(f"n_episodes must be at least 1, got {n_episodes}")
    env_id = resolve_env_id(model, env_id)
    config = model.config
    width, height = render_size
    envs = [make_render_env(env_id, width, height) if capture_video and i == 0 else make_env(env_id) for i in range(n_episodes)]
    state_dim, act_dim = envs[0].observation_space.shape[0], envs[0].action_space.shape[0]
    if (state_dim, act_dim) != (config.state_dim, config.act_dim):
        raise UserError(
            f"the model was trained on states of size {config.state_dim} and actions of size {config.act_dim}, "
            f"but {env_id} has {state_dim} and {act_dim}: evaluate it in the env it was trained for"
        )
    horizon = max_steps or envs[0].spec.max_episode_steps or config.max_ep_len
    scale = config.scale
    mean, std = state_normalisation(config)
    was_training = model.training
    model.eval()
    device = torch.device(device) if device else next(model.parameters()).device

    # Histories of every episode: row t holds step t. [n_episodes, horizon + 1, ...]
    states = np.zeros((n_episodes, horizon + 1, state_dim), dtype=np.float32)
    actions = np.zeros((n_episodes, horizon + 1, act_dim), dtype=np.float32)
    rtg = np.zeros((n_episodes, horizon + 1), dtype=np.float32)
    returns = np.zeros(n_episodes)
    lengths = np.zeros(n_episodes, dtype=np.int64)
    for i, env in enumerate(envs):
        obs, _ = env.reset(seed=seed + i)
        states[i, 0] = (obs - mean) / std
    rtg[:, 0] = target_return / scale
    frames = [render_frame(envs[0])] if capture_video else []
    active = np.arange(n_episodes)
    pad_state = (0.0 - mean) / std
    # One small forward pass per step: a single torch thread is as fast on an idle CPU and far faster on a busy one.
    threads = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(1)
    try:
        for t in tqdm(range(horizon), desc=f"evaluating {env_id}", unit="step", disable=not progress, leave=False):
            chosen = _next_actions(model, states, actions, rtg, active, t, pad_state, device)
            still_running = []
            for row, i in enumerate(active):
                obs, reward, terminated, truncated, _ = envs[i].step(chosen[row])
                actions[i, t] = chosen[row]
                states[i, t + 1] = (obs - mean) / std
                rtg[i, t + 1] = rtg[i, t] - reward / scale
                returns[i] += reward
                lengths[i] += 1
                if capture_video and i == 0:
                    frames.append(render_frame(envs[0]))
                if not (terminated or truncated):
                    still_running.append(i)
            active = np.array(still_running, dtype=np.int64)
            if len(active) == 0:
                break
    finally:
        torch.set_num_threads(threads)
    for env in envs:
        env.close()
    model.train(was_training)
    scores = d4rl_score(env_id, returns)
    return EvalResult(env_id, float(target_return), returns, lengths, scores, frames)


def _next_actions(model, states, actions, rtg, active, t: int, pad_state: np.ndarray, device) -> np.ndarray:
    """The model's action at step t for the `active` episodes, from their last K steps, padded like the collator.

    states [n_episodes, T, state_dim] (normalised), actions [.., act_dim], rtg [n_episodes, T] (scaled) hold
    every episode's history; returns [n_active, act_dim]."""
    config = model.config
    K = config.context_length
    lo, n_real = max(0, t + 1 - K), min(t + 1, K)
    n_pad, n = K - n_real, len(active)
    window = {
        "states": _left_pad(states[active, lo : t + 1], n_pad, pad_state),  # [n, K, state_dim]
        "actions": _left_pad(actions[active, lo : t + 1], n_pad, PAD_ACTION),  # [n, K, act_dim]
        "returns_to_go": _left_pad(rtg[active, lo : t + 1, None], n_pad, 0.0),  # [n, K, 1]
        "timesteps": _left_pad(np.minimum(np.arange(lo, t + 1), config.max_ep_len - 1)[None], n_pad, 0).repeat(n, 0),
        "attention_mask": _left_pad(np.ones((n, n_real), np.float32), n_pad, 0.0),  # [n, K]
        "rewards": np.zeros((n, K, 1), np.float32),  # the DT ignores rewards; its signature wants them
    }
    output = model.original_forward(**{k: torch.from_numpy(v).to(device) for k, v in window.items()}, return_dict=True)
    return output.action_preds[:, -1].float().cpu().numpy()


def _left_pad(window: np.ndarray, n_pad: int, value) -> np.ndarray:
    """Prepend `n_pad` steps filled with `value` along axis 1 of [batch, steps, ...]."""
    if n_pad == 0:
        return np.ascontiguousarray(window)
    pad = np.empty((window.shape[0], n_pad) + window.shape[2:], dtype=window.dtype)
    pad[...] = value
    return np.concatenate([pad, window], axis=1)


def return_conditioning(model, targets, n_episodes: int = 5, seed: int = 0, **kwargs) -> list[EvalResult]:
    """Evaluate at several target returns: the Decision Transformer paper's achieved-vs-target curve."""
    return [evaluate(model, target_return=float(target), n_episodes=n_episodes, seed=seed, **kwargs) for target in targets]

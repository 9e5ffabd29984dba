"""Run a policy in its gymnasium env: many targets and episodes in one batch, D4RL scores.

A policy is any module with the `predict_actions(window)` interface (`TrainableDT`, the BC baseline);
`evaluate` runs it through the speed layer's door (`speed.policy`, `speed.thread_policy`), the same actions faster.
`window` holds the last K = config.context_length steps of (return-to-go, state, action, timestep) in
the collator's layout, states normalised with the stats saved in the config, the return-to-go starting
at target / scale and lowered by reward / scale after each step, timesteps clipped to max_ep_len - 1,
left padding with the collator's values. The policy runs in eval mode under `torch.inference_mode`.

Differences from the tutorial's loop, on purpose: all (target, episode) pairs advance together (one
policy call per time step for the whole batch); padding uses the collator's values (masked positions do
not change the prediction); dropout is off.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from dt_tutorial.checks import check_inference_config, check_targets
from dt_tutorial.collator import PAD_ACTION
from dt_tutorial.defaults import MAX_EVAL_EPISODES, PRECISION, RENDER_SIZE, TARGET_RETURN
from dt_tutorial.envs import d4rl_score, make_env
from dt_tutorial.errors import UserError
from dt_tutorial.model import state_normalisation
from dt_tutorial.precision import autocast, resolve_precision
from dt_tutorial.render import make_render_env, render_frame
from dt_tutorial import speed  # the speed layer's one door


@dataclass
class EvalResult:
    env_id: str
    target_return: float
    returns: np.ndarray  # [n_episodes]
    lengths: np.ndarray  # [n_episodes]
    scores: np.ndarray | None  # [n_episodes] D4RL-normalised, None for envs without reference returns
    frames: list[np.ndarray] = field(default_factory=list, repr=False)  # first episode's RGB frames if captured
    frame_returns: np.ndarray | None = field(default=None, repr=False)  # [n_frames] its return so far at each frame

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


@torch.inference_mode()
def evaluate(
    policy,
    env_id: str | None = None,
    target_return: float | Sequence[float] = TARGET_RETURN,
    n_episodes: int = 10,
    seed: int = 0,
    *,
    max_steps: int | None = None,
    capture_video: bool = False,
    render_size: tuple[int, int] = RENDER_SIZE,
    device: str | torch.device | None = None,
    precision: str = PRECISION,
    threads=None,
    progress: bool = True,
) -> EvalResult | list[EvalResult]:
    """Run `n_episodes` episodes (episode i reset with seed + i) at each target return, all in one batch.

    A float `target_return` gives one EvalResult, a sequence a list (one per target; targets share start
    states). `max_steps` caps the episode length (default: the env's time limit). With `capture_video`,
    episode 0 of each target is rendered ((width, height) = `render_size`) into its result's frames.
    `device` runs the policy there for the rollout and moves it back after; `precision` ("auto": bf16 where the
    hardware has it, see `precision.py`) autocasts its forward passes. `threads`, the CPU threads of each policy call:
    a number, a thread policy (`speed.FixedThreads`, `speed.ThreadTuner`), or None for the speed layer's choice."""
    if n_episodes < 1:
        raise UserError(f"n_episodes must be at least 1, got {n_episodes}")
    one_target = np.ndim(target_return) == 0
    check_inference_config(policy.config, "the model")
    targets = check_targets(np.atleast_1d(target_return), policy.config)
    if not targets:
        raise UserError("pass at least one target return")
    if len(targets) * n_episodes > MAX_EVAL_EPISODES:
        raise UserError(f"{len(targets)} target(s) x {n_episodes} episodes is more than the {MAX_EVAL_EPISODES} episodes one "
                        "evaluation runs side by side: evaluate fewer, in several calls")
    env_id = resolve_env_id(policy, env_id)
    home = next(policy.parameters()).device
    device = torch.device(device) if device else home
    was_training, torch_threads = policy.training, torch.get_num_threads()
    envs = []
    try:
        width, height = render_size
        for pair in range(len(targets) * n_episodes):  # pair = target index * n_episodes + episode
            capture = capture_video and pair % n_episodes == 0
            envs.append(make_render_env(env_id, width, height) if capture else make_env(env_id))
        _check_dims(policy.config, envs[0], env_id)
        policy.to(device).eval()
        runner, thread_policy = speed.policy(policy), speed.thread_policy(threads, device)
        with autocast(resolve_precision(precision, device), device):
            returns, lengths, frames = _rollout(runner, envs, targets, n_episodes, seed, max_steps, capture_video, device, progress,
                                                thread_policy)
    finally:
        torch.set_num_threads(torch_threads)
        for env in envs:
            env.close()
        policy.to(home).train(was_training)
    results = [
        EvalResult(env_id, target, returns[k], lengths[k], d4rl_score(env_id, returns[k]), *frames[k])
        for k, target in enumerate(targets)
    ]
    return results[0] if one_target else results


def _check_dims(config, env, env_id: str) -> None:
    state_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]
    if (state_dim, act_dim) != (config.state_dim, config.act_dim):
        raise UserError(
            f"the model was trained on states of size {config.state_dim} and actions of size {config.act_dim}, "
            f"but {env_id} has {state_dim} and {act_dim}: evaluate it in the env it was trained for"
        )


def _rollout(policy, envs, targets, n_episodes, seed, max_steps, capture_video, device, progress, threads):
    """Step every env until it ends; returns (returns, lengths) as [n_targets, n_episodes] and per target the
    captured (frames, return so far at each frame), or ([], None). `threads` (a thread policy) sets the CPU threads."""
    config, n = policy.config, len(envs)
    K, scale = config.context_length, config.scale
    caps = [cap for cap in (max_steps, envs[0].spec.max_episode_steps) if cap]  # the env ends every episode at its limit
    horizon = min(caps) if caps else config.max_ep_len
    mean, std = state_normalisation(config)
    history = _History(n, horizon, K, config, mean, std, device)
    for pair, env in enumerate(envs):
        obs, _ = env.reset(seed=seed + pair % n_episodes)
        history.states[pair, K - 1] = torch.from_numpy((obs - mean) / std)
    history.rtg[:, K - 1, 0] = torch.tensor(np.repeat(targets, n_episodes) / scale, dtype=torch.float32)
    captured = [pair for pair in range(n) if capture_video and pair % n_episodes == 0]
    frames = {pair: [render_frame(envs[pair])] for pair in captured}
    frame_returns = {pair: [0.0] for pair in captured}
    returns, lengths = np.zeros(n), np.zeros(n, dtype=np.int64)
    active = np.arange(n)
    for t in tqdm(range(horizon), desc=f"evaluating {envs[0].spec.id}", unit="step", disable=not progress, leave=False):
        with threads.step(t):
            chosen = policy.predict_actions(history.window(t, active)).float().cpu().numpy()  # [n_active, act_dim]
        observations, rewards, still_running = np.empty((len(active), mean.shape[0])), np.empty(len(active)), []
        for row, pair in enumerate(active):
            obs, rewards[row], terminated, truncated, _ = envs[pair].step(chosen[row])
            observations[row] = obs
            if pair in frames:
                frames[pair].append(render_frame(envs[pair]))
                frame_returns[pair].append(returns[pair] + rewards[row])
            if not (terminated or truncated):
                still_running.append(row)
        returns[active] += rewards
        lengths[active] += 1
        history.record(t, active, chosen, (observations - mean) / std, rewards / scale)
        active = active[still_running]
        if len(active) == 0:
            break
    shape = (len(targets), n_episodes)
    captures = [(frames[p], np.array(frame_returns[p])) if p in frames else ([], None) for p in range(0, n, n_episodes)]
    return returns.reshape(shape), lengths.reshape(shape), captures


class _History:
    """Every episode's steps in preallocated tensors on the policy's device, K - 1 padding rows first.

    Row K - 1 + t holds step t, so the window of step t is rows t .. t + K - 1, already left padded with
    the collator's values (padding: state 0 normalised, action PAD_ACTION, return-to-go 0, timestep 0, mask 0)."""

    def __init__(self, n: int, horizon: int, K: int, config, mean, std, device):
        rows = K + horizon
        self.K = K
        self.states = torch.empty((n, rows, config.state_dim), device=device)  # [n, rows, state_dim]
        self.states[:, : K - 1] = torch.from_numpy((0.0 - mean) / std).to(device)
        self.actions = torch.zeros((n, rows, config.act_dim), device=device)  # [n, rows, act_dim]; the current step's action is 0
        self.actions[:, : K - 1] = PAD_ACTION
        self.rtg = torch.zeros((n, rows, 1), device=device)  # [n, rows, 1]
        steps = torch.arange(rows, device=device) - (K - 1)
        self.timesteps = steps.clamp(0, config.max_ep_len - 1)  # [rows]
        self.mask = (steps >= 0).float()  # [rows]
        self.rewards = torch.zeros((n, K, 1), device=device)  # the DT ignores rewards; its signature wants them

    def window(self, t: int, active: np.ndarray) -> dict[str, torch.Tensor]:
        """The collator-layout window of step t for the `active` pairs: [n_active, K, ...]."""
        n, rows = len(active), slice(t, t + self.K)
        pick = slice(None) if n == len(self.states) else torch.from_numpy(active).to(self.states.device)
        return {
            "states": self.states[pick, rows],  # [n, K, state_dim]
            "actions": self.actions[pick, rows],  # [n, K, act_dim]
            "rewards": self.rewards[:n],  # [n, K, 1]
            "returns_to_go": self.rtg[pick, rows],  # [n, K, 1]
            "timesteps": self.timesteps[rows].expand(n, -1),  # [n, K]
            "attention_mask": self.mask[rows].expand(n, -1),  # [n, K]
        }

    def record(self, t: int, active: np.ndarray, actions, next_states, scaled_rewards) -> None:
        """Store step t's actions and step t + 1's states and returns-to-go for the `active` pairs."""
        device, row = self.states.device, self.K - 1 + t
        pick = torch.from_numpy(active).to(device)
        self.actions[pick, row] = torch.from_numpy(actions).to(device)
        self.states[pick, row + 1] = torch.from_numpy(next_states.astype(np.float32)).to(device)
        self.rtg[pick, row + 1, 0] = self.rtg[pick, row, 0] - torch.from_numpy(scaled_rewards.astype(np.float32)).to(device)


def return_conditioning(policy, targets, n_episodes: int = 5, seed: int = 0, **kwargs) -> list[EvalResult]:
    """Evaluate at several target returns in one batch: the Decision Transformer paper's achieved-vs-target curve."""
    return evaluate(policy, target_return=[float(t) for t in targets], n_episodes=n_episodes, seed=seed, **kwargs)


def spearman_rho(x, y) -> float:
    """Spearman's rank correlation (ties get their average rank), without scipy."""

    def ranks(values):
        values = np.asarray(values, dtype=np.float64)
        order = np.argsort(values, kind="stable")
        rank = np.empty(len(values))
        rank[order] = np.arange(len(values))
        _, groups, counts = np.unique(values, return_inverse=True, return_counts=True)
        return (np.bincount(groups, weights=rank) / counts)[groups]

    return float(np.corrcoef(ranks(x), ranks(y))[0, 1])


def conditioning_summary(results: list[EvalResult], dataset_returns=None) -> dict:
    """Achieved vs target: per-target mean, std and returns, Spearman's rho over all episodes, and the mean
    |achieved - target| over the targets inside the data's return range (when `dataset_returns` is given)."""
    targets = [r.target_return for r in results]
    summary = {
        "targets": targets,
        "mean": [r.mean_return for r in results],
        "std": [float(r.returns.std()) for r in results],
        "returns": [r.returns.round(1).tolist() for r in results],
        "spearman_rho": spearman_rho(np.repeat(targets, [len(r.returns) for r in results]), np.concatenate([r.returns for r in results])),
    }
    if dataset_returns is not None:
        low, high = np.min(dataset_returns), np.max(dataset_returns)
        inside = [abs(r.mean_return - r.target_return) for r in results if low <= r.target_return <= high]
        summary["mean_abs_error_in_range"] = float(np.mean(inside)) if inside else None
    return summary

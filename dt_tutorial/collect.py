"""Collect offline datasets by rolling out a policy in a gymnasium env, and the bundled expert data.

A policy is any callable mapping a batch of observations [n_envs, state_dim] to actions
[n_envs, act_dim]. `SquashedGaussianActor` runs a Stable-Baselines3 SAC/TQC actor in plain numpy;
the package ships the TQC HalfCheetah expert's actor (see assets/PROVENANCE.md) and
`bundled_dataset()` rolls it out once, then reads the episodes from a cache.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Callable

import datasets
import numpy as np
from tqdm.auto import tqdm

from dt_tutorial.data import EPISODE_FEATURES
from dt_tutorial.envs import make_env
from dt_tutorial.errors import UserError

Policy = Callable[[np.ndarray], np.ndarray]

EXPERT_ACTOR = Path(__file__).parent / "assets" / "tqc_halfcheetah_v3_actor.npz"
BUNDLED_ENV_ID = "HalfCheetah-v5"
BUNDLED_NAME = "bundled-halfcheetah-expert"
BUNDLED_EPISODES = 1000  # as many as the hub's halfcheetah-expert-v2; the demo needs the coverage
BUNDLED_SEED = 0
LOG_STD_RANGE = (-20.0, 2.0)  # SB3's clamp of the actor's log std


class SquashedGaussianActor:
    """An SB3 SAC/TQC actor: action = tanh(mu(obs) + exp(log_std(obs)) * noise), an MLP with ReLUs."""

    def __init__(self, weights: dict[str, np.ndarray], deterministic: bool = False, seed: int | None = None):
        self.weights = {k: np.asarray(v, dtype=np.float32) for k, v in weights.items()}
        self.hidden = sorted({k.rsplit(".", 1)[0] for k in self.weights if k.startswith("latent_pi.")})
        self.deterministic = deterministic
        self.rng = np.random.default_rng(seed)

    @classmethod
    def from_npz(cls, path: str | Path = EXPERT_ACTOR, **kwargs) -> SquashedGaussianActor:
        with np.load(path) as f:
            return cls(dict(f), **kwargs)

    @classmethod
    def from_sb3(cls, zip_path: str | Path, env_id: str, **kwargs) -> SquashedGaussianActor:
        """Read the actor out of an SB3 SAC/TQC zip (needs the `experts` extra: stable-baselines3, sb3-contrib)."""
        env = make_env(env_id)
        algorithm = _sb3_algorithm(Path(zip_path).name)
        custom = {  # the zips pickle old gym spaces and schedules: replace them (see shared/experts/README.md)
            "learning_rate": 0.0,
            "lr_schedule": lambda _: 0.0,
            "observation_space": env.observation_space,
            "action_space": env.action_space,
        }
        model = algorithm.load(str(zip_path), device="cpu", custom_objects=custom)
        state = model.policy.actor.state_dict()
        return cls({k: v.numpy() for k, v in state.items() if k.startswith(("latent_pi.", "mu.", "log_std."))}, **kwargs)

    def save_npz(self, path: str | Path) -> None:
        np.savez_compressed(path, **self.weights)

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        h = np.asarray(obs, dtype=np.float32)  # [n_envs, state_dim]
        for layer in self.hidden:
            h = np.maximum(h @ self.weights[f"{layer}.weight"].T + self.weights[f"{layer}.bias"], 0.0)
        mu = h @ self.weights["mu.weight"].T + self.weights["mu.bias"]  # [n_envs, act_dim]
        if self.deterministic:
            return np.tanh(mu)
        log_std = np.clip(h @ self.weights["log_std.weight"].T + self.weights["log_std.bias"], *LOG_STD_RANGE)
        return np.tanh(mu + np.exp(log_std) * self.rng.standard_normal(mu.shape, dtype=np.float32))


def _sb3_algorithm(file_name: str):
    try:
        if file_name.lower().startswith("tqc"):
            from sb3_contrib import TQC

            return TQC
        from stable_baselines3 import SAC

        return SAC
    except ImportError:
        raise UserError("reading an SB3 zip needs stable-baselines3 and sb3-contrib: pip install 'dt-tutorial[experts]'") from None


def collect_episodes(
    policy: Policy,
    env_id: str,
    n_episodes: int,
    *,
    seed: int = 0,
    n_envs: int = 8,
    action_noise: float = 0.0,
    progress: bool = True,
) -> datasets.Dataset:
    """Roll out `policy` for `n_episodes` episodes (episode i reset with seed + i), `n_envs` at a time.

    `action_noise` adds N(0, action_noise) to every action (clipped to the action space): a cheap way
    to make lower-quality data from an expert. Episodes end on termination or the env's time limit;
    `dones` is True only on a real termination (a fall), as in D4RL's 'terminals'.
    Returns one row per episode, in episode order, in the hub dataset's schema.
    """
    if n_episodes < 1:
        raise UserError(f"n_episodes must be at least 1, got {n_episodes}")
    envs = [make_env(env_id) for _ in range(min(n_envs, n_episodes))]
    low, high = envs[0].action_space.low, envs[0].action_space.high
    noise_rng = np.random.default_rng(seed)
    obs = np.zeros((len(envs), envs[0].observation_space.shape[0]), dtype=np.float32)
    running: dict[int, tuple[int, dict[str, list]]] = {}  # env slot -> (episode index, step buffers)
    finished: dict[int, dict[str, np.ndarray]] = {}
    next_episode = 0

    def start(slot: int) -> None:
        nonlocal next_episode
        obs[slot], _ = envs[slot].reset(seed=seed + next_episode)
        running[slot] = (next_episode, {name: [] for name in EPISODE_FEATURES})
        next_episode += 1

    for slot in range(len(envs)):
        start(slot)
    bar = tqdm(total=n_episodes, desc=f"collecting {env_id}", unit="episode", disable=not progress)
    while running:
        slots = sorted(running)
        actions = np.asarray(policy(obs[slots]), dtype=np.float32).reshape(len(slots), -1)  # [n_running, act_dim]
        if action_noise > 0:
            actions = np.clip(actions + noise_rng.normal(0.0, action_noise, actions.shape), low, high).astype(np.float32)
        for slot, action in zip(slots, actions):
            episode, steps = running[slot]
            next_obs, reward, terminated, truncated, _ = envs[slot].step(action)
            for name, value in zip(EPISODE_FEATURES, (obs[slot].copy(), action, reward, terminated)):
                steps[name].append(value)
            obs[slot] = next_obs
            if terminated or truncated:
                finished[episode] = {name: np.asarray(values) for name, values in steps.items()}
                del running[slot]
                bar.update(1)
                if next_episode < n_episodes:
                    start(slot)
    bar.close()
    for env in envs:
        env.close()
    rows = [finished[i] for i in range(n_episodes)]
    return datasets.Dataset.from_dict({name: [row[name] for row in rows] for name in EPISODE_FEATURES}, features=EPISODE_FEATURES)


def cache_dir() -> Path:
    """Where generated datasets are kept: $DT_TUTORIAL_CACHE, else ~/.cache/dt_tutorial."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "dt_tutorial"
    return Path(os.environ.get("DT_TUTORIAL_CACHE", default))


def bundled_dataset(n_episodes: int = BUNDLED_EPISODES, seed: int = BUNDLED_SEED, progress: bool = True) -> datasets.Dataset:
    """Expert HalfCheetah-v5 episodes from the shipped TQC actor (stochastic actions), made once then cached."""
    path = cache_dir() / f"{BUNDLED_NAME}-{n_episodes}ep-seed{seed}"
    if not (path / "dataset_info.json").exists():
        actor = SquashedGaussianActor.from_npz(EXPERT_ACTOR, seed=seed)
        episodes = collect_episodes(actor, BUNDLED_ENV_ID, n_episodes, seed=seed, progress=progress)
        tmp = path.with_name(path.name + f".tmp{os.getpid()}")
        episodes.save_to_disk(str(tmp))
        if path.exists():  # another process made it meanwhile
            shutil.rmtree(tmp)
        else:
            tmp.replace(path)
    return datasets.load_from_disk(str(path))

"""Collect offline datasets by rolling out policies in a gymnasium env; the bundled HalfCheetah datasets.

A policy maps a batch of observations [n_envs, state_dim] to actions [n_envs, act_dim] (`policies.Actor`,
or any callable). `collect_episodes` rolls one policy out, or several with a `driver` that says which one
acts at each step of each episode. `bundled_dataset(name)` makes one of the shipped recipes once, offline,
then reads it from a cache:
- `bundled` (the default): multi-skill HalfCheetah data, the expert held at 24 speeds (see `MULTI_SKILL`);
- `bundled-expert`: the TQC expert alone, like the tutorial's `halfcheetah-expert-v2`;
- `bundled-agents`: six real agents of graded skill, one per episode (their gaits differ: see `SIX_AGENTS`);
- `bundled-scales`: the expert's actions times 16 fixed scales (`GRADED`, the previous default).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Sequence

import datasets
import numpy as np
from tqdm.auto import tqdm

from dt_tutorial.schema import EPISODE_FEATURES, tag_env_id
from dt_tutorial.envs import make_env
from dt_tutorial.errors import UserError
from dt_tutorial.sources.policies import SHIPPED, Actor, Policy
from dt_tutorial.sources.cache import cached_dataset
from dt_tutorial.sources.workers import init_worker

Driver = Callable[[int, int], int]  # (episode index, step) -> index of the policy that acts

BUNDLED_ENV_ID = "HalfCheetah-v5"
BUNDLED_SEED = 0


def collect_episodes(
    policy: Policy | Sequence[Policy],
    env_id: str,
    n_episodes: int,
    *,
    driver: Driver | None = None,
    seed: int = 0,
    n_envs: int = 8,
    action_noise: float = 0.0,
    progress: bool = True,
) -> datasets.Dataset:
    """Roll out `n_episodes` episodes (episode i reset with seed + i), `n_envs` at a time.

    With a list of policies, `driver(episode, step)` picks the one acting at each step (default: the first).
    `action_noise` adds N(0, action_noise) to every action (clipped to the action space). Episodes end on
    termination or the env's time limit; `dones` is True only on a real termination (a fall), as in D4RL's
    'terminals'. Returns one row per episode, in episode order, in the hub dataset's schema.
    """
    rows = _rollout(policy, env_id, n_episodes, driver=driver, seed=seed, n_envs=n_envs, action_noise=action_noise,
                    progress=progress)
    return tag_env_id(_to_dataset(rows), env_id)


def _to_dataset(rows: list[dict[str, np.ndarray]]) -> datasets.Dataset:
    return datasets.Dataset.from_dict({name: [row[name] for row in rows] for name in EPISODE_FEATURES}, features=EPISODE_FEATURES)


def _rollout(policy, env_id, n_episodes, *, driver=None, seed=0, n_envs=8, action_noise=0.0, progress=True,
             ) -> list[dict[str, np.ndarray]]:
    """`collect_episodes`' work: the episodes as rows of numpy arrays, in episode order."""
    if n_episodes < 1:
        raise UserError(f"n_episodes must be at least 1, got {n_episodes}")
    policies = list(policy) if isinstance(policy, Sequence) else [policy]
    driver = driver or (lambda episode, step: 0)
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
        slots = np.array(sorted(running))
        acting = np.array([driver(running[s][0], len(running[s][1]["rewards"])) for s in slots])  # [n_running]
        actions = np.zeros((len(slots), len(low)), dtype=np.float32)  # [n_running, act_dim]
        for index in np.unique(acting):
            rows = acting == index
            actions[rows] = np.asarray(policies[index](obs[slots[rows]]), dtype=np.float32).reshape(rows.sum(), -1)
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
    return [finished[i] for i in range(n_episodes)]


RANDOM = "random"  # uniform random actions: the near-zero end of the return range (about -300)
STOP = "stop"  # zero actions: the cheetah stops pedalling and coasts to rest (reward 0 once still)


@dataclass(frozen=True)
class Recipe:
    """How a bundled dataset is made: which agents drive its episodes, and how."""

    agents: tuple[str, ...]
    """Shipped agent names (`policies.SHIPPED`: tqc, sac, ppo, ars, a2c, trpo), 'random', e.g. 'tqc*0.6'
    (that agent's actions times 0.6) or 'tqc~6' (held at 6 m/s: `speed_controlled`)."""
    n_episodes: int
    weights: tuple[float, ...] | None = None
    """Relative share of each agent among single-agent episodes (default: equal)."""
    switching_share: float = 0.0
    """Fraction of episodes in which the agent changes at random steps (the rest keep one agent)."""
    switches: int = 1
    """Agent changes per switching episode, at uniformly random steps; each new agent differs from the last."""
    stop_share: float = 0.0
    """Fraction of single-agent episodes in which the agent stops at a uniformly random step and the cheetah
    coasts to rest (`STOP`): their returns spread evenly from 0 to the agent's own, one gait throughout."""
    deterministic: bool = False
    """The agents' mean actions instead of sampled ones."""
    seed: int = BUNDLED_SEED

    @property
    def drivers(self) -> tuple[str, ...]:
        """The agents, then `STOP` when some episodes stop: plan segments index into this."""
        return self.agents + ((STOP,) if self.stop_share else ())

    def plans(self, max_steps: int = 1000) -> list[list[tuple[int, int]]]:
        """For each episode, its segments [(first step, agent index)], drawn from `seed`."""
        rng = np.random.default_rng(self.seed)
        weights = np.asarray(self.weights or [1.0] * len(self.agents), dtype=np.float64)
        n_switching = round(self.switching_share * self.n_episodes)
        plans = [[(0, int(rng.choice(len(self.agents), p=weights / weights.sum())))] for _ in range(self.n_episodes - n_switching)]
        for plan in plans[:round(self.stop_share * len(plans))]:
            plan.append((int(rng.integers(max_steps)), len(self.agents)))
        for _ in range(n_switching):
            starts = np.sort(rng.choice(np.arange(1, max_steps), self.switches, replace=False))
            agents = [int(rng.integers(len(self.agents)))]
            for _ in starts:
                agents.append(int(rng.choice([a for a in range(len(self.agents)) if a != agents[-1]])))
            plans.append(list(zip([0, *starts.tolist()], agents)))
        order = rng.permutation(len(plans))
        return [plans[i] for i in order]

    def fingerprint(self) -> str:
        key = {**asdict(self), "chunk_episodes": CHUNK_EPISODES}  # the chunks seed the agents: part of what the data are
        return hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()[:8]


EXPERT = Recipe(agents=("tqc",), n_episodes=1000)
"""Stochastic TQC expert episodes, like D4RL's halfcheetah-expert (the demo's coverage needs 1,000)."""
# The TQC expert's actions scaled down give one family of ever slower gaits; its mean forward speed (m/s, over
# 1,000 steps of HalfCheetah-v5, measured: BENCHMARKS.md) at each scale. The speed climbs steeply from 0.7 to 0.8.
GRADED_SCALES = (0.2, 0.3, 0.4, 0.5, 0.6, 0.65, 0.7, 0.73, 0.76, 0.79, 0.82, 0.85, 0.88, 0.92, 0.96, 1.0)
EXPERT_SPEEDS = (0.10, 0.81, 1.63, 2.38, 3.10, 3.52, 4.10, 4.87, 6.34, 7.73, 8.68, 9.40, 10.02, 10.67, 11.16, 11.34)
TARGET_SPEEDS = tuple(round(0.5 * i, 1) for i in range(1, 25))  # 0.5 ... 12.0 m/s
MULTI_SKILL = Recipe(agents=tuple(f"tqc~{v}" for v in TARGET_SPEEDS) + ("tqc",), weights=(1.0,) * 24 + (6.0,), n_episodes=1000)
"""The default: the expert held at one of 24 speeds per episode (`speed_controlled`), plus a fifth of the episodes at
its own full speed; returns spread evenly from ~500 to ~11,500. Chosen by measurement (BENCHMARKS.md, "Steering"):
mixing the six agents' distinct gaits left the target return ignored; fixed action scales (`GRADED_SCALES`) steered,
but overshot in the middle, where the speed jumps with the scale."""
GRADED = Recipe(agents=tuple(f"tqc*{s}" for s in GRADED_SCALES), n_episodes=1000)
"""The expert's actions times one of 16 fixed scales per episode (the previous default; BENCHMARKS.md)."""
SIX_AGENTS = Recipe(agents=SHIPPED, n_episodes=1000)
"""The six real agents of graded skill (TRPO ~1,700 ... TQC ~11,400), one per episode: distinct gaits."""
BUNDLED = {
    "bundled": ("bundled-halfcheetah-multiskill", MULTI_SKILL),
    "bundled-expert": ("bundled-halfcheetah-expert", EXPERT),
    "bundled-agents": ("bundled-halfcheetah-agents", SIX_AGENTS),
    "bundled-scales": ("bundled-halfcheetah-scales", GRADED),
}


def describe_plan(plan: list[tuple[int, int]], agents: Sequence[str]) -> str:
    """'sac' for a single-agent episode, 'trpo@0,tqc@412' for one that switches at step 412."""
    return agents[plan[0][1]] if len(plan) == 1 else ",".join(f"{agents[a]}@{start}" for start, a in plan)


CHUNK_EPISODES = 40
"""A recipe is collected in chunks of this many episodes, each with its own agent random streams, so the data are
the same whatever the number of worker processes."""


def collect_recipe(recipe: Recipe, env_id: str = BUNDLED_ENV_ID, *, progress: bool = True,
                   workers: int | None = None) -> datasets.Dataset:
    """Roll out `recipe` in `env_id`; adds a `policy` column saying who drove each episode (`describe_plan`).

    `workers` processes collect its chunks of `CHUNK_EPISODES` episodes; the default is one per available core on
    Linux, where they are forked (nothing re-imports the caller's script), and 1 elsewhere (spawned processes would
    re-run a script that lacks an `if __name__ == "__main__":` guard)."""
    plans = recipe.plans()
    env = make_env(env_id)
    act_dim = env.action_space.shape[0]
    env.close()
    chunks = [range(first, min(first + CHUNK_EPISODES, recipe.n_episodes)) for first in range(0, recipe.n_episodes, CHUNK_EPISODES)]
    jobs = [(recipe, env_id, act_dim, index, episodes, plans[episodes.start:episodes.stop]) for index, episodes in enumerate(chunks)]
    fork = sys.platform.startswith("linux")
    workers = min(workers or (available_cores() if fork else 1), len(chunks))
    bar = tqdm(total=recipe.n_episodes, desc=f"collecting {env_id}", unit="episode", disable=not progress)
    if workers == 1:
        parts = []
        for job, episodes in zip(jobs, chunks):
            parts.append(_collect_chunk(*job))
            bar.update(len(episodes))
    else:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork" if fork else "spawn"),
                                 initializer=init_worker, initargs=(os.getpid(),)) as pool:  # each its own core
            futures = {pool.submit(_collect_chunk, *job): len(episodes) for job, episodes in zip(jobs, chunks)}
            for future in as_completed(futures):
                bar.update(futures[future])
            parts = [future.result() for future in futures]  # in chunk order
    bar.close()
    episodes = tag_env_id(_to_dataset([row for part in parts for row in part]), env_id)
    return episodes.add_column("policy", [describe_plan(plan, recipe.drivers) for plan in plans])


def available_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _collect_chunk(recipe: Recipe, env_id: str, act_dim: int, index: int, episodes: range,
                   plans: list[list[tuple[int, int]]]) -> list[dict[str, np.ndarray]]:
    """The rows of `episodes` (a chunk of the recipe's episode indices, with their `plans`); chunk `index` seeds the agents."""
    policies = [_agent(name, env_id, act_dim, recipe.deterministic, [recipe.seed, i, index]) for i, name in enumerate(recipe.drivers)]

    def driver(episode: int, step: int) -> int:
        return next(agent for start, agent in reversed(plans[episode]) if start <= step)

    return _rollout(policies, env_id, len(episodes), driver=driver, seed=recipe.seed + episodes.start, progress=False)


def _agent(spec: str, env_id: str, act_dim: int, deterministic: bool, seed) -> Policy:
    """'ppo', 'random', 'stop', 'tqc*0.6' (that agent's actions scaled by 0.6: a slower gait of the same motion), or
    'tqc~6' (the agent held at 6 m/s by `speed_controlled`; HalfCheetah only)."""
    name, _, factor = spec.partition("*")
    if name == STOP:
        return lambda obs: np.zeros((len(obs), act_dim))
    name, _, speed = name.partition("~")
    if name == RANDOM:
        rng = np.random.default_rng(seed)
        return lambda obs: rng.uniform(-1.0, 1.0, (len(obs), act_dim))
    actor = Actor.shipped(name, deterministic=deterministic, seed=seed)
    if speed:
        if not env_id.startswith("HalfCheetah"):
            raise UserError(f"held speeds ('{spec}') read HalfCheetah's velocity from its observation; {env_id} is not HalfCheetah")
        return speed_controlled(actor, float(speed))
    return (lambda obs: float(factor) * actor(obs)) if factor else actor


SPEED_GAIN = 0.1  # scale added per m/s the cheetah runs too slowly
X_VELOCITY = 8  # HalfCheetah observation: 8 joint positions, then the root's x velocity


def speed_controlled(actor: Policy, speed: float) -> Policy:
    """`actor` (the TQC expert) with its actions scaled to run at `speed` m/s: the scale that gives that speed on
    average (`GRADED_SCALES`), corrected at every step by how far the cheetah's current speed is off, so that the data
    show how to speed up and slow down. Scales stay in [0, 1]: above the expert's own speed it is the expert."""
    base = float(np.interp(speed, EXPERT_SPEEDS, GRADED_SCALES))
    return lambda obs: np.clip(base + SPEED_GAIN * (speed - obs[:, X_VELOCITY]), 0.0, 1.0)[:, None] * actor(obs)


def recipe_dataset(recipe: Recipe, folder: str, *, env_id: str = BUNDLED_ENV_ID, progress: bool = True) -> datasets.Dataset:
    """`collect_recipe(recipe)` made once, then read from `cache_dir()/<folder>-...` (keyed by the recipe; see `cache`)."""
    name = f"{folder}-{recipe.n_episodes}ep-seed{recipe.seed}-{recipe.fingerprint()}"
    return cached_dataset(name, lambda: collect_recipe(recipe, env_id, progress=progress), recipe.n_episodes, progress=progress)


def bundled_dataset(name: str = "bundled", *, n_episodes: int | None = None, seed: int | None = None,
                    progress: bool = True) -> datasets.Dataset:
    """One of the `BUNDLED` datasets (optionally with fewer episodes or another seed), made once then cached."""
    if name not in BUNDLED:
        raise UserError(f"unknown bundled dataset {name!r}; choose one of {', '.join(BUNDLED)}")
    folder, recipe = BUNDLED[name]
    changes = {"n_episodes": n_episodes, "seed": seed}
    recipe = Recipe(**{**asdict(recipe), **{k: v for k, v in changes.items() if v is not None}})
    return recipe_dataset(recipe, folder, progress=progress)

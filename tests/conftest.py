"""Shared fixtures: small real datasets collected in the real MuJoCo envs, once per test session.

- HalfCheetah-v5, the shipped expert actor: 3 episodes of 1000 steps (never terminates).
- Hopper-v5, a uniformly random policy: 40 episodes that end when it falls, 9-40 steps each,
  so episode lengths vary (what the sampling and padding tests need).
"""

from __future__ import annotations

import os

# The tests never reach the network: huggingface_hub reads this once, when it is first imported.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import datasets
import numpy as np
import pytest

from dt_tutorial.sources.collect import collect_episodes
from dt_tutorial.sources.policies import Actor
from dt_tutorial.data import Trajectories
from dt_tutorial.schema import EPISODE_FEATURES
from dt_tutorial.errors import UserError


@pytest.fixture(scope="session", autouse=True)
def dt_cache(tmp_path_factory):
    """Generated data goes to a session tmp dir, never ~/.cache; an explicit DT_TUTORIAL_CACHE is kept
    (developers share one so the bundled dataset is generated once)."""
    with pytest.MonkeyPatch.context() as patch:
        if not os.environ.get("DT_TUTORIAL_CACHE"):
            patch.setenv("DT_TUTORIAL_CACHE", str(tmp_path_factory.mktemp("dt_cache")))
        yield os.environ["DT_TUTORIAL_CACHE"]


def random_policy(seed: int, act_dim: int):
    """Uniform actions in [-1, 1]: [n_envs, state_dim] -> [n_envs, act_dim]."""
    rng = np.random.default_rng(seed)
    return lambda obs: rng.uniform(-1.0, 1.0, (len(obs), act_dim))


@pytest.fixture(scope="session")
def halfcheetah_episodes() -> datasets.Dataset:
    actor = Actor.shipped("tqc", seed=0)
    return collect_episodes(actor, "HalfCheetah-v5", 3, seed=0, progress=False)


@pytest.fixture(scope="session")
def hopper_episodes() -> datasets.Dataset:
    return collect_episodes(random_policy(0, 3), "Hopper-v5", 40, seed=0, progress=False)


@pytest.fixture(scope="session")
def halfcheetah(halfcheetah_episodes) -> Trajectories:
    return Trajectories.from_dataset(halfcheetah_episodes, "halfcheetah-test")


@pytest.fixture(scope="session")
def hopper(hopper_episodes) -> Trajectories:
    return Trajectories.from_dataset(hopper_episodes, "hopper-test")


def synthetic_episodes(lengths, state_dim: int = 3, act_dim: int = 2, seed: int = 0) -> datasets.Dataset:
    """A tiny dataset in the hub schema with the given episode lengths (random values, last step done)."""
    rng = np.random.default_rng(seed)
    return datasets.Dataset.from_dict(
        {
            "observations": [rng.normal(size=(n, state_dim)).astype(np.float32) for n in lengths],
            "actions": [rng.uniform(-1, 1, size=(n, act_dim)).astype(np.float32) for n in lengths],
            "rewards": [rng.normal(size=n).astype(np.float32) for n in lengths],
            "dones": [np.arange(n) == n - 1 for n in lengths],
        },
        features=EPISODE_FEATURES,
    )


def raises_one_line(match: str):
    """`pytest.raises(UserError)` whose message also has to be a single line containing `match`."""
    return pytest.raises(UserError, match=rf"^[^\n]*{match}[^\n]*$")

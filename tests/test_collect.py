"""collect.py: the numpy SAC/TQC actor against Stable-Baselines3 itself, and episode collection."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from conftest import random_policy, raises_one_line
from dt_tutorial.collect import SquashedGaussianActor, bundled_dataset, cache_dir, collect_episodes
from dt_tutorial.data import EPISODE_FEATURES
from dt_tutorial.envs import make_env

TQC_ZIP = "/work/shared/experts/tqc-HalfCheetah-v3.zip"


@pytest.fixture(scope="module")
def sb3_tqc():
    """The expert as SB3 itself loads it (see shared/experts/README.md)."""
    pytest.importorskip("sb3_contrib")
    from sb3_contrib import TQC

    env = make_env("HalfCheetah-v5")
    custom = {
        "learning_rate": 0.0,
        "lr_schedule": lambda _: 0.0,
        "observation_space": env.observation_space,
        "action_space": env.action_space,
    }
    return TQC.load(TQC_ZIP, device="cpu", custom_objects=custom)


@pytest.fixture(scope="module")
def states(halfcheetah) -> np.ndarray:
    """[256, 17] real HalfCheetah states from the expert's episodes."""
    return halfcheetah.observations[np.random.default_rng(0).choice(halfcheetah.n_steps, 256, replace=False)]


def test_numpy_actor_matches_sb3_deterministic_actions(sb3_tqc, states):
    expected, _ = sb3_tqc.predict(states, deterministic=True)  # [256, 6]
    from_zip = SquashedGaussianActor.from_sb3(TQC_ZIP, "HalfCheetah-v5", deterministic=True)
    np.testing.assert_allclose(from_zip(states), expected, atol=1e-5)
    # The shipped actor is that same expert.
    np.testing.assert_allclose(SquashedGaussianActor.from_npz(deterministic=True)(states), expected, atol=1e-5)


def test_stochastic_actions_follow_sb3s_squashed_gaussian(sb3_tqc, states):
    """tanh is monotonic, so P(action <= tanh(mu + z * sigma)) must be Phi(z) in every dimension."""
    state = states[:1]
    with torch.no_grad():
        mu, log_std, _ = sb3_tqc.actor.get_action_dist_params(torch.as_tensor(state))
    mu, sigma = mu.numpy()[0], np.exp(log_std.numpy()[0])  # [act_dim]
    actions = SquashedGaussianActor.from_npz(seed=0)(np.repeat(state, 20_000, axis=0))  # [20000, act_dim]
    for z in (-1.0, 0.0, 1.0):
        below = (actions <= np.tanh(mu + z * sigma)).mean(axis=0)
        np.testing.assert_allclose(below, stats.norm.cdf(z), atol=0.015)


def test_collected_episodes_have_the_hub_schema_in_episode_order(hopper_episodes):
    assert hopper_episodes.features == EPISODE_FEATURES
    assert len(hopper_episodes) == 40
    env = make_env("Hopper-v5")
    for i, row in enumerate(hopper_episodes):
        n = len(row["rewards"])
        assert len(row["observations"]) == len(row["actions"]) == len(row["dones"]) == n
        np.testing.assert_allclose(row["observations"][0], env.reset(seed=i)[0], rtol=1e-6)  # episode i reset with seed + i
    lengths = [len(r) for r in hopper_episodes["rewards"]]
    assert len(set(lengths)) > 5 and max(lengths) < 1000


def test_dones_only_on_termination(hopper_episodes, halfcheetah_episodes):
    for dones in hopper_episodes["dones"]:  # a random Hopper falls: only its last step terminates
        assert dones[-1] and not any(dones[:-1])
    for dones, rewards in zip(halfcheetah_episodes["dones"], halfcheetah_episodes["rewards"]):
        assert len(rewards) == 1000 and not any(dones)  # time limit: truncated, never terminated


def test_collection_is_deterministic_for_a_seed(hopper_episodes):
    again = collect_episodes(random_policy(0, 3), "Hopper-v5", 40, seed=0, progress=False)
    assert again.to_dict() == hopper_episodes.to_dict()
    other = collect_episodes(random_policy(0, 3), "Hopper-v5", 40, seed=1, progress=False)
    assert other["observations"][0] != hopper_episodes["observations"][0]


def test_episodes_do_not_depend_on_the_number_of_envs():
    """A deterministic policy gives the same episodes whichever env slot ran them, and in the same order."""

    def policy(obs):  # [n, 11] -> [n, 3]: a fixed feedback law that falls after a varying time
        return np.tanh(obs[:, 2:5] * 5.0 + obs[:, 8:11])

    one = collect_episodes(policy, "Hopper-v5", 7, seed=3, n_envs=1, progress=False)
    four = collect_episodes(policy, "Hopper-v5", 7, seed=3, n_envs=4, progress=False)
    assert len({len(r) for r in one["rewards"]}) > 1
    assert one.to_dict() == four.to_dict()


def test_action_noise_lowers_returns(halfcheetah_episodes):
    noisy = collect_episodes(SquashedGaussianActor.from_npz(seed=0), "HalfCheetah-v5", 2, seed=0, action_noise=0.5, progress=False)
    clean_returns = [np.sum(r) for r in halfcheetah_episodes["rewards"]]
    noisy_returns = [np.sum(r) for r in noisy["rewards"]]
    assert min(clean_returns) > 10_000  # the shipped actor is an expert in HalfCheetah-v5 (D4RL expert: 12135)
    assert max(noisy_returns) < 0.8 * min(clean_returns)
    actions = np.concatenate(noisy["actions"])
    assert np.abs(actions).max() <= 1.0  # noise is clipped to the action space


def test_collect_needs_an_episode():
    with raises_one_line("n_episodes must be at least 1"):
        collect_episodes(random_policy(0, 3), "Hopper-v5", 0)


def test_bundled_dataset_is_the_expert_collection_cached(dt_cache):
    first = bundled_dataset(n_episodes=2, seed=5, progress=False)
    assert (cache_dir() / "bundled-halfcheetah-expert-2ep-seed5" / "dataset_info.json").exists()
    direct = collect_episodes(SquashedGaussianActor.from_npz(seed=5), "HalfCheetah-v5", 2, seed=5, progress=False)
    assert first.to_dict() == direct.to_dict()
    assert bundled_dataset(n_episodes=2, seed=5, progress=False).to_dict() == direct.to_dict()

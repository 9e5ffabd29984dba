"""sources/policies.py: each shipped numpy actor against its Stable-Baselines3 original, and its skill in the real env."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import stats

from conftest import raises_one_line
from dt_tutorial.sources.collect import collect_episodes
from dt_tutorial.envs import make_env
from dt_tutorial.sources.policies import SHIPPED, Actor, load_policy, read_vecnormalize

EXPERTS = Path(__file__).resolve().parents[1].parent / "shared" / "experts"  # ../shared from the project root
needs_experts = pytest.mark.skipif(not EXPERTS.is_dir(), reason=f"no pretrained agents at {EXPERTS} (../shared/experts)")
# Deterministic returns measured in HalfCheetah-v5, 3 episodes each (../shared/experts/README.md), widened by 5%.
README_RETURNS = {"tqc": (12135, 12374), "sac": (9335, 9505), "ppo": (5901, 5962), "ars": (5003, 5067),
                  "a2c": (2756, 3258), "trpo": (1780, 1851)}
ALGORITHMS = {"tqc": ("sb3_contrib", "TQC"), "sac": ("stable_baselines3", "SAC"), "ppo": ("stable_baselines3", "PPO"),
              "ars": ("sb3_contrib", "ARS"), "a2c": ("stable_baselines3", "A2C"), "trpo": ("sb3_contrib", "TRPO")}


def load_sb3(name: str):
    """The agent as SB3 itself loads it (see shared/experts/README.md)."""
    module = pytest.importorskip(ALGORITHMS[name][0])
    env = make_env("HalfCheetah-v5")
    custom = {"learning_rate": 0.0, "lr_schedule": lambda _: 0.0, "clip_range": lambda _: 0.0,
              "observation_space": env.observation_space, "action_space": env.action_space}
    return getattr(module, ALGORITHMS[name][1]).load(EXPERTS / f"{name}-HalfCheetah-v3.zip", device="cpu", custom_objects=custom)


@pytest.fixture(scope="module")
def states(halfcheetah) -> np.ndarray:
    """[256, 17] real HalfCheetah states from the expert's episodes."""
    return halfcheetah.observations[np.random.default_rng(0).choice(halfcheetah.n_steps, 256, replace=False)]


@needs_experts
@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_actor_matches_sb3_deterministic_actions(name, states):
    sb3 = load_sb3(name)
    zip_path = EXPERTS / f"{name}-HalfCheetah-v3.zip"
    shipped = Actor.shipped(name, deterministic=True)
    seen = states
    if shipped.normalises_observations:  # SB3 predicts from VecNormalize's output; ours normalises itself
        stats_ = read_vecnormalize(zip_path.with_name(f"{name}-HalfCheetah-v3.vecnormalize.pkl"))
        seen = np.clip((states - stats_["obs_mean"]) / np.sqrt(stats_["obs_var"] + stats_["obs_epsilon"]),
                       -stats_["clip_obs"], stats_["clip_obs"]).astype(np.float32)
    expected, _ = sb3.predict(seen, deterministic=True)  # [256, 6]
    np.testing.assert_allclose(shipped(states), expected, atol=2e-5)
    np.testing.assert_allclose(Actor.from_sb3(zip_path, deterministic=True)(states), expected, atol=2e-5)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_actor_scores_what_the_readme_says(name):
    episodes = collect_episodes(Actor.shipped(name, deterministic=True), "HalfCheetah-v5", 2, seed=0, progress=False)
    low, high = README_RETURNS[name]
    mean_return = np.mean([np.sum(r) for r in episodes["rewards"]])
    assert 0.95 * low <= mean_return <= 1.05 * high, f"{name}: {mean_return:.0f} outside {low}..{high} (±5%)"


@needs_experts
def test_stochastic_tqc_follows_sb3s_squashed_gaussian(states):
    """tanh is monotonic, so P(action <= tanh(mu + z * sigma)) must be Phi(z) in every dimension."""
    sb3 = load_sb3("tqc")
    state = states[:1]
    with torch.no_grad():
        mu, log_std, _ = sb3.actor.get_action_dist_params(torch.as_tensor(state))
    mu, sigma = mu.numpy()[0], np.exp(log_std.numpy()[0])  # [act_dim]
    actions = Actor.shipped("tqc", seed=0)(np.repeat(state, 20_000, axis=0))  # [20000, act_dim]
    for z in (-1.0, 0.0, 1.0):
        below = (actions <= np.tanh(mu + z * sigma)).mean(axis=0)
        np.testing.assert_allclose(below, stats.norm.cdf(z), atol=0.015)


@needs_experts
def test_stochastic_ppo_samples_sb3s_gaussian_around_the_mean(states):
    sb3 = load_sb3("ppo")
    state = states[:1]
    mean = Actor.shipped("ppo", deterministic=True)(state)[0]  # [act_dim]
    actions = Actor.shipped("ppo", seed=0)(np.repeat(state, 20_000, axis=0))
    sigma = np.exp(sb3.policy.log_std.detach().numpy())
    inside = np.abs(mean) < 1 - 3 * sigma  # dimensions the clip to [-1, 1] leaves alone
    np.testing.assert_allclose(actions.mean(axis=0)[inside], mean[inside], atol=0.01)
    np.testing.assert_allclose(actions.std(axis=0)[inside], sigma[inside], rtol=0.03)
    assert np.abs(actions).max() <= 1.0


def test_load_policy_names_and_errors(tmp_path):
    assert load_policy("expert", deterministic=True).arrays["mu.weight"].shape == (6, 256)
    assert load_policy("ars").normalises_observations  # ARS was trained on normalised observations
    with raises_one_line("--policy must be one of"):
        load_policy("sac2")
    with raises_one_line("unknown agent"):
        Actor.shipped("dqn")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with raises_one_line("not an actor saved by dt_tutorial"):
        load_policy(str(tmp_path / "bad.npz"))

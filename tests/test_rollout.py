"""rollout.py: batched evaluation of tiny real models in the real HalfCheetah-v5 and Hopper-v5 envs.

Batched and one-by-one runs are compared in fp32 (the default precision is bf16 where the CPU has it) with a tight
relative tolerance, not exact equality: a
batch of 4 rows may take another BLAS code path than a single row, so an action can differ in its
last float32 bit, and MuJoCo then integrates from a state that differs by that rounding.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from _helpers import WatchedPolicy, cheetah_model, cheetah_run, hopper_model, hopper_run, one_thread  # noqa: F401 (fixtures)
from conftest import raises_one_line

from dt_tutorial.envs import make_env
from dt_tutorial import rollout
from dt_tutorial.rollout import evaluate, return_conditioning
from dt_tutorial import speed
from dt_tutorial.speed import FixedThreads, ThreadTuner

pytestmark = pytest.mark.usefixtures("one_thread")

RTOL, ATOL = 1e-5, 1e-6


@torch.no_grad()
def tutorial_rollout(model, env_id: str, target_return: float, seed: int, max_steps: int) -> list[float]:
    """The blog's evaluation loop (its `get_action`), one episode, unbatched; returns the rewards until it ends.

    It pads with zeros (not the collator's values): padded steps are masked, so the prediction is the same."""
    config, K = model.config, model.config.context_length
    mean, std = torch.tensor(config.state_mean), torch.tensor(config.state_std)
    env = make_env(env_id)
    state, _ = env.reset(seed=seed)
    states = torch.from_numpy(state).reshape(1, -1).float()
    actions = torch.zeros((0, config.act_dim))
    returns_to_go = torch.tensor([[target_return / config.scale]])
    timesteps = torch.zeros((1, 1), dtype=torch.long)
    rewards = []
    for t in range(max_steps):
        actions = torch.cat([actions, torch.zeros((1, config.act_dim))])
        s, a = ((states - mean) / std)[-K:], actions[-K:]
        r, ts = returns_to_go.reshape(-1, 1)[-K:], timesteps.reshape(-1)[-K:]
        pad = K - len(s)
        output = model.original_forward(
            states=torch.cat([torch.zeros((pad, config.state_dim)), s]).unsqueeze(0),
            actions=torch.cat([torch.zeros((pad, config.act_dim)), a]).unsqueeze(0),
            rewards=torch.zeros((1, K, 1)),
            returns_to_go=torch.cat([torch.zeros((pad, 1)), r]).unsqueeze(0),
            timesteps=torch.cat([torch.zeros(pad, dtype=torch.long), ts]).unsqueeze(0),
            attention_mask=torch.cat([torch.zeros(pad), torch.ones(K - pad)]).long().unsqueeze(0),
            return_dict=True,
        )
        actions[-1] = output.action_preds[0, -1]
        state, reward, terminated, truncated, _ = env.step(actions[-1].numpy())
        rewards.append(reward)
        if terminated or truncated:
            break
        states = torch.cat([states, torch.from_numpy(state).reshape(1, -1).float()])
        returns_to_go = torch.cat([returns_to_go, returns_to_go[:, -1:] - reward / config.scale], dim=1)
        timesteps = torch.cat([timesteps, torch.full((1, 1), t + 1)], dim=1)
    env.close()
    return rewards


def test_batched_returns_match_one_by_one(cheetah_model):
    batched = evaluate(cheetah_model, n_episodes=4, seed=7, max_steps=100, precision="fp32", progress=False)
    singles = [evaluate(cheetah_model, n_episodes=1, seed=7 + i, max_steps=100, precision="fp32", progress=False) for i in range(4)]
    np.testing.assert_allclose(batched.returns, [s.returns[0] for s in singles], rtol=RTOL, atol=ATOL)
    assert batched.lengths.tolist() == [100] * 4  # HalfCheetah never terminates
    assert len(set(batched.returns.round(6))) == 4  # the seeds give different episodes


@pytest.mark.parametrize("model_fixture", ["cheetah_model", "hopper_model"])
def test_matches_the_tutorial_loop(model_fixture, request):
    """Same conditioning as the blog's loop: window, padding, normalisation, return-to-go, timesteps."""
    model = request.getfixturevalue(model_fixture)
    result = evaluate(model, target_return=3000, n_episodes=3, seed=0, max_steps=60, precision="fp32", progress=False)
    for i in range(3):
        rewards = tutorial_rollout(model, result.env_id, 3000, seed=i, max_steps=60)
        assert result.lengths[i] == len(rewards)
        np.testing.assert_allclose(result.returns[i], sum(rewards), rtol=RTOL, atol=ATOL)


def test_fallen_hopper_episodes_stop_counting(hopper_model):
    horizon = 200
    batched = evaluate(hopper_model, n_episodes=4, seed=0, max_steps=horizon, precision="fp32", progress=False)
    assert batched.env_id == "Hopper-v5"
    assert (batched.lengths < horizon).all(), batched.lengths  # trained on a random policy: it falls
    assert len(set(batched.lengths.tolist())) > 1, batched.lengths  # at different times, so masking matters
    for i in range(4):
        single = evaluate(hopper_model, n_episodes=1, seed=i, max_steps=horizon, precision="fp32", progress=False)
        rewards = tutorial_rollout(hopper_model, "Hopper-v5", 12000, seed=i, max_steps=horizon)
        assert batched.lengths[i] == single.lengths[0] == len(rewards)
        np.testing.assert_allclose(batched.returns[i], single.returns[0], rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(batched.returns[i], sum(rewards), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("start_in_train_mode", [True, False])
def test_eval_mode_and_no_grad_during_the_rollout_only(cheetah_model, start_in_train_mode):
    seen = []  # (training, grad enabled) at every model call (embed_ln runs once a call, full forward or last_action)
    cheetah_model.embed_ln.register_forward_hook(lambda module, args, out: seen.append((module.training, torch.is_grad_enabled())))
    cheetah_model.train(start_in_train_mode)
    first = evaluate(cheetah_model, n_episodes=2, max_steps=10, progress=False)
    second = evaluate(cheetah_model, n_episodes=2, max_steps=10, progress=False)
    assert len(seen) == 20 and set(seen) == {(False, False)}
    assert cheetah_model.training is start_in_train_mode
    assert all(p.grad is None for p in cheetah_model.parameters())
    np.testing.assert_array_equal(first.returns, second.returns)  # no dropout: the same episodes twice


@pytest.mark.parametrize(
    "model_fixture, reference", [("cheetah_model", (-280.178953, 12135.0)), ("hopper_model", (-20.272305, 3234.3))]
)
def test_scores_are_d4rl_normalised(model_fixture, reference, request):
    """D4RL's score: 100 * (R - random) / (expert - random), with d4rl/infos.py's reference returns."""
    result = evaluate(request.getfixturevalue(model_fixture), n_episodes=2, max_steps=20, progress=False)
    random_return, expert_return = reference
    np.testing.assert_allclose(result.scores, 100 * (result.returns - random_return) / (expert_return - random_return))
    assert result.mean_score == pytest.approx(result.scores.mean())
    assert f"D4RL score {result.mean_score:.1f}" in result.summary()


@pytest.mark.filterwarnings("ignore:.*HalfCheetah-v4 is out of date:DeprecationWarning")
def test_env_id_comes_from_the_config_and_the_argument_overrides_it(cheetah_model):
    assert evaluate(cheetah_model, n_episodes=1, max_steps=3, progress=False).env_id == "HalfCheetah-v5"
    # HalfCheetah-v4 has the same spaces: the argument is used instead of the saved id
    assert evaluate(cheetah_model, "HalfCheetah-v4", n_episodes=1, max_steps=3, progress=False).env_id == "HalfCheetah-v4"
    cheetah_model.config.env_id = None
    with raises_one_line("pass env_id"):
        evaluate(cheetah_model, n_episodes=1, max_steps=3, progress=False)
    assert evaluate(cheetah_model, "HalfCheetah-v5", n_episodes=1, max_steps=3, progress=False).env_id == "HalfCheetah-v5"


def test_wrong_env_dims_is_a_user_error(cheetah_model, hopper_model):
    with raises_one_line("states of size 17 and actions of size 6, but Hopper-v5 has 11 and 3"):
        evaluate(cheetah_model, "Hopper-v5", n_episodes=1, progress=False)
    with raises_one_line("states of size 11 and actions of size 3, but HalfCheetah-v5 has 17 and 6"):
        evaluate(hopper_model, "HalfCheetah-v5", n_episodes=1, progress=False)


def test_unknown_env_and_bad_episode_count_are_user_errors(cheetah_model):
    with raises_one_line("cannot make env 'NoSuchEnv-v0'"):
        evaluate(cheetah_model, "NoSuchEnv-v0", n_episodes=1, progress=False)
    with raises_one_line("n_episodes must be at least 1"):
        evaluate(cheetah_model, n_episodes=0, progress=False)


def test_many_targets_in_one_batch_match_per_target_calls(cheetah_model):
    targets = [0, 3000, 6000]
    batched = evaluate(cheetah_model, target_return=targets, n_episodes=2, seed=3, max_steps=40, progress=False)
    assert [r.target_return for r in batched] == [0.0, 3000.0, 6000.0]
    for target, result in zip(targets, batched):
        single = evaluate(cheetah_model, target_return=target, n_episodes=2, seed=3, max_steps=40, progress=False)
        np.testing.assert_allclose(result.returns, single.returns, rtol=RTOL, atol=ATOL)
        assert result.lengths.tolist() == single.lengths.tolist() == [40, 40]
    assert len({tuple(r.returns) for r in batched}) == 3  # the target changes the actions


def test_return_conditioning_is_the_one_batch_sweep(cheetah_model):
    curve = return_conditioning(cheetah_model, [0, 6000], n_episodes=2, seed=3, max_steps=10, progress=False)
    sweep = evaluate(cheetah_model, target_return=[0, 6000], n_episodes=2, seed=3, max_steps=10, progress=False)
    assert [r.target_return for r in curve] == [0.0, 6000.0]
    for a, b in zip(curve, sweep):
        np.testing.assert_array_equal(a.returns, b.returns)


class _ClosingWatch(gym.Wrapper):
    """A real env that remembers whether it was closed."""

    opened: list = []

    def __init__(self, env):
        super().__init__(env)
        self.closed = False
        _ClosingWatch.opened.append(self)

    def close(self):
        self.closed = True
        super().close()


@pytest.mark.parametrize("start_in_train_mode", [True, False])
def test_a_failing_rollout_closes_envs_and_restores_mode_and_threads(cheetah_model, monkeypatch, start_in_train_mode):
    monkeypatch.setattr(rollout, "make_env", lambda env_id: _ClosingWatch(make_env(env_id)))
    _ClosingWatch.opened = []
    # A policy bug: actions of the wrong size, which the MuJoCo env refuses at its first step.
    buggy = WatchedPolicy(cheetah_model, lambda window, predict: predict(window)[:, :2])
    cheetah_model.train(start_in_train_mode)
    torch.set_num_threads(2)
    try:
        with pytest.raises(ValueError):
            evaluate(buggy, target_return=[0, 6000], n_episodes=2, max_steps=5, progress=False)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(1)
    assert len(_ClosingWatch.opened) == 4 and all(env.closed for env in _ClosingWatch.opened)
    assert cheetah_model.training is start_in_train_mode


def test_the_policy_calls_on_a_cpu_run_on_the_thread_policys_choice(cheetah_model):
    seen = []
    watched = WatchedPolicy(cheetah_model, lambda window, predict: seen.append(torch.get_num_threads()) or predict(window))
    tuner = ThreadTuner(2, probe=2, every=6)
    torch.set_num_threads(2)
    try:
        evaluate(watched, target_return=[0, 6000], n_episodes=2, max_steps=8, threads=tuner, progress=False)
        assert torch.get_num_threads() == 2
        evaluate(watched, n_episodes=2, max_steps=3, threads=1, progress=False)  # a number: that many threads
        torch.set_num_threads(1)  # the default on one thread: nothing to choose
        evaluate(watched, n_episodes=2, max_steps=3, progress=False)
    finally:
        torch.set_num_threads(1)
    best = tuner.choices[0]
    assert len(tuner.choices) == 1 and seen == [1, 1, 2, 2, best, best, 1, 1] + [1, 1, 1] + [1, 1, 1]


def test_the_default_thread_policy_tunes_on_a_cpu_with_several_threads_unless_the_speed_layer_is_off(monkeypatch):
    cpu = torch.device("cpu")
    torch.set_num_threads(2)
    try:
        assert isinstance(speed.thread_policy(None, cpu), ThreadTuner)
        monkeypatch.setattr(speed, "ENABLED", False)
        fixed = speed.thread_policy(None, cpu)
        assert isinstance(fixed, FixedThreads) and fixed.threads == 2
    finally:
        torch.set_num_threads(1)
    assert speed.thread_policy(None, cpu).threads == 1 and speed.thread_policy(3, cpu).threads == 3


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_device_runs_the_policy_there_and_moves_it_back(cheetah_model):
    seen = []
    cheetah_model.embed_ln.register_forward_hook(lambda module, args, out: seen.append(out.device.type))  # once a model call
    on_cpu = evaluate(cheetah_model, n_episodes=2, max_steps=10, progress=False)
    on_gpu = evaluate(cheetah_model, n_episodes=2, max_steps=10, device="cuda", progress=False)
    assert seen == ["cpu"] * 10 + ["cuda"] * 10
    assert next(cheetah_model.parameters()).device.type == "cpu"
    np.testing.assert_allclose(on_gpu.returns, on_cpu.returns, rtol=1e-3)


def test_spearman_rho_matches_scipy_with_ties():
    from scipy.stats import spearmanr

    from dt_tutorial.rollout import spearman_rho

    rng = np.random.default_rng(0)
    x = np.repeat([1500.0, 6000.0, 12000.0], 4)
    y = np.round(rng.normal(size=12) * 3)  # ties on both sides
    assert spearman_rho(x, y) == pytest.approx(spearmanr(x, y).statistic, abs=1e-12)
    assert spearman_rho(x, x * 2) == pytest.approx(1.0)

"""Evaluation feeds the policy the windows training fed it: inputs captured at `predict_actions` while a
real episode runs, compared with the collator's windows over the same steps replayed in a fresh env."""

from __future__ import annotations

import dataclasses

import datasets
import numpy as np
import pytest
import torch
from _helpers import cheetah_model, cheetah_run, one_thread  # noqa: F401 (fixtures)

from dt_tutorial.collator import DecisionTransformerGymDataCollator
from dt_tutorial.data import EPISODE_FEATURES, Trajectories
from dt_tutorial.envs import make_env
from dt_tutorial.rollout import evaluate
from dt_tutorial.train import get_config, make_trainer

pytestmark = pytest.mark.usefixtures("one_thread")

TARGET, SEED = 3000.0, 5


def capture_policy_inputs(model) -> tuple[list[dict], list[torch.Tensor]]:
    """Record every window evaluation passes to `model.predict_actions` and the actions it got back."""
    windows, actions = [], []
    predict = model.predict_actions

    def recording(window):
        chosen = predict(window)
        windows.append({key: value.detach().clone() for key, value in window.items()})
        actions.append(chosen.detach().float().clone())
        return chosen

    model.predict_actions = recording
    return windows, actions


def replay(actions: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(observations before each action [T, state_dim], rewards [T]) of the actions replayed in a fresh env."""
    env = make_env("HalfCheetah-v5")
    obs, _ = env.reset(seed=seed)
    observations, rewards = [], []
    for action in actions:
        observations.append(obs)
        obs, reward, *_ = env.step(action)
        rewards.append(reward)
    env.close()
    return np.array(observations, np.float32), np.array(rewards, np.float32)


def test_evaluation_builds_the_collators_windows_and_clips_timesteps(cheetah_model):
    config = cheetah_model.config
    K, steps = config.context_length, config.context_length + 6
    config.max_ep_len = K + 2  # evaluation must clip timesteps at max_ep_len - 1 past it, as the collator does
    windows, actions = capture_policy_inputs(cheetah_model)
    result = evaluate(cheetah_model, target_return=TARGET, n_episodes=1, seed=SEED, max_steps=steps, progress=False)
    assert len(windows) == steps and result.lengths.tolist() == [steps]
    taken = torch.cat(actions).numpy()  # [steps, act_dim] the one episode's actions
    observations, rewards = replay(taken, SEED)
    assert result.returns[0] == pytest.approx(rewards.sum(), rel=1e-5)  # an independent replay gives the same return

    # Episode t of this dataset is the first t + 1 steps: the collator's window that ends at step t.
    prefixes = datasets.Dataset.from_dict(
        {"observations": [observations[: t + 1] for t in range(steps)], "actions": [taken[: t + 1] for t in range(steps)],
         "rewards": [rewards[: t + 1] for t in range(steps)], "dones": [[False] * (t + 1) for t in range(steps)]},
        features=EPISODE_FEATURES,
    )
    data = dataclasses.replace(Trajectories.from_dataset(prefixes), state_mean=np.array(config.state_mean, np.float32),
                               state_std=np.array(config.state_std, np.float32))  # the model's normalisation
    collator = DecisionTransformerGymDataCollator(data, max_len=K, scale=config.scale, max_ep_len=config.max_ep_len)
    expected = collator.windows(data.episode_starts + np.maximum(0, np.arange(steps) - K + 1))
    seen = {key: torch.cat([w[key] for w in windows]) for key in windows[0]}  # [steps, K, ...]

    for key in ("states", "timesteps", "attention_mask"):
        torch.testing.assert_close(seen[key].to(expected[key].dtype), expected[key], rtol=1e-5, atol=1e-5, msg=key)
    # Step t's own action is not chosen yet: evaluation holds 0 there, the collator the recorded action.
    torch.testing.assert_close(seen["actions"][:, :-1], expected["actions"][:, :-1], rtol=1e-6, atol=1e-6)
    assert not seen["actions"][:, -1].any()
    # Returns-to-go: the collator's are hindsight (what the prefix still earned), evaluation's the target minus what
    # was earned before; on every real step of window t they differ by (target - return of steps 0..t) / scale.
    real = expected["attention_mask"].bool()  # [steps, K]
    offset = ((TARGET - np.cumsum(rewards, dtype=np.float64)) / config.scale).astype(np.float32)  # [steps]
    difference = (seen["returns_to_go"] - expected["returns_to_go"])[..., 0]  # [steps, K]
    torch.testing.assert_close(difference[real], torch.from_numpy(offset)[:, None].expand(-1, K)[real], rtol=0, atol=2e-5)
    assert torch.equal(seen["returns_to_go"][~real], expected["returns_to_go"][~real])  # padding 0 in both

    last_timesteps = seen["timesteps"][:, -1].tolist()
    assert last_timesteps == [min(t, config.max_ep_len - 1) for t in range(steps)] and max(last_timesteps) < config.max_ep_len


def test_the_trainers_collator_and_the_model_config_agree(halfcheetah, tmp_path):
    config = get_config("tiny", device="cpu", context_length=7, scale=250.0, max_ep_len=600)
    trainer = make_trainer(halfcheetah, config, tmp_path, progress=False)
    collator, model_config = trainer.data_collator, trainer.model.config
    assert (collator.max_len, collator.scale, collator.max_ep_len) == (7, 250.0, 600)
    assert (model_config.context_length, model_config.scale, model_config.max_ep_len) == (7, 250.0, 600)
    np.testing.assert_array_equal(collator.state_mean, np.array(model_config.state_mean, np.float32))
    np.testing.assert_array_equal(collator.state_std, np.array(model_config.state_std, np.float32))
    assert trainer.model.embed_timestep.num_embeddings == 600  # every clipped timestep has an embedding

"""What evaluation feeds the model, checked against independent references.

The model's inputs are captured with forward pre-hooks on its embedding layers (what the transformer reads, after
any conversion of the return-to-go) and the attention mask from the window the policy is given, so the checks hold
for any rollout that ends in the model's embeddings (the full forward or `speed.LastActionPolicy`). The references are a
fresh env replaying the actions the rollout took, and the training collator's windows of the same steps.
"""

from __future__ import annotations

import datasets
import numpy as np
import pytest
import torch
from _helpers import WatchedPolicy, cheetah_model, cheetah_run, one_thread  # noqa: F401 (fixtures)

from dt_tutorial.collator import DecisionTransformerGymDataCollator
from dt_tutorial.data import Trajectories
from dt_tutorial.schema import EPISODE_FEATURES
from dt_tutorial.sources import load_episodes
from dt_tutorial.envs import make_env
from dt_tutorial.model import conditioned, state_normalisation
from dt_tutorial.rollout import evaluate, return_conditioning
from dt_tutorial.train import get_config, make_trainer

pytestmark = pytest.mark.usefixtures("one_thread")


class CapturedInputs:
    """Every model call's inputs: states, actions, returns-to-go, timesteps ([n, K, ...]) and attention mask [n, K]."""

    LAYERS = {"embed_state": "states", "embed_action": "actions", "embed_return": "returns_to_go", "embed_timestep": "timesteps"}

    def __init__(self, model):
        self.calls: list[dict[str, torch.Tensor]] = []
        self.hooks = [getattr(model, layer).register_forward_pre_hook(self._keep(key)) for layer, key in self.LAYERS.items()]

        def keep_mask(window, predict):
            self.calls.append({})  # this call's entry, which the embedding hooks fill
            actions = predict(window)
            self.calls[-1]["attention_mask"] = window["attention_mask"].detach().float().cpu().clone()  # [n, K]
            return actions

        self.policy = WatchedPolicy(model, keep_mask)  # the model as the rollout runs it, each call watched

    def _keep(self, key):
        def hook(module, args):
            self.calls[-1][key] = args[0].detach().float().cpu().clone()
        return hook

    def remove(self):
        for hook in self.hooks:
            hook.remove()


def captured(model, **evaluate_kwargs):
    capture = CapturedInputs(model)
    try:
        result = evaluate(capture.policy, progress=False, **evaluate_kwargs)
    finally:
        capture.remove()
    return result, capture.calls


def replay(env_id: str, seed: int, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Step a fresh env from reset(seed) with `actions` [T, act_dim]: (observations [T + 1, state_dim], rewards [T])."""
    env = make_env(env_id)
    observations, rewards = [env.reset(seed=seed)[0]], []
    for action in actions:
        obs, reward, *_ = env.step(action)
        observations.append(obs)
        rewards.append(reward)
    env.close()
    return np.array(observations), np.array(rewards)


@pytest.mark.parametrize("pace", [True, False], ids=["return-pace", "return-to-go"])
def test_evaluation_windows_are_the_collators_windows_of_the_same_steps(cheetah_model, pace):
    cheetah_model.config.return_pace = pace
    config, K, T, target, seed = cheetah_model.config, cheetah_model.config.context_length, cheetah_model.config.context_length + 6, 3000.0, 5
    _, calls = captured(cheetah_model, target_return=target, n_episodes=1, seed=seed, max_steps=T)
    assert len(calls) == T
    taken = np.stack([calls[t + 1]["actions"][0, K - 2].numpy() for t in range(T - 1)])  # step t's action: in window t + 1
    observations, rewards = replay(config.env_id, seed, taken)
    # Episode t of the reference data: steps 0..t, its last reward making the return-to-go of step i
    # target - (rewards before i), what evaluation conditions on. Its last action is unknown at step t (evaluation: 0).
    episodes = [
        {"observations": observations[: t + 1], "actions": np.vstack([taken[:t], np.zeros((1, config.act_dim))]),
         "rewards": np.append(rewards[:t], target - rewards[:t].sum()), "dones": np.zeros(t + 1, dtype=bool)}
        for t in range(T)
    ]
    data = Trajectories.from_dataset(datasets.Dataset.from_list(episodes, features=EPISODE_FEATURES))
    collator = DecisionTransformerGymDataCollator(data, max_len=K, scale=config.scale, max_ep_len=config.max_ep_len)
    # What training feeds the model for the window of step t (ending at t), the return-to-go as a pace or as a sum.
    reference = conditioned(config, collator.windows(data.episode_starts + np.maximum(0, np.arange(T) - K + 1)))
    mean, std = state_normalisation(config)
    for t, call in enumerate(calls):
        np.testing.assert_allclose(call["states"][0].numpy() * std + mean,  # both denormalised: padding is the zero state
                                   reference["states"][t].numpy() * collator.state_std + collator.state_mean, atol=1e-4, err_msg=f"step {t}")
        torch.testing.assert_close(call["actions"][0, : K - 1], reference["actions"][t, : K - 1], msg=f"step {t}")
        assert not call["actions"][0, K - 1].any()
        torch.testing.assert_close(call["returns_to_go"][0], reference["returns_to_go"][t], atol=1e-5, rtol=1e-5, msg=f"step {t}")
        assert torch.equal(call["timesteps"][0], reference["timesteps"][t].float()), f"step {t}"
        assert torch.equal(call["attention_mask"][0], reference["attention_mask"][t]), f"step {t}"


def test_evaluation_clips_timesteps_past_max_ep_len(cheetah_model):
    K = cheetah_model.config.context_length
    cheetah_model.config.max_ep_len = K  # the smallest a window allows; the timestep table is larger: only the clipping limits them
    _, calls = captured(cheetah_model, n_episodes=1, max_steps=K + 10)
    for t, call in enumerate(calls):
        real = call["attention_mask"][0].bool()
        steps = torch.arange(t - int(real.sum()) + 1, t + 1)  # the real steps in window t
        assert torch.equal(call["timesteps"][0, real], steps.clamp(max=K - 1).float()), f"step {t}"
    assert calls[-1]["timesteps"].max() == K - 1


def test_return_conditioning_returns_are_those_of_the_actions_taken(cheetah_model):
    targets, n_episodes, seed, steps = [0.0, 6000.0], 2, 3, 12
    capture = CapturedInputs(cheetah_model)
    try:
        curve = return_conditioning(capture.policy, targets, n_episodes=n_episodes, seed=seed, max_steps=steps, progress=False)
        last = evaluate(capture.policy, target_return=targets, n_episodes=n_episodes, seed=seed, max_steps=steps + 1, progress=False)
    finally:
        capture.remove()
    # The second run repeats the first for `steps` steps (same seeds, same policy) and one more: its last window holds every action.
    final_window = capture.calls[-1]["actions"]  # [n_targets * n_episodes, K, act_dim]
    K = cheetah_model.config.context_length
    assert steps < K and [r.target_return for r in last] == targets
    for i, result in enumerate(curve):
        for episode in range(n_episodes):
            actions = final_window[i * n_episodes + episode, K - 1 - steps : K - 1].numpy()  # [steps, act_dim]
            _, rewards = replay(cheetah_model.config.env_id, seed + episode, actions)
            assert result.returns[episode] == pytest.approx(rewards.sum(), rel=1e-6, abs=1e-6)
    assert curve[0].returns.mean() != pytest.approx(curve[1].returns.mean())  # the target changes the actions


def test_the_trainers_collator_and_model_config_agree(tmp_path):
    data = Trajectories.from_dataset(load_episodes("bundled").select(range(20)), "bundled-20")
    trainer = make_trainer(data, get_config("tiny", context_length=7, scale=250.0, max_ep_len=600), tmp_path, progress=False)
    collator, config = trainer.data_collator, trainer.model.config
    assert (collator.max_len, collator.scale, collator.max_ep_len) == (config.context_length, config.scale, config.max_ep_len) == (7, 250.0, 600)
    np.testing.assert_array_equal(collator.state_mean, state_normalisation(config)[0])
    np.testing.assert_array_equal(collator.state_std, state_normalisation(config)[1])
    assert trainer.model.embed_timestep.num_embeddings == config.max_ep_len

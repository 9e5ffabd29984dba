"""bc.py: the behaviour-cloning baseline trains with the DT's Trainer and runs through the same evaluation."""

from __future__ import annotations

import datasets
import numpy as np
import pytest
import torch
from _helpers import one_thread  # noqa: F401 (fixture)
from conftest import raises_one_line

from dt_tutorial.bc import BC_SETTINGS, BCPolicy, bc_train_config, load_bc, loss_plateau, top_episodes, train_bc
from dt_tutorial.data import Trajectories
from dt_tutorial.schema import EPISODE_FEATURES
from dt_tutorial.rollout import evaluate
from dt_tutorial.video import read_video, record_video

pytestmark = pytest.mark.usefixtures("one_thread")

STEPS = 20


@pytest.fixture(scope="module")
def bc_run(halfcheetah_episodes, tmp_path_factory):
    config = bc_train_config("tiny", device="cpu", max_steps=STEPS, save_steps=1000)
    return train_bc(halfcheetah_episodes, "halfcheetah-test", config, tmp_path_factory.mktemp("bc"),
                    hidden_sizes=(32, 32), progress=False)


def test_bc_trains_with_the_trainer_and_its_loss_falls(bc_run):
    losses = [h["loss"] for h in bc_run.history if "loss" in h]
    assert bc_run.trainer.state.global_step == STEPS
    assert losses[-1] < losses[0]
    config = bc_run.model.config
    assert config.context_length == 1 and config.env_id == "HalfCheetah-v5" and config.dataset_name == "halfcheetah-test"


def test_bc_runs_through_evaluate_and_ignores_the_target(bc_run):
    low, high = evaluate(bc_run.model, target_return=[0.0, 12000.0], n_episodes=2, max_steps=15, progress=False)
    assert low.returns.shape == (2,) and np.all(low.lengths == 15)
    np.testing.assert_allclose(low.returns, high.returns)  # BC has no return input: a flat achieved-vs-target curve


def test_bc_acts_on_the_last_state_only(bc_run):
    policy = bc_run.model.eval()
    state = torch.randn(3, 1, 17)
    window = {"states": state, "attention_mask": torch.ones(3, 1)}
    longer = {"states": torch.cat([torch.randn(3, 4, 17), state], dim=1), "attention_mask": torch.ones(3, 5)}
    with torch.no_grad():
        np.testing.assert_allclose(policy.predict_actions(window), policy.predict_actions(longer))
        assert policy.predict_actions(window).abs().max() <= 1  # tanh output: inside HalfCheetah's action box


def test_bc_records_a_video(bc_run, tmp_path):
    result = record_video(bc_run.model, tmp_path / "bc.mp4", max_steps=10, progress=False)
    assert len(result.frames) == 11 and read_video(tmp_path / "bc.mp4").shape[0] == 11


def test_save_load_round_trip(bc_run):
    loaded = load_bc(bc_run.output_dir)
    assert isinstance(loaded, BCPolicy) and loaded.config.state_mean == bc_run.model.config.state_mean
    for name, tensor in bc_run.model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[name], tensor)
    a = evaluate(loaded, n_episodes=1, max_steps=10, progress=False)
    b = evaluate(bc_run.model, n_episodes=1, max_steps=10, progress=False)
    np.testing.assert_allclose(a.returns, b.returns, rtol=1e-5)  # same weights; float rounding may differ


def test_load_bc_without_a_run_says_so(tmp_path):
    with raises_one_line("no saved BC policy"):
        load_bc(tmp_path)


def episodes_with_returns(returns) -> datasets.Dataset:
    """One-step episodes whose single reward is the given return; the observation records the episode index."""
    n = len(returns)
    return datasets.Dataset.from_dict(
        {
            "observations": [np.full((1, 2), i, np.float32) for i in range(n)],
            "actions": [np.zeros((1, 1), np.float32) for _ in range(n)],
            "rewards": [np.array([r], np.float32) for r in returns],
            "dones": [np.array([True]) for _ in range(n)],
        },
        features=EPISODE_FEATURES,
    )


def kept(episodes) -> list[int]:
    return [int(obs[0][0]) for obs in episodes["observations"]]


def test_top_fraction_keeps_exactly_the_best_episodes_in_order():
    returns = [5.0, 1.0, 9.0, 3.0, 7.0, 2.0, 8.0, 4.0, 6.0, 0.0]
    assert kept(top_episodes(episodes_with_returns(returns), 0.3)) == [2, 4, 6]  # 9, 7, 8 in dataset order
    assert kept(top_episodes(episodes_with_returns(returns * 3), 0.1)) == [2, 12, 22]
    assert len(top_episodes(episodes_with_returns(np.arange(100.0)), 0.07)) == 7  # 0.07 * 100 is 7.000000000000001 in floats
    assert kept(top_episodes(episodes_with_returns(returns), 0.01)) == [2]  # at least one
    assert len(top_episodes(episodes_with_returns(returns), 1.0)) == 10


def test_top_fraction_ties_go_to_the_earlier_episode():
    assert kept(top_episodes(episodes_with_returns([1.0, 5.0, 5.0, 5.0, 0.0]), 0.4)) == [1, 2]


def test_top_fraction_trains_on_the_kept_episodes_only(halfcheetah_episodes, tmp_path):
    returns = Trajectories.from_dataset(halfcheetah_episodes).episode_returns
    config = bc_train_config("tiny", device="cpu", max_steps=2, save_steps=1000)
    run = train_bc(halfcheetah_episodes, "halfcheetah-test", config, tmp_path, top_fraction=0.33, hidden_sizes=(8,), progress=False)
    best = Trajectories.from_dataset(halfcheetah_episodes.select([int(np.argmax(returns))]))
    np.testing.assert_allclose(run.model.config.state_mean, best.state_mean, rtol=1e-6)
    assert run.model.config.top_fraction == 0.33


@pytest.mark.parametrize("fraction", [0.0, 1.5])
def test_top_fraction_out_of_range_is_a_user_error(fraction):
    with raises_one_line("top_fraction must be in"):
        top_episodes(episodes_with_returns([1.0, 2.0]), fraction)


def test_bc_has_its_own_settings_and_a_preset_gives_the_dts():
    own, dt = bc_train_config(), bc_train_config("demo")
    assert (own.max_steps, own.batch_size, own.max_grad_norm) == (BC_SETTINGS["max_steps"], BC_SETTINGS["batch_size"], BC_SETTINGS["max_grad_norm"])
    assert (dt.max_steps, dt.batch_size, dt.max_grad_norm) == (3000, 64, 0.25)  # the demo preset's
    assert own.context_length == dt.context_length == 1 and own.dropout == dt.dropout == 0.0
    assert bc_train_config(max_steps=7).max_steps == 7


def test_loss_plateau_measures_how_much_the_loss_still_moves():
    def history(losses):
        return [{"step": 10 * (i + 1), "loss": loss} for i, loss in enumerate(losses)]

    assert loss_plateau(history([1.0] * 10)) == 0.0
    assert loss_plateau(history([10, 9, 8, 7, 6, 5, 4, 3, 2, 1])) == pytest.approx(1.5 / 3.5 - 1)  # still falling: -57 %
    with raises_one_line("too few logged losses"):
        loss_plateau(history([1.0]))


def test_bc_trains_on_full_batches_even_from_fewer_episodes(halfcheetah_episodes, tmp_path):
    """The Trainer hands over one row per episode, so a top fraction smaller than a batch must not shrink the batch."""
    config = bc_train_config("tiny", device="cpu", max_steps=1, save_steps=1000, batch_size=64)
    run = train_bc(halfcheetah_episodes, "halfcheetah-test", config, tmp_path, top_fraction=0.1, hidden_sizes=(8,), progress=False)
    batch = run.trainer.data_collator([None] * 2)  # two rows, as the Trainer hands over for a two-episode dataset
    assert batch["states"].shape[0] == 64
    assert run.trainer.state.epoch < 1  # an epoch is a pass over the steps, not one step per handful of episodes

"""pretrained.py + load_model(stats_from=...): checkpoints in the hub's plain DecisionTransformerModel format.

The checkpoints here are saved in exactly the format of edbeeching/decision-transformer-gym-* (config.json
without state_mean/std, scale, context_length or env_id; hidden 128, 3 layers, 1 head, relu, tanh actions),
randomly initialised: the hub itself is out of reach in the tests.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from transformers import DecisionTransformerConfig, DecisionTransformerModel

from _helpers import one_thread, run_cli  # noqa: F401  (fixture)
from conftest import raises_one_line
from dt_tutorial.data import Trajectories
from dt_tutorial.sources import load_episodes
from dt_tutorial.model import TrainableDT, load_model
from dt_tutorial.pretrained import HUB_CHECKPOINTS, checkpoint_sources
from dt_tutorial.rollout import evaluate

pytestmark = pytest.mark.usefixtures("one_thread")


def save_hub_style_checkpoint(folder, state_dim: int, act_dim: int):
    """A randomly initialised checkpoint whose config.json is the hub checkpoints' (no dt_tutorial keys)."""
    config = DecisionTransformerConfig(
        state_dim=state_dim, act_dim=act_dim, hidden_size=128, n_layer=3, n_head=1, n_positions=1024, max_ep_len=1000,
        action_tanh=True, activation_function="relu", n_inner=None,
    )
    DecisionTransformerModel(config).save_pretrained(folder)
    saved = json.loads((folder / "config.json").read_text())
    assert not {"state_mean", "state_std", "scale", "context_length", "env_id"} & set(saved)
    return folder


@pytest.fixture(scope="module")
def cheetah_checkpoint(tmp_path_factory):
    return save_hub_style_checkpoint(tmp_path_factory.mktemp("hub") / "plain-cheetah-dt", 17, 6)


@pytest.fixture(scope="module")
def local_cheetah_data(halfcheetah_episodes, tmp_path_factory):
    folder = tmp_path_factory.mktemp("data") / "halfcheetah-local"
    halfcheetah_episodes.save_to_disk(str(folder))
    return folder


def test_stats_from_a_dataset_are_the_training_stats(cheetah_checkpoint, local_cheetah_data):
    model = load_model(cheetah_checkpoint, stats_from=str(local_cheetah_data))
    data = Trajectories.from_dataset(load_episodes(str(local_cheetah_data)))
    np.testing.assert_array_equal(np.asarray(model.config.state_mean, np.float32), data.state_mean)
    np.testing.assert_array_equal(np.asarray(model.config.state_std, np.float32), data.state_std)
    assert (model.config.context_length, model.config.scale, model.config.env_id) == (20, 1000.0, "HalfCheetah-v5")
    assert model.config.dataset_name == "halfcheetah-local"


def test_a_hub_checkpoint_evaluates_like_one_given_the_stats_by_hand(cheetah_checkpoint, local_cheetah_data):
    loaded = load_model(cheetah_checkpoint, stats_from=str(local_cheetah_data))
    by_hand = TrainableDT.from_pretrained(str(cheetah_checkpoint)).eval()
    states = np.concatenate(load_episodes(str(local_cheetah_data)).with_format("numpy")["observations"])
    by_hand.config.state_mean = states.mean(axis=0, dtype=np.float64).astype(np.float32).tolist()
    by_hand.config.state_std = (states.std(axis=0, dtype=np.float64) + 1e-6).astype(np.float32).tolist()
    by_hand.config.scale, by_hand.config.context_length, by_hand.config.env_id = 1000.0, 20, "HalfCheetah-v5"
    a = evaluate(loaded, target_return=6000.0, n_episodes=2, max_steps=40, progress=False)
    b = evaluate(by_hand, target_return=6000.0, n_episodes=2, max_steps=40, progress=False)
    np.testing.assert_allclose(a.returns, b.returns, rtol=1e-5)
    assert a.lengths.tolist() == [40, 40]


def test_cli_evaluates_a_hub_checkpoint_with_stats_from_and_renders(cheetah_checkpoint, local_cheetah_data, tmp_path):
    video = tmp_path / "hub.gif"
    result = run_cli("evaluate", "--model", cheetah_checkpoint, "--stats-from", local_cheetah_data, "--episodes", 1,
                     "--max-steps", 15, "--video", video, "--no-progress")
    assert result.returncode == 0, result.stderr
    assert "HalfCheetah-v5 target 12000" in result.stdout and video.stat().st_size > 0


def test_without_a_stats_source_the_error_names_stats_from(cheetah_checkpoint):
    with raises_one_line("lacks state_mean, state_std, scale, context_length in its config.json.*--stats-from DATASET"):
        load_model(cheetah_checkpoint)


def test_a_folder_named_like_a_hub_checkpoint_takes_stats_from_its_hub_dataset(tmp_path):
    checkpoint = save_hub_style_checkpoint(tmp_path / "decision-transformer-gym-hopper-medium-replay", 11, 3)
    # The tests are offline: the attempt to download the inferred dataset is what shows it was inferred.
    with raises_one_line("cannot download .*hopper-medium-replay-v2"):
        load_model(checkpoint)


@pytest.mark.parametrize("model_id", sorted(HUB_CHECKPOINTS))
def test_each_hub_checkpoint_id_names_its_dataset_and_env(model_id):
    env, quality = model_id.removeprefix("edbeeching/decision-transformer-gym-").split("-", 1)
    expected_env = {"halfcheetah": "HalfCheetah-v5", "hopper": "Hopper-v5", "walker2d": "Walker2d-v5"}[env]
    assert checkpoint_sources(model_id) == (f"{env}-{quality}-v2", expected_env)
    assert HUB_CHECKPOINTS[model_id] == (f"{env}-{quality}-v2", expected_env)


def test_nine_hub_checkpoints_and_unknown_names():
    assert len(HUB_CHECKPOINTS) == 9
    assert checkpoint_sources("someone/my-decision-transformer") is None


def test_stats_of_another_size_give_one_line(tmp_path, local_cheetah_data):
    checkpoint = save_hub_style_checkpoint(tmp_path / "plain-hopper-dt", 11, 3)
    with raises_one_line("takes states of size 11 and actions of size 3, but halfcheetah-local has 17 and 6"):
        load_model(checkpoint, stats_from=str(local_cheetah_data))


def test_an_env_of_another_size_gives_one_line(cheetah_checkpoint, local_cheetah_data):
    model = load_model(cheetah_checkpoint, stats_from=str(local_cheetah_data), env_id="Hopper-v5")
    with raises_one_line("states of size 17 and actions of size 6, but Hopper-v5 has 11 and 3"):
        evaluate(model, n_episodes=1, max_steps=5, progress=False)

"""data.py and sources/: loading from every kind of source, validation, and the flat `Trajectories` form."""

from __future__ import annotations

import pickle
import re

import datasets
import huggingface_hub.constants
import numpy as np
import pytest

from conftest import raises_one_line, synthetic_episodes
from dt_tutorial.data import Trajectories, discount_cumsum, returns_to_go
from dt_tutorial.sources import load_episodes
from dt_tutorial.sources.hub import HUB_CONFIGS, load_hub_episodes, read_parquet_export
from dt_tutorial.errors import UserError


def flat(ds: datasets.Dataset, column: str) -> np.ndarray:
    """All steps of `column` concatenated, straight from the rows."""
    return np.concatenate([np.asarray(row, dtype=np.float64) for row in ds[column]])


def assert_same_episodes(loaded: datasets.Dataset, original: datasets.Dataset) -> None:
    assert len(loaded) == len(original)
    for column in ("observations", "actions", "rewards"):
        np.testing.assert_array_equal(flat(loaded, column), flat(original, column))
    assert [list(map(bool, d)) for d in loaded["dones"]] == [list(d) for d in original["dones"]]


# --- pure helpers -------------------------------------------------------------------------------


@pytest.mark.parametrize("gamma", [1.0, 0.99, 0.5])
def test_discount_cumsum_is_the_discounted_suffix_sum(gamma):
    x = np.random.default_rng(0).normal(size=17)
    expected = [sum(gamma**k * x[t + k] for k in range(len(x) - t)) for t in range(len(x))]
    np.testing.assert_allclose(discount_cumsum(x, gamma), expected, rtol=1e-12)
    assert discount_cumsum(np.zeros(0), gamma).shape == (0,)


def test_returns_to_go_restarts_at_every_episode():
    lengths = np.array([4, 1, 6, 2])
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    rewards = np.random.default_rng(1).normal(size=lengths.sum()).astype(np.float32)
    rtg = returns_to_go(rewards, starts, lengths)
    assert rtg.dtype == np.float32 and rtg.shape == rewards.shape
    for start, n in zip(starts, lengths):
        np.testing.assert_allclose(rtg[start : start + n], discount_cumsum(rewards[start : start + n], 1.0), rtol=1e-5, atol=1e-6)


# --- Trajectories -------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["hopper", "halfcheetah"])
def test_trajectories_equal_a_direct_numpy_computation(which, request):
    ds = request.getfixturevalue(f"{which}_episodes")
    traj = request.getfixturevalue(which)
    states = np.concatenate([np.asarray(o, dtype=np.float32) for o in ds["observations"]])
    lengths = np.array([len(r) for r in ds["rewards"]])

    np.testing.assert_array_equal(traj.observations, states)
    np.testing.assert_array_equal(traj.actions, np.concatenate([np.asarray(a, dtype=np.float32) for a in ds["actions"]]))
    np.testing.assert_array_equal(traj.rewards, flat(ds, "rewards").astype(np.float32))
    np.testing.assert_array_equal(traj.dones, np.concatenate([np.asarray(d, dtype=bool) for d in ds["dones"]]))
    np.testing.assert_array_equal(traj.episode_lengths, lengths)
    np.testing.assert_array_equal(traj.episode_starts, np.cumsum(lengths) - lengths)
    # The tutorial's statistics: np.mean / np.std over all states, + 1e-6.
    np.testing.assert_allclose(traj.state_mean, np.mean(states, axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(traj.state_std, np.std(states, axis=0) + 1e-6, rtol=1e-5, atol=1e-6)
    for i, rewards in enumerate(ds["rewards"]):
        episode = traj.episode(i)
        np.testing.assert_array_equal(episode["observations"], np.asarray(ds[i]["observations"], dtype=np.float32))
        np.testing.assert_allclose(episode["returns_to_go"], discount_cumsum(np.asarray(rewards), 1.0), rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(traj.episode_returns, [np.sum(r, dtype=np.float64) for r in ds["rewards"]], rtol=1e-5)
    assert (traj.n_episodes, traj.n_steps, traj.state_dim) == (len(ds), lengths.sum(), states.shape[1])
    for array in (traj.observations, traj.actions, traj.rewards, traj.returns_to_go, traj.state_mean, traj.state_std):
        assert array.dtype == np.float32


def test_trajectories_know_their_env_from_the_name(hopper, halfcheetah):
    assert (hopper.env_id, halfcheetah.env_id) == ("Hopper-v5", "HalfCheetah-v5")


def test_length_one_episodes_work():
    traj = Trajectories.from_dataset(synthetic_episodes([1, 3, 1]))
    np.testing.assert_array_equal(traj.episode_lengths, [1, 3, 1])
    np.testing.assert_array_equal(traj.episode_starts, [0, 1, 4])
    np.testing.assert_array_equal(traj.returns_to_go[[0, 4]], traj.rewards[[0, 4]])


def test_empty_episodes_are_dropped_with_a_warning():
    ds = synthetic_episodes([3, 0, 2, 0])
    with pytest.warns(UserWarning, match="dropping 2 empty episode"):
        traj = Trajectories.from_dataset(ds)
    np.testing.assert_array_equal(traj.episode_lengths, [3, 2])
    np.testing.assert_array_equal(traj.observations, np.concatenate([ds[0]["observations"], ds[2]["observations"]]))


def test_a_dataset_of_only_empty_episodes_is_an_error():
    with raises_one_line("every episode is empty"):
        Trajectories.from_dataset(synthetic_episodes([0, 0]))


def test_no_episodes_is_an_error():
    with raises_one_line("no episodes"):
        Trajectories.from_dataset(synthetic_episodes([3]).select([]))


def broken(column: str, episode: int, value) -> datasets.Dataset:
    """Three synthetic episodes with `column` of one episode replaced (no schema, so anything goes)."""
    rows = synthetic_episodes([4, 5, 3]).to_dict()
    rows[column][episode] = value
    return datasets.Dataset.from_dict(rows)


def flat_observations() -> datasets.Dataset:
    """Observations stored as one number per step instead of a vector."""
    ds = synthetic_episodes([4, 5, 3])
    return ds.remove_columns("observations").add_column("observations", ds["rewards"])


@pytest.mark.parametrize(
    "dataset, message",
    [
        (lambda: synthetic_episodes([3, 2]).remove_columns("rewards"), "lacks column.s. rewards"),
        (lambda: broken("observations", 1, np.ones((5, 4)).tolist()), "observations.*episode 1 has steps of width 4"),
        (lambda: broken("observations", 2, [[0.0] * 3, [0.0] * 3, [0.0] * 2]), "observations.*episode 2"),
        (lambda: broken("actions", 1, np.ones((4, 2)).tolist()), "episode 1 has 5 observations but 4 actions"),
        (lambda: broken("rewards", 0, [1.0, 2.0]), "episode 0 has 4 observations but 2 rewards"),
        (lambda: broken("dones", 2, [False, True]), "episode 2 has 3 observations but 2 dones"),
        (lambda: broken("rewards", 1, [0.0, 1.0, np.nan, 0.0, 0.0]), "rewards hold NaN or inf .episode 1"),
        (lambda: broken("observations", 2, [[0.0] * 3, [np.inf, 0.0, 0.0], [0.0] * 3]), "observations hold NaN or inf .episode 2"),
        (lambda: broken("actions", 0, [[0.0, -np.inf]] * 4), "actions hold NaN or inf .episode 0"),
        (lambda: broken("dones", 1, [0.0, 0.5, 0.0, 0.0, 1.0]), "dones must be booleans"),
        (lambda: flat_observations(), "observations.*one vector per step"),
    ],
    ids=["missing", "width", "ragged", "n-actions", "n-rewards", "n-dones", "nan", "inf-obs", "inf-act", "dones", "flat-obs"],
)
def test_invalid_data_is_a_one_line_user_error(dataset, message):
    with pytest.raises(UserError, match=message) as error:
        Trajectories.from_dataset(dataset())
    assert "\n" not in str(error.value)


def test_integer_dones_and_terminals_column_are_accepted():
    rows = synthetic_episodes([2, 3]).to_dict()
    rows["terminals"] = [[0, 1], [0, 0, 1]]
    del rows["dones"]
    traj = Trajectories.from_dataset(datasets.Dataset.from_dict(rows))
    np.testing.assert_array_equal(traj.dones, [False, True, False, False, True])


# --- loading ------------------------------------------------------------------------------------


def test_read_parquet_export_reads_the_hub_layout(tmp_path, hopper_episodes, halfcheetah_episodes):
    hopper_episodes.to_parquet(str(tmp_path / "halfcheetah-expert-v2" / "train" / "0000.parquet"))
    halfcheetah_episodes.to_parquet(str(tmp_path / "halfcheetah-medium-v2" / "train" / "0000.parquet"))
    assert_same_episodes(read_parquet_export(tmp_path, "halfcheetah-expert-v2"), hopper_episodes)
    assert_same_episodes(read_parquet_export(tmp_path, "halfcheetah-medium-v2"), halfcheetah_episodes)
    with raises_one_line("no parquet files for 'hopper-expert-v2'"):
        read_parquet_export(tmp_path, "hopper-expert-v2")


def test_read_parquet_export_joins_shards_in_order(tmp_path, hopper_episodes):
    split = tmp_path / "hopper-medium-v2" / "train"
    hopper_episodes.select(range(25)).to_parquet(str(split / "0000.parquet"))
    hopper_episodes.select(range(25, 40)).to_parquet(str(split / "0001.parquet"))
    assert_same_episodes(read_parquet_export(tmp_path, "hopper-medium-v2"), hopper_episodes)


def test_hub_offline_without_a_copy_names_the_offline_options(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # huggingface_hub read the variable at import: set what it read too.
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with raises_one_line("cannot download .*halfcheetah-expert-v2.*bundled.*local path") as error:
        load_hub_episodes("halfcheetah-expert-v2", cache_dir=str(tmp_path))
    assert error.value.__cause__ is None  # no chained traceback from huggingface_hub


def test_load_episodes_from_a_save_to_disk_folder(tmp_path, hopper_episodes):
    hopper_episodes.save_to_disk(str(tmp_path / "ds"))
    assert_same_episodes(load_episodes(tmp_path / "ds"), hopper_episodes)
    datasets.DatasetDict({"train": hopper_episodes}).save_to_disk(str(tmp_path / "dict"))
    assert_same_episodes(load_episodes(str(tmp_path / "dict")), hopper_episodes)


def test_load_episodes_from_parquet(tmp_path, hopper_episodes):
    hopper_episodes.to_parquet(str(tmp_path / "episodes.parquet"))
    assert_same_episodes(load_episodes(str(tmp_path / "episodes.parquet")), hopper_episodes)


def test_load_episodes_from_a_d4rl_style_pickle(tmp_path, hopper_episodes):
    raw = [  # the hub repo's raw files: numpy arrays, 'terminals', plus keys we do not use
        {
            "observations": np.asarray(row["observations"]),
            "next_observations": np.asarray(row["observations"]),
            "actions": np.asarray(row["actions"]),
            "rewards": np.asarray(row["rewards"]),
            "terminals": np.asarray(row["dones"]),
        }
        for row in hopper_episodes
    ]
    path = tmp_path / "hopper.pkl"
    path.write_bytes(pickle.dumps(raw))
    assert_same_episodes(load_episodes(str(path)), hopper_episodes)


def test_a_pickle_in_another_layout_is_an_error(tmp_path):
    flat_d4rl = {"observations": np.zeros((5, 3)), "actions": np.zeros((5, 2)), "rewards": np.zeros(5), "terminals": np.zeros(5)}
    (tmp_path / "flat.pkl").write_bytes(pickle.dumps(flat_d4rl))
    with raises_one_line("holds a dict, expected a pickled list of episodes"):
        load_episodes(tmp_path / "flat.pkl")
    (tmp_path / "no_rewards.pkl").write_bytes(pickle.dumps([{k: v for k, v in flat_d4rl.items() if k != "rewards"}]))
    with raises_one_line("episode 0 lacks rewards"):
        load_episodes(tmp_path / "no_rewards.pkl")
    (tmp_path / "text.pkl").write_text("not a pickle")
    with raises_one_line("is not a readable pickle"):
        load_episodes(tmp_path / "text.pkl")


def test_unknown_dataset_names_list_the_valid_ones(tmp_path):
    with raises_one_line("unknown dataset 'halfcheetah-expert'") as error:
        load_episodes("halfcheetah-expert")
    assert "bundled" in str(error.value)
    assert all(name in str(error.value) for name in HUB_CONFIGS)


def test_a_path_that_is_no_dataset_is_an_error(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with raises_one_line(re.escape(str(tmp_path / "notes.txt")) + " is not a dataset"):
        load_episodes(tmp_path / "notes.txt")
    (tmp_path / "empty").mkdir()
    with raises_one_line("is not a dataset"):
        load_episodes(tmp_path / "empty")


def test_a_local_dataset_without_the_columns_is_an_error(tmp_path):
    datasets.Dataset.from_dict({"obs": [[1.0]], "act": [[0.0]]}).to_parquet(str(tmp_path / "x.parquet"))
    with raises_one_line("lacks column.s. observations, actions, rewards, dones"):
        load_episodes(tmp_path / "x.parquet")

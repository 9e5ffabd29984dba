"""The real hub-loading code (`load_hub_episodes` / `load_episodes('<config>')`), run offline.

The hub cannot be reached from CI, so these tests lay out a Hugging Face cache exactly as
`huggingface_hub.snapshot_download(..., revision="refs/convert/parquet")` leaves it (a snapshot folder
holding the parquet export's `<config>/train/*.parquet`, and the ref pointing at its commit) and run the
loader offline: the same calls a user with a network makes, answered from the cache.
"""

import pickle
from pathlib import Path

import huggingface_hub.constants
import numpy as np
import pytest

from dt_tutorial.sources.collect import collect_episodes
from dt_tutorial.sources.policies import Actor
from dt_tutorial.data import Trajectories
from dt_tutorial.sources import load_episodes
from dt_tutorial.sources.hub import HUB_REPO, PARQUET_REVISION, RAW_PICKLE_REVISION, load_hub_episodes
from dt_tutorial.errors import UserError

CONFIG = "halfcheetah-expert-v2"


@pytest.fixture(scope="module")
def real_episodes():
    actor = Actor.shipped("tqc", seed=1)
    return collect_episodes(actor, "HalfCheetah-v5", 3, seed=1, progress=False)


def fill_hub_cache(cache: Path, episodes, commit: str = "0123456789abcdef0123456789abcdef01234567", config: str = CONFIG) -> None:
    """Write `episodes` where huggingface_hub caches the parquet export of HUB_REPO's `config`."""
    repo = cache / ("datasets--" + HUB_REPO.replace("/", "--"))
    split_dir = repo / "snapshots" / commit / config / "train"
    split_dir.mkdir(parents=True)
    episodes.to_parquet(str(split_dir / "0000.parquet"))
    ref = repo / "refs" / PARQUET_REVISION
    ref.parent.mkdir(parents=True)
    ref.write_text(commit)


@pytest.fixture(autouse=True)
def hub_offline(monkeypatch):
    """Offline the way huggingface_hub sees it: it read HF_HUB_OFFLINE once, at import, into this constant."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)


def fill_raw_pickle_cache(cache: Path, episodes, commit: str = "89abcdef0123456789abcdef0123456789abcdef") -> None:
    """Write `episodes` as the hub repo's raw `data/<config>.pkl` (a list of D4RL dicts with 'terminals'), cached at main."""
    repo = cache / ("datasets--" + HUB_REPO.replace("/", "--"))
    raw = [{"observations": np.asarray(e["observations"]), "actions": np.asarray(e["actions"]),
            "rewards": np.asarray(e["rewards"]), "terminals": np.asarray(e["dones"])} for e in episodes]
    path = repo / "snapshots" / commit / "data" / f"{CONFIG}.pkl"
    path.parent.mkdir(parents=True)
    path.write_bytes(pickle.dumps(raw))
    ref = repo / "refs" / "main"
    ref.parent.mkdir(parents=True, exist_ok=True)
    ref.write_text(commit)


def test_hub_loader_falls_back_to_the_raw_pickle_without_a_parquet_export(tmp_path, real_episodes):
    fill_hub_cache(tmp_path, real_episodes, config="walker2d-expert-v2")  # the export exists, without CONFIG
    fill_raw_pickle_cache(tmp_path, real_episodes.select(range(2)), commit=RAW_PICKLE_REVISION)
    loaded = load_hub_episodes(CONFIG, cache_dir=str(tmp_path))
    assert len(loaded) == 2
    ours, theirs = Trajectories.from_dataset(loaded), Trajectories.from_dataset(real_episodes.select(range(2)))
    np.testing.assert_array_equal(ours.observations, theirs.observations)
    np.testing.assert_array_equal(ours.returns_to_go, theirs.returns_to_go)


def test_a_parquet_export_with_the_wrong_schema_is_an_error_not_a_fallback(tmp_path, real_episodes):
    fill_hub_cache(tmp_path, real_episodes.remove_columns("dones"))
    fill_raw_pickle_cache(tmp_path, real_episodes, commit=RAW_PICKLE_REVISION)  # a good raw copy must not hide the broken export
    with pytest.raises(UserError, match=f"{CONFIG} lacks column\\(s\\) dones"):
        load_hub_episodes(CONFIG, cache_dir=str(tmp_path))


def test_hub_loader_reads_the_parquet_export_from_the_cache(tmp_path, real_episodes):
    fill_hub_cache(tmp_path, real_episodes)
    loaded = load_hub_episodes(CONFIG, cache_dir=str(tmp_path))
    assert loaded.column_names == ["observations", "actions", "rewards", "dones"]
    assert len(loaded) == len(real_episodes)
    ours, theirs = Trajectories.from_dataset(loaded), Trajectories.from_dataset(real_episodes)
    np.testing.assert_array_equal(ours.observations, theirs.observations)
    np.testing.assert_array_equal(ours.returns_to_go, theirs.returns_to_go)


def test_load_episodes_by_config_name_uses_the_hub_cache(tmp_path, real_episodes):
    fill_hub_cache(tmp_path, real_episodes)
    loaded = load_episodes(CONFIG, cache_dir=str(tmp_path))
    assert len(loaded) == 3


def test_offline_without_a_cached_copy_is_one_clear_line(tmp_path):
    with pytest.raises(UserError) as err:
        load_hub_episodes(CONFIG, cache_dir=str(tmp_path))
    message = str(err.value)
    assert "\n" not in message
    assert HUB_REPO in message and "bundled" in message and "local path" in message

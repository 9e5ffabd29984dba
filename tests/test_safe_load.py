"""No file runs code on load: real malicious pickles (a `__reduce__` that runs a shell command writing a marker
file) on every path that reads a pickle, and the real files those paths are for still read right."""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
from test_hub_loading import CONFIG, fill_hub_cache, fill_raw_pickle_cache, hub_offline, real_episodes  # noqa: F401 (fixtures)

from conftest import raises_one_line
from dt_tutorial.cli import main
from dt_tutorial.data import Trajectories
from dt_tutorial.errors import UserError
from dt_tutorial.model import TrainableDT, make_config
from dt_tutorial.sources import load_episodes
from dt_tutorial.sources.hub import RAW_PICKLE_REVISION, load_hub_episodes
from dt_tutorial.sources.policies import Actor, read_vecnormalize
from dt_tutorial.safe_load import load_vecnormalize, safe_unpickle

EXPERTS = Path(__file__).resolve().parents[1].parent / "shared" / "experts"
needs_experts = pytest.mark.skipif(not EXPERTS.is_dir(), reason=f"no pretrained agents at {EXPERTS} (../shared/experts)")


class RunsCommand:
    """Unpickling this runs `touch <marker>` (what a hostile file would do with any command)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def hostile_pickle(path: Path, marker: Path, wrap=lambda payload: payload) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(wrap(RunsCommand(marker))))
    return path


def episodes_with_payload(payload):
    """A list of D4RL episode dicts whose first episode's rewards is the payload."""
    rng = np.random.default_rng(0)
    return [{"observations": rng.normal(size=(5, 3)), "actions": rng.normal(size=(5, 2)), "rewards": payload,
             "terminals": np.zeros(5, bool)}]


def one_error_line(capsys, argv) -> str:
    assert main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err.strip()
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and err.endswith(lines[0]), err
    return lines[0]


def test_the_payload_is_real(tmp_path):
    """The marker file appears when the file is unpickled the plain way: the tests below would see it."""
    marker = tmp_path / "ran"
    pickle.loads(pickle.dumps(RunsCommand(marker)))
    assert marker.exists()


@pytest.mark.parametrize("wrap", [lambda p: p, episodes_with_payload], ids=["bare", "inside-episodes"])
def test_train_dataset_pickle_runs_nothing(tmp_path, capsys, wrap):
    marker = tmp_path / "ran"
    path = hostile_pickle(tmp_path / "data.pkl", marker, wrap)
    err = one_error_line(capsys, ["train", "--dataset", path, "--preset", "tiny", "--output", tmp_path / "run"])
    assert not marker.exists()
    assert "posix.system" in err or "os.system" in err


def test_stats_from_pickle_runs_nothing(tmp_path, capsys, halfcheetah):
    run = tmp_path / "model"
    TrainableDT(make_config(halfcheetah, hidden_size=16, n_layer=1, n_head=1)).save_pretrained(run)
    marker = tmp_path / "ran"
    path = hostile_pickle(tmp_path / "stats.pkl", marker, episodes_with_payload)
    one_error_line(capsys, ["evaluate", "--model", run, "--stats-from", path, "--episodes", 1, "--max-steps", 2])
    assert not marker.exists()


def test_hub_fallback_pickle_runs_nothing(tmp_path, real_episodes):  # noqa: F811
    """The parquet export exists but lacks the config (a genuine 'not found'): the pinned raw file is read safely."""
    fill_hub_cache(tmp_path, real_episodes, config="hopper-expert-v2")
    marker = tmp_path / "ran"
    repo = tmp_path / "datasets--edbeeching--decision_transformer_gym_replay"
    hostile_pickle(repo / "snapshots" / RAW_PICKLE_REVISION / "data" / f"{CONFIG}.pkl", marker, episodes_with_payload)
    with raises_one_line("not loaded"):
        load_hub_episodes(CONFIG, cache_dir=str(tmp_path))
    assert not marker.exists()


def test_hub_fallback_reads_the_pinned_revision_only_on_a_genuine_not_found(tmp_path, real_episodes):  # noqa: F811
    fill_raw_pickle_cache(tmp_path, real_episodes.select(range(2)), commit=RAW_PICKLE_REVISION)
    with raises_one_line("cannot download"):  # offline with nothing cached: not a 'not found', no fallback
        load_hub_episodes(CONFIG, cache_dir=str(tmp_path))
    fill_hub_cache(tmp_path, real_episodes, config="hopper-expert-v2")  # the export lacks the config: fall back
    assert len(load_hub_episodes(CONFIG, cache_dir=str(tmp_path))) == 2


@needs_experts
@pytest.mark.parametrize("wrap", [lambda p: p, lambda p: {"obs_rms": p}], ids=["bare", "inside"])
def test_vecnormalize_beside_a_zip_runs_nothing(tmp_path, capsys, wrap):
    agent = tmp_path / "ppo-HalfCheetah-v3.zip"
    shutil.copy(EXPERTS / agent.name, agent)
    marker = tmp_path / "ran"
    hostile_pickle(tmp_path / "ppo-HalfCheetah-v3.vecnormalize.pkl", marker, wrap)
    one_error_line(capsys, ["collect", "--policy", agent, "--episodes", 1, "--output", tmp_path / "out", "--no-progress"])
    assert not marker.exists()
    with raises_one_line("not loaded"):
        Actor.from_sb3(agent)
    assert not marker.exists()


@needs_experts
@pytest.mark.parametrize("name", ["ppo", "a2c", "ars", "trpo"])
def test_real_vecnormalize_reads_as_sb3_reads_it(name):
    vec_normalize = pytest.importorskip("stable_baselines3.common.vec_env.vec_normalize")
    path = EXPERTS / f"{name}-HalfCheetah-v3.vecnormalize.pkl"
    class GymAsGymnasium(pickle.Unpickler):  # SB3's own way (a trusted file), its old gym spaces read as gymnasium's
        def find_class(self, module, name):
            return super().find_class("gymnasium" + module[3:] if module.split(".")[0] == "gym" else module, name)

    with open(path, "rb") as f:
        theirs = GymAsGymnasium(f).load()
    assert isinstance(theirs, vec_normalize.VecNormalize)
    ours = read_vecnormalize(path)
    np.testing.assert_array_equal(ours["obs_mean"], theirs.obs_rms.mean.astype(np.float32))
    np.testing.assert_array_equal(ours["obs_var"], theirs.obs_rms.var.astype(np.float32))
    assert ours["obs_epsilon"] == np.float32(theirs.epsilon) and ours["clip_obs"] == np.float32(theirs.clip_obs)
    assert load_vecnormalize(path).norm_obs is True


def test_plain_dataset_pickles_still_load(tmp_path, halfcheetah_episodes):
    rows = [{k: np.asarray(v) for k, v in halfcheetah_episodes[i].items()} for i in range(2)]
    for protocol in (2, pickle.HIGHEST_PROTOCOL):
        path = tmp_path / f"p{protocol}.pkl"
        path.write_bytes(pickle.dumps(rows, protocol=protocol))
        loaded = Trajectories.from_dataset(load_episodes(path))
        assert loaded.n_episodes == 2 and loaded.state_dim == 17


def test_object_arrays_and_other_classes_are_refused(tmp_path):
    path = tmp_path / "objects.pkl"
    path.write_bytes(pickle.dumps([{"observations": np.array([{"a": 1}], dtype=object)}]))
    with raises_one_line("Python objects"):
        safe_unpickle(path, "test data")
    path.write_bytes(pickle.dumps(Path("x")))
    with raises_one_line("pathlib"):
        load_episodes(path)
    path.write_bytes(pickle.dumps([1, 2, 3])[:-3])
    with pytest.raises(UserError):
        load_episodes(path)

"""sources/minari.py: `--dataset minari:<id>`, on a Minari dataset made locally with minari's own API."""

from __future__ import annotations

import sys

import gymnasium as gym
import numpy as np
import pytest

from _helpers import one_thread  # noqa: F401  (fixture)
from conftest import raises_one_line
from dt_tutorial.data import Trajectories
from dt_tutorial.sources import load_episodes, source_name
from dt_tutorial.rollout import evaluate
from dt_tutorial.train import get_config, train

minari = pytest.importorskip("minari", reason="the [minari] extra is not installed: pip install 'dt-tutorial[minari]'")
pytest.importorskip("h5py", reason="minari's HDF5 backend (h5py) is not installed")

# No "halfcheetah" in the id: the env can only come from the dataset's own metadata.
DATASET_ID = "dttest/cheetah/random-v0"


@pytest.fixture(scope="module")
def minari_dataset(tmp_path_factory):
    """3 random-action HalfCheetah-v5 episodes of 30 steps recorded by minari's DataCollector, and the
    same episodes as seen from outside the wrapper (T+1 observations each)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MINARI_DATASETS_PATH", str(tmp_path_factory.mktemp("minari")))
        env = minari.DataCollector(gym.make("HalfCheetah-v5", max_episode_steps=30))
        rng = np.random.default_rng(0)
        source = []
        for episode in range(3):
            obs, _ = env.reset(seed=episode)
            steps = {"observations": [obs], "actions": [], "rewards": [], "dones": []}
            done = False
            while not done:
                action = rng.uniform(-1, 1, 6).astype(np.float32)
                obs, reward, terminated, truncated, _ = env.step(action)
                for key, value in (("observations", obs), ("actions", action), ("rewards", reward), ("dones", terminated)):
                    steps[key].append(value)
                done = terminated or truncated
            source.append(steps)
        env.create_dataset(
            dataset_id=DATASET_ID, algorithm_name="uniform random actions", eval_env="HalfCheetah-v5", author="dt_tutorial tests",
            author_email="tests@example.invalid", code_permalink="https://example.invalid/dt_tutorial", description="test data",
        )
        env.close()
        yield f"minari:{DATASET_ID}", source


def test_minari_episodes_equal_the_recorded_episodes(minari_dataset):
    name, source = minari_dataset
    episodes = load_episodes(name).with_format("numpy")
    assert len(episodes) == len(source)
    for row, steps in zip(episodes, source):
        np.testing.assert_allclose(row["observations"], np.array(steps["observations"][:-1]), rtol=1e-6)  # T of T+1
        np.testing.assert_allclose(row["actions"], np.array(steps["actions"]), rtol=1e-6)
        np.testing.assert_allclose(row["rewards"], np.array(steps["rewards"]), rtol=1e-6)
        assert row["dones"].tolist() == steps["dones"]


def test_a_minari_dataset_trains_and_evaluates_in_its_metadata_env(minari_dataset, tmp_path):
    name, _ = minari_dataset
    data = Trajectories.from_dataset(load_episodes(name), name=source_name(name))
    assert data.env_id == "HalfCheetah-v5"
    result = train(data, get_config("tiny", device="cpu", max_steps=5), tmp_path / "run", progress=False)
    assert result.model.config.env_id == "HalfCheetah-v5" and result.model.config.dataset_name == name
    evaluation = evaluate(result.model, target_return=100.0, n_episodes=2, max_steps=10, progress=False)
    assert evaluation.lengths.tolist() == [10, 10] and np.isfinite(evaluation.returns).all()


def test_unknown_minari_dataset_is_one_line(minari_dataset):
    with raises_one_line("cannot load Minari dataset 'dttest/cheetah/nothing-v0'"):
        load_episodes("minari:dttest/cheetah/nothing-v0")


def test_without_minari_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "minari", None)  # what `import minari` meets when the extra is not installed
    with raises_one_line(r"pip install 'dt-tutorial\[minari\]'"):
        load_episodes("minari:mujoco/halfcheetah/expert-v0")

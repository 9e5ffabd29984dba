"""Synthetic episodes in the hub dataset's schema, built straight from Arrow arrays (no Python lists).

Random values are enough for speed measurements; the sizes match `halfcheetah-expert-v2`
(1,000 episodes of 1,000 steps, 17-d states, 6-d actions). Saved once with `save_to_disk`, then
loaded memory-mapped, as `load_dataset` gives a hub dataset.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import datasets
import numpy as np
import pyarrow as pa

from dt_tutorial.sources.cache import cache_dir
from dt_tutorial.schema import EPISODE_FEATURES

STATE_DIM, ACT_DIM = 17, 6  # HalfCheetah


def _nested(values: np.ndarray, episode_len: int) -> pa.ListArray:
    """[n_steps(, width)] -> one list per episode (of lists of width floats when 2-d)."""
    n_steps = len(values)
    steps = pa.array(values.reshape(-1))
    if values.ndim == 2:
        width = values.shape[1]
        steps = pa.ListArray.from_arrays(pa.array(np.arange(0, n_steps * width + 1, width, dtype=np.int32)), steps)
    return pa.ListArray.from_arrays(pa.array(np.arange(0, n_steps + 1, episode_len, dtype=np.int32)), steps)


def synthetic_episodes(n_episodes: int, episode_len: int, seed: int = 0) -> datasets.Dataset:
    """`n_episodes` rows of `episode_len` random steps; the last step of each episode is done."""
    rng = np.random.default_rng(seed)
    n_steps = n_episodes * episode_len
    columns = {
        "observations": rng.standard_normal((n_steps, STATE_DIM), dtype=np.float32),
        "actions": rng.uniform(-1, 1, (n_steps, ACT_DIM)).astype(np.float32),
        "rewards": rng.standard_normal(n_steps, dtype=np.float32),
        "dones": np.arange(n_steps) % episode_len == episode_len - 1,
    }
    table = pa.table({name: _nested(values, episode_len) for name, values in columns.items()})
    table = table.cast(EPISODE_FEATURES.arrow_schema)
    return datasets.Dataset(datasets.table.InMemoryTable(table), info=datasets.DatasetInfo(features=EPISODE_FEATURES))


def cached_synthetic_path(n_episodes: int, episode_len: int, seed: int = 0) -> Path:
    """A `save_to_disk` folder of `synthetic_episodes(...)` under the dt_tutorial cache, made once."""
    path = cache_dir() / "benchmarks" / f"synthetic-{n_episodes}x{episode_len}-seed{seed}"
    if not (path / "dataset_info.json").exists():
        tmp = path.with_name(path.name + f".tmp{os.getpid()}")
        synthetic_episodes(n_episodes, episode_len, seed).save_to_disk(str(tmp))
        if path.exists():  # another process made it meanwhile
            shutil.rmtree(tmp)
        else:
            tmp.replace(path)
    return path


def load_synthetic(n_episodes: int, episode_len: int, seed: int = 0) -> datasets.Dataset:
    """The cached synthetic dataset, memory-mapped from disk."""
    return datasets.load_from_disk(str(cached_synthetic_path(n_episodes, episode_len, seed)))

"""Episodes from local files: a `save_to_disk` folder, parquet files, or a pickle in the hub repo's raw layout."""

from __future__ import annotations

import pickle
from pathlib import Path

import datasets
import numpy as np

from dt_tutorial.errors import UserError
from dt_tutorial.schema import COLUMNS, EPISODE_FEATURES, check_columns


def read_pickle_episodes(path: str | Path) -> datasets.Dataset:
    """The hub repo's raw files: a pickled list of dicts of numpy arrays (D4RL's 'terminals' = our 'dones')."""
    with open(path, "rb") as f:
        try:
            episodes = pickle.load(f)
        except (pickle.UnpicklingError, EOFError) as err:
            raise UserError(f"{path} is not a readable pickle ({err})") from None
    expected = f"a pickled list of episodes (dicts with {', '.join(COLUMNS[:3])} and dones or terminals)"
    if not isinstance(episodes, (list, tuple)) or not all(isinstance(e, dict) for e in episodes):
        raise UserError(f"{path} holds a {type(episodes).__name__}, expected {expected}")
    columns = {name: [] for name in COLUMNS}
    for i, episode in enumerate(episodes):
        missing = [k for k in COLUMNS[:3] if k not in episode] + ([] if "dones" in episode or "terminals" in episode else ["dones"])
        if missing:
            raise UserError(f"{path}: episode {i} lacks {', '.join(missing)}; expected {expected}")
        columns["observations"].append(np.asarray(episode["observations"], dtype=np.float32))
        columns["actions"].append(np.asarray(episode["actions"], dtype=np.float32))
        columns["rewards"].append(np.asarray(episode["rewards"], dtype=np.float32).reshape(-1))
        dones = episode["dones"] if "dones" in episode else episode["terminals"]
        columns["dones"].append(np.asarray(dones).reshape(-1).astype(bool))
    return datasets.Dataset.from_dict(columns, features=EPISODE_FEATURES)


def load_local_episodes(path: Path) -> datasets.Dataset:
    """A `save_to_disk` folder, a parquet file or folder of them, or a .pkl file in the hub's schema."""
    if path.is_dir() and any((path / f).exists() for f in ("dataset_info.json", "dataset_dict.json", "state.json")):
        loaded = datasets.load_from_disk(str(path))
        if isinstance(loaded, datasets.DatasetDict):
            loaded = loaded["train"] if "train" in loaded else next(iter(loaded.values()))
        return check_columns(loaded, str(path))
    if path.suffix == ".pkl":
        return read_pickle_episodes(path)
    files = sorted(path.rglob("*.parquet")) if path.is_dir() else [path]
    if not files or any(f.suffix != ".parquet" for f in files):
        raise UserError(f"{path} is not a dataset: expected a save_to_disk folder, parquet file(s) or a .pkl file")
    return check_columns(datasets.Dataset.from_parquet([str(f) for f in files]), str(path))

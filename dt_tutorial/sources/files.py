"""Episodes from local files: a `save_to_disk` folder, parquet files, or a pickle in the hub repo's raw layout."""

from __future__ import annotations

from pathlib import Path

import datasets
import numpy as np
import pyarrow as pa

from dt_tutorial.errors import UserError
from dt_tutorial.quiet import silence_library_noise
from dt_tutorial.safe_load import safe_unpickle
from dt_tutorial.schema import COLUMNS, EPISODE_FEATURES, check_columns


def read_pickle_episodes(path: str | Path) -> datasets.Dataset:
    """The hub repo's raw files: a pickled list of dicts of numpy arrays (D4RL's 'terminals' = our 'dones').

    Read by `safe_load.safe_unpickle`: a pickle naming anything but numpy arrays and plain containers is refused."""
    episodes = safe_unpickle(path, "a list of episodes (dicts of numpy arrays)")
    expected = f"a pickled list of episodes (dicts with {', '.join(COLUMNS[:3])} and dones or terminals)"
    if not isinstance(episodes, (list, tuple)) or not all(isinstance(e, dict) for e in episodes):
        raise UserError(f"{path} holds a {type(episodes).__name__}, expected {expected}")
    columns = {name: [] for name in COLUMNS}
    for i, episode in enumerate(episodes):
        missing = [k for k in COLUMNS[:3] if k not in episode] + ([] if "dones" in episode or "terminals" in episode else ["dones"])
        if missing:
            raise UserError(f"{path}: episode {i} lacks {', '.join(missing)}; expected {expected}")
        dones = episode["dones"] if "dones" in episode else episode["terminals"]
        try:
            columns["observations"].append(np.asarray(episode["observations"], dtype=np.float32))
            columns["actions"].append(np.asarray(episode["actions"], dtype=np.float32))
            columns["rewards"].append(np.asarray(episode["rewards"], dtype=np.float32).reshape(-1))
            columns["dones"].append(np.asarray(dones).reshape(-1).astype(bool))
        except (TypeError, ValueError) as err:
            raise UserError(f"{path}: episode {i} does not hold numeric arrays ({first_line(err)})") from None
    try:
        return datasets.Dataset.from_dict(columns, features=EPISODE_FEATURES)
    except (TypeError, ValueError, pa.ArrowException) as err:
        raise UserError(f"{path}: the episodes do not fit the schema {expected} ({first_line(err)})") from None


def load_local_episodes(path: Path) -> datasets.Dataset:
    """A `save_to_disk` folder, a parquet file or folder of them, or a .pkl file in the hub's schema."""
    if path.is_dir() and any((path / f).exists() for f in ("dataset_info.json", "dataset_dict.json", "state.json")):
        try:
            loaded = datasets.load_from_disk(str(path))
        except (OSError, ValueError, KeyError, TypeError, pa.ArrowException) as err:
            raise UserError(f"{path} is a damaged save_to_disk folder ({first_line(err)})") from None
        if isinstance(loaded, datasets.DatasetDict):
            loaded = loaded["train"] if "train" in loaded else next(iter(loaded.values()))
        return check_columns(loaded, str(path))
    if path.suffix == ".pkl":
        return read_pickle_episodes(path)
    files = sorted(path.rglob("*.parquet")) if path.is_dir() else [path]
    if not files or any(f.suffix != ".parquet" for f in files):
        raise UserError(f"{path} is not a dataset: expected a save_to_disk folder, parquet file(s) or a .pkl file")
    return check_columns(read_parquet(files, str(path)), str(path))


def read_parquet(files: list[Path], where: str) -> datasets.Dataset:
    """Parquet files as one dataset; a 0-row or unreadable file is a one-line UserError."""
    silence_library_noise()
    try:
        return datasets.Dataset.from_parquet([str(f) for f in files])
    except (OSError, ValueError, pa.ArrowException) as err:
        if "corresponds to no data" in str(err):  # what `datasets` says of a 0-row file
            raise UserError(f"{where} has no episodes") from None
        raise UserError(f"{where} is not a readable parquet dataset ({first_line(err)})") from None


def first_line(error: BaseException) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__

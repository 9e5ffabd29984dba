"""Minari datasets (`--dataset minari:<dataset id>`) as one row per episode in the hub's schema.

Minari stores T+1 observations per episode (the last is the state after the final action): we drop the
last one so observations, actions, rewards and dones all have T rows. Minari's `terminations` are our
`dones` (a time-limit truncation is not a done, as in D4RL's `terminals`). Needs the `[minari]` extra.
"""

from __future__ import annotations

import numpy as np

from dt_tutorial.errors import UserError

INSTALL_HINT = "pip install 'dt-tutorial[minari]'"


def _minari():
    try:
        import minari
    except ImportError:
        raise UserError(f"Minari datasets need the minari package: {INSTALL_HINT}") from None
    return minari


def open_minari_dataset(dataset_id: str, *, download: bool = True):
    """`minari.load_dataset`, downloading the dataset when it is not in MINARI_DATASETS_PATH yet."""
    minari = _minari()
    try:
        return minari.load_dataset(dataset_id, download=download)
    except ImportError as err:  # e.g. the HDF5 backend (h5py) is missing
        raise UserError(f"cannot read Minari dataset {dataset_id!r} ({err}): {INSTALL_HINT}") from None
    except Exception as err:  # unknown id, network, corrupt files: one line
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise UserError(f"cannot load Minari dataset {dataset_id!r} ({reason}); list local ones with `minari list local`") from None


def minari_episode_columns(dataset_id: str) -> dict[str, list[np.ndarray]]:
    """Minari dataset `dataset_id` as columns of per-episode arrays: observations [T, state_dim], actions
    [T, act_dim], rewards [T], dones [T] (`sources.load_episodes` makes them a `datasets.Dataset`)."""
    dataset = open_minari_dataset(dataset_id)
    columns = {"observations": [], "actions": [], "rewards": [], "dones": []}
    for episode in dataset.iterate_episodes():
        if isinstance(episode.observations, dict) or isinstance(episode.actions, dict):
            raise UserError(f"Minari dataset {dataset_id!r} has dict observations or actions: only flat Box spaces are supported")
        n_steps = len(episode.actions)
        columns["observations"].append(np.asarray(episode.observations[:n_steps], dtype=np.float32).reshape(n_steps, -1))
        columns["actions"].append(np.asarray(episode.actions, dtype=np.float32).reshape(n_steps, -1))
        columns["rewards"].append(np.asarray(episode.rewards, dtype=np.float32).reshape(-1))
        columns["dones"].append(np.asarray(episode.terminations).reshape(-1).astype(bool))
    return columns


def minari_env_id(dataset_id: str) -> str | None:
    """The gymnasium env id recorded in a (local) Minari dataset's metadata, or None when it records none."""
    spec = open_minari_dataset(dataset_id, download=False).env_spec
    return spec.id if spec is not None else None

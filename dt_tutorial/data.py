"""Load offline RL episodes and turn them into one flat, validated in-memory form.

`load_episodes(source)` returns a `datasets.Dataset` with one row per episode and the columns
observations [T, state_dim], actions [T, act_dim], rewards [T], dones [T] (the hub schema).
`Trajectories.from_dataset(ds)` converts it once, straight from Arrow, to contiguous float32
arrays + episode offsets + returns-to-go + state statistics: everything downstream reads that.
"""

from __future__ import annotations

import pickle
import warnings
from dataclasses import dataclass
from pathlib import Path

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dt_tutorial.envs import env_id_for
from dt_tutorial.errors import UserError
from dt_tutorial.schema import COLUMNS, EPISODE_FEATURES

HUB_REPO = "edbeeching/decision_transformer_gym_replay"
HUB_CONFIGS = tuple(
    f"{env}-{quality}-v2" for env in ("halfcheetah", "hopper", "walker2d") for quality in ("expert", "medium", "medium-replay")
)
# `datasets` >= 4 refuses the repo's loading script; the hub's parquet export of it has no script.
PARQUET_REVISION = "refs/convert/parquet"
MINARI_PREFIX = "minari:"  # --dataset minari:mujoco/halfcheetah/expert-v0
OFFLINE_CHOICES = "use --dataset bundled or bundled-expert (generated offline by shipped agents), a local path (save_to_disk folder, parquet or .pkl), or a hub copy already in your HF cache"



def load_episodes(source: str | Path = "bundled", *, cache_dir: str | None = None, progress: bool = True) -> datasets.Dataset:
    """One row per episode, from 'bundled' / 'bundled-expert', a hub config name (e.g. 'halfcheetah-expert-v2') or a local path."""
    source = str(source)
    if source.startswith("bundled"):
        from dt_tutorial.collect import bundled_dataset

        return bundled_dataset(source, progress=progress)
    if source in HUB_CONFIGS:
        return load_hub_episodes(source, cache_dir=cache_dir)
    if source.startswith(MINARI_PREFIX):
        from dt_tutorial.minari_data import minari_episode_columns

        return datasets.Dataset.from_dict(minari_episode_columns(source.removeprefix(MINARI_PREFIX)), features=EPISODE_FEATURES)
    path = Path(source).expanduser()
    if path.exists():
        return load_local_episodes(path)
    raise UserError(
        f"unknown dataset {source!r}: use 'bundled' (multi-skill), 'bundled-expert', minari:<dataset id>, a hub config ({', '.join(HUB_CONFIGS)}) or an existing local path"
    )


def source_name(source: str) -> str:
    """The name a dataset source is known by (saved as the model's dataset_name; it tells the env)."""
    from dt_tutorial.collect import BUNDLED

    if source in BUNDLED:
        return BUNDLED[source][0]
    return source if source.startswith(MINARI_PREFIX) else Path(source).name or source


def load_hub_episodes(config: str, *, cache_dir: str | None = None) -> datasets.Dataset:
    """Download `config` of the hub dataset: its parquet export first, the raw pickle as a fallback.

    Only a failed download (network, auth, offline without a cached copy, no export) falls back; a
    downloaded file with the wrong schema is a UserError naming it."""
    from huggingface_hub import errors, hf_hub_download, snapshot_download

    # OSError covers HfHubHTTPError, LocalEntryNotFoundError and OfflineModeIsEnabled; HTTPError the raw
    # transport errors of huggingface_hub >= 1 (older versions raise requests' errors, which are OSErrors).
    download_errors = (OSError, errors.EntryNotFoundError, getattr(errors, "HTTPError", OSError))
    try:
        root = snapshot_download(
            HUB_REPO, repo_type="dataset", revision=PARQUET_REVISION, allow_patterns=[f"{config}/*"], cache_dir=cache_dir
        )
        if not parquet_export_files(root, config):
            raise FileNotFoundError(f"the parquet export holds no {config}")
    except download_errors as parquet_error:  # try the raw file next
        try:
            pkl = hf_hub_download(HUB_REPO, f"data/{config}.pkl", repo_type="dataset", cache_dir=cache_dir)
        except download_errors:
            reason = str(parquet_error).splitlines()[0] if str(parquet_error) else type(parquet_error).__name__
            raise UserError(f"cannot download {HUB_REPO} ({config}) from the hub ({reason}); {OFFLINE_CHOICES}") from None
        return read_pickle_episodes(pkl)
    return read_parquet_export(root, config)


def parquet_export_files(root: str | Path, config: str) -> list[Path]:
    """`root/<config>/**.parquet` (the layout of the hub's parquet export), the train split's if it has one."""
    files = sorted(Path(root, config).rglob("*.parquet"))
    return [f for f in files if "train" in f.relative_to(root).as_posix()] or files


def read_parquet_export(root: str | Path, config: str) -> datasets.Dataset:
    """Read the parquet export of `config` laid out under `root`."""
    files = parquet_export_files(root, config)
    if not files:
        raise UserError(f"no parquet files for {config!r} under {root}")
    return _check_columns(datasets.Dataset.from_parquet([str(f) for f in files]), f"{root}/{config}")


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
        return _check_columns(loaded, str(path))
    if path.suffix == ".pkl":
        return read_pickle_episodes(path)
    files = sorted(path.rglob("*.parquet")) if path.is_dir() else [path]
    if not files or any(f.suffix != ".parquet" for f in files):
        raise UserError(f"{path} is not a dataset: expected a save_to_disk folder, parquet file(s) or a .pkl file")
    return _check_columns(datasets.Dataset.from_parquet([str(f) for f in files]), str(path))


def _check_columns(ds: datasets.Dataset, where: str) -> datasets.Dataset:
    if "dones" not in ds.column_names and "terminals" in ds.column_names:
        ds = ds.rename_column("terminals", "dones")
    missing = [c for c in COLUMNS if c not in ds.column_names]
    if missing:
        raise UserError(f"{where} lacks column(s) {', '.join(missing)}; one row per episode with {', '.join(COLUMNS)} is needed")
    return ds


@dataclass
class Trajectories:
    """All episodes concatenated: row i of every [n_steps, ...] array is one time step."""

    observations: np.ndarray  # [n_steps, state_dim] float32
    actions: np.ndarray  # [n_steps, act_dim] float32
    rewards: np.ndarray  # [n_steps] float32
    dones: np.ndarray  # [n_steps] bool
    returns_to_go: np.ndarray  # [n_steps] float32, undiscounted sum of this and later rewards of the episode
    episode_starts: np.ndarray  # [n_episodes] int64, index of each episode's first step
    episode_lengths: np.ndarray  # [n_episodes] int64
    state_mean: np.ndarray  # [state_dim] float32
    state_std: np.ndarray  # [state_dim] float32, std + 1e-6 as in the tutorial
    name: str = "dataset"

    @property
    def n_episodes(self) -> int:
        return len(self.episode_lengths)

    @property
    def n_steps(self) -> int:
        return len(self.rewards)

    @property
    def state_dim(self) -> int:
        return self.observations.shape[1]

    @property
    def act_dim(self) -> int:
        return self.actions.shape[1]

    @property
    def episode_returns(self) -> np.ndarray:
        """[n_episodes] undiscounted return of each episode."""
        return self.returns_to_go[self.episode_starts]

    @property
    def env_id(self) -> str | None:
        return env_id_for(self.name)

    def episode(self, i: int) -> dict[str, np.ndarray]:
        """Episode i's arrays (views, no copy)."""
        steps = slice(self.episode_starts[i], self.episode_starts[i] + self.episode_lengths[i])
        return {k: getattr(self, k)[steps] for k in ("observations", "actions", "rewards", "dones", "returns_to_go")}

    @classmethod
    def from_dataset(cls, ds: datasets.Dataset, name: str = "dataset") -> Trajectories:
        """Validate and flatten a one-row-per-episode dataset, column by column in Arrow (no per-row Python)."""
        ds = _check_columns(ds, name)
        if len(ds) == 0:
            raise UserError(f"{name} has no episodes")
        table = ds.select_columns(list(COLUMNS)).with_format("arrow")[:]
        observations, lengths = _flatten_column(table, "observations", 2)
        actions, action_lengths = _flatten_column(table, "actions", 2)
        rewards, reward_lengths = _flatten_column(table, "rewards", 1)
        dones_raw, done_lengths = _flatten_column(table, "dones", 1)
        for column, other in (("actions", action_lengths), ("rewards", reward_lengths), ("dones", done_lengths)):
            bad = np.flatnonzero(other != lengths)
            if len(bad):
                raise UserError(
                    f"{name}: episode {bad[0]} has {lengths[bad[0]]} observations but {other[bad[0]]} {column}"
                )
        for column, values in (("observations", observations), ("actions", actions), ("rewards", rewards)):
            if not np.isfinite(values).all():
                row = np.flatnonzero(~np.isfinite(values.reshape(len(values), -1)).all(axis=1))[0]
                raise UserError(f"{name}: {column} hold NaN or inf (episode {np.searchsorted(np.cumsum(lengths), row, side='right')})")
        if not np.isin(dones_raw, (0, 1)).all():
            raise UserError(f"{name}: dones must be booleans (or 0/1), found values like {dones_raw[~np.isin(dones_raw, (0, 1))][0]!r}")
        empty = lengths == 0
        if empty.all():
            raise UserError(f"{name}: every episode is empty")
        if empty.any():
            warnings.warn(f"{name}: dropping {int(empty.sum())} empty episode(s)", stacklevel=2)
        lengths = lengths[~empty]
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        mean = observations.mean(axis=0, dtype=np.float64)
        std = observations.std(axis=0, dtype=np.float64) + 1e-6
        return cls(
            observations=observations,
            actions=actions,
            rewards=rewards,
            dones=dones_raw.astype(bool),
            returns_to_go=returns_to_go(rewards, starts, lengths),
            episode_starts=starts,
            episode_lengths=lengths.astype(np.int64),
            state_mean=mean.astype(np.float32),
            state_std=std.astype(np.float32),
            name=name,
        )


def _flatten_column(table: pa.Table, column: str, ndim: int) -> tuple[np.ndarray, np.ndarray]:
    """A list<list<float>> (ndim 2) or list<float> (ndim 1; list<list<float>> of width 1 too) column
    as one flat numpy array [n_steps(, width)] and the per-episode lengths [n_episodes]."""
    episodes = table.column(column).combine_chunks()
    if not pa.types.is_list(episodes.type) and not pa.types.is_large_list(episodes.type) and not pa.types.is_fixed_size_list(episodes.type):
        raise UserError(f"column {column!r} must hold one list per episode, not {episodes.type}")
    lengths = pc.list_value_length(episodes).fill_null(0).to_numpy().astype(np.int64)
    steps = episodes.flatten()
    nested = pa.types.is_list(steps.type) or pa.types.is_large_list(steps.type) or pa.types.is_fixed_size_list(steps.type)
    if nested:
        widths = pc.list_value_length(steps).to_numpy(zero_copy_only=False)
        if len(widths) and (widths != widths[0]).any():
            step = int(np.flatnonzero(widths != widths[0])[0])
            episode = int(np.searchsorted(np.cumsum(lengths), step, side="right"))
            raise UserError(f"column {column!r}: episode {episode} has steps of width {widths[step]}, others {widths[0]}")
        width = int(widths[0]) if len(widths) else 0
        if ndim == 1 and width != 1:
            raise UserError(f"column {column!r} must hold one number per step, found {width}")
        steps = steps.flatten()
    elif ndim == 2:
        raise UserError(f"column {column!r} must hold one vector per step")
    dtype = np.float32 if column != "dones" else None
    values = steps.to_numpy(zero_copy_only=False)
    values = values.astype(dtype) if dtype else values
    return (values.reshape(len(values) // max(width, 1), width) if ndim == 2 else values.reshape(-1)), lengths


def discount_cumsum(x: np.ndarray, gamma: float) -> np.ndarray:
    """out[t] = x[t] + gamma * x[t+1] + gamma**2 * x[t+2] + ... for one episode (the tutorial's helper)."""
    out = np.zeros_like(x, dtype=np.float64)
    running = 0.0
    for t in range(len(x) - 1, -1, -1):
        running = x[t] + gamma * running
        out[t] = running
    return out


def returns_to_go(rewards: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Undiscounted returns-to-go of every step of every episode at once: [n_steps] float32.

    Suffix sums over the whole array minus the suffix sum after each episode's end (float64 sums)."""
    suffix = np.cumsum(rewards[::-1], dtype=np.float64)[::-1]
    after_episode = np.append(suffix, 0.0)[starts + lengths]  # [n_episodes]
    return (suffix - np.repeat(after_episode, lengths)).astype(np.float32)

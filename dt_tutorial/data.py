"""Turn offline RL episodes into one flat, validated in-memory form.

The `sources` package loads episodes (`sources.load_episodes(source)`): a `datasets.Dataset` with one row per
episode and the columns observations [T, state_dim], actions [T, act_dim], rewards [T], dones [T] (`schema.py`).
`Trajectories.from_dataset(ds)` converts it once, straight from Arrow, to contiguous float32
arrays + episode offsets + returns-to-go + state statistics: everything downstream reads that.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dt_tutorial.envs import env_id_for
from dt_tutorial.errors import UserError
from dt_tutorial.schema import COLUMNS, check_columns, tagged_env_id


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
    recorded_env_id: str | None = None  # the env the data say they were collected in (`schema.tag_env_id`)

    def __post_init__(self):
        state_dim = self.observations.shape[1]
        for stat in ("state_mean", "state_std"):
            values = np.asarray(getattr(self, stat))
            if values.shape != (state_dim,) or not np.isfinite(values).all():
                raise UserError(f"{self.name}: {stat} must hold {state_dim} finite numbers (are the observations too large?)")
        if (np.asarray(self.state_std) <= 0).any():
            raise UserError(f"{self.name}: state_std must be above 0 in every dimension")

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
        return self.recorded_env_id or env_id_for(self.name)

    def episode(self, i: int) -> dict[str, np.ndarray]:
        """Episode i's arrays (views, no copy)."""
        steps = slice(self.episode_starts[i], self.episode_starts[i] + self.episode_lengths[i])
        return {k: getattr(self, k)[steps] for k in ("observations", "actions", "rewards", "dones", "returns_to_go")}

    @classmethod
    def from_dataset(cls, ds: datasets.Dataset, name: str = "dataset") -> Trajectories:
        """Validate and flatten a one-row-per-episode dataset, column by column in Arrow (no per-row Python)."""
        ds = check_columns(ds, name)
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
            recorded_env_id=tagged_env_id(ds),
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

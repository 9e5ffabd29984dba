"""The offline-RL episode schema every source is converted to: one row per episode (the hub dataset's layout)."""

from __future__ import annotations

import json

import datasets

from dt_tutorial.errors import UserError

COLUMNS = ("observations", "actions", "rewards", "dones")

EPISODE_FEATURES = datasets.Features(
    {
        "observations": datasets.List(datasets.List(datasets.Value("float32"))),  # [T, state_dim]
        "actions": datasets.List(datasets.List(datasets.Value("float32"))),  # [T, act_dim]
        "rewards": datasets.List(datasets.Value("float32")),  # [T]
        "dones": datasets.List(datasets.Value("bool")),  # [T], True only on a real termination
    }
)


def check_columns(ds: datasets.Dataset, where: str) -> datasets.Dataset:
    """`ds` with D4RL's 'terminals' named 'dones'; a one-line UserError naming `where` if a column is missing."""
    if "dones" not in ds.column_names and "terminals" in ds.column_names:
        ds = ds.rename_column("terminals", "dones")
    missing = [c for c in COLUMNS if c not in ds.column_names]
    if missing:
        raise UserError(f"{where} lacks column(s) {', '.join(missing)}; one row per episode with {', '.join(COLUMNS)} is needed")
    return ds


def tag_env_id(ds: datasets.Dataset, env_id: str) -> datasets.Dataset:
    """Record in `ds`'s info (kept by `save_to_disk`) the gymnasium env its episodes were collected in."""
    ds.info.description = json.dumps({"env_id": env_id})
    return ds


def tagged_env_id(ds: datasets.Dataset) -> str | None:
    """The env id `tag_env_id` recorded in `ds`, or None."""
    try:
        env_id = json.loads(ds.info.description or "{}").get("env_id")
    except (ValueError, AttributeError):
        return None
    return env_id if isinstance(env_id, str) else None

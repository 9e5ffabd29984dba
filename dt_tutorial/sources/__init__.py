"""Where episodes come from: every source gives one row per episode in the hub's schema (`schema.py`),
which `data.Trajectories.from_dataset` validates and flattens.

- `hub`: the tutorial's hub dataset (`halfcheetah-expert-v2`, ...);
- `files`: a local `save_to_disk` folder, parquet files or a pickle;
- `minari`: Minari datasets (`minari:<dataset id>`);
- `collect`: episodes rolled out by a policy, and the bundled datasets made offline by the shipped agents (`policies`).
"""

from __future__ import annotations

from pathlib import Path

import datasets

from dt_tutorial.errors import UserError
from dt_tutorial.schema import EPISODE_FEATURES
from dt_tutorial.sources.files import load_local_episodes
from dt_tutorial.sources.hub import HUB_CONFIGS, load_hub_episodes

MINARI_PREFIX = "minari:"  # --dataset minari:mujoco/halfcheetah/expert-v0


def load_episodes(source: str | Path = "bundled", *, cache_dir: str | None = None, progress: bool = True) -> datasets.Dataset:
    """One row per episode, from 'bundled' / 'bundled-expert', a hub config name (e.g. 'halfcheetah-expert-v2') or a local path."""
    source = str(source)
    if source.startswith("bundled"):
        from dt_tutorial.sources.collect import bundled_dataset

        return bundled_dataset(source, progress=progress)
    if source in HUB_CONFIGS:
        return load_hub_episodes(source, cache_dir=cache_dir)
    if source.startswith(MINARI_PREFIX):
        from dt_tutorial.sources.minari import minari_episode_columns

        return datasets.Dataset.from_dict(minari_episode_columns(source.removeprefix(MINARI_PREFIX)), features=EPISODE_FEATURES)
    path = Path(source).expanduser()
    if path.exists():
        return load_local_episodes(path)
    raise UserError(
        f"unknown dataset {source!r}: use 'bundled' (multi-skill), 'bundled-expert', minari:<dataset id>, a hub config ({', '.join(HUB_CONFIGS)}) or an existing local path"
    )


def source_name(source: str) -> str:
    """The name a dataset source is known by (saved as the model's dataset_name; it tells the env)."""
    from dt_tutorial.sources.collect import BUNDLED

    if source in BUNDLED:
        return BUNDLED[source][0]
    return source if source.startswith(MINARI_PREFIX) else Path(source).name or source

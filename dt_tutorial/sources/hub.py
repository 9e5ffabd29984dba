"""The tutorial's hub dataset, `edbeeching/decision_transformer_gym_replay`: its parquet export, the raw pickle (at a
pinned commit, read safely) where the export lacks a config."""

from __future__ import annotations

from pathlib import Path

import datasets

from dt_tutorial.errors import UserError
from dt_tutorial.schema import check_columns
from dt_tutorial.sources.files import first_line, read_parquet, read_pickle_episodes

HUB_REPO = "edbeeching/decision_transformer_gym_replay"
HUB_CONFIGS = tuple(
    f"{env}-{quality}-v2" for env in ("halfcheetah", "hopper", "walker2d") for quality in ("expert", "medium", "medium-replay")
)
# `datasets` >= 4 refuses the repo's loading script; the hub's parquet export of it has no script.
PARQUET_REVISION = "refs/convert/parquet"
# The repo's raw pickles are read only from this commit of its main branch (the one whose loading script lists the
# nine data/<config>.pkl files), and only when the parquet export genuinely lacks a config.
RAW_PICKLE_REVISION = "4441c97718b1f7e03d05f430226b57f658cc156d"
OFFLINE_CHOICES = "use --dataset bundled or bundled-expert (generated offline by shipped agents), a local path (save_to_disk folder, parquet or .pkl), or a hub copy already in your HF cache"


def load_hub_episodes(config: str, *, cache_dir: str | None = None) -> datasets.Dataset:
    """Download `config` of the hub dataset from its parquet export.

    Only when the hub answers that the export (or the config in it) does not exist does the loader read the
    repo's raw pickle instead, at the pinned `RAW_PICKLE_REVISION` and through `safe_load` (arrays and plain
    containers only). Any other failure (network, auth, offline without a cached copy) is a one-line UserError;
    a downloaded file with the wrong schema is a UserError naming it."""
    from huggingface_hub import errors, hf_hub_download, snapshot_download

    # OSError covers HfHubHTTPError, LocalEntryNotFoundError and OfflineModeIsEnabled; HTTPError the raw
    # transport errors of huggingface_hub >= 1 (older versions raise requests' errors, which are OSErrors).
    download_errors = (OSError, errors.EntryNotFoundError, getattr(errors, "HTTPError", OSError))
    try:
        root = snapshot_download(
            HUB_REPO, repo_type="dataset", revision=PARQUET_REVISION, allow_patterns=[f"{config}/*"], cache_dir=cache_dir
        )
        if not parquet_export_files(root, config):
            raise _NotInExport(f"the parquet export holds no {config}")
    except download_errors as parquet_error:
        cannot = f"cannot download {HUB_REPO} ({config}) from the hub ({first_line(parquet_error)}); {OFFLINE_CHOICES}"
        if not _genuinely_not_found(parquet_error):
            raise UserError(cannot) from None
        try:
            pkl = hf_hub_download(HUB_REPO, f"data/{config}.pkl", repo_type="dataset", revision=RAW_PICKLE_REVISION,
                                  cache_dir=cache_dir)
        except download_errors:
            raise UserError(cannot) from None
        return read_pickle_episodes(pkl)
    return read_parquet_export(root, config)


class _NotInExport(FileNotFoundError):
    """The parquet export was downloaded but holds no files for the config."""


def _genuinely_not_found(error: BaseException) -> bool:
    """True when the hub answered that the parquet export or its files do not exist (not a network or cache miss)."""
    from huggingface_hub import errors

    not_found = (_NotInExport, errors.RevisionNotFoundError, getattr(errors, "RemoteEntryNotFoundError", errors.EntryNotFoundError))
    return isinstance(error, not_found) and not isinstance(error, errors.LocalEntryNotFoundError)


def parquet_export_files(root: str | Path, config: str) -> list[Path]:
    """`root/<config>/**.parquet` (the layout of the hub's parquet export), the train split's if it has one."""
    files = sorted(Path(root, config).rglob("*.parquet"))
    return [f for f in files if "train" in f.relative_to(root).as_posix()] or files


def read_parquet_export(root: str | Path, config: str) -> datasets.Dataset:
    """Read the parquet export of `config` laid out under `root`."""
    files = parquet_export_files(root, config)
    if not files:
        raise UserError(f"no parquet files for {config!r} under {root}")
    return check_columns(read_parquet(files, f"{root}/{config}"), f"{root}/{config}")

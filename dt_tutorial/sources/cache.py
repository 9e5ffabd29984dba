"""The cache of generated datasets (`cache_dir()`): one folder per entry, made once under a lock, checked whenever
it is opened (a damaged entry is made again, with a note saying so), swept of the temporary folders of killed runs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Callable

import datasets
import pyarrow as pa

from dt_tutorial.errors import note
from dt_tutorial.quiet import datasets_progress

TMP = ".tmp"  # an entry is written to <entry>.tmp<pid>, then renamed


def cache_dir() -> Path:
    """Where generated datasets are kept: $DT_TUTORIAL_CACHE, else ~/.cache/dt_tutorial."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "dt_tutorial"
    return Path(os.environ.get("DT_TUTORIAL_CACHE", default))


def cached_dataset(name: str, make: Callable[[], datasets.Dataset], n_rows: int, *, progress: bool = True) -> datasets.Dataset:
    """The entry `name` of the cache, made by `make()` unless it is there whole (`n_rows` rows, every file readable).

    Concurrent processes (torchrun ranks, parallel notebooks) wait on a file lock: one makes it, all read it."""
    from filelock import FileLock

    path = cache_dir() / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        sweep_temporary(path)
        dataset = _open_whole(path, n_rows)
        if dataset is None:
            tmp = path.with_name(f"{path.name}{TMP}{os.getpid()}")
            try:
                with datasets_progress(progress):
                    make().save_to_disk(str(tmp))
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            shutil.rmtree(path, ignore_errors=True)  # a damaged entry, or a partial folder left by a killed run
            tmp.replace(path)
            dataset = datasets.load_from_disk(str(path))
    return dataset


def _open_whole(path: Path, n_rows: int) -> datasets.Dataset | None:
    """The entry at `path`, or None when it is absent or damaged (said in one line)."""
    if not (path / "dataset_info.json").exists():
        return None
    try:
        dataset = datasets.load_from_disk(str(path))  # reads every record batch of its .arrow files
        if len(dataset) != n_rows:
            raise ValueError(f"{len(dataset)} rows instead of {n_rows}")
        return dataset
    except (OSError, ValueError, KeyError, pa.ArrowException) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        note(f"the cached dataset {path.name} is damaged ({reason}); making it again")
        return None


def sweep_temporary(entry: Path) -> None:
    """Remove `<entry>.tmp<pid>` folders (the caller holds the entry's lock, so no live process writes them) and any
    other entry's whose process is gone."""
    for tmp in entry.parent.glob(f"*{TMP}*"):
        owner, _, pid = tmp.name.rpartition(TMP)
        if tmp.is_dir() and pid.isdigit() and int(pid) != os.getpid() and (owner == entry.name or not _alive(int(pid))):
            shutil.rmtree(tmp, ignore_errors=True)


def _alive(pid: int) -> bool:
    if os.name == "nt":  # no signal-0 probe there: keep the folder
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True

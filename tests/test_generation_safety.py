"""The bundled data's generation and cache: workers die with a killed parent, stale temporary folders are swept,
a damaged cache entry is noticed and made again (one line says so)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from _helpers import subprocess_env

from dt_tutorial.data import Trajectories
from dt_tutorial.sources.cache import cache_dir
from dt_tutorial.sources.collect import BUNDLED, bundled_dataset

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def children(pid: int) -> list[int]:
    """Live (not zombie) processes whose parent is `pid`."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@linux_only
def test_workers_die_with_their_killed_parent(tmp_path):
    env = {**subprocess_env(), "DT_TUTORIAL_CACHE": str(tmp_path)}
    parent = subprocess.Popen([sys.executable, "-c", "from dt_tutorial.sources.collect import bundled_dataset; "
                               "bundled_dataset('bundled-expert', n_episodes=160, progress=False)"], env=env)
    try:
        deadline = time.monotonic() + 120
        while not (workers := children(parent.pid)):
            assert parent.poll() is None, "generation ended before its workers were seen"
            assert time.monotonic() < deadline, "no worker processes after 120 s"
            time.sleep(0.05)
        time.sleep(0.5)  # let every worker start
        workers = children(parent.pid)
    finally:
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
    killed = time.monotonic()  # a worker is mid-chunk (40 episodes, many seconds): it must not finish it first
    while any(alive(w) for w in workers) and time.monotonic() < killed + 2:
        time.sleep(0.05)
    survivors = [w for w in workers if alive(w)]
    for w in survivors:  # do not leave them running whatever the result
        os.kill(w, signal.SIGKILL)
    assert not survivors, f"{len(survivors)} of {len(workers)} workers outlived their parent by 2 s"


def entry_name(n_episodes: int) -> str:
    """The cache folder name of `bundled-expert` with `n_episodes` (made once to learn it)."""
    bundled_dataset("bundled-expert", n_episodes=n_episodes, progress=False)
    folder = BUNDLED["bundled-expert"][0]
    return next(p.name for p in cache_dir().glob(f"{folder}-{n_episodes}ep-*") if ".tmp" not in p.name and p.is_dir())


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temporary_folders_are_swept(tmp_path, monkeypatch):
    monkeypatch.setenv("DT_TUTORIAL_CACHE", str(tmp_path))
    entry = entry_name(2)
    stale_own = tmp_path / f"{entry}.tmp{dead_pid()}"
    stale_other = tmp_path / f"bundled-halfcheetah-agents-9ep-seed0-abcdef12.tmp{dead_pid()}"
    running = tmp_path / f"bundled-halfcheetah-agents-9ep-seed0-abcdef12.tmp{os.getppid()}"  # a live process's
    for folder in (stale_own, stale_other, running):
        (folder / "data").mkdir(parents=True)
    bundled_dataset("bundled-expert", n_episodes=2, progress=False)
    assert not stale_own.exists() and not stale_other.exists()
    assert running.exists()


@pytest.mark.parametrize("damage", ["truncate", "delete"])
def test_a_damaged_cache_entry_is_made_again(tmp_path, monkeypatch, capsys, damage):
    monkeypatch.setenv("DT_TUTORIAL_CACHE", str(tmp_path))
    entry = tmp_path / entry_name(2)
    first = Trajectories.from_dataset(bundled_dataset("bundled-expert", n_episodes=2, progress=False))
    arrow = next(entry.glob("*.arrow"))
    if damage == "truncate":
        arrow.write_bytes(arrow.read_bytes()[: arrow.stat().st_size // 3])
    else:
        arrow.unlink()
    capsys.readouterr()
    again = Trajectories.from_dataset(bundled_dataset("bundled-expert", n_episodes=2, progress=False))
    notes = [line for line in capsys.readouterr().err.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "damaged" in notes[0] and entry.name in notes[0], notes
    np.testing.assert_array_equal(again.observations, first.observations)
    capsys.readouterr()
    bundled_dataset("bundled-expert", n_episodes=2, progress=False)
    assert "note:" not in capsys.readouterr().err  # whole again: read without a word


def test_collected_data_carry_their_env_into_the_model(tmp_path, capsys):
    from dt_tutorial.cli import main

    data = tmp_path / "D"  # a name that says nothing of the env
    assert main(["collect", "--env", "HalfCheetah-v5", "--episodes", "2", "--output", str(data), "--no-progress"]) == 0
    run = tmp_path / "run"
    assert main(["train", "--dataset", str(data), "--preset", "tiny", "--max-steps", "2", "--output", str(run), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--model", str(run), "--episodes", "1", "--max-steps", "3", "--no-progress"]) == 0
    assert "HalfCheetah-v5 target" in capsys.readouterr().out

"""Helpers for the rollout, video, widgets, CLI, resume and multi-process tests.

Tiny real models (20 Trainer steps on conftest's collected episodes, once per session), the CLI as a
subprocess, and a one-thread torch setting: on a shared 2-core machine, intra-op threads on these tiny
tensors mostly wait for each other (a 100-step evaluation measured 0.3 s with 1 thread, 10 s with 2).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from dt_tutorial import speed
from dt_tutorial.model import load_model
from dt_tutorial.train import get_config, train

_RUNS: dict[str, Path] = {}  # dataset name -> run folder: one training per session, whichever module asks first


def tiny_run(trajectories, root: Path) -> Path:
    """A tiny-preset model trained 20 steps on `trajectories`, saved once per session under `root`."""
    if trajectories.name not in _RUNS:
        run_dir = root / f"run-{trajectories.name}"
        train(trajectories, get_config("tiny", device="cpu", save_steps=1000), run_dir, progress=False)
        _RUNS[trajectories.name] = run_dir
    return _RUNS[trajectories.name]


class WatchedPolicy:
    """`model` as a rollout runs it (`speed.policy(model)`), each policy call made through `call(window, predict)`;
    everything else is the model's. For tests that watch, or change, what a rollout's policy calls return."""

    def __init__(self, model, call):
        self.policy, self.call = speed.policy(model), call

    def __getattr__(self, name: str):  # called for what this wrapper lacks: the model's attribute
        if name in ("policy", "call"):
            raise AttributeError(name)
        return getattr(self.policy, name)

    def predict_actions(self, window):
        return self.call(window, self.policy.predict_actions)


@pytest.fixture(scope="module")
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def cheetah_run(halfcheetah, tmp_path_factory) -> Path:
    return tiny_run(halfcheetah, tmp_path_factory.getbasetemp())


@pytest.fixture(scope="session")
def hopper_run(hopper, tmp_path_factory) -> Path:
    return tiny_run(hopper, tmp_path_factory.getbasetemp())


@pytest.fixture
def cheetah_model(cheetah_run):
    """A fresh copy of the tiny HalfCheetah-v5 model (tests may change its mode or config)."""
    return load_model(cheetah_run)


@pytest.fixture
def hopper_model(hopper_run):
    """A fresh copy of the tiny Hopper-v5 model, trained on random-policy episodes: it falls early."""
    return load_model(hopper_run)


def subprocess_env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}


def run_cli(*args, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
    """`python -m dt_tutorial ARGS` in a subprocess, text output captured."""
    command = [sys.executable, "-m", "dt_tutorial", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, env=subprocess_env(), timeout=timeout, **kwargs)


def assert_ok(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"


def assert_user_error(proc: subprocess.CompletedProcess, match: str) -> None:
    """Exit status 2 and exactly one `error: ...` line (the last one on stderr), no traceback."""
    assert proc.returncode == 2, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and proc.stderr.rstrip().endswith(errors[0]), proc.stderr
    assert match in errors[0], errors[0]

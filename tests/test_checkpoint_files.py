"""Hostile or damaged files inside a checkpoint or an agent zip: one `error:` line, status 2, and nothing in them runs
(the payload, a `__reduce__` that runs a shell command, would write a marker file)."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest
import torch
from _helpers import one_thread  # noqa: F401 (fixture)
from test_run_folder import TINY, cheetah_data, status_and_error  # noqa: F401 (fixtures)
from test_safe_load import EXPERTS, RunsCommand, needs_experts

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def checkpointed(cheetah_data, tmp_path_factory) -> Path:  # noqa: F811
    from dt_tutorial.cli import main

    run = tmp_path_factory.mktemp("ckpt") / "run"
    assert main(["train", "--dataset", str(cheetah_data), *TINY, "--output", str(run)]) == 0
    return run


def resume(capsys, run, cheetah_data):  # noqa: F811
    return status_and_error(capsys, "train", "--dataset", cheetah_data, *TINY, "--output", run, "--resume")


@pytest.mark.parametrize("name", ["optimizer.pt", "scheduler.pt", "rng_state.pth"])
def test_a_hostile_checkpoint_file_runs_nothing(checkpointed, cheetah_data, tmp_path, capsys, name):  # noqa: F811
    run = tmp_path / "run"
    shutil.copytree(checkpointed, run)
    marker = tmp_path / "ran"
    torch.save({"state": RunsCommand(marker)}, run / "checkpoint-4" / name)
    status, line = resume(capsys, run, cheetah_data)
    assert status == 2 and name in line, line
    assert not marker.exists()


@pytest.mark.parametrize("name, damage", [("trainer_state.json", b"{not json"), ("model.safetensors", b"\x00" * 16),
                                          ("collator_rng-rank0.json", b"[1, 2")])
def test_a_damaged_checkpoint_file_is_one_line(checkpointed, cheetah_data, tmp_path, capsys, name, damage):  # noqa: F811
    run = tmp_path / "run"
    shutil.copytree(checkpointed, run)
    (run / "checkpoint-4" / name).write_bytes(damage)
    status, line = resume(capsys, run, cheetah_data)
    assert status == 2 and name in line, line


def test_the_intact_checkpoint_resumes(checkpointed, cheetah_data, tmp_path, capsys):  # noqa: F811
    run = tmp_path / "run"
    shutil.copytree(checkpointed, run)
    assert resume(capsys, run, cheetah_data)[0] == 0


@needs_experts
def test_a_hostile_policy_pth_runs_nothing(tmp_path, capsys):
    marker = tmp_path / "ran"
    agent = tmp_path / "agent.zip"
    payload = tmp_path / "policy.pth"
    torch.save({"actor.mu.weight": RunsCommand(marker)}, payload)
    with zipfile.ZipFile(EXPERTS / "sac-HalfCheetah-v3.zip") as src, zipfile.ZipFile(agent, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, payload.read_bytes() if item.filename == "policy.pth" else src.read(item.filename))
    status, line = status_and_error(capsys, "collect", "--policy", agent, "--episodes", 1, "--output", tmp_path / "o")
    assert status == 2 and "policy.pth" in line
    assert not marker.exists()

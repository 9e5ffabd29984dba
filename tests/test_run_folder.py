"""A run folder is never trained over by accident, holds one training at a time, and resumes only the same run:
the CLI (`cli.main` in this process, a real second training as a subprocess) and the Python API (`train`)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from _helpers import one_thread, subprocess_env  # noqa: F401 (fixture)

from conftest import raises_one_line
from dt_tutorial.cli import main
from dt_tutorial.data import Trajectories
from dt_tutorial.train import get_config, train

pytestmark = pytest.mark.usefixtures("one_thread")
TINY = ["--preset", "tiny", "--max-steps", "4", "--save-steps", "2", "--no-progress"]


@pytest.fixture(scope="module")
def cheetah_data(halfcheetah_episodes, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "halfcheetah-test"
    halfcheetah_episodes.save_to_disk(str(path))
    return path


@pytest.fixture(scope="module")
def hopper_data(hopper_episodes, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "hopper-test"
    hopper_episodes.save_to_disk(str(path))
    return path


def status_and_error(capsys, *argv) -> tuple[int, str]:
    try:
        status = main([str(a) for a in argv])
    except SystemExit as exit:
        status = exit.code
    err = capsys.readouterr().err.strip()
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert status != 2 or (len(lines) == 1 and err.endswith(lines[0])), err
    return status, lines[0] if lines else ""


def contents(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".lock"}


@pytest.fixture()
def finished_run(cheetah_data, tmp_path, capsys) -> Path:
    """A finished tiny run with its checkpoints removed: a folder holding only a model."""
    run = tmp_path / "run"
    assert status_and_error(capsys, "train", "--dataset", cheetah_data, *TINY, "--output", run)[0] == 0
    for checkpoint in run.glob("checkpoint-*"):
        for f in sorted(checkpoint.rglob("*"), reverse=True):
            f.unlink() if f.is_file() else f.rmdir()
        checkpoint.rmdir()
    return run


def test_a_saved_model_is_not_trained_over(finished_run, cheetah_data, capsys):
    before = contents(finished_run)
    status, line = status_and_error(capsys, "train", "--dataset", cheetah_data, *TINY, "--output", finished_run)
    assert status == 2 and "already holds a model" in line and "--overwrite" in line
    assert contents(finished_run) == before
    assert status_and_error(capsys, "train", "--dataset", cheetah_data, *TINY, "--output", finished_run, "--overwrite")[0] == 0


def test_python_api_needs_overwrite_too(finished_run, halfcheetah):
    before = contents(finished_run)
    config = get_config("tiny", max_steps=2)
    with raises_one_line("already holds a model"):
        train(halfcheetah, config, finished_run, progress=False)
    assert contents(finished_run) == before
    train(halfcheetah, config, finished_run, progress=False, overwrite=True)
    assert not list(finished_run.glob("checkpoint-4"))  # the old run's checkpoints do not mix with the new one's


def test_a_second_training_into_the_same_folder_stops_at_once(cheetah_data, tmp_path, capsys):
    run = tmp_path / "run"
    first = subprocess.Popen([sys.executable, "-m", "dt_tutorial", "train", "--dataset", str(cheetah_data), "--preset", "tiny",
                              "--max-steps", "100000", "--no-progress", "--output", str(run)],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=subprocess_env())
    try:
        line = first.stdout.readline()
        while "training" not in line:
            assert first.poll() is None and line, "the first training ended early"
            line = first.stdout.readline()
        start = time.monotonic()
        status, error = status_and_error(capsys, "train", "--dataset", cheetah_data, *TINY, "--output", run, "--overwrite")
        assert status == 2 and "another training" in error
        assert time.monotonic() - start < 5
        status, error = status_and_error(capsys, "train", "--dataset", cheetah_data, *TINY, "--output", run, "--resume")
        assert status == 2 and "another training" in error
    finally:
        first.kill()
        first.wait()


@pytest.fixture()
def checkpointed_run(cheetah_data, tmp_path, capsys) -> Path:
    run = tmp_path / "run"
    assert status_and_error(capsys, "train", "--dataset", cheetah_data, *TINY, "--output", run)[0] == 0
    assert (run / "checkpoint-4").is_dir()
    return run


@pytest.mark.parametrize(
    "change, words",
    [
        (["--batch-size", "8"], "batch_size"),
        (["--max-steps", "6"], "max_steps"),
        (["--preset", "demo"], "hidden_size"),
        (["--scheduler", "cosine"], "lr_scheduler"),
        (["--context-length", "5"], "context_length"),
    ],
    ids=["batch", "steps", "preset", "schedule", "context"],
)
def test_resume_with_other_settings_names_the_difference(checkpointed_run, cheetah_data, capsys, change, words):
    before = contents(checkpointed_run)
    status, line = status_and_error(capsys, "train", "--dataset", cheetah_data, *TINY, *change, "--output", checkpointed_run, "--resume")
    assert status == 2 and words in line, line
    assert contents(checkpointed_run) == before


def test_resume_on_other_data_is_refused(checkpointed_run, hopper_data, halfcheetah_episodes, tmp_path, capsys):
    status, line = status_and_error(capsys, "train", "--dataset", hopper_data, *TINY, "--output", checkpointed_run, "--resume")
    assert status == 2 and "data" in line and "hopper-test" in line
    same_shape = tmp_path / "halfcheetah-other"  # the same dimensions, other episodes
    halfcheetah_episodes.select([0, 1]).save_to_disk(str(same_shape))
    status, line = status_and_error(capsys, "train", "--dataset", same_shape, *TINY, "--output", checkpointed_run, "--resume")
    assert status == 2 and "data" in line


def test_resume_rules_hold_in_python(checkpointed_run, hopper, halfcheetah_episodes):
    with raises_one_line("data"):
        train(hopper, get_config("tiny", max_steps=4, save_steps=2), checkpointed_run, resume=True, progress=False)
    same = Trajectories.from_dataset(halfcheetah_episodes, "halfcheetah-test")
    with raises_one_line("batch_size"):
        train(same, get_config("tiny", max_steps=4, save_steps=2, batch_size=8), checkpointed_run, resume=True, progress=False)
    train(same, get_config("tiny", max_steps=4, save_steps=2), checkpointed_run, resume=True, progress=False)

"""Resuming a training run killed with SIGKILL after a checkpoint: `train --resume` on the CLI.

The resumed run must end at the planned step with one loss history for the whole run, equal to
an uninterrupted run's: the Trainer restores model, optimizer, scheduler and the torch/numpy RNGs
(dropout), train.py restores the collator's RNG as it was before the batch after the checkpoint.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch
from _helpers import assert_ok, one_thread, run_cli, subprocess_env  # noqa: F401 (fixture)

from dt_tutorial.data import Trajectories
from dt_tutorial.sources import load_episodes
from dt_tutorial.run_folder import RUN_FILE
from dt_tutorial.train import get_config, last_complete_checkpoint, train

pytestmark = pytest.mark.usefixtures("one_thread")

TRAIN_ARGS = ["train", "--preset", "tiny", "--max-steps", "60", "--save-steps", "10", "--no-progress"]


def start_and_kill_after_first_checkpoint(run_dir, log) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "dt_tutorial", *TRAIN_ARGS, "--output", str(run_dir)],
                            stdout=log, stderr=subprocess.STDOUT, env=subprocess_env())
    marker = run_dir / "checkpoint-10" / "collator_rng-rank0.json"  # written last when checkpoint-10 is saved
    deadline = time.monotonic() + 240
    while not marker.exists():
        assert proc.poll() is None, f"training ended before its first checkpoint:\n{log.name}"
        assert time.monotonic() < deadline, "no checkpoint-10 after 240 s"
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def steps_and_losses(history):
    return [(h["step"], h["loss"], h["grad_norm"]) for h in history if "loss" in h]


def test_killed_run_resumes_to_the_uninterrupted_run(tmp_path):
    run_dir = tmp_path / "run"
    with open(tmp_path / "first.log", "w") as log:
        start_and_kill_after_first_checkpoint(run_dir, log)
    assert not (run_dir / "loss_history.json").exists(), "the kill came after the end of training"
    assert last_complete_checkpoint(run_dir).name in {f"checkpoint-{s}" for s in range(10, 60, 10)}

    proc = run_cli(*TRAIN_ARGS, "--output", run_dir, "--resume")
    assert_ok(proc)
    resumed = json.loads((run_dir / "loss_history.json").read_text())
    assert resumed[-1]["step"] == 60 and "train_runtime" in resumed[-1]
    assert [step for step, _, _ in steps_and_losses(resumed)] == [1, *range(5, 61, 5)]  # before and after the kill

    bundled = Trajectories.from_dataset(load_episodes("bundled"), "bundled-halfcheetah-expert")
    config = get_config("tiny", max_steps=60, save_steps=10)
    uninterrupted = train(bundled, config, tmp_path / "uninterrupted", progress=False).history
    assert steps_and_losses(resumed) == steps_and_losses(uninterrupted)  # exactly: same batches, same dropout


def test_resume_skips_a_checkpoint_the_kill_left_half_written(tmp_path):
    for step in (10, 20):
        (tmp_path / f"checkpoint-{step}").mkdir()
        (tmp_path / f"checkpoint-{step}" / "trainer_state.json").write_text("{}")
        (tmp_path / f"checkpoint-{step}" / "collator_rng-rank0.json").write_text("{}")
    (tmp_path / "checkpoint-30").mkdir()  # killed while saving: weights only
    (tmp_path / "checkpoint-30" / "model.safetensors").write_bytes(b"")
    (tmp_path / "checkpoint-notes").mkdir()
    assert last_complete_checkpoint(tmp_path) == tmp_path / "checkpoint-20"
    assert last_complete_checkpoint(tmp_path / "checkpoint-30") is None


def test_a_checkpoint_needs_every_ranks_collator_state(tmp_path):
    for step, ranks in ((10, (0, 1)), (20, (0,))):  # checkpoint-20: rank 1 was killed before writing its state
        (tmp_path / f"checkpoint-{step}").mkdir()
        (tmp_path / f"checkpoint-{step}" / "trainer_state.json").write_text("{}")
        for rank in ranks:
            (tmp_path / f"checkpoint-{step}" / f"collator_rng-rank{rank}.json").write_text("{}")
    assert last_complete_checkpoint(tmp_path, world_size=2) == tmp_path / "checkpoint-10"
    assert last_complete_checkpoint(tmp_path, world_size=1) == tmp_path / "checkpoint-20"
    assert last_complete_checkpoint(tmp_path, world_size=3) is None


# A small dataset so the tiny preset's epoch (ceil(40 / 16) = 3 steps) ends before the checkpoint at step 5;
# the resumed run then crosses the epoch boundaries at steps 6 and 9 (the data loader restarts there).
N_EPISODES, EPOCH_STEPS, STOP, TOTAL = 40, 3, 5, 10


def saved_weights(run_dir):
    from safetensors.torch import load_file

    return load_file(str(run_dir / "model.safetensors"))


def test_resume_after_an_epoch_boundary_equals_the_uninterrupted_run(tmp_path):
    data = Trajectories.from_dataset(load_episodes("bundled").select(range(N_EPISODES)), "bundled-40")
    config = get_config("tiny", max_steps=TOTAL, save_steps=STOP, logging_steps=1)
    assert math.ceil(N_EPISODES / config.batch_size) == EPOCH_STEPS < STOP
    uninterrupted = train(data, config, tmp_path / "uninterrupted", progress=False)
    # What a run stopped after step STOP leaves: its checkpoint-STOP (saved mid-run, while batch STOP + 1 was prefetched)
    # and the record of what it trains (written when it started).
    shutil.copytree(tmp_path / "uninterrupted" / f"checkpoint-{STOP}", tmp_path / "resumed" / f"checkpoint-{STOP}")
    shutil.copy(tmp_path / "uninterrupted" / RUN_FILE, tmp_path / "resumed" / RUN_FILE)
    resumed = train(data, config, tmp_path / "resumed", resume=True, progress=False)
    assert [h["step"] for h in resumed.history if "loss" in h] == list(range(1, TOTAL + 1))
    assert resumed.history[-1]["epoch"] == pytest.approx(TOTAL / EPOCH_STEPS)
    assert steps_and_losses(resumed.history) == steps_and_losses(uninterrupted.history)
    for name, weight in saved_weights(tmp_path / "uninterrupted").items():
        assert torch.equal(saved_weights(tmp_path / "resumed")[name], weight), name

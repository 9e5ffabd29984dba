"""Multi-process training: `torchrun --nproc_per_node 2 -m dt_tutorial train --device cpu` (gloo, 2 ranks).

Evidence that both ranks train on their own batches: each rank's checkpoint holds its collator's
random state, and it is exactly the state of a collator seeded with seed + rank after 6 batches.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from _helpers import assert_ok, one_thread, subprocess_env  # noqa: F401 (fixture)

from dt_tutorial.collator import DecisionTransformerGymDataCollator
from dt_tutorial.sources.collect import MULTI_SKILL
from dt_tutorial.data import Trajectories
from dt_tutorial.sources import load_episodes
from dt_tutorial.model import load_model
from dt_tutorial.rollout import evaluate
from dt_tutorial.run_folder import RUN_FILE

pytestmark = pytest.mark.usefixtures("one_thread")

STEPS, BATCH, SEED, WORLD = 6, 16, 42, 2


def torchrun_train(*args) -> subprocess.CompletedProcess:
    """`train --preset tiny --device cpu` in WORLD processes (gloo); torchrun's --tee prefixes each line with [default<rank>]:."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(WORLD), "--tee", "3",
               "-m", "dt_tutorial", "train", "--preset", "tiny", "--device", "cpu", "--no-progress", *map(str, args)]
    proc = subprocess.run(command, capture_output=True, text=True, env=subprocess_env(), timeout=300)
    assert_ok(proc)
    return proc


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("ddp") / "run"
    proc = torchrun_train("--max-steps", STEPS, "--save-steps", 3, "--output", run_dir)
    return run_dir, proc.stdout


def test_each_rank_draws_its_own_batches(ddp_run):
    run_dir, _ = ddp_run
    data = Trajectories.from_dataset(load_episodes("bundled"))
    for rank in range(WORLD):
        saved = json.loads((run_dir / f"checkpoint-{STEPS}" / f"collator_rng-rank{rank}.json").read_text())
        replay = DecisionTransformerGymDataCollator(data, seed=SEED + rank)
        starts = [replay.sample_starts(BATCH) for _ in range(STEPS)]
        assert replay.rng.bit_generator.state == saved, f"rank {rank}"
        assert (run_dir / f"checkpoint-{STEPS}" / f"rng_state_{rank}.pth").exists()  # the Trainer's, per rank
        if rank == 0:
            rank0_starts = starts
    assert not any(np.array_equal(a, b) for a, b in zip(rank0_starts, starts))


def test_an_epoch_is_split_between_the_ranks(ddp_run):
    run_dir, _ = ddp_run
    history = json.loads((run_dir / "loss_history.json").read_text())
    steps_per_epoch = math.ceil(math.ceil(MULTI_SKILL.n_episodes / WORLD) / BATCH)  # each rank gets half of the episodes
    assert history[-1]["step"] == STEPS
    assert history[-1]["epoch"] == pytest.approx(STEPS / steps_per_epoch)


def test_only_rank_0_reports(ddp_run):
    _, stdout = ddp_run
    for text in ("training 6 steps (preset tiny, 2 processes × batch 16)", "trained in"):
        lines = [line for line in stdout.splitlines() if text in line]
        assert len(lines) == 1 and lines[0].startswith("[default0]:"), stdout


def test_the_saved_model_loads_and_runs(ddp_run):
    run_dir, _ = ddp_run
    model = load_model(run_dir)
    assert (model.config.state_dim, model.config.env_id) == (17, "HalfCheetah-v5")
    assert evaluate(model, n_episodes=2, max_steps=5, progress=False).lengths.tolist() == [5, 5]


def test_a_two_process_resume_after_an_epoch_boundary_equals_the_uninterrupted_run(tmp_path):
    # 40 episodes: each rank's epoch is ceil(20 / 16) = 2 steps, so the checkpoint at step 5 lies past two epoch
    # boundaries and the resumed run crosses those at steps 6, 8 and 10.
    load_episodes("bundled").select(range(40)).save_to_disk(str(tmp_path / "data"))
    stop, total = 5, 10
    run = ("--dataset", tmp_path / "data", "--max-steps", total, "--save-steps", stop)
    torchrun_train(*run, "--output", tmp_path / "uninterrupted")
    # What a run stopped after step 5 leaves: checkpoint-5, saved mid-run with every rank's collator state, and the
    # record of what it trains (written when it started).
    shutil.copytree(tmp_path / "uninterrupted" / f"checkpoint-{stop}", tmp_path / "resumed" / f"checkpoint-{stop}")
    shutil.copy(tmp_path / "uninterrupted" / RUN_FILE, tmp_path / "resumed" / RUN_FILE)
    torchrun_train(*run, "--output", tmp_path / "resumed", "--resume")

    def history(run_dir):
        return [(h["step"], h["epoch"], h["loss"], h["grad_norm"])
                for h in json.loads((run_dir / "loss_history.json").read_text()) if "loss" in h]

    assert history(tmp_path / "resumed") == history(tmp_path / "uninterrupted")
    assert history(tmp_path / "resumed")[-1][:2] == (total, pytest.approx(total / 2))
    expected = load_file(str(tmp_path / "uninterrupted" / "model.safetensors"))
    for name, weight in load_file(str(tmp_path / "resumed" / "model.safetensors")).items():
        assert torch.equal(weight, expected[name]), name


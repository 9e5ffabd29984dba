"""The command line, `python -m dt_tutorial ...`, run as a subprocess with tiny budgets.

Happy paths and a few user errors run the real entry point in a subprocess (exit status, stderr,
no traceback). The other user errors call `cli.main(argv)` in this process, the function
`__main__` exits with, to save a ~10 s interpreter start each on a 2-core machine.
"""

from __future__ import annotations

import json

import pytest
from _helpers import assert_ok, assert_user_error, one_thread, run_cli  # noqa: F401 (fixture)

from dt_tutorial.cli import build_parser, main
from dt_tutorial.video import read_video

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """`train --preset tiny` on the bundled data, 10 steps, checkpoint at step 10."""
    run_dir = tmp_path_factory.mktemp("cli") / "run"
    proc = run_cli("train", "--preset", "tiny", "--max-steps", 10, "--output", run_dir, "--no-progress")
    assert_ok(proc)
    assert "training 10 steps (preset tiny)" in proc.stdout
    return run_dir


def user_error(capsys, *argv) -> str:
    """Run `main(argv)` in-process; it has to return 2 after printing one `error: ...` line."""
    assert main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err.strip()
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and err.endswith(lines[0]), err
    return lines[0]


@pytest.mark.parametrize("command", [[], ["train"], ["evaluate"], ["demo"], ["collect"]])
def test_help(command):
    proc = run_cli(*command, "--help")
    assert_ok(proc)
    assert proc.stdout.startswith(f"usage: python -m dt_tutorial {' '.join(command)}".rstrip())


def test_train_writes_a_complete_run(trained):
    for name in ("config.json", "model.safetensors", "loss_history.json", "train_config.json", "loss.png"):
        assert (trained / name).exists(), name
    history = json.loads((trained / "loss_history.json").read_text())
    assert [h["step"] for h in history if "loss" in h] == [1, 5, 10]
    assert json.loads((trained / "train_config.json").read_text())["max_steps"] == 10


def test_evaluate_with_video(trained, tmp_path):
    video = tmp_path / "x.mp4"
    proc = run_cli("evaluate", "--model", trained, "--episodes", 2, "--max-steps", 20, "--video", video, "--no-progress")
    assert_ok(proc)
    assert "HalfCheetah-v5 target 12000" in proc.stdout and "over 2 episodes, D4RL score" in proc.stdout
    returns = next(line for line in proc.stdout.splitlines() if line.startswith("returns:")).split()[1:]
    assert len(returns) == 2
    assert "video: " in proc.stdout and "over 20 steps" in proc.stdout
    assert read_video(video).shape == (21, 240, 320, 3)


def test_evaluate_in_an_env_with_other_dims_is_one_error_line(trained):
    proc = run_cli("evaluate", "--model", trained, "--env", "Hopper-v5", "--episodes", 1, "--no-progress")
    assert_user_error(proc, "error: the model was trained on states of size 17 and actions of size 6, but Hopper-v5 has 11 and 3")


@pytest.mark.parametrize("episodes", ["-1", "0", "two"])
def test_bad_episode_count_is_one_error_line(episodes):
    proc = run_cli("evaluate", "--model", "anything", "--episodes", episodes)
    assert_user_error(proc, f"error: argument --episodes: must be a positive integer, got {episodes}")
    assert proc.stdout == ""


@pytest.mark.parametrize("steps", ["0", "-3"])
def test_train_refuses_a_step_budget_below_one(steps, tmp_path):
    proc = run_cli("train", "--preset", "tiny", "--max-steps", steps, "--output", tmp_path / "run")
    assert_user_error(proc, f"error: argument --max-steps: must be a positive integer, got {steps}")
    assert not (tmp_path / "run").exists()


def test_training_into_a_used_folder_needs_resume_or_overwrite(trained, capsys):
    line = user_error(capsys, "train", "--preset", "tiny", "--output", trained)
    assert line.startswith(f"error: {trained} already holds a model: add --overwrite") and "--resume" in line


def test_resume_without_a_checkpoint(tmp_path, capsys):
    line = user_error(capsys, "train", "--preset", "tiny", "--output", tmp_path, "--resume", "--no-progress")
    assert line == f"error: --resume: no complete checkpoint-* folder in {tmp_path} to resume from"


def test_unknown_dataset(tmp_path, capsys):
    line = user_error(capsys, "train", "--dataset", "no-such-dataset", "--preset", "tiny", "--output", tmp_path / "run")
    assert line.startswith("error: unknown dataset 'no-such-dataset': use 'bundled'")
    assert not (tmp_path / "run").exists()


def test_model_folder_that_does_not_exist(tmp_path, capsys):
    line = user_error(capsys, "evaluate", "--model", tmp_path / "missing", "--episodes", 1)
    assert line.startswith(f"error: no saved model at {tmp_path / 'missing'}")


def test_model_folder_without_config(tmp_path, capsys):
    line = user_error(capsys, "evaluate", "--model", tmp_path, "--episodes", 1)
    assert line.startswith(f"error: {tmp_path} holds no saved model (no config.json)")


def test_collect_then_train_on_it(tmp_path):
    data = tmp_path / "halfcheetah-seed3"
    proc = run_cli("collect", "--episodes", 2, "--seed", 3, "--output", data, "--no-progress")
    assert_ok(proc)
    assert f"saved 2 episodes to {data}" in proc.stdout and "Saving the dataset" not in proc.stderr
    proc = run_cli("train", "--dataset", data, "--preset", "tiny", "--max-steps", 5, "--output", tmp_path / "run", "--no-progress")
    assert_ok(proc)
    assert proc.stdout.startswith("halfcheetah-seed3: 2 episodes, 2000 steps")  # named after its folder
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert (config["dataset_name"], config["env_id"], config["state_dim"]) == ("halfcheetah-seed3", "HalfCheetah-v5", 17)


def test_demo_end_to_end(tmp_path):
    out = tmp_path / "demo"
    proc = run_cli("demo", "--preset", "tiny", "--max-steps", 10, "--episodes", 2, "--video-steps", 10,
                   "--eval-steps", 20, "--output", out, "--no-progress")
    assert_ok(proc)
    for name in ("cheetah.mp4", "return_conditioning.png", "results.json", "model/loss.png", "model/config.json"):
        assert (out / name).exists(), name
    results = json.loads((out / "results.json").read_text())
    assert len(results["returns"]) == 2 and results["target_return"] == 12000
    conditioning = results["return_conditioning"]
    assert conditioning["targets"] == [1500, 3000, 4500, 6000, 7500, 9000, 10500, 12000]
    assert [len(r) for r in conditioning["returns"]] == [2] * 8 and conditioning["returns"][-1] == [round(r, 1) for r in results["returns"]]
    assert -1 <= conditioning["spearman_rho"] <= 1 and "mean_abs_error_in_range" in conditioning
    phases = results["phase_seconds"]
    assert set(phases) == {"data_and_setup", "training", "evaluation_and_sweep", "video"}
    assert phases["training"] > 0 and sum(phases.values()) <= results["seconds"] + 0.5
    assert read_video(out / "cheetah.mp4").shape == (11, 240, 320, 3)
    assert read_video(out / "targets.mp4").shape == (11, 240, 3 * 320, 3)  # one panel per DEMO_VIDEO_TARGETS
    assert sorted(map(float, results["targets_video_returns"])) == [2000, 6000, 12000]
    assert results["video_return"] == results["targets_video_returns"]["12000.0"]  # cheetah.mp4: the 12000 panel's episode


def test_the_presets_are_the_ones_the_cli_offers():
    from dt_tutorial.defaults import PRESET_NAMES
    from dt_tutorial.train import PRESETS

    assert tuple(PRESETS) == PRESET_NAMES
    for name in PRESET_NAMES:
        assert build_parser().parse_args(["train", "--preset", name]).preset == name


@pytest.mark.parametrize("flags, pace, dropout", [([], True, 0.0), (["--no-return-pace", "--dropout", "0.1"], False, 0.1)])
def test_return_pace_and_dropout_flags_reach_the_training_config(flags, pace, dropout):
    from dt_tutorial.cli import _train_config, build_parser

    config = _train_config(build_parser().parse_args(["train", "--preset", "demo", *flags]))
    assert (config.return_pace, config.dropout) == (pace, dropout)


def test_the_attention_flag_reaches_the_training_config():
    from dt_tutorial.cli import _train_config, build_parser
    from dt_tutorial.defaults import ATTENTIONS

    for attention in ATTENTIONS:  # the flag offers exactly the choices TrainConfig accepts
        assert _train_config(build_parser().parse_args(["train", "--attention", attention])).attention == attention
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--attention", "flash"])
    assert build_parser().parse_args(["train"]).attention is None  # the preset's choice ('auto') unless given
    assert _train_config(build_parser().parse_args(["train"])).attention == "auto" in ATTENTIONS

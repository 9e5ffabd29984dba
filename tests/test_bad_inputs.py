"""Damaged or hostile inputs on the command line: each one `error: ...` line, status 2, before any long work.

Saved models with damaged files or impossible settings, malformed agent zips, empty data, non-finite numbers
and output paths that cannot be written. Runs `cli.main` in this process (what `python -m dt_tutorial` returns)."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from _helpers import run_cli
from conftest import raises_one_line, synthetic_episodes
from dt_tutorial.cli import main
from dt_tutorial.model import TrainableDT, load_model, make_config
from dt_tutorial.rollout import evaluate

EXPERTS = Path(__file__).resolve().parents[1].parent / "shared" / "experts"
needs_experts = pytest.mark.skipif(not EXPERTS.is_dir(), reason=f"no pretrained agents at {EXPERTS} (../shared/experts)")


def one_error_line(capsys, *argv) -> str:
    try:
        status = main([str(a) for a in argv])
    except SystemExit as exit:  # argparse's own errors exit from parse_args
        status = exit.code
    assert status == 2
    err = capsys.readouterr().err.strip()
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and err.endswith(lines[0]), err
    return lines[0]


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory, halfcheetah) -> Path:
    """A small untrained model saved the way `train` saves one (pace on: it needs dataset_return_range)."""
    run = tmp_path_factory.mktemp("bad") / "model"
    TrainableDT(make_config(halfcheetah, hidden_size=16, n_layer=1, n_head=1, return_pace=True)).save_pretrained(run)
    return run


def copy_with_config(model: Path, tmp_path: Path, change) -> Path:
    run = tmp_path / "changed"
    shutil.copytree(model, run)
    config = json.loads((run / "config.json").read_text())
    change(config)
    (run / "config.json").write_text(json.dumps(config))
    return run


def evaluate_args(run):
    return ["evaluate", "--model", run, "--episodes", 1, "--max-steps", 3, "--no-progress"]


def test_the_saved_model_evaluates(saved_model, capsys):
    assert main([str(a) for a in evaluate_args(saved_model)]) == 0


def test_truncated_weights(saved_model, tmp_path, capsys):
    run = tmp_path / "truncated"
    shutil.copytree(saved_model, run)
    weights = run / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    assert "model.safetensors" in one_error_line(capsys, *evaluate_args(run))


def test_config_not_json(saved_model, tmp_path, capsys):
    run = tmp_path / "notjson"
    shutil.copytree(saved_model, run)
    (run / "config.json").write_text("{not json")
    assert "config.json" in one_error_line(capsys, *evaluate_args(run))


@pytest.mark.parametrize(
    "change, words",
    [
        (lambda c: c.pop("dataset_return_range"), "dataset_return_range"),
        (lambda c: c.update(scale=0), "scale"),
        (lambda c: c.update(scale="big"), "scale"),
        (lambda c: c.update(context_length=0), "context_length"),
        (lambda c: c.update(context_length=10**4), "context_length"),
        (lambda c: c.update(state_mean=c["state_mean"][:5]), "state_mean"),
        (lambda c: c.update(state_std=[0.0] * len(c["state_std"])), "state_std"),
        (lambda c: c.update(state_mean=[float("nan")] * len(c["state_mean"])), "state_mean"),
        (lambda c: c.update(max_ep_len=0), "config.json"),
        (lambda c: c.update(dataset_return_range=[1.0]), "dataset_return_range"),
        (lambda c: c.update(env_id=5), "env_id"),
    ],
    ids=["no-return-range", "scale-0", "scale-text", "context-0", "context-huge", "short-mean", "zero-std", "nan-mean",
         "max-ep-len-0", "short-range", "env-id-number"],
)
def test_impossible_config_values(saved_model, tmp_path, capsys, change, words):
    run = copy_with_config(saved_model, tmp_path, change)
    assert words in one_error_line(capsys, *evaluate_args(run))
    with raises_one_line(words):
        load_model(run)


def test_a_context_beyond_n_positions_over_3_still_evaluates(saved_model, tmp_path):
    """The model feeds position ids of 0, so a window of 400 steps (1200 tokens > n_positions) is a valid model."""
    run = copy_with_config(saved_model, tmp_path, lambda c: c.update(context_length=400))
    assert main([str(a) for a in evaluate_args(run)]) == 0


@pytest.mark.parametrize("target", ["nan", "inf", "-inf"])
def test_non_finite_target(saved_model, capsys, target):
    assert "target" in one_error_line(capsys, *evaluate_args(saved_model), f"--target={target}")
    with raises_one_line("finite"):
        evaluate(load_model(saved_model), target_return=float(target), n_episodes=1, max_steps=2, progress=False)


def test_too_many_episodes_refused_before_any_env_is_made(saved_model, capsys):
    assert "episodes" in one_error_line(capsys, "evaluate", "--model", saved_model, "--episodes", 10**11, "--max-steps", 3, "--no-progress")
    with raises_one_line("episodes"):
        evaluate(load_model(saved_model), target_return=[1000.0, 2000.0], n_episodes=1001, max_steps=2, progress=False)


def test_huge_target_is_clipped_with_a_note(saved_model, capsys):
    assert main([str(a) for a in evaluate_args(saved_model)] + ["--target", "1e40"]) == 0
    out = capsys.readouterr()
    assert "note: target 1e+40 clipped to" in out.err
    assert "nan" not in out.out.lower()


def test_zero_row_parquet(tmp_path, capsys):
    path = tmp_path / "empty.parquet"
    synthetic_episodes([3]).select([]).to_parquet(str(path))
    assert "no episodes" in one_error_line(capsys, "train", "--dataset", path, "--preset", "tiny", "--output", tmp_path / "r")


def test_video_into_an_unwritable_place_fails_first(saved_model, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    line = one_error_line(capsys, *evaluate_args(saved_model), "--video", blocker / "x.mp4")
    assert "a-file" in line
    assert "evaluating" not in capsys.readouterr().out
    (tmp_path / "folder.mp4").mkdir()
    assert "folder" in one_error_line(capsys, *evaluate_args(saved_model), "--video", tmp_path / "folder.mp4")


def test_train_output_that_cannot_be_a_folder(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert "a-file" in one_error_line(capsys, "train", "--preset", "tiny", "--output", blocker / "run")
    assert "a-file" in one_error_line(capsys, "train", "--preset", "tiny", "--output", blocker)


def bad_zip(tmp_path: Path, kind: str) -> Path:
    source = EXPERTS / "sac-HalfCheetah-v3.zip"
    path = tmp_path / f"{kind}.zip"
    if kind == "not-a-zip":
        path.write_text("hello")
        return path
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(path, "w") as dst:
        for item in src.infolist():
            if kind == "no-policy" and item.filename == "policy.pth":
                continue
            data = src.read(item.filename)
            dst.writestr(item, b"{not json" if kind == "bad-json" and item.filename == "data" else data)
    return path


@needs_experts
@pytest.mark.parametrize("kind, words", [("not-a-zip", "not a zip"), ("no-policy", "policy.pth"), ("bad-json", "data")])
def test_malformed_agent_zips(tmp_path, capsys, kind, words):
    line = one_error_line(capsys, "collect", "--policy", bad_zip(tmp_path, kind), "--episodes", 1, "--output", tmp_path / "o")
    assert words in line


def test_state_std_of_zeros_in_python(halfcheetah):
    config = make_config(halfcheetah, hidden_size=16, n_layer=1, n_head=1)
    config.state_std = [0.0] * config.state_dim
    with raises_one_line("state_std"):
        evaluate(TrainableDT(config), n_episodes=1, max_steps=2, progress=False)
    assert np.isfinite(halfcheetah.state_std).all()


def test_collect_output_checked_before_the_rollout(saved_model, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert "a-file" in one_error_line(capsys, "collect", "--episodes", 1, "--output", blocker / "data")
    run = tmp_path / "run"
    shutil.copytree(saved_model, run)
    before = (run / "model.safetensors").read_bytes()
    assert "holds a model" in one_error_line(capsys, "collect", "--episodes", 1, "--output", run)
    assert (run / "model.safetensors").read_bytes() == before


def test_collect_keeps_a_dataset_already_there_unless_overwrite(tmp_path, capsys):
    output = tmp_path / "data"
    synthetic_episodes([5, 7]).save_to_disk(output)
    before = sorted((path.name, path.read_bytes()) for path in output.iterdir())
    assert "--overwrite" in one_error_line(capsys, "collect", "--episodes", 1, "--output", output)
    assert sorted((path.name, path.read_bytes()) for path in output.iterdir()) == before


def test_an_episode_cap_beyond_the_env_limit_is_the_env_limit(saved_model, capsys):
    assert main([str(a) for a in evaluate_args(saved_model)[:-3]] + ["--max-steps", str(10**11), "--no-progress"]) == 0
    assert "over 1 episodes" in capsys.readouterr().out


def test_stderr_is_the_error_line_alone(tmp_path):
    """No library log line before the one `error:` line (here `datasets`' own report of the unreadable file)."""
    path = tmp_path / "junk.parquet"
    path.write_bytes(b"PAR1")
    proc = run_cli("train", "--dataset", path, "--preset", "tiny", "--output", tmp_path / "r", "--no-progress")
    assert proc.returncode == 2 and proc.stderr.splitlines() == [proc.stderr.strip()], proc.stderr
    assert proc.stderr.startswith("error: ") and "parquet" in proc.stderr


def test_no_progress_means_no_progress_bars(saved_model):
    """--no-progress: nothing on stderr from loading the model (transformers' own bar) or evaluating it."""
    proc = run_cli(*evaluate_args(saved_model))
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr


@pytest.mark.parametrize(
    "change, words",
    [
        (lambda c: c.update(n_layer=2), "n_layer"),  # one layer saved: a second one would be random weights
        (lambda c: c.update(n_layer=10**6), "n_layer"),  # would build layers for minutes before reading a weight
        (lambda c: c.update(hidden_size=32), "hidden_size"),
        (lambda c: c.update(max_ep_len=10**8), "max_ep_len"),
        (lambda c: c.update(n_inner=10**7), "n_inner"),
        (lambda c: c.update(n_positions=2048), "n_positions"),
    ],
    ids=["one-layer-more", "a-million-layers", "hidden-size", "huge-max-ep-len", "huge-n-inner", "n-positions"],
)
def test_config_sizes_that_the_weights_do_not_have(saved_model, tmp_path, capsys, change, words):
    """Sizes in config.json are checked against the weights file's header before any layer is built from them."""
    run = copy_with_config(saved_model, tmp_path, change)
    line = one_error_line(capsys, *evaluate_args(run))
    assert words in line and "model.safetensors" in line
    with raises_one_line(words):
        load_model(run)

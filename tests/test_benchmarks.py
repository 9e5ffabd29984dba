"""benchmarks/: the baselines compute what ours computes, and every benchmark code path runs (tiny sizes, never timed)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch

from benchmarks.__main__ import build_parser
from benchmarks.peer import compare_with_peer, export_episodes, format_comparison
from benchmarks.quality import PARTS, QualitySettings, run_quality
from benchmarks.results_file import REPOSITORY, repository_relative, write_results
from benchmarks.speed import SECTIONS, Sizes, format_table, run_speed, table_rows, untrained_model
from benchmarks.synthetic import ACT_DIM, STATE_DIM, load_synthetic, synthetic_episodes
from benchmarks.tutorial import TutorialCollator, tutorial_episode
from dt_tutorial.collator import DecisionTransformerGymDataCollator
from dt_tutorial.data import Trajectories
from dt_tutorial.envs import make_env
from dt_tutorial.precision import resolve_precision
from dt_tutorial.rollout import evaluate

TINY = Sizes(
    n_episodes=6, episode_len=50, batch_size=8, collator_batches_ours=4, collator_batches_tutorial=2,
    train_steps_ours=4, train_steps_tutorial=4, train_warmup=1, train_repeats=1, eval_episodes=2, eval_steps=5,
    render_frames=2, render_sizes=((64, 48),), sweep_targets=(0, 12000), sweep_repeats=1,
)


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_synthetic_episodes_have_the_hub_schema():
    ds = synthetic_episodes(3, 25, seed=1)
    data = Trajectories.from_dataset(ds)
    assert (data.n_episodes, data.n_steps, data.state_dim, data.act_dim) == (3, 75, STATE_DIM, ACT_DIM)
    np.testing.assert_array_equal(data.episode_lengths, [25, 25, 25])
    assert data.dones.sum() == 3 and data.dones[24] and data.dones[-1]
    row = ds[1]  # a row read, as the tutorial's collator does it
    np.testing.assert_allclose(np.array(row["observations"]), data.observations[25:50])
    np.testing.assert_allclose(np.array(row["rewards"]), data.rewards[25:50])


def test_tutorial_windows_equal_ours(hopper_episodes):
    """Window by window, the blog's collator (the baseline) builds the batch ours builds, episode ends included."""
    tutorial = TutorialCollator(hopper_episodes)
    ours = DecisionTransformerGymDataCollator(hopper_episodes)
    np.testing.assert_allclose(tutorial.state_mean, ours.state_mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(tutorial.p_sample, ours.p_sample)
    data = ours.trajectories
    for episode in range(0, data.n_episodes, 7):
        feature = hopper_episodes[episode]
        for si in sorted({0, 1, data.episode_lengths[episode] // 2, data.episode_lengths[episode] - 1}):
            s, a, r, _, rtg, timesteps, mask = tutorial.window(feature, int(si))
            batch = ours.windows(np.array([data.episode_starts[episode] + si]))
            np.testing.assert_array_equal(batch["attention_mask"].numpy(), mask)
            np.testing.assert_array_equal(batch["timesteps"].numpy(), timesteps)
            np.testing.assert_allclose(batch["states"].numpy(), s, rtol=1e-4, atol=1e-4)
            np.testing.assert_allclose(batch["actions"].numpy(), a, rtol=1e-6)
            np.testing.assert_allclose(batch["rewards"].numpy(), r, rtol=1e-6)
            np.testing.assert_allclose(batch["returns_to_go"].numpy(), rtg, rtol=1e-4, atol=1e-6)


def test_tutorial_batch_has_our_keys_shapes_and_dtypes(hopper_episodes):
    features = list(range(5))
    tutorial = TutorialCollator(hopper_episodes)(features)
    ours = DecisionTransformerGymDataCollator(hopper_episodes, seed=0)(features)
    assert tutorial.keys() == ours.keys()
    for key in ours:
        assert (tutorial[key].shape, tutorial[key].dtype) == (ours[key].shape, ours[key].dtype), key
    assert (tutorial["attention_mask"].sum(dim=1) >= 1).all()


def test_tutorial_evaluation_loop_returns_what_evaluate_returns(one_thread):
    model = untrained_model()
    batched = evaluate(model, "HalfCheetah-v5", target_return=6000, n_episodes=2, seed=3, max_steps=30, precision="fp32",
                       progress=False)  # the blog loop runs in float32
    env = make_env("HalfCheetah-v5")
    one_by_one = [tutorial_episode(model, env, target_return=6000, max_ep_len=30, seed=3 + i) for i in range(2)]
    np.testing.assert_allclose(one_by_one, batched.returns, rtol=1e-3)


def test_speed_sections_run_on_tiny_sizes(one_thread, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # for the training workers too
    results = run_speed(TINY, SECTIONS, log=lambda _: None)
    assert set(results) == set(SECTIONS)
    assert results["collator"]["n_steps"] == 300 and results["collator"]["batch_ratio"] > 0
    training = results["training"]
    for pipeline in ("tutorial", "ours", "ours-auto", "ours-auto-sdpa", "floor"):
        run = training[pipeline]
        assert run["steps"] == (TINY.train_steps_tutorial if pipeline == "tutorial" else TINY.train_steps_ours)
        assert run["steps_per_s"] > 0 and run["peak_rss_mb"] > 0
    assert training["tutorial"]["n_parameters"] > training["ours"]["n_parameters"]  # the blog's max_ep_len=4096 embedding
    assert (training["ours"]["precision"], training["ours-auto"]["precision"]) == ("fp32", resolve_precision("auto", "cpu"))
    assert (training["ours"]["attention"], training["ours-auto-sdpa"]["attention"]) == ("eager", "sdpa")
    assert results["evaluation"]["ours_s"] > 0 and results["evaluation"]["ours_auto_s"] > 0 and results["evaluation"]["tutorial_no_grad_s"] > 0
    assert results["evaluation"]["full_forward_auto_s"] > 0
    assert set(results["rendering"]["fps"]) == {"64x48", "64x48, gymnasium default shadow map"}
    table = format_table(table_rows(results))
    assert results["evaluation"]["sweep"]["one_batch_s"] > 0 and results["evaluation"]["sweep"]["per_target_s"] > 0
    for measure in ("collator: one batch of 8", "training: peak RSS", "training: steps/s in precision auto",
                    "evaluation: 2 episodes x 5 steps", "render_frame 64x48",
                    "evaluation: the same in precision auto", "through the model's full forward", "with sdpa attention",
                    "evaluation: 2 targets x 2 episodes (auto), one batch vs a call per target"):
        assert measure in table
    assert len(load_synthetic(TINY.n_episodes, TINY.episode_len)) == TINY.n_episodes  # cached by the run


def test_quality_parts_run_on_tiny_sizes(tmp_path, one_thread):
    settings = QualitySettings(
        preset="tiny", max_steps=2, data_episodes=2, eval_episodes=2, eval_max_steps=5, targets=(0.0, 6000.0, 12000.0),
        noise_levels=(0.0, 2.0), action_scales=None, output_dir=tmp_path / "runs",
    )
    out = tmp_path / "quality.json"
    run_quality(PARTS, settings, out, log=lambda _: None)
    assert str(tmp_path.parent) not in out.read_text()  # the run folders: outside the repository, their names alone
    results = json.loads(out.read_text(), parse_constant=lambda name: pytest.fail(f"{name} in the JSON"))
    for part in PARTS:
        assert results[part]["training"]["optimizer_steps"] == 2
        assert (tmp_path / "runs" / part / "config.json").exists()
    expert, mixed = results["expert"], results["mixed"]
    assert [e["target"] for e in expert["evaluations"]] == [12000.0, 6000.0]
    assert all(len(e["returns"]) == 2 and e["score_mean"] is not None for e in expert["evaluations"])
    assert [e["target"] for e in mixed["evaluations"]] == [0.0, 6000.0, 12000.0]
    clean, noisy = mixed["levels"]
    assert clean["return_mean"] > noisy["return_mean"] + 5000  # action noise 2.0 wrecks the expert
    assert mixed["dataset"]["return_min"] == noisy["return_min"] and mixed["dataset"]["return_max"] == clean["return_max"]
    assert set(mixed["spearman_target_vs_mean_return"]) == {"rho", "p"}
    assert results["demo"]["training"]["preset"] == "tiny"


def test_cli_parses_quality_settings_and_rejects_unknown_sections():
    args = build_parser().parse_args(["--quality", "mixed", "--targets", "0,6000", "--max-steps", "50"])
    assert args.quality == ("mixed",) and args.targets == (0.0, 6000.0) and args.max_steps == 50
    assert build_parser().parse_args(["--quality"]).quality == PARTS
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--only", "collator,nonsense"])


def test_peer_export_ends_every_episode_in_a_terminal_or_a_timeout(hopper, tmp_path):
    """Hopper's random-policy episodes fall (terminal); with a time limit below their length they time out."""
    ends = hopper.episode_starts + hopper.episode_lengths - 1
    arrays = np.load(export_episodes(hopper, tmp_path / "falls.npz"))
    np.testing.assert_array_equal(np.flatnonzero(arrays["terminals"]), ends)
    assert not arrays["timeouts"].any()
    arrays = np.load(export_episodes(hopper, tmp_path / "limited.npz", time_limit=1))
    np.testing.assert_array_equal(np.flatnonzero(arrays["timeouts"]), ends)
    assert not arrays["terminals"].any()
    np.testing.assert_array_equal(arrays["observations"], hopper.observations)
    assert len(arrays["actions"]) == len(arrays["rewards"]) == len(arrays["terminals"]) == hopper.n_steps


def test_bc_comparison_trains_all_three_and_writes_table_and_plot(halfcheetah_episodes, tmp_path):
    from benchmarks.bc import BCSettings, run_bc

    halfcheetah_episodes.save_to_disk(str(tmp_path / "cheetah"))
    settings = BCSettings(preset="tiny", max_steps=3, targets=(0.0, 12000.0), eval_episodes=1, eval_max_steps=10,
                          output_dir=tmp_path / "out")
    rows = run_bc((str(tmp_path / "cheetah"),), settings)
    assert [row["method"] for row in rows] == ["DT", "BC", "10%BC"]
    dt, bc, top_bc = rows
    assert bc["achieved"][0] == bc["achieved"][1] and top_bc["achieved"][0] == top_bc["achieved"][1]  # BC ignores the target
    assert bc["parameters"] == top_bc["parameters"] != dt["parameters"]
    assert (tmp_path / "out" / "achieved_vs_target.png").stat().st_size > 0
    written = (tmp_path / "out" / "bc.json").read_text()
    assert str(tmp_path.parent) not in written  # the output folder and the dataset's folder: outside the repository
    assert json.loads(written)["rows"] == [{**row, "dataset": repository_relative(row["dataset"])} for row in rows]
    assert json.loads(written)["settings"]["output_dir"] == repository_relative(tmp_path / "out")


def test_results_files_hold_repository_relative_paths(tmp_path):
    inside, outside = REPOSITORY / "outputs" / "runs" / "a", tmp_path / "runs"
    results = {"run": inside, "runs": [str(inside), outside], "nested": {"dir": str(outside)}, "dataset": "bundled",
               "relative": "outputs/x", "spec": "minari:mujoco/halfcheetah/expert-v0", "count": 3}
    path = write_results(tmp_path / "deep" / "results.json", results)
    written = json.loads(path.read_text())

    def strings(value):
        if isinstance(value, dict):
            return [s for item in value.values() for s in strings(item)]
        if isinstance(value, list):
            return [s for item in value for s in strings(item)]
        return [value] if isinstance(value, str) else []

    assert not [s for s in strings(written) if os.path.isabs(s)]
    assert written["run"] == written["runs"][0] == "outputs/runs/a"
    assert written["runs"][1] == written["nested"]["dir"] == "runs"  # outside the repository: the name alone
    assert (written["dataset"], written["relative"], written["spec"], written["count"]) == (
        "bundled", "outputs/x", "minari:mujoco/halfcheetah/expert-v0", 3)


def test_the_peer_runs_with_libgomps_defaults_not_ours(monkeypatch):
    import dt_tutorial
    from benchmarks.peer import library_defaults_env

    monkeypatch.setenv("GOMP_SPINCOUNT", dt_tutorial.GOMP_SPINCOUNT)  # what `import dt_tutorial` set
    assert "GOMP_SPINCOUNT" not in library_defaults_env() and "PATH" in library_defaults_env()
    monkeypatch.setenv("GOMP_SPINCOUNT", "12345")  # the user's own: kept
    assert library_defaults_env()["GOMP_SPINCOUNT"] == "12345"


def test_full_forward_policy_leaves_the_models_mode_alone():
    from benchmarks.speed import FullForwardPolicy

    model = untrained_model()
    evaluate(FullForwardPolicy(model), n_episodes=1, max_steps=2, progress=False)
    assert not model.training  # evaluate() restores the wrapper's mode, which follows the model's


def test_threads_benchmark_times_each_mode_beside_busy_processes(tmp_path):
    from benchmarks import threads

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        threads.main(["--rounds", "1", "--episodes", "2", "--steps", "20", "--busy", "0,1", "--json", str(tmp_path / "t.json")])
    finally:
        torch.set_num_threads(before)
    runs = json.loads((tmp_path / "t.json").read_text())["runs"]
    assert [run["busy_processes"] for run in runs] == [0, 1]
    assert all(run[mode] > 0 for run in runs for mode in threads.MODES) and all(len(run["tuner_choices"]) == 1 for run in runs)


def test_peer_comparison_runs_ours_beside_each_peer_run(monkeypatch, one_thread):
    """The interleaving and ratios; d3rlpy itself (its own venv, a PyPI install) is replaced by a fixed result."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    calls = []

    def fake_peer(dataset, steps, eval_episodes, eval_max_steps, dropout):
        calls.append((dataset, steps, eval_episodes, eval_max_steps, dropout))
        return {"peer": "d3rlpy", "torch": "x", "gymnasium": "1.0.0", "n_parameters": 1, "steps": steps, "fit_s": 1.0,
                "steps_per_s": 2.0 + len(calls), "eval_episodes": eval_episodes, "eval_max_steps": eval_max_steps,
                "eval_s": 10.0 - len(calls), "eval_returns": [0.0]}

    import benchmarks.speed

    ours = []  # the dropout each of our training workers ran with, read back from its model
    real_worker = benchmarks.speed.run_training_worker

    def spy_worker(*args, **kwargs):
        result = real_worker(*args, **kwargs)
        ours.append(result["dropout"])
        return result

    monkeypatch.setattr("benchmarks.peer.run_peer", fake_peer)
    monkeypatch.setattr("benchmarks.speed.run_training_worker", spy_worker)
    result = compare_with_peer("bundled-expert", 4, 2, 5, rounds=2, sizes=TINY, dropout=0.0, log=lambda _: None)
    assert calls == [("bundled-expert", 4, 2, 5, 0.0)] * 2
    assert ours == [0.0] * 4 and "dropout 0.0" in format_comparison(result)  # both sides with the same dropout
    assert result["peer"]["steps_per_s"] == 4.0 and result["peer_eval_s"] == 8.0  # the best peer run of the two
    for name in ("ours_fp32_steps_per_s", "ours_auto_steps_per_s", "ours_eval_fp32_s", "ours_eval_auto_s"):
        assert len(result["all_runs"][name]) == 2 and result[name] > 0
    assert result["training_ratio_auto"] == pytest.approx(result["ours_auto_steps_per_s"] / 4.0)
    assert result["evaluation_ratio_fp32"] == pytest.approx(8.0 / result["ours_eval_fp32_s"])
    assert "goal >= 3x" in format_comparison(result)


def test_budget_times_the_steps_after_the_warm_up_and_profiles_them(halfcheetah_episodes, tmp_path, capsys, one_thread):
    from benchmarks.budget import WARMUP_STEPS, main

    halfcheetah_episodes.save_to_disk(str(tmp_path / "data"))
    out = tmp_path / "budget.json"
    main([str(out), "--dataset", str(tmp_path / "data"), "--steps", "1000", "--seconds", "1", "--eval-episodes", "0",
          "--precision", "fp32", "--profile"])
    result = json.loads(out.read_text())
    assert WARMUP_STEPS < result["steps_done"] < 1000 and result["steps_per_s"] > 0
    assert result["projected_budget_s"] == pytest.approx(1000 / result["steps_per_s"], abs=1)
    assert (result["device"], result["precision"], result["compile"]) == ("cpu", "fp32", None)
    assert "Ordered by: internal time" in capsys.readouterr().out  # the profile of the timed steps

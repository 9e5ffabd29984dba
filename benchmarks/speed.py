"""Speed: ours vs the tutorial's pipeline (collator, training, evaluation), and rendering.

Each `bench_*` returns a dict of raw numbers; `table_rows` turns them into the printed table with
the goals of issue "Benchmarks". Timings are medians where calls repeat, so that a burst of load
from other processes moves them less.
"""

from __future__ import annotations

import cProfile
import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from benchmarks.synthetic import cached_synthetic_path, load_synthetic, synthetic_episodes
from benchmarks.training import DATASET_NAME, top_entries
from benchmarks.tutorial import TutorialCollator, tutorial_episode
from dt_tutorial.collator import DecisionTransformerGymDataCollator
from dt_tutorial.data import Trajectories
from dt_tutorial.envs import make_env
from dt_tutorial.model import TrainableDT, make_config
from dt_tutorial.precision import resolve_precision
from dt_tutorial.rollout import evaluate
from dt_tutorial.render import make_render_env, render_frame

REPO_ROOT = Path(__file__).resolve().parents[1]
ENV_ID = "HalfCheetah-v5"
SECTIONS = ("collator", "training", "evaluation", "rendering")
GOALS = {"collator": 300.0, "training": 2.0, "floor": 0.85, "evaluation": 5.0}  # minimum ratios


@dataclass(frozen=True)
class Sizes:
    n_episodes: int = 1000
    episode_len: int = 1000
    batch_size: int = 64
    collator_batches_ours: int = 2000
    collator_batches_tutorial: int = 20
    train_steps_ours: int = 200
    train_steps_tutorial: int = 30
    train_warmup: int = 3
    train_repeats: int = 2
    eval_episodes: int = 10
    eval_steps: int = 1000
    sweep_targets: tuple[float, ...] = (0, 2000, 4000, 6000, 8000, 10000, 12000)
    sweep_repeats: int = 3
    render_frames: int = 200
    render_sizes: tuple[tuple[int, int], ...] = ((320, 240), (160, 120))


FULL = Sizes()
QUICK = Sizes(
    collator_batches_ours=400, collator_batches_tutorial=5, train_steps_ours=40, train_steps_tutorial=8, train_repeats=1,
    eval_steps=200, render_frames=30,
)


def per_call_seconds(fn, calls: int, block: int = 1) -> float:
    """Median seconds per call of `fn`, timed in blocks of `block` calls."""
    times = []
    for _ in range(max(1, calls // block)):
        start = time.perf_counter()
        for _ in range(block):
            fn()
        times.append((time.perf_counter() - start) / block)
    return statistics.median(times)


def timed(fn):
    """(seconds, result) of one call."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def print_profile(label: str, fn, n: int = 20) -> None:
    """Run `fn` once more under cProfile and print its top entries by own time."""
    profile = cProfile.Profile()
    profile.runcall(fn)
    print(f"--- profile: {label} ---\n{top_entries(profile, n)}")


def bench_collator(sizes: Sizes, profile: bool = False) -> dict:
    dataset = load_synthetic(sizes.n_episodes, sizes.episode_len)
    ours_ctor_s, ours = timed(lambda: DecisionTransformerGymDataCollator(dataset, seed=0))
    tutorial_ctor_s, tutorial = timed(lambda: TutorialCollator(dataset))
    features = list(range(sizes.batch_size))  # the rows the Trainer would pass; both collators ignore them
    ours_s = per_call_seconds(lambda: ours(features), sizes.collator_batches_ours, block=20)
    tutorial_s = per_call_seconds(lambda: tutorial(features), sizes.collator_batches_tutorial)
    if profile:
        print_profile("tutorial collator, 1 batch", lambda: tutorial(features))
        print_profile("our collator, 100 batches", lambda: [ours(features) for _ in range(100)])
    return {
        "n_steps": sizes.n_episodes * sizes.episode_len,
        "batch_size": sizes.batch_size,
        "ours_batch_ms": ours_s * 1e3,
        "tutorial_batch_ms": tutorial_s * 1e3,
        "batch_ratio": tutorial_s / ours_s,
        "ours_constructor_s": ours_ctor_s,
        "tutorial_constructor_s": tutorial_ctor_s,
        "constructor_ratio": tutorial_ctor_s / ours_ctor_s,
    }


def run_training_worker(pipeline: str, steps: int, sizes: Sizes, profile: bool = False, dropout: float = 0.1) -> dict:
    """`python -m benchmarks.training ...` in a fresh process; its result dict."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        command = [sys.executable, "-m", "benchmarks.training", pipeline, str(steps), str(out),
                   "--episodes", str(sizes.n_episodes), "--episode-len", str(sizes.episode_len), "--warmup", str(sizes.train_warmup),
                   "--dropout", str(dropout)]
        run = subprocess.run(command + (["--profile"] if profile else []), cwd=REPO_ROOT, capture_output=True, text=True)
        if run.returncode != 0:
            raise RuntimeError(f"training worker {pipeline} failed:\n{run.stderr[-3000:]}")
        if profile:
            print(f"--- profile: training, {pipeline} ---\n{run.stdout[run.stdout.find('   Ordered by'):]}")
        return json.loads(out.read_text())


def bench_training(sizes: Sizes, profile: bool = False) -> dict:
    """Each pipeline `train_repeats` times, interleaved so that a burst of load hits them alike; the best run of each."""
    cached_synthetic_path(sizes.n_episodes, sizes.episode_len)  # made once, before the workers read it
    plan = (("tutorial", sizes.train_steps_tutorial), ("ours", sizes.train_steps_ours), ("ours-auto", sizes.train_steps_ours),
            *([("ours-auto-sdpa", sizes.train_steps_ours)] if TrainableDT._supports_sdpa else []),  # not in transformers < ~5.2x
            ("floor", sizes.train_steps_ours))
    runs = {pipeline: [] for pipeline, _ in plan}
    for repeat in range(sizes.train_repeats):
        for pipeline, steps in plan:
            runs[pipeline].append(run_training_worker(pipeline, steps, sizes, profile and repeat == 0))
    best = {pipeline: max(results, key=lambda r: r["steps_per_s"]) for pipeline, results in runs.items()}
    return {
        **best,
        "repeats": sizes.train_repeats,
        "steps_per_s_all_runs": {pipeline: [r["steps_per_s"] for r in results] for pipeline, results in runs.items()},
        "speedup": best["ours"]["steps_per_s"] / best["tutorial"]["steps_per_s"],
        "fraction_of_floor": best["ours"]["steps_per_s"] / best["floor"]["steps_per_s"],
        "auto_vs_fp32": best["ours-auto"]["steps_per_s"] / best["ours"]["steps_per_s"],
        **({"auto_vs_auto_sdpa": best["ours-auto"]["steps_per_s"] / best["ours-auto-sdpa"]["steps_per_s"]} if "ours-auto-sdpa" in best else {}),
    }


def untrained_model() -> TrainableDT:
    """A HalfCheetah-sized TrainableDT with the tutorial preset's architecture; speed does not depend on training."""
    trajectories = Trajectories.from_dataset(synthetic_episodes(2, 50), DATASET_NAME)
    return TrainableDT(make_config(trajectories, env_id=ENV_ID)).eval()


class FullForwardPolicy(torch.nn.Module):
    """`model` as a policy that reads its action from the whole DecisionTransformerModel forward (the model's own
    `predict_actions`), which the speed layer's door leaves as it is: evaluation without `speed.LastActionPolicy`,
    the same actions (to rounding), for timing what that saves."""

    def __init__(self, model: TrainableDT):
        super().__init__()
        self.model, self.config = model, model.config
        self.train(model.training)  # else evaluate() would restore this wrapper's default train mode onto `model`

    def predict_actions(self, window: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.model.predict_actions(window)


def bench_evaluation(sizes: Sizes, profile: bool = False) -> dict:
    model = untrained_model()
    n, horizon = sizes.eval_episodes, sizes.eval_steps

    def ours(precision="fp32", policy=model):
        return evaluate(policy, ENV_ID, n_episodes=n, max_steps=horizon, precision=precision, progress=False)

    def tutorial():
        model.eval()  # the blog evaluates in train mode (dropout on, slower); eval mode: its faster loop, a fair ratio
        env = make_env(ENV_ID)
        returns = [tutorial_episode(model, env, max_ep_len=horizon, seed=i) for i in range(n)]
        env.close()
        return returns

    def tutorial_no_grad():
        with torch.no_grad():
            return tutorial()

    ours_s, _ = timed(ours)
    ours_auto_s, _ = timed(lambda: ours("auto"))
    full_forward_auto_s, _ = timed(lambda: ours("auto", FullForwardPolicy(model)))
    tutorial_s, _ = timed(tutorial)
    no_grad_s, _ = timed(tutorial_no_grad)
    sweep = bench_target_sweep(model, sizes)
    if profile:
        print_profile("batched evaluate", ours)
        print_profile("tutorial loop", tutorial)
    return {
        "episodes": n,
        "steps": horizon,
        "ours_s": ours_s,
        "ours_auto_s": ours_auto_s,
        "full_forward_auto_s": full_forward_auto_s,
        "auto_precision": resolve_precision("auto", torch.device("cpu")),
        "tutorial_s": tutorial_s,
        "tutorial_no_grad_s": no_grad_s,
        "ratio": tutorial_s / ours_s,
        "ratio_vs_no_grad": no_grad_s / ours_s,
        "sweep": sweep,
    }


def bench_target_sweep(model, sizes: Sizes) -> dict:
    """A return-conditioning sweep in the `auto` precision (as the demo runs it): one `evaluate` call per target vs all
    targets in one batch, interleaved; medians."""
    n, horizon, targets = sizes.eval_episodes, sizes.eval_steps, sizes.sweep_targets
    runs = {"per_target": [], "one_batch": []}
    settings = {"max_steps": horizon, "precision": "auto", "progress": False}
    for _ in range(sizes.sweep_repeats):
        runs["per_target"].append(timed(lambda: [evaluate(model, ENV_ID, t, n, **settings) for t in targets])[0])
        runs["one_batch"].append(timed(lambda: evaluate(model, ENV_ID, targets, n, **settings))[0])
    medians = {name: statistics.median(times) for name, times in runs.items()}
    return {"targets": len(targets), **{f"{name}_s": s for name, s in medians.items()},
            "ratio": medians["per_target"] / medians["one_batch"], "all_runs_s": runs}


def render_fps(env, frames: int, profile_label: str | None = None) -> float:
    """Frames/s of `render_frame(env)` alone (the physics steps between frames are not timed); closes `env`."""
    env.reset(seed=0)
    render_frame(env)  # the first frame creates the GL context
    zero = np.zeros(env.action_space.shape, dtype=np.float32)
    seconds = 0.0
    for _ in range(frames):
        env.step(zero)
        start = time.perf_counter()
        render_frame(env)
        seconds += time.perf_counter() - start
    if profile_label:
        print_profile(f"{profile_label}, 10 frames", lambda: [render_frame(env) for _ in range(10)])
    env.close()
    return frames / seconds


def bench_rendering(sizes: Sizes, profile: bool = False) -> dict:
    """`make_render_env` (what evaluate and record_video use) and, for comparison, a plain gymnasium env
    (MuJoCo's default 4096² shadow map)."""
    fps = {}
    for width, height in sizes.render_sizes:
        size = f"{width}x{height}"
        fps[size] = render_fps(make_render_env(ENV_ID, width, height), sizes.render_frames, size if profile else None)
        plain = make_env(ENV_ID, render_mode="rgb_array", width=width, height=height)
        fps[f"{size}, gymnasium default shadow map"] = render_fps(plain, sizes.render_frames, f"{size} plain" if profile else None)
    return {"frames": sizes.render_frames, "fps": fps}


BENCHES = {"collator": bench_collator, "training": bench_training, "evaluation": bench_evaluation, "rendering": bench_rendering}


def run_speed(sizes: Sizes, sections=SECTIONS, profile: bool = False, log=print) -> dict:
    results = {}
    for section in sections:
        log(f"[{section}] ...")
        results[section] = BENCHES[section](sizes, profile)
    return results


def _check(ratio: float, goal: float) -> str:
    return "met" if ratio >= goal else "MISSED"


def table_rows(results: dict) -> list[tuple[str, ...]]:
    """(measure, ours, tutorial, ratio, goal, status) rows for the sections in `results`."""
    rows = []
    if "collator" in results:
        c = results["collator"]
        rows.append((f"collator: one batch of {c['batch_size']}, K=20", f"{c['ours_batch_ms']:.3f} ms", f"{c['tutorial_batch_ms']:.1f} ms",
                     f"{c['batch_ratio']:.0f}x", f">= {GOALS['collator']:.0f}x", _check(c["batch_ratio"], GOALS["collator"])))
        rows.append((f"collator: constructor, {c['n_steps']:,} steps", f"{c['ours_constructor_s']:.2f} s", f"{c['tutorial_constructor_s']:.1f} s",
                     f"{c['constructor_ratio']:.0f}x", "", ""))
    if "training" in results:
        t = results["training"]
        ours, tutorial, floor = t["ours"], t["tutorial"], t["floor"]
        rows.append((f"training: optimizer steps/s (Trainer), best of {t['repeats']}", f"{ours['steps_per_s']:.2f}", f"{tutorial['steps_per_s']:.2f}",
                     f"{t['speedup']:.1f}x", f">= {GOALS['training']:.0f}x", _check(t["speedup"], GOALS["training"])))
        auto = t["ours-auto"]
        rows.append((f"training: steps/s in precision auto = {auto['precision']} ({auto['device']}, {auto['attention']} attention)",
                     f"{auto['steps_per_s']:.2f}", "", f"{t['auto_vs_fp32']:.2f}x ours fp32", "", ""))
        if sdpa := t.get("ours-auto-sdpa"):
            rows.append((f"training: the same ({sdpa['precision']}) with sdpa attention (before attention='auto')", f"{sdpa['steps_per_s']:.2f}", "",
                         f"eager = {t['auto_vs_auto_sdpa']:.2f}x this", "", ""))
        rows.append(("training: floor steps/s (bare fwd+bwd+AdamW)", f"{floor['steps_per_s']:.2f}", "",
                     f"ours = {t['fraction_of_floor']:.0%} of floor", f">= {GOALS['floor']:.0%}", _check(t["fraction_of_floor"], GOALS["floor"])))
        rows.append(("training: setup (data + collator + model)", f"{ours['setup_s']:.1f} s", f"{tutorial['setup_s']:.1f} s",
                     f"{tutorial['setup_s'] / ours['setup_s']:.0f}x", "", ""))
        rows.append(("training: peak RSS", f"{ours['peak_rss_mb']:.0f} MB", f"{tutorial['peak_rss_mb']:.0f} MB",
                     f"{tutorial['peak_rss_mb'] / ours['peak_rss_mb']:.1f}x", "", ""))
        rows.append(("training: model parameters", f"{ours['n_parameters']:,}", f"{tutorial['n_parameters']:,}", "", "", ""))
    if "evaluation" in results:
        e = results["evaluation"]
        rows.append((f"evaluation: {e['episodes']} episodes x {e['steps']} steps", f"{e['ours_s']:.1f} s", f"{e['tutorial_s']:.1f} s",
                     f"{e['ratio']:.1f}x", f">= {GOALS['evaluation']:.0f}x", _check(e["ratio"], GOALS["evaluation"])))
        rows.append((f"evaluation: the same in precision auto = {e['auto_precision']}", f"{e['ours_auto_s']:.1f} s", f"{e['tutorial_s']:.1f} s",
                     f"{e['tutorial_s'] / e['ours_auto_s']:.1f}x", f">= {GOALS['evaluation']:.0f}x", _check(e['tutorial_s'] / e['ours_auto_s'], GOALS["evaluation"])))
        rows.append(("evaluation: the same (auto) through the model's full forward (without speed.LastActionPolicy)",
                     f"{e['full_forward_auto_s']:.1f} s", "", f"last_action: {e['full_forward_auto_s'] / e['ours_auto_s']:.2f}x faster", "", ""))
        rows.append(("evaluation: tutorial loop under torch.no_grad", "", f"{e['tutorial_no_grad_s']:.1f} s",
                     f"{e['ratio_vs_no_grad']:.1f}x", "", ""))
        w = e["sweep"]
        rows.append((f"evaluation: {w['targets']} targets x {e['episodes']} episodes (auto), one batch vs a call per target",
                     f"{w['one_batch_s']:.1f} s", f"{w['per_target_s']:.1f} s", f"{w['ratio']:.1f}x", "", ""))
    if "rendering" in results:
        for size, fps in results["rendering"]["fps"].items():
            rows.append((f"rendering: render_frame {size}", f"{fps:.0f} frames/s", "", "", "", ""))
    return rows


def format_table(rows: list[tuple[str, ...]]) -> str:
    header = ("measure", "ours", "tutorial", "ratio", "goal", "")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in [header, *rows]]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)

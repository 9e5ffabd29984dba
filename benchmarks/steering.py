"""Does the target return steer the cheetah? Train on a bundled-style recipe, sweep targets, report.

    python -m benchmarks.steering --variant demo            # what `python -m dt_tutorial demo` trains
    python -m benchmarks.steering --variant pure,switch50 --max-steps 3000 --out outputs/steering
    python -m benchmarks.steering --variant demo,pace --seeds 42,1,7 --jobs 6   # 6 trainings at once (a GPU machine)

Each variant is a data recipe (`collect.Recipe`, collected once and cached) plus training overrides of the
`demo` preset. For each: the data's composition and return histogram, the training wall-clock, and the
achieved return at every target (mean ± std over the episodes, evaluation seeds never used for collection),
Spearman's rho over all episodes, the mean |achieved - target| over the targets inside the data's return
range, and the D4RL score at 12000.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from benchmarks.machine import machine_info
from benchmarks.results_file import write_results
from dt_tutorial.sources.collect import EXPERT, GRADED, MULTI_SKILL, RANDOM, SIX_AGENTS, TARGET_SPEEDS, Recipe, recipe_dataset
from dt_tutorial.data import Trajectories
from dt_tutorial.sources.policies import SHIPPED
from dt_tutorial.rollout import conditioning_summary, return_conditioning
from dt_tutorial.train import get_config, train

TARGETS = (1500.0, 3000.0, 4500.0, 6000.0, 7500.0, 9000.0, 10500.0, 12000.0)
EVAL_SEED = 1_000_000  # evaluation resets never reuse a collection seed (those are 0 .. n_episodes - 1)

VARIANTS: dict[str, tuple[Recipe, dict]] = {
    "demo": (MULTI_SKILL, {}),  # the expert held at 24 speeds + a fifth at full speed (measured as "speed-top")
    "scales": (GRADED, {}),  # the previous default
    "expert": (EXPERT, {}),
    "agents": (SIX_AGENTS, {}),
    "pure": (Recipe(agents=SHIPPED, n_episodes=1000), {}),
    "switch50": (Recipe(agents=SHIPPED, n_episodes=1000, switching_share=0.5), {}),
    "switch100x2": (Recipe(agents=SHIPPED, n_episodes=1000, switching_share=1.0, switches=2), {}),
    "switch50-k5": (Recipe(agents=SHIPPED, n_episodes=1000, switching_share=0.5), {"context_length": 5}),
    "switch50-det": (Recipe(agents=SHIPPED, n_episodes=1000, switching_share=0.5, deterministic=True), {}),
    "switch50-random": (Recipe(agents=SHIPPED + (RANDOM,), n_episodes=1000, switching_share=0.5), {}),
    "switch50-6k": (Recipe(agents=SHIPPED, n_episodes=1000, switching_share=0.5), {"max_steps": 6000}),
    "switch80": (Recipe(agents=SHIPPED, n_episodes=1000, switching_share=0.8), {}),
    "switch50-2k": (Recipe(agents=SHIPPED, n_episodes=1000, switching_share=0.5), {"max_steps": 2000}),
    "switch100x1": (Recipe(agents=SHIPPED, n_episodes=1000, switching_share=1.0), {}),
    "scaled": (Recipe(agents=tuple(f"tqc*{s:.2f}" for s in np.linspace(0.35, 1.0, 14)), n_episodes=1000), {}),
    "scaled-agents": (Recipe(agents=tuple(f"tqc*{s:.2f}" for s in np.linspace(0.35, 1.0, 14)) + SHIPPED,
                             weights=(1.0,) * 14 + (1.0,) * 6, n_episodes=1000), {}),
    "graded-det": (dataclasses.replace(GRADED, deterministic=True), {}),
    "graded-k1": (GRADED, {"context_length": 1}),
    "graded-mid": (dataclasses.replace(GRADED, weights=tuple(2.0 if 0.7 <= float(a.split("*")[1]) <= 0.85 else 1.0
                                                           for a in GRADED.agents)), {}),
    "graded-switch": (dataclasses.replace(GRADED, switching_share=0.5, switches=2), {}),
    "pure-big": (Recipe(agents=SHIPPED, n_episodes=1000), {"hidden_size": 256, "n_layer": 4, "n_head": 4}),
    "pure-k1": (Recipe(agents=SHIPPED, n_episodes=1000), {"context_length": 1}),
    "pure-det": (Recipe(agents=SHIPPED, n_episodes=1000, deterministic=True), {}),
    "speed": (Recipe(agents=tuple(f"tqc~{v}" for v in TARGET_SPEEDS), n_episodes=1000), {}),  # no full-speed share
    "stop80": (Recipe(agents=("tqc",), n_episodes=1000, stop_share=0.8), {}),
    "demo-nodrop": (MULTI_SKILL, {"dropout": 0.0}),  # dropout is ~25% of a CPU training step
    "demo-drop2": (MULTI_SKILL, {"dropout": 0.2}),
    "demo-4k": (MULTI_SKILL, {"max_steps": 4000}),
    "demo-k10": (MULTI_SKILL, {"context_length": 10}),
    "demo-k5": (MULTI_SKILL, {"context_length": 5}),
    "demo-draw1": (dataclasses.replace(MULTI_SKILL, seed=1), {}),  # another draw of the same recipe
    # The return-to-go fed as a pace (`model.return_pace`): the rate still needed, not the sum.
    "pace": (MULTI_SKILL, {"return_pace": True}),
    "pace-draw1": (dataclasses.replace(MULTI_SKILL, seed=1), {"return_pace": True}),
    "pace-2k": (MULTI_SKILL, {"return_pace": True, "max_steps": 2000}),
    "pace-1500": (MULTI_SKILL, {"return_pace": True, "max_steps": 1500}),
    "pace-4k": (MULTI_SKILL, {"return_pace": True, "max_steps": 4000}),
    "pace-h64": (MULTI_SKILL, {"return_pace": True, "hidden_size": 64}),
    "pace-k10": (MULTI_SKILL, {"return_pace": True, "context_length": 10}),
    "pace-nodrop": (MULTI_SKILL, {"return_pace": True, "dropout": 0.0}),
    "pace-nodrop-2500": (MULTI_SKILL, {"return_pace": True, "dropout": 0.0, "max_steps": 2500}),
    "pace-nodrop-4k": (MULTI_SKILL, {"return_pace": True, "dropout": 0.0, "max_steps": 4000}),
    "pace-nodrop-6k": (MULTI_SKILL, {"return_pace": True, "dropout": 0.0, "max_steps": 6000}),
    "pace-nodrop-draw1": (dataclasses.replace(MULTI_SKILL, seed=1), {"return_pace": True, "dropout": 0.0}),
    "pace-nodrop-expert10": (dataclasses.replace(MULTI_SKILL, weights=(1.0,) * 24 + (10.0,)), {"return_pace": True, "dropout": 0.0}),
    "pace-nodrop-2k": (MULTI_SKILL, {"return_pace": True, "dropout": 0.0, "max_steps": 2000}),
    "pace-nodrop-1500": (MULTI_SKILL, {"return_pace": True, "dropout": 0.0, "max_steps": 1500}),
    "pace-nodrop-500ep": (dataclasses.replace(MULTI_SKILL, n_episodes=500), {"return_pace": True, "dropout": 0.0}),
    "pace-nodrop-2k-500ep": (dataclasses.replace(MULTI_SKILL, n_episodes=500), {"return_pace": True, "dropout": 0.0, "max_steps": 2000}),
    "pace-nodrop-b32": (MULTI_SKILL, {"return_pace": True, "dropout": 0.0, "batch_size": 32}),
    "pace-nodrop-k10": (MULTI_SKILL, {"return_pace": True, "dropout": 0.0, "context_length": 10}),
    # Held speeds that change mid-episode: the state shows the old speed, the return-to-go the new one.
    "held-switch": (dataclasses.replace(MULTI_SKILL, switching_share=0.5), {}),
    "pace-held-switch": (dataclasses.replace(MULTI_SKILL, switching_share=0.5), {"return_pace": True}),
}


def composition(episodes) -> dict[str, int]:
    """Episodes per driver: 'tqc', 'sac', ... for single-agent episodes, 'switching' for the rest."""
    return dict(collections.Counter(p if "@" not in p else "switching" for p in episodes["policy"]))


def run_variant(name: str, *, max_steps: int | None, eval_episodes: int, device: str, out: Path, progress: bool,
                precision: str | None = None, seed: int | None = None) -> dict:
    recipe, overrides = VARIANTS[name]
    overrides = {**overrides, **{k: v for k, v in {"max_steps": max_steps, "precision": precision, "seed": seed}.items() if v is not None}}
    tag = run_tag(name, precision, seed)
    start = time.perf_counter()
    episodes = recipe_dataset(recipe, "steering", progress=progress)
    data = Trajectories.from_dataset(episodes, f"halfcheetah-{name}")
    collect_s = time.perf_counter() - start
    config = get_config("demo", device=device, **overrides)
    start = time.perf_counter()
    run = train(data, config, out / tag, overwrite=True, progress=progress)
    train_s = time.perf_counter() - start
    start = time.perf_counter()
    # evaluated in the training precision, as the demo does
    results = return_conditioning(run.model.eval(), TARGETS, n_episodes=eval_episodes, seed=EVAL_SEED, precision=config.precision,
                                  progress=False)
    losses = [entry["loss"] for entry in run.history if "loss" in entry]
    report = {
        "variant": name,
        "recipe": dataclasses.asdict(recipe),
        "train_config": dataclasses.asdict(config),
        "composition": composition(episodes),
        "data_returns": np.histogram(data.episode_returns, bins=20)[0].tolist(),
        "data_return_bins": np.histogram(data.episode_returns, bins=20)[1].round(0).tolist(),
        "final_loss_mean_of_last_5_logs": float(np.mean(losses[-5:])),
        "seconds": {"data": round(collect_s, 1), "training": round(train_s, 1), "sweep": round(time.perf_counter() - start, 1)},
        **conditioning_summary(results, data.episode_returns),
        "top_target_d4rl_score": results[-1].mean_score,
    }
    print(format_report(report), flush=True)
    return report


def run_tag(name: str, precision: str | None, seed: int | None) -> str:
    """The variant's name, plus the precision and seed when given: its run folder and report file."""
    return name + (f"-{precision}" if precision else "") + (f"-seed{seed}" if seed is not None else "")


def format_report(report: dict) -> str:
    rows = " | ".join(f"{t:.0f}: {m:.0f} ± {s:.0f}" for t, m, s in zip(report["targets"], report["mean"], report["std"]))
    error = report["mean_abs_error_in_range"]
    return (f"[{report['variant']}, {report['train_config']['precision']}, seed {report['train_config']['seed']}] "
            f"loss {report['final_loss_mean_of_last_5_logs']:.4f}, rho {report['spearman_rho']:.3f}, |error| in range "
            f"{'n/a' if error is None else f'{error:.0f}'}, D4RL@top {report['top_target_d4rl_score']:.1f}, "
            f"seconds {report['seconds']}\n  {rows}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.steering", description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="demo", help=f"comma-separated, each with --seeds or its own ('pace@7'): {','.join(VARIANTS)}")
    parser.add_argument("--max-steps", type=int, help="optimizer steps (default: the demo preset's or the variant's)")
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", choices=["auto", "fp32", "bf16", "fp16"], help="training precision (default: the preset's, auto)")
    parser.add_argument("--seeds", help="comma-separated training seeds (default: the preset's); each variant runs with each")
    parser.add_argument("--jobs", type=int, default=1, help="trainings at once, in their own processes (for a GPU machine)")
    parser.add_argument("--out", type=Path, default=Path("outputs/benchmarks/steering"))
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    seeds = [int(s) for s in args.seeds.split(",")] if args.seeds else [None]
    runs = []  # (variant, training seed); 'pace@7' names its own seed
    for item in args.variant.split(","):
        name, _, seed = item.partition("@")
        if name not in VARIANTS:
            parser.error(f"unknown variant {name!r}")
        runs += [(name, int(seed))] if seed else [(name, s) for s in seeds]
    names = {name for name, _ in runs}
    settings = dict(max_steps=args.max_steps, eval_episodes=args.eval_episodes, device=args.device, out=args.out,
                    progress=not args.no_progress and args.jobs == 1, precision=args.precision)
    if args.jobs == 1:
        for name, seed in runs:
            save_report(name, seed, settings)
        return
    for recipe in {VARIANTS[name][0] for name in names}:  # collected once, here, with every core, before the trainings
        recipe_dataset(recipe, "steering", progress=False)
    with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:  # waits for every run
        jobs = {pool.submit(save_report, name, seed, settings): (name, seed) for name, seed in runs}
    failed = [(jobs[job], job.exception()) for job in jobs if job.exception() is not None]
    for (name, seed), error in failed:
        print(f"[{name}, seed {seed}] failed: {error!r}", flush=True)
    if failed:
        raise SystemExit(f"{len(failed)} of {len(runs)} runs failed")


def save_report(name: str, seed: int | None, settings: dict) -> None:
    """Run one variant with one training seed; write its report to `settings['out']`."""
    report = run_variant(name, seed=seed, **settings)
    report["machine"] = machine_info()
    write_results(settings["out"] / f"{run_tag(name, settings['precision'], seed)}.json", report)


if __name__ == "__main__":
    main()

"""Learning quality: does a dt_tutorial run make the cheetah run, and does the target return steer it?

Each part collects (or reads the cached) HalfCheetah-v5 data from the shipped TQC expert actor
(stochastic actions), trains one model with `dt_tutorial.train.train`, evaluates it with
`dt_tutorial.rollout.evaluate`, and records wall-clock times:
- expert: expert data (1,000 episodes by default, the size of halfcheetah-expert-v2), the `tutorial`
  preset by default; D4RL score at targets 12000 and 6000.
- mixed: the expert with Gaussian action noise at several levels, so episode returns spread from
  about 0 to expert; achieved vs target return at several targets and their Spearman correlation.
- demo: the `demo` preset on the bundled dataset (what `python -m dt_tutorial demo` trains on).
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from pathlib import Path

import datasets
import numpy as np
from scipy.stats import spearmanr

from benchmarks.machine import machine_info
from benchmarks.results_file import write_results
from dt_tutorial.sources.collect import BUNDLED, BUNDLED_ENV_ID, EXPERT, bundled_dataset, collect_episodes
from dt_tutorial.sources.policies import Actor
from dt_tutorial.data import Trajectories
from dt_tutorial.rollout import evaluate
from dt_tutorial.train import get_config, train

PARTS = ("expert", "mixed", "demo")
PART_DEFAULTS = {"expert": ("tutorial", 1000), "mixed": ("demo", 210), "demo": ("demo", EXPERT.n_episodes)}  # (preset, episodes)
# Mean episode returns measured with 4-6 episodes per level (BENCHMARKS.md): 0.0 -> ~11,600; 0.15 -> ~10,000;
# 0.3 -> ~6,700; 0.5 -> ~4,000; 0.7 -> ~2,400; 1.2 -> ~800; 2.0 -> ~-100 (a random policy scores about -280).
NOISE_LEVELS = (0.0, 0.15, 0.3, 0.5, 0.7, 1.2, 2.0)
# The expert's actions scaled down: slower but consistent gaits a sequence model can learn to tell apart
# (noise cannot be predicted, so noisy data teach the mean action whatever the return). Measured, 4 episodes
# each: 0.2 -> ~100, 0.4 -> ~1,600, 0.6 -> ~3,100, 0.8 -> ~8,300, 1.0 -> ~11,450.
ACTION_SCALES = (0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
MIXED_TARGETS = (0.0, 2000.0, 4000.0, 6000.0, 8000.0, 10000.0, 12000.0)
EXPERT_TARGETS = (12000.0, 6000.0)
EVAL_SEED = 1_000_000  # evaluation episodes never reuse a data-collection seed
LEVEL_SEED_STRIDE = 10_000  # noise level i collects with seeds seed + (i + 1) * stride + episode


@dataclass
class QualitySettings:
    preset: str | None = None
    """Training preset for every part; None: each part's default (PART_DEFAULTS)."""
    max_steps: int | None = None
    """Optimizer steps, overriding the preset's."""
    data_episodes: int | None = None
    """Dataset size in episodes; None: each part's default (mixed: split evenly over the noise levels)."""
    eval_episodes: int = 10
    eval_max_steps: int | None = None
    """Cap on evaluation episode length (default: the env's 1000 steps)."""
    targets: tuple[float, ...] = MIXED_TARGETS
    noise_levels: tuple[float, ...] = NOISE_LEVELS
    action_scales: tuple[float, ...] | None = ACTION_SCALES
    """Mixed part's quality levels as action scales (noise 0); None: use `noise_levels` (scale 1) instead."""
    seed: int = 0
    output_dir: Path = Path("outputs/benchmarks/quality")


def returns_summary(returns: np.ndarray) -> dict:
    return {"return_mean": float(returns.mean()), "return_std": float(returns.std()),
            "return_min": float(returns.min()), "return_max": float(returns.max())}


def dataset_summary(trajectories: Trajectories) -> dict:
    return {"name": trajectories.name, "episodes": trajectories.n_episodes, "steps": trajectories.n_steps,
            **returns_summary(trajectories.episode_returns)}


def train_timed(trajectories: Trajectories, preset: str, settings: QualitySettings, run_dir: Path):
    """(model, record of the training run)."""
    config = get_config(preset, **({"max_steps": settings.max_steps} if settings.max_steps else {}))
    start = time.perf_counter()
    result = train(trajectories, config, run_dir, overwrite=True, progress=False)
    losses = [entry["loss"] for entry in result.history if "loss" in entry]
    record = {"preset": preset, "config": dataclasses.asdict(config), "optimizer_steps": result.trainer.state.global_step,
              "train_s": time.perf_counter() - start, "final_loss": losses[-1] if losses else None, "run_dir": str(run_dir)}
    return result.model, record


def evaluation_record(model, target: float, settings: QualitySettings) -> dict:
    start = time.perf_counter()
    result = evaluate(model, target_return=target, n_episodes=settings.eval_episodes, seed=EVAL_SEED,
                      max_steps=settings.eval_max_steps, progress=False)
    return {"target": target, "eval_s": time.perf_counter() - start, "returns": result.returns.tolist(),
            **returns_summary(result.returns),
            "score_mean": result.mean_score, "score_std": float(result.scores.std())}


def _settings_for(part: str, settings: QualitySettings) -> tuple[str, int]:
    preset, episodes = PART_DEFAULTS[part]
    return settings.preset or preset, settings.data_episodes or episodes


def quality_bundled(part: str, settings: QualitySettings) -> dict:
    """The expert and demo parts: bundled expert data of the part's size, evaluated at EXPERT_TARGETS."""
    preset, episodes = _settings_for(part, settings)
    seed = settings.seed if part == "expert" else 0  # demo: exactly the bundled dataset
    trajectories = Trajectories.from_dataset(bundled_dataset("bundled-expert", n_episodes=episodes, seed=seed, progress=False),
                                             f"{BUNDLED['bundled-expert'][0]}-{episodes}ep")
    model, training = train_timed(trajectories, preset, settings, settings.output_dir / part)
    return {"dataset": dataset_summary(trajectories), "training": training,
            "evaluations": [evaluation_record(model, target, settings) for target in EXPERT_TARGETS]}


def mixed_levels(settings: QualitySettings) -> list[tuple[float, float]]:
    """(action scale, action noise) of each quality level of the mixed dataset."""
    if settings.action_scales:
        return [(scale, 0.0) for scale in settings.action_scales]
    return [(1.0, noise) for noise in settings.noise_levels]


def mixed_dataset(levels, n_episodes: int, seed: int) -> tuple[datasets.Dataset, list[dict]]:
    """The expert actor at each (action scale, action noise) level for an equal share of `n_episodes`."""
    per_level = max(1, n_episodes // len(levels))
    parts, summaries = [], []
    for i, (scale, noise) in enumerate(levels):
        actor = Actor.shipped("tqc", seed=seed + i)
        episodes = collect_episodes(lambda obs, actor=actor, scale=scale: scale * actor(obs), BUNDLED_ENV_ID, per_level,
                                    seed=seed + (i + 1) * LEVEL_SEED_STRIDE, action_noise=noise, progress=False)
        returns = np.array([np.sum(rewards) for rewards in episodes.with_format("numpy")["rewards"]])
        summaries.append({"action_scale": scale, "action_noise": noise, "episodes": per_level, **returns_summary(returns)})
        parts.append(episodes)
    return datasets.concatenate_datasets(parts), summaries


def _spearman(x, y) -> dict:
    rho, p = spearmanr(x, y)
    return {"rho": None if math.isnan(rho) else float(rho), "p": None if math.isnan(p) else float(p)}


def quality_mixed(settings: QualitySettings) -> dict:
    preset, episodes = _settings_for("mixed", settings)
    data, levels = mixed_dataset(mixed_levels(settings), episodes, settings.seed)
    trajectories = Trajectories.from_dataset(data, "mixed-halfcheetah")
    model, training = train_timed(trajectories, preset, settings, settings.output_dir / "mixed")
    evaluations = [evaluation_record(model, target, settings) for target in settings.targets]
    targets = [e["target"] for e in evaluations]
    return {
        "dataset": dataset_summary(trajectories), "levels": levels, "training": training, "evaluations": evaluations,
        "spearman_target_vs_mean_return": _spearman(targets, [e["return_mean"] for e in evaluations]),
        "spearman_target_vs_episode_return": _spearman(np.repeat(targets, settings.eval_episodes),
                                                       np.concatenate([e["returns"] for e in evaluations])),
    }


def run_quality(parts, settings: QualitySettings, out_json: Path | None = None, log=print) -> dict:
    results = {"machine": machine_info(), "settings": dataclasses.asdict(settings)}
    for part in parts:
        log(f"[quality: {part}] ...")
        results[part] = quality_mixed(settings) if part == "mixed" else quality_bundled(part, settings)
        log(format_part(part, results[part]))
        if out_json:  # after every part, so a long run that stops keeps what it finished
            write_results(out_json, results)
    return results


def format_part(part: str, result: dict) -> str:
    d, t = result["dataset"], result["training"]
    lines = [f"{part}: {d['episodes']} episodes ({d['steps']:,} steps), returns {d['return_min']:.0f}..{d['return_max']:.0f} "
             f"(mean {d['return_mean']:.0f}); preset {t['preset']}, {t['optimizer_steps']} steps in {t['train_s']:.0f} s, "
             f"final loss {t['final_loss']}"]
    for level in result.get("levels", []):
        lines.append(f"  data at action scale {level['action_scale']}, noise {level['action_noise']}: return {level['return_mean']:.0f} "
                     f"({level['return_min']:.0f}..{level['return_max']:.0f})")
    for e in result["evaluations"]:
        lines.append(f"  target {e['target']:>7.0f}: return {e['return_mean']:8.1f} ± {e['return_std']:.1f}, "
                     f"D4RL score {e['score_mean']:.1f} ± {e['score_std']:.1f} ({e['eval_s']:.1f} s)")
    for key in ("spearman_target_vs_mean_return", "spearman_target_vs_episode_return"):
        if key in result:
            lines.append(f"  {key}: rho {result[key]['rho']}, p {result[key]['p']}")
    return "\n".join(lines)

"""Behaviour cloning's budget: how many steps BC needs before its rollouts reach the episodes it copies.

    python -m benchmarks.bc_budget bundled 0.1 '{"max_steps": 60000, "save_steps": 60000}' --out outputs/bc_budget/m4.json
    python -m benchmarks.bc_budget bundled-expert 1.0 '{"max_steps": 20, "save_steps": 20}' --episodes 2  # smoke

Trains one `BCPolicy` with `bc_train_config(**settings)` (BC's own settings with these overrides; "hidden" sets the
MLP's sizes) on the best `fraction` of 1,000 bundled episodes, then evaluates it on `--episodes` start states (reset
seeds 1,000,000+, never a collection seed) in float32 and in the default precision. The ratio is the mean achieved
return over the mean return of the episodes copied; the worst returns show the rollouts that flipped or stumbled.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from benchmarks.bc import EVAL_SEED
from benchmarks.machine import machine_info
from benchmarks.results_file import write_results
from dt_tutorial.bc import bc_train_config, loss_plateau, top_episodes, train_bc
from dt_tutorial.data import Trajectories
from dt_tutorial.notebook import load_tutorial_dataset
from dt_tutorial.rollout import evaluate


def measure(dataset: str, fraction: float, settings: dict, episodes: int, out_dir: Path) -> dict:
    """Train BC with `settings`, evaluate it; a JSON-able record of what happened."""
    settings = dict(settings)
    hidden = tuple(settings.pop("hidden", (256, 256)))
    data, name = load_tutorial_dataset(dataset, 1000)
    copied = float(Trajectories.from_dataset(top_episodes(data, fraction)).episode_returns.mean())
    start = time.perf_counter()
    run = train_bc(data, name, bc_train_config(**settings), out_dir, top_fraction=fraction, hidden_sizes=hidden,
                   overwrite=True, progress=False)
    record = dict(dataset=dataset, fraction=fraction, settings=settings, hidden=hidden, copied_mean=copied,
                  train_s=time.perf_counter() - start, loss_plateau=loss_plateau(run.history), evaluations={})
    for precision in ("fp32", "auto"):
        returns = np.sort(evaluate(run.model.eval(), target_return=12000, n_episodes=episodes, seed=EVAL_SEED,
                                   precision=precision, progress=False).returns)
        record["evaluations"][precision] = dict(ratio=float(returns.mean() / copied), median_ratio=float(np.median(returns) / copied),
                                                worst=returns[:4].round().tolist())
    return record


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bc_budget", description=__doc__.splitlines()[0])
    parser.add_argument("dataset", choices=["bundled", "bundled-expert"])
    parser.add_argument("fraction", type=float, help="the best fraction of the episodes BC copies (1.0: BC, 0.1: 10%%BC)")
    parser.add_argument("settings", type=json.loads, help="TrainConfig overrides as JSON, e.g. '{\"max_steps\": 30000}'")
    parser.add_argument("--episodes", type=int, default=50, help="evaluation episodes (default 50)")
    parser.add_argument("--out", type=Path, default=Path("outputs/bc_budget/result.json"))
    args = parser.parse_args()
    record = measure(args.dataset, args.fraction, args.settings, args.episodes, args.out.with_suffix(""))
    print(json.dumps(record))
    write_results(args.out, {"machine": machine_info(), "result": record})


if __name__ == "__main__":
    main()

"""DT vs behaviour cloning (BC) vs 10%BC on the expert-only and the multi-skill data: one table, one plot.

    python -m benchmarks --bc bundled-expert,bundled --preset demo --eval-episodes 10 --out outputs/bc/bc.json
    python -m benchmarks --bc bundled-expert --preset tiny --max-steps 20 --eval-episodes 1 --eval-max-steps 50  # smoke

For each dataset and method: training wall-clock, parameter count, the achieved return at every target (one
batch per policy through `rollout.evaluate`) and the D4RL score at the top target. All three train with the
same `Trainer` and preset (BC with one-step windows); evaluation resets never reuse a collection seed.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from benchmarks.machine import machine_info
from benchmarks.results_file import write_results
from dt_tutorial.bc import bc_train_config, train_bc
from dt_tutorial.data import Trajectories
from dt_tutorial.plots import plot_conditioning_curves
from dt_tutorial.sources import load_episodes
from dt_tutorial.rollout import evaluate
from dt_tutorial.train import get_config, train

METHODS = {"DT": None, "BC": 1.0, "10%BC": 0.1}  # method -> BC's top_fraction (None: the Decision Transformer)
EVAL_SEED = 1_000_000


@dataclasses.dataclass
class BCSettings:
    """What `run_bc` trains and evaluates."""

    preset: str = "demo"
    """Training preset for every method (BC keeps its optimizer settings, with one-step windows)."""
    max_steps: int | None = None
    """Optimizer steps, overriding the preset's."""
    targets: tuple[float, ...] = (3000.0, 6000.0, 9000.0, 12000.0)
    """Target returns; the last is 'the top target'."""
    eval_episodes: int = 10
    eval_max_steps: int | None = None
    """Cap on evaluation episode length (default: the env's 1000)."""
    output_dir: Path = Path("outputs/benchmarks/bc")
    """Trained runs, the results JSON and the plot go here."""


def run_method(episodes, dataset: str, method: str, settings: BCSettings) -> tuple[dict, list]:
    overrides = {} if settings.max_steps is None else {"max_steps": settings.max_steps}
    label = Path(dataset).name  # a bundled name, or a local dataset folder
    name, run_dir = f"halfcheetah-{label}", settings.output_dir / label / method.replace("%", "pct")
    start = time.perf_counter()
    if METHODS[method] is None:
        model = train(Trajectories.from_dataset(episodes, name), get_config(settings.preset, **overrides), run_dir,
                      overwrite=True, progress=False).model
    else:
        model = train_bc(episodes, name, bc_train_config(settings.preset, **overrides), run_dir,
                         top_fraction=METHODS[method], overwrite=True, progress=False).model
    train_s = time.perf_counter() - start
    results = evaluate(model.eval(), target_return=list(settings.targets), n_episodes=settings.eval_episodes,
                       seed=EVAL_SEED, max_steps=settings.eval_max_steps, progress=False)
    row = {"dataset": dataset, "method": method, "parameters": model.num_parameters(), "train_s": round(train_s, 1),
           "achieved": [round(r.mean_return, 1) for r in results], "top_target_score": results[-1].mean_score}
    return row, results


def run_bc(datasets: tuple[str, ...], settings: BCSettings) -> list[dict]:
    """Train and evaluate every method on every dataset; write the JSON and the plot; print the table."""
    settings.output_dir.mkdir(parents=True, exist_ok=True)
    rows, panels = [], {}
    print("| dataset | method | parameters | training | D4RL score @ top target | target->achieved |\n|---|---|---|---|---|---|")
    for dataset in datasets:
        episodes = load_episodes(dataset, progress=False)
        for method in METHODS:
            row, results = run_method(episodes, dataset, method, settings)
            rows.append(row)
            panels.setdefault(dataset, {})[method] = results
            print(format_row(row, settings.targets), flush=True)
    plot_conditioning_curves(panels, settings.output_dir / "achieved_vs_target.png")
    write_results(settings.output_dir / "bc.json", {"settings": dataclasses.asdict(settings), "machine": machine_info(), "rows": rows})
    return rows


def format_row(row: dict, targets) -> str:
    curve = ", ".join(f"{t:.0f}->{a:.0f}" for t, a in zip(targets, row["achieved"]))
    score = row["top_target_score"]
    return (f"| {row['dataset']} | {row['method']} | {row['parameters']:,} | {row['train_s']} s | "
            f"{'n/a' if score is None else f'{score:.1f}'} | {curve} |")

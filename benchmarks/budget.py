"""The paper's training budget, timed: 100,000 optimizer steps of the tutorial preset on the bundled expert data.

    python -m benchmarks.budget OUT_JSON [--dataset bundled-expert --steps 100000 --seconds 240 --precision auto
                                          --compile reduce-overhead --eval-episodes 10]

The bundled data are HalfCheetah-v5 episodes (the evaluation env). The learning-rate schedule is the full budget's; `--seconds` stops the run early (a device session is short)
and the result projects the full budget's time from the measured rate. Then a 10-episode evaluation of the
model as it stands, timed. Settings for a fast run on a GPU: no checkpoints, a loss log every 1,000 steps
(the Trainer reads the loss back to the host only when it logs), pinned memory, the precision's autocast, and
optionally a compiled model. The rate is timed from the end of step `WARMUP_STEPS` (compiling, CUDA graph capture
and kernel warm-up happen before), and the time until then is reported as `warmup_s`.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import tempfile
import time

import torch
from transformers import TrainerCallback

from benchmarks.results_file import write_results
from dt_tutorial.sources.collect import BUNDLED_ENV_ID
from dt_tutorial.data import Trajectories
from dt_tutorial.sources import load_episodes
from dt_tutorial.precision import resolve_precision
from dt_tutorial.rollout import evaluate
from dt_tutorial.train import get_config, make_trainer, training_device


WARMUP_STEPS = 10


class Deadline(TrainerCallback):
    """Stops training `seconds` after the warm-up (the first `WARMUP_STEPS` steps) ended; remembers when that was."""

    def __init__(self, seconds: float, profiler: cProfile.Profile | None = None):
        self.seconds, self.profiler = seconds, profiler
        self.start = self.warm_end = None

    def on_step_begin(self, args, state, control, **kwargs):
        if self.start is None:
            self.start = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == WARMUP_STEPS:
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            self.warm_end = time.perf_counter()
            if self.profiler:
                self.profiler.enable()
        if self.warm_end is not None and time.perf_counter() - self.warm_end > self.seconds:
            control.should_training_stop = True
            if self.profiler:
                self.profiler.disable()


def run_budget(dataset: str, steps: int, seconds: float, precision: str, eval_episodes: int, compile: str | None = None,
               profiler: cProfile.Profile | None = None) -> dict:
    """The budget's run; `profiler` (cProfile) records the steps after the warm-up."""
    start = time.perf_counter()
    data = Trajectories.from_dataset(load_episodes(dataset), name=dataset)
    data_s = time.perf_counter() - start
    config = get_config("tutorial", max_steps=steps, precision=precision, compile=compile, logging_steps=1000, save_steps=10**9)
    with tempfile.TemporaryDirectory(prefix="budget-") as workdir:
        trainer = make_trainer(data, config, workdir, progress=False)
        deadline = Deadline(seconds, profiler)
        trainer.add_callback(deadline)
        trainer.train()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        end = time.perf_counter()
    done = trainer.state.global_step
    rate = (done - WARMUP_STEPS) / (end - deadline.warm_end)
    result = {
        "dataset": dataset, "n_episodes": data.n_episodes, "data_s": round(data_s, 1),
        "device": str(trainer.args.device), "precision": resolve_precision(precision, training_device(config)),
        "compile": compile, "optim": trainer.args.optim, "budget_steps": steps, "steps_done": done,
        "warmup_s": round(deadline.warm_end - deadline.start, 1), "train_s": round(end - deadline.start, 1),
        "steps_per_s": round(rate, 2), "projected_budget_s": round(steps / rate, 0),
        "losses": [(h["step"], h["loss"]) for h in trainer.state.log_history if "loss" in h],
        "eval_episodes": eval_episodes,
    }
    if eval_episodes:
        eval_start = time.perf_counter()
        scores = evaluate(trainer.model.eval(), BUNDLED_ENV_ID, target_return=12000.0, n_episodes=eval_episodes,
                          precision=precision, progress=False)
        result.update(eval_s=round(time.perf_counter() - eval_start, 1), eval_mean_return=scores.mean_return,
                      eval_d4rl_score=scores.mean_score)
    return result


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.budget", description=__doc__.splitlines()[0])
    parser.add_argument("out_json")
    parser.add_argument("--dataset", default="bundled-expert")
    parser.add_argument("--steps", type=int, default=100_000, help="the budget (sets the learning-rate schedule)")
    parser.add_argument("--seconds", type=float, default=240.0, help="stop training this long after the warm-up")
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"])
    parser.add_argument("--compile", choices=["default", "reduce-overhead"], help="torch.compile the model")
    parser.add_argument("--eval-episodes", type=int, default=10, help="0: no evaluation")
    parser.add_argument("--profile", action="store_true", help="print where the timed steps spent their time (cProfile)")
    args = parser.parse_args(argv)
    profiler = cProfile.Profile() if args.profile else None
    result = run_budget(args.dataset, args.steps, args.seconds, args.precision, args.eval_episodes, args.compile, profiler)
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    print(json.dumps({k: v for k, v in result.items() if k != "losses"}, indent=1))
    write_results(args.out_json, result)


if __name__ == "__main__":
    main()

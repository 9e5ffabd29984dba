"""Threads for evaluation: one CPU thread, all of them, or `ThreadTuner`'s choice, on an idle and on a busy machine.

    python -m benchmarks.threads [--rounds 2 --episodes 10 --steps 1000 --busy 0,1 --json OUT]

Each round times `evaluate` (precision auto) with the policy calls fixed on one thread, fixed on all of torch's
threads, and tuned, interleaved; `--busy N` first starts N processes that keep a core busy each (spinning Python),
as another job on the machine would, and stops them after.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import time

import torch

from benchmarks.speed import ENV_ID, untrained_model
from benchmarks.results_file import write_results
from dt_tutorial.rollout import evaluate
from dt_tutorial.speed import FixedThreads, ThreadTuner

MODES = ("one thread", "all threads", "tuned")


def _spin(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def time_modes(model, episodes: int, steps: int) -> dict:
    """Seconds of one `evaluate` in each mode, and the tuner's choices."""
    most, result = torch.get_num_threads(), {}
    tuner = ThreadTuner(most)
    policies = {"one thread": FixedThreads(1), "all threads": FixedThreads(most), "tuned": tuner}
    for mode in MODES:
        start = time.perf_counter()
        evaluate(model, ENV_ID, n_episodes=episodes, max_steps=steps, precision="auto", threads=policies[mode], progress=False)
        result[mode] = round(time.perf_counter() - start, 2)
    result["tuner_choices"] = tuner.choices
    return result


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.threads", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--busy", default="0,1", help="comma-separated numbers of busy processes to run beside")
    parser.add_argument("--json", help="write every run here")
    args = parser.parse_args(argv)
    if torch.get_num_threads() < 2:
        parser.error("torch has one thread here: nothing to choose")
    model, runs = untrained_model(), []
    for busy in map(int, args.busy.split(",")):
        spinners = [multiprocessing.Process(target=_spin, args=(3600,), daemon=True) for _ in range(busy)]
        for process in spinners:
            process.start()
        try:
            for round_ in range(args.rounds):
                run = {"busy_processes": busy, "round": round_ + 1, **time_modes(model, args.episodes, args.steps)}
                runs.append(run)
                print(json.dumps(run), flush=True)
        finally:
            for process in spinners:
                process.terminate()
    if args.json:
        write_results(args.json, {"episodes": args.episodes, "steps": args.steps, "torch_threads": torch.get_num_threads(), "runs": runs})


if __name__ == "__main__":
    main()

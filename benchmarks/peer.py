"""The peer row: d3rlpy's DecisionTransformer on the same bundled episodes, in its own venv (it pins gymnasium 1.0.0).

    python -m benchmarks --peer d3rlpy [--peer-steps 200 --eval-episodes 10 --peer-eval-max-steps 1000 --peer-rounds 2]

Side by side: each round runs d3rlpy (training, then evaluation), then ours on the same sizes: training steps/s
in fp32 and in the `auto` precision (`benchmarks.training` workers, same batch, K and model size) and the same
number of evaluation episodes in both precisions. The best of each over the rounds is compared.

The venv is made once under the cache folder: a plain venv that also sees this environment's packages
(torch, numpy, mujoco) through a .pth file placed AFTER its own site-packages, so its own d3rlpy and
gymnasium 1.0.0 win. The episodes travel as one .npz (observations, actions, rewards, terminals, timeouts).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import numpy as np

import dt_tutorial
from dt_tutorial.sources.cache import cache_dir
from dt_tutorial.data import Trajectories
from dt_tutorial.sources import load_episodes

PEER_PACKAGES = ("d3rlpy==2.8.1", "gymnasium==1.0.0")
WORKER = Path(__file__).with_name("peer_d3rlpy_worker.py")


def peer_venv() -> Path:
    """The d3rlpy venv's python, made on first use (a pip install from PyPI: needs the package registry)."""
    venv = cache_dir() / "d3rlpy-venv"
    python = venv / "bin" / "python"
    if not (venv / "ready").exists():
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        (venv / "lib" / version / "site-packages" / "zz_host_packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
        subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", *PEER_PACKAGES], check=True)
        (venv / "ready").write_text(" ".join(PEER_PACKAGES))
    return python


def export_episodes(data: Trajectories, path: Path, time_limit: int = 1000) -> Path:
    """The flat arrays in d3rlpy's MDPDataset layout: an episode shorter than the env's time limit ended in a
    terminal state (e.g. Hopper fell), the others in a timeout (HalfCheetah always)."""
    ends = data.episode_starts + data.episode_lengths - 1
    terminal = data.episode_lengths < time_limit
    terminals, timeouts = np.zeros(data.n_steps, dtype=np.float32), np.zeros(data.n_steps, dtype=np.float32)
    terminals[ends[terminal]] = 1.0
    timeouts[ends[~terminal]] = 1.0
    np.savez(path, observations=data.observations, actions=data.actions, rewards=data.rewards,
             terminals=terminals, timeouts=timeouts)
    return path


def library_defaults_env() -> dict[str, str]:
    """This process's environment without the OpenMP spin count that `import dt_tutorial` sets: the peer runs with
    libgomp's defaults, as it would on its own."""
    return {k: v for k, v in os.environ.items() if not (k == "GOMP_SPINCOUNT" and v == dt_tutorial.GOMP_SPINCOUNT)}


def run_peer(dataset: str, steps: int, eval_episodes: int, eval_max_steps: int, dropout: float = 0.1) -> dict:
    python = peer_venv()
    data = Trajectories.from_dataset(load_episodes(dataset), name=dataset)
    with tempfile.TemporaryDirectory(prefix="peer-") as tmp:
        episodes = export_episodes(data, Path(tmp) / "episodes.npz")
        out = Path(tmp) / "result.json"
        run = subprocess.run([str(python), str(WORKER), str(episodes), str(out), str(steps), str(eval_episodes), str(eval_max_steps),
                              str(dropout)],
                             capture_output=True, text=True, env=library_defaults_env())
        if run.returncode != 0:
            raise RuntimeError(f"d3rlpy worker failed:\n{run.stderr[-3000:]}")
        return {"dataset": dataset, "n_episodes": data.n_episodes, **json.loads(out.read_text())}


def compare_with_peer(dataset: str, steps: int, eval_episodes: int, eval_max_steps: int, rounds: int = 2, *,
                      sizes=None, dropout: float = 0.1, log=print) -> dict:
    """d3rlpy and ours interleaved, `rounds` times: every run, and the best of each (see the module docstring).
    `sizes` (`benchmarks.speed.Sizes`, default FULL: 1,000 x 1,000 steps) sets our training workers' data; `dropout`
    both models' (0.1: the tutorial's and d3rlpy's default; 0: the demo preset's)."""
    from benchmarks.speed import ENV_ID, FULL, run_training_worker, timed, untrained_model
    from dt_tutorial.rollout import evaluate

    model = untrained_model()
    runs: dict[str, list] = {"peer": [], "ours_fp32_steps_per_s": [], "ours_auto_steps_per_s": [], "ours_eval_fp32_s": [], "ours_eval_auto_s": []}
    for round_ in range(rounds):
        log(f"round {round_ + 1}/{rounds}: d3rlpy ...")
        runs["peer"].append(run_peer(dataset, steps, eval_episodes, eval_max_steps, dropout))
        log(f"round {round_ + 1}/{rounds}: ours ...")
        for precision, pipeline in (("fp32", "ours"), ("auto", "ours-auto")):
            runs[f"ours_{precision}_steps_per_s"].append(run_training_worker(pipeline, steps, sizes or FULL, dropout=dropout)["steps_per_s"])
            runs[f"ours_eval_{precision}_s"].append(timed(lambda: evaluate(
                model, ENV_ID, n_episodes=eval_episodes, max_steps=eval_max_steps, precision=precision, progress=False))[0])
    peer = max(runs["peer"], key=lambda r: r["steps_per_s"])
    best = {name: (max if "steps" in name else min)(values) for name, values in runs.items() if name != "peer"}
    peer_eval_s = min(r["eval_s"] for r in runs["peer"])
    return {"peer": peer, "rounds": rounds, "dropout": dropout, "all_runs": {**runs, "peer": [{k: r[k] for k in ("steps_per_s", "eval_s")} for r in runs["peer"]]},
            **best, "peer_eval_s": peer_eval_s,
            "training_ratio_auto": best["ours_auto_steps_per_s"] / peer["steps_per_s"],
            "training_ratio_fp32": best["ours_fp32_steps_per_s"] / peer["steps_per_s"],
            "evaluation_ratio_auto": peer_eval_s / best["ours_eval_auto_s"],
            "evaluation_ratio_fp32": peer_eval_s / best["ours_eval_fp32_s"]}


def format_comparison(result: dict) -> str:
    return (format_peer(result["peer"]) + f"\nours, same sizes and dropout {result['dropout']}, best of {result['rounds']} interleaved rounds:\n"
            f"  training: fp32 {result['ours_fp32_steps_per_s']:.2f} steps/s ({result['training_ratio_fp32']:.2f}x d3rlpy), "
            f"auto {result['ours_auto_steps_per_s']:.2f} steps/s ({result['training_ratio_auto']:.2f}x d3rlpy; goal >= 1.5x)\n"
            f"  evaluation: fp32 {result['ours_eval_fp32_s']:.1f} s ({result['evaluation_ratio_fp32']:.2f}x faster than d3rlpy's "
            f"{result['peer_eval_s']:.1f} s), auto {result['ours_eval_auto_s']:.1f} s ({result['evaluation_ratio_auto']:.2f}x; goal >= 3x)\n"
            f"  every run: {json.dumps(result['all_runs'])}")


def format_peer(result: dict) -> str:
    returns = np.array(result["eval_returns"])
    return (f"peer {result['peer']} (torch {result['torch']}, gymnasium {result['gymnasium']}, {result['n_parameters']:,} parameters):\n"
            f"  training: {result['steps_per_s']:.2f} optimizer steps/s ({result['steps']} steps, fit {result['fit_s']:.0f} s incl. setup)\n"
            f"  evaluation: {result['eval_episodes']} episodes x <= {result['eval_max_steps']} steps in {result['eval_s']:.1f} s "
            f"(one episode at a time), return {returns.mean():.0f} ± {returns.std():.0f}")

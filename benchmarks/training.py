"""Training throughput of one pipeline, each run in its own process so that its peak RSS is its own.

    python -m benchmarks.training {tutorial,ours,ours-auto,ours-auto-sdpa,floor} STEPS OUT_JSON [--episodes N --episode-len T --warmup W --profile]

- tutorial: the blog's Trainer setup (`benchmarks.tutorial.tutorial_trainer`) on the episode Dataset.
- ours: `dt_tutorial.train.make_trainer` with the `tutorial` preset's settings, in fp32.
- ours-auto: the same with `precision="auto"` (bf16 autocast where the hardware has it; see dt_tutorial.precision).
- ours-auto-sdpa: ours-auto with torch's fused attention kernel, which `attention="auto"` avoids on a CPU: ours-auto before.
- floor: our model alone, fp32: forward + backward + grad clipping + AdamW step on one prepared batch.
Every pipeline runs on the GPU if there is one (the blog's Trainer too), else on the CPU.
Steps/s is timed from the end of step `warmup` to the end of the last step (data loading included).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import resource
import sys
import tempfile
import time

import torch
from transformers import TrainerCallback

from benchmarks.synthetic import load_synthetic
from benchmarks.tutorial import tutorial_trainer
from benchmarks.results_file import write_results
from dt_tutorial.data import Trajectories
from dt_tutorial.precision import resolve_precision
from dt_tutorial.train import get_config, make_trainer

PIPELINES = ("tutorial", "ours", "ours-auto", "ours-auto-sdpa", "floor")
DATASET_NAME = "synthetic-halfcheetah"


class StepClock(TrainerCallback):
    """Records the time at the end of every optimizer step."""

    def __init__(self):
        self.times: list[float] = []

    def on_step_end(self, args, state, control, **kwargs):
        if torch.cuda.is_available():
            torch.cuda.synchronize()  # count the GPU's work in the step it belongs to
        self.times.append(time.perf_counter())


def steps_per_second(step_end_times: list[float], warmup: int) -> float:
    timed = step_end_times[warmup:]
    if len(timed) < 2:
        raise ValueError(f"need at least warmup + 2 = {warmup + 2} steps to time, got {len(step_end_times)}")
    return (len(timed) - 1) / (timed[-1] - timed[0])


def floor_step_times(model, batch: dict[str, torch.Tensor], steps: int, max_grad_norm: float = 0.25) -> list[float]:
    """Bare training steps of `model` on one prepared batch; the end time of each."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=1e-4)
    model.train()
    sync = torch.cuda.synchronize if batch["states"].is_cuda else (lambda: None)
    times = []
    for _ in range(steps):
        loss = model(**batch)["loss"]
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        sync()
        times.append(time.perf_counter())
    return times


def peak_rss_mb() -> float:
    """This process's peak resident memory. Linux: VmHWM, the peak of this program's own memory map;
    ru_maxrss would also count the parent's memory at fork time, which the child inherits before exec."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    scale = 2**20 if sys.platform == "darwin" else 2**10  # ru_maxrss: bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


def run_pipeline(pipeline: str, steps: int, n_episodes: int, episode_len: int, warmup: int, dropout: float = 0.1) -> dict:
    dataset = load_synthetic(n_episodes, episode_len)
    with tempfile.TemporaryDirectory(prefix=f"bench-{pipeline}-") as workdir:
        start = time.perf_counter()
        if pipeline == "tutorial":
            trainer = tutorial_trainer(dataset, workdir, max_steps=steps)
        else:
            precision = "auto" if pipeline.startswith("ours-auto") else "fp32"
            attention = "sdpa" if pipeline == "ours-auto-sdpa" else "auto"
            config = get_config("tutorial", max_steps=steps, precision=precision, dropout=dropout, attention=attention)
            trainer = make_trainer(Trajectories.from_dataset(dataset, DATASET_NAME), config, workdir, progress=False)
        setup_s = time.perf_counter() - start
        if pipeline == "floor":
            batch_size = min(trainer.args.per_device_train_batch_size, n_episodes)  # what the Trainer's batches hold
            device = trainer.args.device
            batch = {k: v.to(device) for k, v in trainer.data_collator(list(range(batch_size))).items()}
            times = floor_step_times(trainer.model.to(device), batch, steps)
        else:
            clock = StepClock()
            trainer.add_callback(clock)
            trainer.train()
            times = clock.times
    return {
        "pipeline": pipeline,
        "steps": len(times),
        "warmup": warmup,
        "steps_per_s": steps_per_second(times, warmup),
        "setup_s": setup_s,
        "n_parameters": trainer.model.num_parameters(),
        "peak_rss_mb": peak_rss_mb(),
        "torch_threads": torch.get_num_threads(),
        "device": str(trainer.args.device),
        "precision": resolve_precision("auto", trainer.args.device) if pipeline.startswith("ours-auto") else "fp32",
        "dropout": trainer.model.config.resid_pdrop,  # the model's own setting
        "attention": getattr(trainer.model.config, "_attn_implementation", None),
    }


def top_entries(profile: cProfile.Profile, n: int = 25, sort: str = "tottime") -> str:
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats(sort).print_stats(n)
    return out.getvalue()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.training", description=__doc__.splitlines()[0])
    parser.add_argument("pipeline", choices=PIPELINES)
    parser.add_argument("steps", type=int)
    parser.add_argument("out_json")
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--episode-len", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="print cProfile's top entries (slows the run)")
    parser.add_argument("--dropout", type=float, default=0.1, help="ours: the model's dropout (the tutorial's 0.1; the demo's 0)")
    args = parser.parse_args(argv)
    profile = cProfile.Profile() if args.profile else None
    if profile:
        profile.enable()
    result = run_pipeline(args.pipeline, args.steps, args.episodes, args.episode_len, args.warmup, args.dropout)
    if profile:
        profile.disable()
        print(top_entries(profile))
    write_results(args.out_json, result, indent=None)


if __name__ == "__main__":
    main()

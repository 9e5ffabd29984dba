"""How many CPU threads the rollout's policy calls use: a thread policy's `step(t)` context sets them for step t.

`ThreadTuner` (the default on a CPU with several threads) takes the faster of one and all of torch's, measured as it
runs; `FixedThreads(n)` keeps n.

On an idle 2-core CPU two threads run a 10-episode evaluation ~1.4x faster than one; with one other busy process
on the machine, ~3x slower (threads wait for each other at every matmul). Neither is right everywhere, and the load
can change during an evaluation, so `ThreadTuner` times a few policy calls with each option every `every` steps and
uses the faster until the next trial (BENCHMARKS.md, "Evaluation").
"""

from __future__ import annotations

import contextlib
import time

import numpy as np
import torch


class FixedThreads:
    """A thread policy that runs every policy call on `threads` threads."""

    def __init__(self, threads: int):
        if threads < 1:
            raise ValueError(f"FixedThreads needs at least one thread, got {threads}")
        self.threads = threads

    @contextlib.contextmanager
    def step(self, t: int):
        """Run the policy call of step t inside this: sets the thread count."""
        torch.set_num_threads(self.threads)
        yield


class ThreadTuner:
    """Chooses between 1 thread and `most` threads for the policy call of each time step.

    A trial runs `probe` steps on one thread, then `probe` on `most`; the steps after it use whichever had the lower
    median time (the first call after a switch left out). Trials start at step 0 and every `every` steps, the
    interval doubling while they keep choosing the same (a trial of the slow option costs time)."""

    def __init__(self, most: int, probe: int = 4, every: int = 200):
        if most < 2 or probe < 2 or every <= 2 * probe:
            raise ValueError(f"ThreadTuner needs most >= 2, probe >= 2 and every > 2 * probe, got {most}, {probe}, {every}")
        self.options, self.probe, self.every = (1, most), probe, every
        self.best, self.trial_start, self.interval = 1, 0, every
        self.trials: dict[int, list[float]] = {1: [], most: []}
        self.choices: list[int] = []  # the option chosen by each trial

    def _trying(self, t: int) -> int | None:
        """The option on trial at step t, or None."""
        phase = t - self.trial_start
        return self.options[phase // self.probe] if 0 <= phase < 2 * self.probe else None

    @contextlib.contextmanager
    def step(self, t: int):
        """Run the policy call of step t inside this: sets the thread count, times the call during a trial."""
        option = self._trying(t)
        torch.set_num_threads(option or self.best)
        start = time.perf_counter()
        yield
        if option is None:
            return
        self.trials[option].append(time.perf_counter() - start)
        if t - self.trial_start == 2 * self.probe - 1:  # both options timed: choose
            best = min(self.options, key=lambda k: np.median(self.trials[k][1:]))
            self.interval = self.interval * 2 if self.choices and best == self.choices[-1] else self.every
            self.best, self.trial_start = best, self.trial_start + self.interval
            self.choices.append(best)
            self.trials = {k: [] for k in self.options}

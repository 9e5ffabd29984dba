"""speed/threads.py: `ThreadTuner` times one thread against all of them and keeps the faster, re-checking as it goes."""

from __future__ import annotations

import time

import pytest
import torch

from dt_tutorial.speed.threads import ThreadTuner


def run(tuner: ThreadTuner, steps: int, seconds_on) -> list[int]:
    """The thread count of each step's call; a call takes seconds_on(threads)."""
    seen = []
    for t in range(steps):
        with tuner.step(t):
            threads = torch.get_num_threads()
            seen.append(threads)
            time.sleep(seconds_on(threads))
    return seen


@pytest.fixture(autouse=True)
def restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("faster", [1, 2])
def test_it_keeps_the_faster_option_between_trials(faster):
    tuner = ThreadTuner(2, probe=3, every=20)
    seen = run(tuner, 40, lambda threads: 0.001 if threads == faster else 0.008)
    assert seen[:6] == [1, 1, 1, 2, 2, 2]  # the first trial: one thread, then two
    assert set(seen[6:20]) == {faster}  # then the faster, until the next trial at step 20
    assert seen[20:26] == [1, 1, 1, 2, 2, 2] and set(seen[26:]) == {faster}
    assert tuner.choices == [faster, faster]


def test_trials_grow_rarer_while_they_agree_and_frequent_again_when_the_load_changes():
    tuner = ThreadTuner(2, probe=3, every=10)
    load = {"busy": False}  # two threads lose when the machine is busy
    starts = []
    for t in range(120):
        if t == 70:
            load["busy"] = True
        if t == tuner.trial_start:
            starts.append(t)
        with tuner.step(t):
            time.sleep(0.001 if (torch.get_num_threads() == 1) == load["busy"] else 0.008)
    assert starts[:4] == [0, 10, 30, 70]  # intervals 10, 20, 40 while two threads keep winning
    assert tuner.choices[:3] == [2, 2, 2] and tuner.choices[3] == 1  # the trial at 70 sees the load
    assert starts[4] == 80  # a change of choice: the interval is back to 10


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        ThreadTuner(1)
    with pytest.raises(ValueError):
        ThreadTuner(2, probe=5, every=10)

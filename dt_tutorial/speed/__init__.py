"""The speed layer, behind one door: what makes evaluation and training faster without changing what they compute.

The learner's path (data → collator → model → train → rollout → video) imports this package alone, never its
modules, and asks it for three things:
- `policy(model)`: the policy a rollout calls. For a Decision Transformer, a `LastActionPolicy`, which computes only the
  last step's action (`last_action.py`: ~28 % fewer FLOPs, none of transformers' per-call work) with the weights cast
  for autocast kept across calls (`cast_weights.py`); the same actions as the model's full forward (to rounding).
- `thread_policy(threads, device)`: how many CPU threads each policy call of a rollout uses (`threads.py`): by
  default `ThreadTuner`, which measures one thread against all of torch's as the rollout runs.
- `for_training(model)`: the model with the walks the `Trainer` makes at every step done once (`step_caches.py`).

`ENABLED` is the one switch (on by default): with `dt_tutorial.speed.ENABLED = False`, rollouts call the model's own
`predict_actions` (the full forward) on torch's thread count, and training runs the model as it is. The tests compare
both ways (tests/test_last_action.py, test_rollout_windows.py, test_precision.py); BENCHMARKS.md, "Evaluation",
measures what the layer saves.
"""

from __future__ import annotations

import torch
from transformers import DecisionTransformerModel

from dt_tutorial.speed.last_action import LastActionPolicy, supports_last_action
from dt_tutorial.speed.step_caches import cache_step_walks
from dt_tutorial.speed.threads import FixedThreads, ThreadTuner

ENABLED = True

__all__ = ["ENABLED", "FixedThreads", "ThreadTuner", "for_training", "policy", "thread_policy"]


def policy(model):
    """`model` as the policy a rollout calls: a `LastActionPolicy` for a Decision Transformer whose options
    `last_action` reproduces, while `ENABLED`; any other policy (the BC baseline, a wrapper) as it is."""
    if ENABLED and isinstance(model, DecisionTransformerModel) and supports_last_action(model.config):
        return LastActionPolicy(model)
    return model


def thread_policy(threads: int | FixedThreads | ThreadTuner | None, device: torch.device):
    """The thread policy of a rollout on `device`: `threads` itself if it is one, `FixedThreads(threads)` for a number;
    for None, `ThreadTuner` over torch's threads on a CPU with several (while `ENABLED`), else torch's count kept."""
    if threads is None:
        most = torch.get_num_threads()
        return ThreadTuner(most) if ENABLED and device.type == "cpu" and most > 1 else FixedThreads(most)
    return FixedThreads(threads) if isinstance(threads, int) else threads


def for_training(model: torch.nn.Module) -> torch.nn.Module:
    """`model` with its per-step module walks cached while `ENABLED` (`step_caches.py`); the model itself."""
    return cache_step_walks(model) if ENABLED else model

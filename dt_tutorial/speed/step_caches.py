"""The walks the `Trainer` makes at every step, done once: `model.train()` and `model.num_parameters()`.

The Trainer calls both at every step (`train()` to set the mode, `num_parameters()` for its FLOP estimate); each walks
every submodule, which took ~25 % of the profiled time of a compiled GPU step of this small model (BENCHMARKS.md, "GPU budget"). The module
tree and the parameter shapes never change during training, so `cache_step_walks(model)` gives the model instance
versions of both that walk once; the model's class, its weights and what it saves are unchanged.
"""

from __future__ import annotations

import types

import torch


def cache_step_walks(model: torch.nn.Module) -> torch.nn.Module:
    """`model`, its `train` and (for a 🤗 PreTrainedModel) `num_parameters` walking its modules once; returns it."""
    if "_all_modules" not in model.__dict__:
        model.__dict__["_all_modules"] = list(model.modules())  # [model, every submodule]: walked once
        model.__dict__["_parameter_counts"] = {}
        model.train = types.MethodType(_train, model)
        if hasattr(model, "num_parameters"):
            model.num_parameters = types.MethodType(_num_parameters, model)
    return model


def _train(self, mode: bool = True):
    """nn.Module.train, skipped when every submodule is already in `mode`."""
    if all(m.training == mode for m in self.__dict__["_all_modules"]):
        return self
    return type(self).train(self, mode)


def _num_parameters(self, only_trainable: bool = False, exclude_embeddings: bool = False) -> int:
    """PreTrainedModel.num_parameters, counted once (a trainable-only count is not kept: freezing changes it)."""
    count = type(self).num_parameters
    if only_trainable:
        return count(self, only_trainable=True, exclude_embeddings=exclude_embeddings)
    counts = self.__dict__["_parameter_counts"]
    if exclude_embeddings not in counts:
        counts[exclude_embeddings] = count(self, exclude_embeddings=exclude_embeddings)
    return counts[exclude_embeddings]

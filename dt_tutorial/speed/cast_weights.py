"""Weights cast once for autocast and kept, rather than cast by autocast at every call (~4 % of a policy call)."""

from __future__ import annotations

import torch


class CastWeights:
    """The transformer layers' weights, as autocast would cast them, cast once per weight version.

    Outside autocast they are the parameters themselves. Under autocast each is cast (the same view, the same
    `.to`) on first use and kept while the parameter's version, storage and the autocast dtype stay the same: an
    optimizer step, `load_state_dict` or a move to another device makes a fresh cast."""

    def __init__(self, dtype: torch.dtype | None, cache: dict):
        self.dtype, self.cache = dtype, cache

    @classmethod
    def current(cls, device_type: str, cache: dict) -> CastWeights:
        """The weights as the autocast now on for `device_type` (if any) casts them, kept in `cache`."""
        dtype = torch.get_autocast_dtype(device_type) if torch.is_autocast_enabled(device_type) else None
        return cls(dtype, cache)

    def get(self, param: torch.Tensor, part: str = "", view=lambda p: p) -> torch.Tensor:
        """`view(param)`, cast to the autocast dtype if one is on; `part` names the view."""
        if self.dtype is None:
            return view(param)
        key, stamp = (id(param), part), (param._version, param.data_ptr(), self.dtype)
        hit = self.cache.get(key)
        if hit is None or hit[0] is not param or hit[1] != stamp:
            hit = self.cache[key] = (param, stamp, view(param).detach().to(self.dtype))
        return hit[2]

    def conv1d(self, layer, x: torch.Tensor) -> torch.Tensor:
        """transformers' Conv1D (x @ weight + bias) with these weights."""
        return torch.addmm(self.get(layer.bias), x.reshape(-1, x.shape[-1]), self.get(layer.weight)).view(*x.shape[:-1], layer.nf)

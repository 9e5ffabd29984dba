"""Mixed precision: which float format to compute in on this device, and the autocast context for it.

Weights stay float32 throughout (autocast, not conversion), so saved models are float32 whatever was used.
"auto" picks bf16 where the hardware computes it natively (CUDA GPUs with bf16, CPUs with AVX512-BF16 or
AMX), fp16 with loss scaling on CUDA GPUs without bf16 (e.g. T4), and fp32 elsewhere (CPUs without bf16
instructions, where emulated bf16 is slower; Apple mps, not measured).
"""

from __future__ import annotations

import contextlib
import functools
from pathlib import Path

import torch

from dt_tutorial.defaults import PRECISIONS
from dt_tutorial.errors import UserError

_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
_CPU_BF16_FLAGS = {"avx512_bf16", "amx_bf16"}  # /proc/cpuinfo flags of native bf16 arithmetic (x86)


@functools.cache
def cpu_has_native_bf16() -> bool:
    """True if this CPU computes bf16 natively: x86 AVX512-BF16/AMX flags on Linux, or ARM bf16 (e.g. Apple M2+)."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        words = set(cpuinfo.read_text(errors="ignore").split())
        return bool(words & _CPU_BF16_FLAGS) or "bf16" in words  # "bf16" is the ARM (aarch64) feature word
    return False  # unknown (macOS, Windows): fp32 unless asked


def _device_type(device) -> str:
    return torch.device(device).type if device is not None else "cpu"


def resolve_precision(requested: str, device) -> str:
    """"bf16", "fp16" or "fp32" for `requested` (one of PRECISIONS) on `device` (a torch device or its name).

    Raises a one-line UserError for a choice the device cannot run."""
    if requested not in PRECISIONS:
        raise UserError(f"precision must be one of {', '.join(PRECISIONS)}, not {requested!r}")
    kind = _device_type(device)
    cuda = kind == "cuda"
    bf16_ok = torch.cuda.is_bf16_supported() if cuda else kind == "cpu" and cpu_has_native_bf16()
    if requested == "auto":
        return "bf16" if bf16_ok else "fp16" if cuda else "fp32"
    if requested == "fp16" and not cuda:
        raise UserError(f"fp16 needs a CUDA GPU (it trains with loss scaling there); on {kind} use --precision bf16 or fp32")
    if requested == "bf16" and not bf16_ok:
        raise UserError(f"this {kind} has no native bf16 support (CPUs need AVX512-BF16 or AMX); use --precision fp32")
    return requested


def autocast(precision: str, device) -> contextlib.AbstractContextManager:
    """The context to run a forward pass in `precision` (already resolved) on `device`; a no-op for fp32."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=_device_type(device), dtype=_DTYPES[precision])

"""Checks at the boundary, before any long work: a model's inference settings, target returns, output paths.

Each failed check is a one-line `UserError` naming the value and what would fix it.
"""

from __future__ import annotations

import json
import math
import struct
import tempfile
from pathlib import Path

from dt_tutorial.errors import UserError, note

TARGET_LIMIT = 10.0
"""Targets are clipped to this many times the largest return of the model's data (or its scale): far beyond the data
the model has nothing to go on, and huge values overflow its inputs into NaN."""


def _finite_numbers(values, length: int | None = None) -> bool:
    try:
        numbers = [float(v) for v in values]
    except (TypeError, ValueError):
        return False
    return (length is None or len(numbers) == length) and all(math.isfinite(v) for v in numbers)


def _positive(value, integer: bool = False) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not float(value).is_integer()):
        return False
    return math.isfinite(value) and value > 0


def check_inference_config(config, where: str) -> None:
    """Refuse a model config whose inference settings cannot work (`where` names the model in the message)."""
    state_dim = getattr(config, "state_dim", None)
    mean, std = getattr(config, "state_mean", None), getattr(config, "state_std", None)
    return_range = getattr(config, "dataset_return_range", None)
    context_length, max_ep_len = getattr(config, "context_length", None), getattr(config, "max_ep_len", None)
    problems = [
        (not _positive(state_dim, True) or not _positive(getattr(config, "act_dim", None), True),
         "state_dim and act_dim must be positive integers"),
        (not _finite_numbers(mean or [None], state_dim), f"state_mean must hold {state_dim} finite numbers"),
        (not _finite_numbers(std or [None], state_dim) or min(map(float, std or [0])) <= 0,
         f"state_std must hold {state_dim} finite numbers above 0"),
        (not _positive(getattr(config, "scale", None)), f"scale must be a number above 0, not {getattr(config, 'scale', None)!r}"),
        (not _positive(context_length, True) or (_positive(max_ep_len, True) and context_length > max_ep_len),
         f"context_length must be an integer from 1 to max_ep_len ({max_ep_len}), not {context_length!r}"),
        (not _positive(max_ep_len, True), f"max_ep_len must be an integer of at least 1, not {max_ep_len!r}"),
        (not isinstance(getattr(config, "env_id", None) or "", str),
         f"env_id must be a gymnasium env id such as HalfCheetah-v5, not {getattr(config, 'env_id', None)!r}"),
        (getattr(config, "return_pace", False) and not (_finite_numbers(return_range or [None], 2) and return_range[0] <= return_range[1]),
         "dataset_return_range must be [lowest, highest] episode return (the return pace needs it)"),
    ]
    for failed, message in problems:
        if failed:
            raise UserError(f"{where}: {message}; retrain it with `python -m dt_tutorial train` or fix its config.json")


def check_targets(targets, config) -> list[float]:
    """The target returns as floats: non-finite ones refused, huge ones clipped (with a note saying so)."""
    values = [float(t) for t in targets]
    bad = [t for t in values if not math.isfinite(t)]
    if bad:
        raise UserError(f"target returns must be finite numbers, got {bad[0]}")
    data_range = getattr(config, "dataset_return_range", None) or []
    limit = TARGET_LIMIT * max([abs(float(r)) for r in data_range] + [float(config.scale)])
    clipped = [min(max(t, -limit), limit) for t in values]
    for asked, used in zip(values, clipped):
        if asked != used:
            note(f"target {asked:g} clipped to {used:g} ({TARGET_LIMIT:g}x the largest return of the model's data)")
    return clipped


def _existing_ancestor(path: Path) -> Path:
    for parent in (path, *path.parents):
        if parent.exists():
            return parent
    return Path(".")


def check_writable(path: str | Path, *, folder: bool = False) -> None:
    """Raise unless `path` (a file, or a folder when `folder`) can be created or written, by trying it out."""
    path = Path(path).expanduser().absolute()
    if path.exists() and path.is_dir() != folder:
        raise UserError(f"{path} is {'a file' if folder else 'a folder'}; give a {'folder' if folder else 'file'} path")
    base = _existing_ancestor(path if folder else path.parent)  # an existing file is written over (a re-run)
    if not base.is_dir():
        raise UserError(f"cannot write {path}: {base} is a file, not a folder")
    try:
        with tempfile.TemporaryFile(dir=base):
            pass
    except OSError as err:
        raise UserError(f"cannot write {path}: {err.strerror or err} in {base}") from None


def check_config_fits_weights(folder: Path) -> None:
    """A saved model's sizes in config.json against the shapes its model.safetensors header declares, read before any
    layer is built from the config: a config saying one layer more would load with that layer random, and one saying
    a million layers would allocate for minutes. Damaged or absent files are left to the loader's own one-line error."""
    try:
        config = json.loads((folder / "config.json").read_text())
        with (folder / "model.safetensors").open("rb") as weights:
            header = json.loads(weights.read(struct.unpack("<Q", weights.read(8))[0]))
        shapes = {name: tuple(entry["shape"]) for name, entry in header.items() if name != "__metadata__"}
        hidden_size = shapes["embed_timestep.weight"][1]
        saved = {
            "n_layer": len({name.split(".")[2] for name in shapes if name.startswith("encoder.h.")}),
            "hidden_size": hidden_size,
            "max_ep_len": shapes["embed_timestep.weight"][0],
            "n_positions": shapes["encoder.wpe.weight"][0],
            "state_dim": shapes["embed_state.weight"][1],
            "act_dim": shapes["embed_action.weight"][1],
            "n_inner": shapes["encoder.h.0.mlp.c_fc.weight"][1],
        }
        config = {**config, "n_inner": config.get("n_inner") or 4 * config.get("hidden_size", hidden_size)}
    except (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError, struct.error):
        return
    wrong = [f"{key} {config.get(key)!r} (the weights have {value})" for key, value in saved.items() if config.get(key) != value]
    if wrong:
        raise UserError(f"{folder}: its config.json does not fit its model.safetensors: {', '.join(wrong)}")

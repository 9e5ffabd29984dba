"""A training run's folder: never trained over by accident, one training at a time, resumed only by the same run.

- A folder that holds a model (or checkpoints) is trained into only with `overwrite` (which clears it first) or
  `resume`.
- A lock file, `.lock`, held while training: a second training into the same folder stops at once.
- `run.json`, written when a training starts: its settings, its data's identity and its model's shape. `resume`
  refuses to continue with anything that differs, naming it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np

from dt_tutorial.checks import check_writable
from dt_tutorial.errors import UserError

RUN_FILE = "run.json"
LOCK_FILE = ".lock"
MODEL_FILES = ("config.json", "model.safetensors", "pytorch_model.bin")
# Settings a resumed run may change: where and how fast it computes, and how often it logs and saves.
_HELD: set[str] = set()  # the folders whose lock this process holds
FREE_ON_RESUME = ("device", "precision", "attention", "compile", "logging_steps", "save_steps")


def holds_a_model(folder: str | Path) -> bool:
    folder = Path(folder)
    return any((folder / name).exists() for name in MODEL_FILES) or any(folder.glob("checkpoint-*"))


def check_output(folder: str | Path, *, overwrite: bool = False, resume: bool = False) -> None:
    """Raise unless a training may write to `folder` (checked before any data is loaded)."""
    check_writable(folder, folder=True)
    if not resume and not overwrite and holds_a_model(folder):
        raise UserError(f"{folder} already holds a model: add --overwrite (overwrite=True) to replace it, --resume "
                        "(resume=True) to continue its run, or choose another --output")


@contextlib.contextmanager
def run_lock(folder: str | Path, enabled: bool = True):
    """Hold `folder`'s lock for the block (reentrant in one process); another process holding it is a UserError.

    `enabled` False (the other ranks of a multi-process training) takes no lock."""
    from filelock import FileLock, Timeout

    folder = Path(folder)
    key = str(folder.resolve())
    if not enabled or key in _HELD:
        yield
        return
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(folder / LOCK_FILE))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise UserError(f"another training is writing to {folder} (it holds {folder / LOCK_FILE}): wait for it to end, "
                        "or choose another --output") from None
    _HELD.add(key)
    try:
        yield
    finally:
        _HELD.discard(key)
        lock.release()
        if created and [p.name for p in folder.iterdir()] == [LOCK_FILE]:  # a run that failed before writing anything
            shutil.rmtree(folder, ignore_errors=True)


def clear(folder: str | Path) -> None:
    """Remove a previous run's model, checkpoints and record from `folder` (what `overwrite` replaces)."""
    folder = Path(folder)
    for checkpoint in folder.glob("checkpoint-*"):
        shutil.rmtree(checkpoint)
    for name in (*MODEL_FILES, RUN_FILE):
        (folder / name).unlink(missing_ok=True)


def data_identity(data) -> dict:
    """What a run's data are: name, sizes and a hash of every number (`data` is a `Trajectories`)."""
    digest = hashlib.blake2b(digest_size=12)
    for array in (data.observations, data.actions, data.rewards, data.episode_lengths):
        digest.update(np.ascontiguousarray(array).tobytes())
    return {"name": data.name, "episodes": int(data.n_episodes), "steps": int(data.n_steps), "state_dim": int(data.state_dim),
            "act_dim": int(data.act_dim), "hash": digest.hexdigest()}


def run_record(data, config, model) -> dict:
    """The run.json of a training of `model` on `data` with `config` (a `TrainConfig`)."""
    shape = {"class": type(model).__name__, "parameters": int(sum(p.numel() for p in model.parameters()))}
    return {"data": data_identity(data), "config": dataclasses.asdict(config), "model": shape}


def write_record(folder: str | Path, record: dict) -> None:
    Path(folder, RUN_FILE).write_text(json.dumps(record, indent=1))


def check_checkpoint(checkpoint: Path) -> None:
    """Read each file of `checkpoint` that resuming reads, the way the Trainer reads it (tensors only: `torch.load` with
    `weights_only=True`), so a damaged or hostile file is one line here rather than a traceback mid-resume."""
    import safetensors.torch
    import torch
    from transformers.trainer_pt_utils import safe_globals

    for path in sorted(checkpoint.iterdir()):
        try:
            if path.suffix == ".json":
                json.loads(path.read_text())
            elif path.suffix in (".pt", ".pth") or (path.suffix == ".bin" and path.name != "training_args.bin"):  # never read
                with safe_globals():
                    torch.load(path, map_location="cpu", weights_only=True)
            elif path.suffix == ".safetensors":
                safetensors.torch.load_file(str(path))
        except Exception as err:  # any failure to read it (UnpicklingError, JSONDecodeError, SafetensorError...)
            reason = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise UserError(f"--resume: {path} cannot be read as plain data ({reason[:200]}); resume from another run") from None


def check_resumable(folder: str | Path, record: dict) -> None:
    """Raise, naming what differs, unless `record` (this training's `run_record`) continues the run in `folder`."""
    path = Path(folder, RUN_FILE)
    if not path.exists():
        raise UserError(f"--resume: {folder} has no {RUN_FILE} saying what its run trained on, so it cannot be checked; "
                        "train into a new --output instead")
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise UserError(f"--resume: {path} is unreadable ({err})") from None
    old_data, new_data = saved.get("data", {}), record["data"]
    if old_data != new_data:
        differ = [k for k in new_data if old_data.get(k) != new_data[k]]
        described = ", ".join(f"{k} {old_data.get(k)} -> {new_data[k]}" for k in differ if k != "hash") or "the same sizes, other numbers"
        raise UserError(f"--resume: the data differ from the run's in {folder} ({described}); resume on {old_data.get('name')}, "
                        "or train into a new --output")
    old_config = saved.get("config", {})
    settings = [k for k in record["config"] if k not in FREE_ON_RESUME and old_config.get(k) != record["config"][k]]
    if settings:
        described = ", ".join(f"{k} {old_config.get(k)} -> {record['config'][k]}" for k in settings)
        raise UserError(f"--resume: the settings differ from the run's in {folder} ({described}); resume with its settings "
                        "(same --preset and options), or train into a new --output")
    if saved.get("model") != record["model"]:
        raise UserError(f"--resume: the model differs from the run's in {folder} ({saved.get('model')} -> {record['model']})")

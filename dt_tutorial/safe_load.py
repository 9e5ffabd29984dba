"""Reading pickles without running code from them.

A pickle names the functions that rebuild its objects, and a plain `pickle.load` calls whatever it names: a file
can run any command that way. The two pickles this package reads go through `pickle.Unpickler.find_class` with an
allow-list instead, and any other name stops the load with a `UserError`:
- datasets (`*.pkl`, the hub repo's raw files): lists, dicts, tuples, numbers, strings, and numpy arrays rebuilt by
  numpy's own functions (no object arrays);
- SB3's `*.vecnormalize.pkl`: the same, plus the few classes such a file names (the normaliser, its running
  statistics, gym's Box space, numpy's RandomState), each read as an inert record of its attributes: no class of
  SB3 or gym is imported or run.
"""

from __future__ import annotations

import codecs
import pickle
from pathlib import Path

import numpy as np

from dt_tutorial.errors import UserError

try:  # numpy >= 2 keeps these in numpy._core; pickles written by numpy 1 name numpy.core
    from numpy._core import multiarray as _multiarray, numeric as _numeric
except ImportError:  # pragma: no cover - numpy 1
    from numpy.core import multiarray as _multiarray, numeric as _numeric


class Refused(pickle.UnpicklingError):
    """The pickle names something outside the allow-list."""


def _plain_dtype(*args) -> np.dtype:
    """numpy.dtype, refusing dtypes that hold Python objects (their items would be arbitrary objects)."""
    dtype = np.dtype(*args)
    if dtype.hasobject:
        raise Refused("it holds an array of Python objects")
    return dtype


_NUMPY = {
    (f"{package}.{module}", name): function
    for package in ("numpy.core", "numpy._core")
    for module, name, function in (("multiarray", "_reconstruct", _multiarray._reconstruct),
                                   ("multiarray", "scalar", _multiarray.scalar),
                                   ("numeric", "_frombuffer", _numeric._frombuffer))  # pickle protocol 5
}
_NUMPY[("numpy", "ndarray")] = np.ndarray
_NUMPY[("numpy", "dtype")] = _plain_dtype
_NUMPY[("_codecs", "encode")] = codecs.encode  # how protocol-2 pickles spell bytes


class Record:
    """An allow-listed class of a pickle, read as its attributes only (nothing of the class runs)."""

    name = "Record"

    def __init__(self, *args, **kwargs):
        self.args = args

    def __setstate__(self, state):
        if isinstance(state, tuple) and len(state) == 2 and isinstance(state[1], dict):  # (dict, slots)
            state = {**(state[0] or {}), **state[1]}
        if isinstance(state, dict):
            self.__dict__.update(state)
        else:
            self.state = state


def _record_class(name: str) -> type:
    """A stand-in for the class (or constructor function) `name`: a `Record` that stores what it is given."""
    return type(name, (Record,), {"name": name})


# What an SB3 VecNormalize pickle names besides numpy (SB3 1.x/2.x; gym or gymnasium spaces).
VECNORMALIZE_CLASSES = {
    ("stable_baselines3.common.vec_env.vec_normalize", "VecNormalize"): _record_class("VecNormalize"),
    ("stable_baselines3.common.running_mean_std", "RunningMeanStd"): _record_class("RunningMeanStd"),
    ("gym.spaces.box", "Box"): _record_class("Box"),
    ("gymnasium.spaces.box", "Box"): _record_class("Box"),
    ("gym.spaces.dict", "Dict"): _record_class("Dict"),
    ("gymnasium.spaces.dict", "Dict"): _record_class("Dict"),
    ("numpy.random._pickle", "__randomstate_ctor"): _record_class("RandomState"),
    ("numpy.random._pickle", "__generator_ctor"): _record_class("Generator"),
    ("numpy.random._pickle", "__bit_generator_ctor"): _record_class("BitGenerator"),
    ("numpy.random.mtrand", "RandomState"): _record_class("RandomState"),
    ("collections", "OrderedDict"): dict,
}


class _AllowList(pickle.Unpickler):
    def __init__(self, file, allowed: dict):
        super().__init__(file)
        self.allowed = allowed

    def find_class(self, module: str, name: str):
        try:
            return self.allowed[(module, name)]
        except KeyError:
            raise Refused(f"it names {module}.{name}, which is not allowed") from None

    def persistent_load(self, pid):
        raise Refused("it refers to outside objects")


def safe_unpickle(path: str | Path, what: str, classes: dict | None = None):
    """The object pickled in `path`, admitting only numpy arrays, plain containers and `classes`.

    Any other name in the file, or a damaged file, is a one-line UserError naming `what` was expected."""
    try:
        with open(path, "rb") as f:
            return _AllowList(f, {**_NUMPY, **(classes or {})}).load()
    except OSError as err:
        raise UserError(f"cannot read {path}: {err.strerror or err}") from None
    except Refused as err:
        raise UserError(f"{path} was not loaded: {err}; only {what} is read from a pickle (nothing in it may run code)") from None
    except Exception as err:  # a damaged or truncated pickle fails in many ways (EOFError, ValueError, TypeError...)
        raise UserError(f"{path} is not a readable pickle of {what} ({type(err).__name__}: {err})") from None


def load_vecnormalize(path: str | Path) -> Record:
    """An SB3 `*.vecnormalize.pkl` as a `Record` (attributes obs_rms.mean/var, epsilon, clip_obs, norm_obs...)."""
    normaliser = safe_unpickle(path, "an SB3 VecNormalize (its statistics and spaces)", VECNORMALIZE_CLASSES)
    if not isinstance(normaliser, Record) or normaliser.name != "VecNormalize":
        raise UserError(f"{path} does not hold an SB3 VecNormalize but a {type(normaliser).__name__}")
    return normaliser

"""Pretrained agents as plain numpy actors: the data-collecting policies of `collect.py`.

Six HalfCheetah agents of graded skill from DLR-RM/rl-trained-agents (MIT, see assets/PROVENANCE.md) ship as
small `.npz` files: `Actor.shipped("ppo")` runs one without Stable-Baselines3. `Actor.from_sb3(zip)` reads any
SB3 SAC/TQC/PPO/A2C/TRPO/ARS zip (+ its `*.vecnormalize.pkl`) without SB3: the zip's weights are read with
`torch.load(weights_only=True)`, the normaliser through `safe_load`'s allow-list (nothing in either file can run code).

One `Actor` covers every family (what differs is data, not code):
- observation normalisation (PPO, A2C, TRPO, ARS were trained on `VecNormalize`d observations):
  clip((obs - mean) / sqrt(var + epsilon), -clip_obs, clip_obs);
- an MLP (ReLU or tanh) or nothing (ARS: linear), then the mean action `mu`;
- noise: SAC/TQC's state-dependent log std, squashed by tanh; PPO/A2C/TRPO's state-independent log std,
  clipped to the action bounds like SB3's `predict`; ARS none (SB3 ignores `deterministic` for it).
"""

from __future__ import annotations

import io
import json
import pickle
import sys
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np

from dt_tutorial.errors import UserError
from dt_tutorial.safe_load import load_vecnormalize

Policy = Callable[[np.ndarray], np.ndarray]  # [n_envs, state_dim] -> [n_envs, act_dim]

ASSETS = Path(__file__).parent.parent / "assets"
SHIPPED = ("tqc", "sac", "ppo", "ars", "a2c", "trpo")  # HalfCheetah agents, best first
LOG_STD_RANGE = (-20.0, 2.0)  # SB3's clamp of SAC/TQC's state-dependent log std
ACTIVATIONS = {"relu": lambda x: np.maximum(x, 0.0), "tanh": np.tanh}


def shipped_path(name: str) -> Path:
    return ASSETS / f"{name}_halfcheetah_v3_actor.npz"


class Actor:
    """A pretrained SB3 actor in numpy. Weights use SB3's layer shapes: weight [out, in], bias [out]."""

    def __init__(self, arrays: dict[str, np.ndarray], deterministic: bool = False, seed: int | None = None):
        self.arrays = {k: np.asarray(v) for k, v in arrays.items()}
        self.n_hidden = sum(1 for k in self.arrays if k.startswith("hidden") and k.endswith(".weight"))
        self.activation = ACTIVATIONS[str(self.arrays["activation"])]
        self.squash = bool(self.arrays["squash"])
        self.deterministic = deterministic
        self.rng = np.random.default_rng(seed)

    @classmethod
    def shipped(cls, name: str, **kwargs) -> Actor:
        """One of the shipped HalfCheetah agents by name: tqc, sac, ppo, ars, a2c, trpo."""
        if name not in SHIPPED:
            raise UserError(f"unknown agent {name!r}; the shipped HalfCheetah agents: {', '.join(SHIPPED)}")
        return cls.from_npz(shipped_path(name), **kwargs)

    @classmethod
    def from_npz(cls, path: str | Path, **kwargs) -> Actor:
        try:
            with np.load(path) as f:
                return cls(dict(f), **kwargs)
        except (OSError, ValueError, KeyError) as err:
            raise UserError(f"{path} is not an actor saved by dt_tutorial ({err})") from None

    @classmethod
    def from_sb3(cls, zip_path: str | Path, vecnormalize: str | Path | None = None, **kwargs) -> Actor:
        """Read the actor of an SB3 zip; `vecnormalize` defaults to `<name>.vecnormalize.pkl` beside it, if any
        (said on stderr when picked up that way).

        Reads the zip's `policy.pth` and `data` directly, and the normaliser's statistics through an allow-list."""
        zip_path = Path(zip_path)
        if not zip_path.exists():
            raise UserError(f"no SB3 zip at {zip_path}")
        arrays = _arrays_from_sb3_zip(zip_path)
        default = zip_path.with_name(zip_path.name.removesuffix(".zip") + ".vecnormalize.pkl")
        if vecnormalize is None and default.exists():
            vecnormalize = default
            print(f"note: normalising observations with {default.name}, found beside {zip_path.name}", file=sys.stderr)
        if vecnormalize is not None:
            arrays.update(read_vecnormalize(vecnormalize))
            first = arrays["hidden0.weight" if "hidden0.weight" in arrays else "mu.weight"]  # [out, state_dim]
            if "obs_mean" in arrays and arrays["obs_mean"].shape != (first.shape[1],):
                raise UserError(f"{Path(vecnormalize).name} normalises {arrays['obs_mean'].shape[0]} observation values, "
                                f"but {zip_path.name} takes {first.shape[1]}: give the normaliser saved with this agent")
        return cls(arrays, **kwargs)

    def save_npz(self, path: str | Path) -> None:
        np.savez_compressed(path, **self.arrays)

    @property
    def normalises_observations(self) -> bool:
        return "obs_mean" in self.arrays

    def _linear(self, x: np.ndarray, name: str) -> np.ndarray:
        out = x @ self.arrays[f"{name}.weight"].T
        return out + self.arrays[f"{name}.bias"] if f"{name}.bias" in self.arrays else out

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        a = self.arrays
        h = np.asarray(obs, dtype=np.float32)  # [n_envs, state_dim]
        if self.normalises_observations:
            h = np.clip((h - a["obs_mean"]) / np.sqrt(a["obs_var"] + a["obs_epsilon"]), -a["clip_obs"], a["clip_obs"])
            h = h.astype(np.float32)
        for i in range(self.n_hidden):
            h = self.activation(self._linear(h, f"hidden{i}"))
        mu = self._linear(h, "mu")  # [n_envs, act_dim]
        if not self.deterministic and ("log_std" in a or "log_std.weight" in a):
            log_std = np.clip(self._linear(h, "log_std"), *LOG_STD_RANGE) if "log_std.weight" in a else a["log_std"]
            mu = mu + np.exp(log_std) * self.rng.standard_normal(mu.shape, dtype=np.float32)
        return np.tanh(mu) if self.squash else np.clip(mu, a["action_low"], a["action_high"])


def _arrays_from_sb3_zip(zip_path: Path) -> dict[str, np.ndarray]:
    """Our npz layout from an SB3 zip: hidden{i}.weight/bias, mu.*, log_std(.*), activation, squash, action bounds."""
    import torch

    try:
        with zipfile.ZipFile(zip_path) as z:
            state = torch.load(io.BytesIO(z.read("policy.pth")), map_location="cpu", weights_only=True)
            data = json.loads(z.read("data"))
        state = {k: v.numpy().astype(np.float32) for k, v in state.items()}
    except zipfile.BadZipFile:
        raise UserError(f"{zip_path} is not a zip file: expected an SB3 agent saved with model.save()") from None
    except KeyError as err:  # a member missing from the zip
        raise UserError(f"{zip_path} is not an SB3 agent: {err.args[0]}") from None
    except (pickle.UnpicklingError, RuntimeError, ValueError, AttributeError, EOFError) as err:  # torch's refusals, bad JSON
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise UserError(f"{zip_path}: cannot read its policy.pth and data ({reason})") from None
    if not isinstance(data, dict):
        raise UserError(f"{zip_path}: its data file is not an SB3 JSON object")
    kwargs = str(data.get("policy_kwargs", ""))
    if "actor.mu.weight" in state:  # SAC / TQC: actor.latent_pi MLP (ReLU), mu and log_std heads, tanh squash
        hidden = _numbered_layers(state, "actor.latent_pi.")
        arrays = {"mu.weight": state["actor.mu.weight"], "mu.bias": state["actor.mu.bias"],
                  "log_std.weight": state["actor.log_std.weight"], "log_std.bias": state["actor.log_std.bias"],
                  "activation": np.array("relu"), "squash": np.array(True)}
    elif "action_net.weight" in state and "log_std" in state:  # PPO / A2C / TRPO: Gaussian, tanh MLP unless told
        hidden = _numbered_layers(state, "mlp_extractor.policy_net.")
        arrays = {"mu.weight": state["action_net.weight"], "mu.bias": state["action_net.bias"], "log_std": state["log_std"],
                  "activation": np.array("relu" if "ReLU" in kwargs else "tanh"), "squash": np.array(False)}
    elif "action_net.weight" in state:  # ARS linear policy: no noise, output clipped to the action bounds
        hidden = []
        arrays = {"mu.weight": state["action_net.weight"], "activation": np.array("relu"), "squash": np.array(False)}
        if "action_net.bias" in state:
            arrays["mu.bias"] = state["action_net.bias"]
    else:
        raise UserError(f"{zip_path}: not an SB3 SAC/TQC/PPO/A2C/TRPO/ARS actor (keys {', '.join(list(state)[:4])}...)")
    for i, (weight, bias) in enumerate(hidden):
        arrays[f"hidden{i}.weight"], arrays[f"hidden{i}.bias"] = state[weight], state[bias]
    arrays["action_low"] = np.full(arrays["mu.weight"].shape[0], -1.0, np.float32)
    arrays["action_high"] = np.full(arrays["mu.weight"].shape[0], 1.0, np.float32)
    return arrays


def _numbered_layers(state: dict, prefix: str) -> list[tuple[str, str]]:
    """[(weight key, bias key)] of the nn.Sequential Linear layers under `prefix`, in order."""
    indices = sorted({int(k[len(prefix):].split(".")[0]) for k in state if k.startswith(prefix) and k.endswith(".weight")})
    return [(f"{prefix}{i}.weight", f"{prefix}{i}.bias") for i in indices]


def read_vecnormalize(path: str | Path) -> dict[str, np.ndarray]:
    """obs_mean, obs_var, obs_epsilon, clip_obs of an SB3 `*.vecnormalize.pkl`, read through an allow-list (no SB3
    needed); {} when the file's normaliser leaves observations alone (norm_obs False)."""
    normaliser = load_vecnormalize(path)
    if not getattr(normaliser, "norm_obs", True):
        return {}
    try:
        arrays = {"obs_mean": np.asarray(normaliser.obs_rms.mean, dtype=np.float32),
                  "obs_var": np.asarray(normaliser.obs_rms.var, dtype=np.float32),
                  "obs_epsilon": np.float32(normaliser.epsilon), "clip_obs": np.float32(normaliser.clip_obs)}
    except (AttributeError, TypeError, ValueError) as err:
        raise UserError(f"{path} lacks the normaliser's statistics ({err})") from None
    bad = [k for k, v in arrays.items() if not np.isfinite(v).all()] + (["obs_var"] if (arrays["obs_var"] < 0).any() else [])
    if bad or arrays["obs_mean"].shape != arrays["obs_var"].shape or arrays["obs_mean"].ndim != 1:
        raise UserError(f"{path} holds unusable normalisation statistics ({', '.join(bad) or 'shapes'})")
    return arrays


def load_policy(spec: str, *, deterministic: bool = False, seed: int | None = None) -> Actor:
    """A policy from the command line: a shipped agent's name, an exported .npz, or an SB3 .zip (+ vecnormalize)."""
    if spec in SHIPPED or spec == "expert":
        return Actor.shipped("tqc" if spec == "expert" else spec, deterministic=deterministic, seed=seed)
    if spec.endswith(".npz"):
        return Actor.from_npz(spec, deterministic=deterministic, seed=seed)
    if spec.endswith(".zip"):
        return Actor.from_sb3(spec, deterministic=deterministic, seed=seed)
    raise UserError(f"--policy must be one of {', '.join(SHIPPED)} (or 'expert'), a .npz actor or an SB3 .zip, not {spec!r}")

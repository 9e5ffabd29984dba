"""Which gymnasium environment goes with which dataset, and D4RL score normalisation."""

from __future__ import annotations

import warnings

import numpy as np

from dt_tutorial.errors import UserError

# The hub dataset was recorded in gym's -v2 MuJoCo envs; gymnasium's -v5 envs have the same
# observation and action spaces, so a model trained on the hub data runs in them.
ENV_IDS = {"halfcheetah": "HalfCheetah-v5", "hopper": "Hopper-v5", "walker2d": "Walker2d-v5"}

# D4RL's reference returns (d4rl/infos.py): score = 100 * (R - random) / (expert - random).
D4RL_REFERENCE_RETURNS = {
    "halfcheetah": (-280.178953, 12135.0),
    "hopper": (-20.272305, 3234.3),
    "walker2d": (1.629008, 4592.3),
}


def env_family(name: str) -> str | None:
    """'halfcheetah' for 'halfcheetah-expert-v2', 'HalfCheetah-v5', 'bundled-halfcheetah-expert'...; else None."""
    key = name.lower().replace("_", "").replace("-", "")
    for family in ENV_IDS:
        if family in key:
            return family
    return None


def env_id_for(dataset_name: str) -> str | None:
    """The gymnasium env id matching a dataset name (a Minari dataset's own metadata), or None when it does not tell."""
    if dataset_name.startswith("minari:"):
        from dt_tutorial.sources.minari import minari_env_id

        return minari_env_id(dataset_name.removeprefix("minari:"))
    family = env_family(dataset_name)
    return ENV_IDS[family] if family else None


def d4rl_score(env_id: str, returns) -> np.ndarray | None:
    """D4RL-normalised scores (0 = random policy, 100 = D4RL expert), or None for other envs."""
    family = env_family(env_id)
    if family is None:
        return None
    random_return, expert_return = D4RL_REFERENCE_RETURNS[family]
    return 100.0 * (np.asarray(returns, dtype=np.float64) - random_return) / (expert_return - random_return)


def _route_mujoco_warnings() -> None:
    """Send MuJoCo's warnings to Python's `warnings`, dropping the deprecation notice gymnasium's XML
    files trigger on every env creation (MuJoCo >= 3 otherwise prints it and appends it to MUJOCO_LOG.TXT)."""
    try:
        import mujoco
    except ImportError:
        return

    def forward(message: str) -> None:
        if "settotalmass" not in message:
            warnings.warn(f"MuJoCo: {message}", RuntimeWarning, stacklevel=2)

    mujoco.set_mju_user_warning(forward)


def make_env(env_id: str, **kwargs):
    """`gymnasium.make` with a one-line error for unknown ids or a missing MuJoCo install."""
    import gymnasium as gym

    _route_mujoco_warnings()
    try:
        return gym.make(env_id, **kwargs)
    except gym.error.Error as err:
        known = ", ".join(ENV_IDS.values())
        raise UserError(f"cannot make env {env_id!r} ({err}); the MuJoCo envs this tutorial uses: {known}") from None
    except ImportError as err:
        raise UserError(f"env {env_id!r} needs MuJoCo: pip install 'gymnasium[mujoco]' ({err})") from None

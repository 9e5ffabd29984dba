"""The hub's pretrained Decision Transformers (`edbeeching/decision-transformer-gym-*`): which data and env each goes with.

Those checkpoints are plain `DecisionTransformerModel`s: their config.json lacks the state mean/std, return
scale, context length and env id that inference needs. `load_model(id, stats_from=...)` fills them in from the
dataset the checkpoint was trained on, computed exactly as training computes them; this module says which
dataset and env that is, from the checkpoint's name.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from dt_tutorial.envs import ENV_IDS

HUB_OWNER = "edbeeching"
QUALITIES = ("expert", "medium", "medium-replay")
# The nine hub checkpoints -> (hub dataset config they were trained on, gymnasium env to run them in).
HUB_CHECKPOINTS = {
    f"{HUB_OWNER}/decision-transformer-gym-{env}-{quality}": (f"{env}-{quality}-v2", ENV_IDS[env])
    for env in ENV_IDS
    for quality in QUALITIES
}
# The hub checkpoints were trained with the blog's defaults (`defaults.CONTEXT_LENGTH`, `RETURN_SCALE`), which their
# config.json does not record: `model.load_model` fills those in.

_NAME = re.compile(r"(halfcheetah|hopper|walker2d)-(medium-replay|medium|expert)", re.IGNORECASE)


def checkpoint_sources(model_id: str) -> tuple[str, str] | None:
    """(dataset config, env id) for a hub checkpoint id, or a folder named like one; None when the name does not tell."""
    match = _NAME.search(PurePosixPath(str(model_id).rstrip("/")).name)
    if match is None:
        return None
    env, quality = match.group(1).lower(), match.group(2).lower()
    return f"{env}-{quality}-v2", ENV_IDS[env]

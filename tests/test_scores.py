"""envs.d4rl_score against known (return, score) pairs of D4RL's normalisation (d4rl/infos.py reference returns),
not a restatement of the formula: 0 at the random policy's return, 100 at the expert's."""

from __future__ import annotations

import numpy as np
import pytest

from dt_tutorial.envs import d4rl_score

# (env id or dataset name, returns, expected scores); the middle values computed once by hand from the references.
KNOWN = [
    ("HalfCheetah-v5", [-280.178953, 12135.0, 4000.0, 0.0], [0.0, 100.0, 34.475370586, 2.256745183]),
    ("halfcheetah-expert-v2", [12135.0], [100.0]),
    ("Hopper-v5", [-20.272305, 3234.3, 1000.0], [0.0, 100.0, 31.348890404]),
    ("Walker2d-v5", [1.629008, 4592.3], [0.0, 100.0]),
]


@pytest.mark.parametrize("env_id, returns, scores", KNOWN)
def test_known_returns_give_d4rls_scores(env_id, returns, scores):
    np.testing.assert_allclose(d4rl_score(env_id, returns), scores, rtol=1e-8, atol=1e-7)


def test_envs_without_a_d4rl_reference_have_no_score():
    assert d4rl_score("Pendulum-v1", [100.0]) is None

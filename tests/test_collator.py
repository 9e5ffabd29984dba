"""The vectorised collator against the tutorial's per-window algorithm, its sampling law, seeding,
and properties over random episode layouts (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from conftest import raises_one_line, synthetic_episodes
from dt_tutorial.collator import DecisionTransformerGymDataCollator

FIELDS = ("states", "actions", "rewards", "returns_to_go", "timesteps", "attention_mask")


def episode_offsets(ds) -> tuple[np.ndarray, np.ndarray]:
    """(first global step index, length) of every episode, from the dataset's rows."""
    lengths = np.array([len(r) for r in ds["rewards"]])
    return np.cumsum(lengths) - lengths, lengths


def reference_window(ds, episode: int, si: int, max_len: int, scale: float, max_ep_len: int, mean, std) -> dict:
    """The tutorial's collator for one window: episode `episode` of the HF dataset, starting at step `si`."""
    row = ds[episode]
    states, actions = np.asarray(row["observations"], np.float64), np.asarray(row["actions"], np.float64)
    rewards = np.asarray(row["rewards"], np.float64)
    s, a, r = states[si : si + max_len], actions[si : si + max_len], rewards[si : si + max_len]
    tlen = len(s)
    rtg = np.cumsum(rewards[si:][::-1])[::-1][:tlen]  # discount_cumsum(rewards[si:], 1.0)[:tlen]
    timesteps = np.arange(si, si + tlen)
    timesteps[timesteps >= max_ep_len] = max_ep_len - 1
    pad = max_len - tlen
    return {
        "states": (np.concatenate([np.zeros((pad, states.shape[1])), s]) - mean) / std,
        "actions": np.concatenate([np.full((pad, actions.shape[1]), -10.0), a]),
        "rewards": np.concatenate([np.zeros(pad), r])[:, None],
        "returns_to_go": np.concatenate([np.zeros(pad), rtg])[:, None] / scale,
        "timesteps": np.concatenate([np.zeros(pad, dtype=np.int64), timesteps]),
        "attention_mask": np.concatenate([np.zeros(pad), np.ones(tlen)]),
    }


@pytest.mark.parametrize(
    "which, max_len, max_ep_len, scale",
    [
        ("halfcheetah", 20, 1000, 1000.0),
        ("halfcheetah", 20, 50, 1000.0),  # timesteps clipped past step 49
        ("hopper", 20, 15, 10.0),  # short, varied episodes: padding and clipping
        ("hopper", 1, 1000, 1000.0),
        ("hopper", 9, 8, 100.0),  # max_len near the shortest episode (9 steps)
    ],
)
def test_windows_match_the_tutorial_algorithm(which, max_len, max_ep_len, scale, request):
    ds = request.getfixturevalue(f"{which}_episodes")
    collator = DecisionTransformerGymDataCollator(ds, max_len=max_len, scale=scale, max_ep_len=max_ep_len)
    all_states = np.concatenate([np.asarray(o, np.float64) for o in ds["observations"]])
    mean, std = np.mean(all_states, axis=0), np.std(all_states, axis=0) + 1e-6
    first, lengths = episode_offsets(ds)
    rng = np.random.default_rng(0)
    episodes, starts = [], []
    for i, n in enumerate(lengths):  # both ends, the last full window, the first padded one, random ones
        for si in {0, n - 1, max(n - max_len, 0), min(max(n - max_len + 1, 0), n - 1), *rng.integers(0, n, 3)}:
            episodes.append(i)
            starts.append(int(si))
    batch = collator.windows(first[episodes] + starts)

    assert min(lengths) >= max_len or (batch["attention_mask"] == 0).any()
    assert max_ep_len >= max(lengths) or (batch["timesteps"] == max_ep_len - 1).sum() > 1
    for row, (episode, si) in enumerate(zip(episodes, starts)):
        expected = reference_window(ds, episode, si, max_len, scale, max_ep_len, mean, std)
        for field in FIELDS:
            np.testing.assert_allclose(
                batch[field][row].numpy(), expected[field], rtol=1e-5, atol=2e-5, err_msg=f"{field}, episode {episode}, start {si}"
            )


def test_dtypes_and_shapes(hopper):
    batch = DecisionTransformerGymDataCollator(hopper, max_len=7, seed=0)(list(range(5)))
    assert {k: (tuple(v.shape), str(v.dtype)) for k, v in batch.items()} == {
        "states": ((5, 7, hopper.state_dim), "torch.float32"),
        "actions": ((5, 7, hopper.act_dim), "torch.float32"),
        "rewards": ((5, 7, 1), "torch.float32"),
        "returns_to_go": ((5, 7, 1), "torch.float32"),
        "timesteps": ((5, 7), "torch.int64"),
        "attention_mask": ((5, 7), "torch.float32"),
    }


def test_tutorial_attributes(hopper_episodes, hopper):
    collator = DecisionTransformerGymDataCollator(hopper_episodes, max_len=5)
    assert (collator.n_traj, collator.state_dim, collator.act_dim) == (40, 11, 3)
    np.testing.assert_allclose(collator.p_sample, hopper.episode_lengths / hopper.episode_lengths.sum())
    np.testing.assert_array_equal(collator.state_mean, hopper.state_mean)
    np.testing.assert_array_equal(collator.state_std, hopper.state_std)


def test_max_len_must_fit_some_episode(hopper):
    longest = int(hopper.episode_lengths.max())
    DecisionTransformerGymDataCollator(hopper, max_len=longest)
    with raises_one_line(f"max_len={longest + 1} is longer than every episode .longest: {longest} steps"):
        DecisionTransformerGymDataCollator(hopper, max_len=longest + 1)
    with raises_one_line("max_len must be at least 1"):
        DecisionTransformerGymDataCollator(hopper, max_len=0)


# --- sampling law ------------------------------------------------------------------------------

ALPHA = 1e-3


def sampling_p_values(starts: np.ndarray, first: np.ndarray, lengths: np.ndarray) -> tuple[float, float]:
    """Chi-square p-values of (episode frequencies vs p ∝ length, start uniform within its episode)."""
    episode = np.searchsorted(first, starts, side="right") - 1
    counts = np.bincount(episode, minlength=len(lengths))
    p_episode = stats.chisquare(counts, len(starts) * lengths / lengths.sum()).pvalue
    # Given each episode's count, its start offsets should be uniform over its steps: pool the statistics.
    offset_counts = np.bincount(starts, minlength=lengths.sum())  # [n_steps] = per (episode, offset)
    expected = np.repeat(counts / lengths, lengths)
    statistic = (((offset_counts - expected) ** 2)[expected > 0] / expected[expected > 0]).sum()
    p_within = stats.chi2.sf(statistic, df=(lengths[counts > 0] - 1).sum())
    return p_episode, p_within


def test_sampling_is_length_weighted_with_uniform_starts(hopper_episodes):
    first, lengths = episode_offsets(hopper_episodes)
    n = 100_000
    collator = DecisionTransformerGymDataCollator(hopper_episodes, max_len=5, seed=123)
    p_episode, p_within = sampling_p_values(collator.sample_starts(n), first, lengths)
    assert p_episode > ALPHA and p_within > ALPHA

    # The same test rejects plausible wrong samplers.
    rng = np.random.default_rng(123)
    uniform_episodes = rng.integers(0, len(lengths), n)
    starts = first[uniform_episodes] + rng.integers(0, lengths[uniform_episodes])
    assert sampling_p_values(starts, first, lengths)[0] < ALPHA
    weighted = rng.choice(len(lengths), n, p=lengths / lengths.sum())
    never_last = first[weighted] + rng.integers(0, lengths[weighted] - 1)  # off by one: no window starts at the end
    p_episode, p_within = sampling_p_values(never_last, first, lengths)
    assert p_episode > ALPHA and p_within < ALPHA


def test_call_draws_one_window_per_feature(hopper):
    collator = DecisionTransformerGymDataCollator(hopper, max_len=5, seed=0)
    assert collator([{"anything": i} for i in range(13)])["states"].shape[0] == 13


def test_a_fixed_batch_size_fills_the_last_batch_of_an_epoch(hopper):
    collator = DecisionTransformerGymDataCollator(hopper, max_len=5, seed=0, batch_size=16)
    assert {name: tuple(t.shape[:2]) for name, t in collator(range(13)).items()} == dict.fromkeys(FIELDS, (16, 5))


# --- seeding ------------------------------------------------------------------------------------


def batches(collator, n: int = 3) -> list[dict]:
    return [collator(range(32)) for _ in range(n)]


def assert_same_batches(a: list[dict], b: list[dict]) -> None:
    for x, y in zip(a, b):
        for field in FIELDS:
            assert np.array_equal(x[field].numpy(), y[field].numpy()), field


def test_same_seed_same_batches_other_seed_other_batches(hopper):
    first = batches(DecisionTransformerGymDataCollator(hopper, max_len=10, seed=7))
    assert_same_batches(first, batches(DecisionTransformerGymDataCollator(hopper, max_len=10, seed=7)))
    assert_same_batches(first, batches(DecisionTransformerGymDataCollator(hopper, max_len=10, seed=np.random.default_rng(7))))
    other = batches(DecisionTransformerGymDataCollator(hopper, max_len=10, seed=8))
    assert not all(np.array_equal(x["states"].numpy(), y["states"].numpy()) for x, y in zip(first, other))
    # Successive batches of one collator differ too.
    assert not np.array_equal(first[0]["states"].numpy(), first[1]["states"].numpy())


# --- properties over random episode layouts ----------------------------------------------------


@st.composite
def layouts(draw):
    lengths = draw(st.lists(st.integers(1, 12), min_size=1, max_size=6))
    max_len = draw(st.integers(1, max(lengths)))
    max_ep_len = draw(st.integers(1, 15))
    scale = draw(st.sampled_from([1.0, 10.0, 1000.0]))
    return lengths, max_len, max_ep_len, scale, draw(st.integers(0, 2**16))


@settings(max_examples=60, deadline=None)
@given(layouts())
def test_window_properties(layout):
    lengths, max_len, max_ep_len, scale, seed = layout
    ds = synthetic_episodes(lengths, seed=seed)
    collator = DecisionTransformerGymDataCollator(ds, max_len=max_len, scale=scale, max_ep_len=max_ep_len)
    first, lengths = episode_offsets(ds)
    starts = np.arange(lengths.sum())  # every possible window
    batch = {k: v.numpy() for k, v in collator.windows(starts).items()}
    n, K = len(starts), max_len

    assert batch["states"].shape == (n, K, 3) and batch["actions"].shape == (n, K, 2)
    assert batch["rewards"].shape == batch["returns_to_go"].shape == (n, K, 1)
    assert batch["timesteps"].shape == batch["attention_mask"].shape == (n, K)
    assert np.isfinite(batch["states"]).all()
    assert batch["timesteps"].min() >= 0 and batch["timesteps"].max() <= max_ep_len - 1

    episode = np.repeat(np.arange(len(lengths)), lengths)
    si = starts - first[episode]  # [n] start inside the episode
    n_real = np.minimum(K, lengths[episode] - si)
    mask = batch["attention_mask"]
    np.testing.assert_array_equal(mask.sum(axis=1), n_real)
    assert (np.diff(mask, axis=1) >= 0).all()  # padding only on the left
    padding = mask == 0
    assert (batch["actions"][padding] == -10).all()
    assert (batch["rewards"][padding] == 0).all() and (batch["returns_to_go"][padding] == 0).all()
    assert (batch["timesteps"][padding] == 0).all()

    rewards = ds["rewards"]
    for row in range(n):
        real = slice(K - n_real[row], K)
        steps = np.arange(si[row], si[row] + n_real[row])
        episode_rewards = np.asarray(rewards[episode[row]], np.float64)
        suffix_sums = np.array([episode_rewards[t:].sum() for t in steps])
        np.testing.assert_allclose(batch["returns_to_go"][row, real, 0], suffix_sums / scale, rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(batch["rewards"][row, real, 0], episode_rewards[steps].astype(np.float32))
        np.testing.assert_array_equal(batch["timesteps"][row, real], np.minimum(steps, max_ep_len - 1))

"""The tutorial's `DecisionTransformerGymDataCollator`, vectorised.

Same constructor, output and semantics as the blog's collator: episodes drawn with probability
proportional to their length and a uniform start inside, windows of `max_len` steps left-padded
(states 0 before normalising, actions -10, rewards 0, rtg 0, timesteps 0, mask 0), states
normalised with the dataset's mean / (std + 1e-6), undiscounted returns-to-go / `scale`,
timesteps clipped to `max_ep_len - 1`.

Differences from the tutorial, on purpose:
- It never walks the dataset row by row: a batch is one `rng.integers` draw, a `searchsorted` and
  a gather with a [batch, max_len] index grid over flat arrays (`data.Trajectories`) that end in a padding row.
- Drawing a global time step uniformly is the same distribution as "episode ∝ length, then a
  uniform start", so it is sampled that way.
- Randomness comes from its own `np.random.Generator` (`seed`), not the global `random`/`np.random`.
- The dones window is not built: the tutorial computed it and then left it out of the batch.
- `batch_size` (default None: as many windows as rows, the tutorial's behaviour) fixes the windows per batch,
  so the last batch of an epoch is full too: a compiled model then sees one shape only.
"""

from __future__ import annotations

import numpy as np
import torch

from dt_tutorial.data import Trajectories
from dt_tutorial.defaults import CONTEXT_LENGTH, MAX_EP_LEN, RETURN_SCALE
from dt_tutorial.errors import UserError

PAD_ACTION = -10.0


class DecisionTransformerGymDataCollator:
    """Builds training batches of `max_len`-step windows; the rows the `Trainer` passes in are ignored."""

    return_tensors = "pt"

    def __init__(self, dataset, max_len: int = CONTEXT_LENGTH, scale: float = RETURN_SCALE, max_ep_len: int = MAX_EP_LEN, seed=None,
                 batch_size: int | None = None):
        self.trajectories = dataset if isinstance(dataset, Trajectories) else Trajectories.from_dataset(dataset)
        data = self.trajectories
        if max_len < 1:
            raise UserError(f"max_len must be at least 1, got {max_len}")
        if max_len > data.episode_lengths.max():
            raise UserError(
                f"max_len={max_len} is longer than every episode (longest: {data.episode_lengths.max()} steps); use a smaller max_len"
            )
        self.max_len, self.scale, self.max_ep_len, self.batch_size = max_len, float(scale), max_ep_len, batch_size
        self.state_dim, self.act_dim = data.state_dim, data.act_dim
        self.state_mean, self.state_std = data.state_mean, data.state_std
        self.n_traj = data.n_episodes
        self.p_sample = data.episode_lengths / data.episode_lengths.sum()  # the tutorial's episode weights
        self.rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        # Per-step arrays with one extra row (index n_steps) holding the padding values, so a batch is one gather.
        # States are normalised once here instead of per batch; the padded state is a zero state, normalised.
        pad_state = (0.0 - self.state_mean) / self.state_std  # [state_dim]
        self._states = np.vstack([(data.observations - self.state_mean) / self.state_std, pad_state])  # [n_steps + 1, state_dim]
        self._actions = np.vstack([data.actions, np.full((1, self.act_dim), PAD_ACTION, np.float32)])  # [n_steps + 1, act_dim]
        self._rewards = np.append(data.rewards, np.float32(0.0))[:, None]  # [n_steps + 1, 1]
        self._rtg = (np.append(data.returns_to_go, np.float32(0.0)) / np.float32(self.scale))[:, None]  # [n_steps + 1, 1]
        self._episode_ends = data.episode_starts + data.episode_lengths  # [n_episodes]

    def sample_starts(self, batch_size: int) -> np.ndarray:
        """[batch] global indices of window starts: uniform over all steps = episode ∝ length, uniform start."""
        return self.rng.integers(0, self.trajectories.n_steps, size=batch_size)

    def windows(self, starts: np.ndarray) -> dict[str, torch.Tensor]:
        """The batch of windows beginning at the given global step indices."""
        data, K = self.trajectories, self.max_len
        starts = np.asarray(starts, dtype=np.int64)  # [batch]
        episode = np.searchsorted(data.episode_starts, starts, side="right") - 1  # [batch]
        n_valid = np.minimum(K, self._episode_ends[episode] - starts)  # [batch] real steps in the window
        offset = np.arange(K) - (K - n_valid)[:, None]  # [batch, K] step offset from the start; < 0 is padding
        mask = offset >= 0  # [batch, K]
        index = np.where(mask, starts[:, None] + offset, data.n_steps)  # [batch, K] global step; padding -> pad row
        in_episode_t = starts[:, None] + offset - data.episode_starts[episode][:, None]  # [batch, K] step in episode
        return {
            "states": torch.from_numpy(self._states[index]),  # [batch, K, state_dim]
            "actions": torch.from_numpy(self._actions[index]),  # [batch, K, act_dim]
            "rewards": torch.from_numpy(self._rewards[index]),  # [batch, K, 1]
            "returns_to_go": torch.from_numpy(self._rtg[index]),  # [batch, K, 1]
            "timesteps": torch.from_numpy(np.where(mask, np.minimum(in_episode_t, self.max_ep_len - 1), 0)),  # [batch, K]
            "attention_mask": torch.from_numpy(mask.astype(np.float32)),  # [batch, K]
        }

    def __call__(self, features) -> dict[str, torch.Tensor]:
        return self.windows(self.sample_starts(self.batch_size or len(features)))

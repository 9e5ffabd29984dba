"""The offline-RL episode schema every source is converted to: one row per episode (the hub dataset's layout)."""

import datasets

COLUMNS = ("observations", "actions", "rewards", "dones")

EPISODE_FEATURES = datasets.Features(
    {
        "observations": datasets.List(datasets.List(datasets.Value("float32"))),  # [T, state_dim]
        "actions": datasets.List(datasets.List(datasets.Value("float32"))),  # [T, act_dim]
        "rewards": datasets.List(datasets.Value("float32")),  # [T]
        "dones": datasets.List(datasets.Value("bool")),  # [T], True only on a real termination
    }
)

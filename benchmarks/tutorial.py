"""The baselines: the pipeline of the HF blog "Train your first Decision Transformer" (2022), as published.

Written here to follow the blog's algorithm line for line, so the benchmarks compare against
what a learner following the blog runs; only API renames for today's libraries are applied
(gymnasium's 5-tuple `step`, transformers 5's float `warmup_steps` for the warm-up ratio, the
context length read from our config instead of `config.max_length`). The per-window body of
the collator's loop is a method (`window`) so tests can check it against ours window by window.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import torch
from transformers import DecisionTransformerConfig, DecisionTransformerModel, Trainer, TrainingArguments


class TutorialCollator:
    """The blog's `DecisionTransformerGymDataCollator`: one 🤗 row read and Python/numpy work per window."""

    return_tensors = "pt"

    def __init__(self, dataset, max_len: int = 20, scale: float = 1000.0, max_ep_len: int = 1000) -> None:
        self.max_len, self.scale, self.max_ep_len = max_len, scale, max_ep_len
        self.act_dim = len(dataset[0]["actions"][0])
        self.state_dim = len(dataset[0]["observations"][0])
        self.dataset = dataset
        # calculate dataset stats for normalization of states
        states = []
        traj_lens = []
        for obs in dataset["observations"]:
            states.extend(obs)
            traj_lens.append(len(obs))
        self.n_traj = len(traj_lens)
        states = np.vstack(states)
        self.state_mean, self.state_std = np.mean(states, axis=0), np.std(states, axis=0) + 1e-6
        traj_lens = np.array(traj_lens)
        self.p_sample = traj_lens / sum(traj_lens)

    def _discount_cumsum(self, x, gamma):
        discount_cumsum = np.zeros_like(x)
        discount_cumsum[-1] = x[-1]
        for t in reversed(range(x.shape[0] - 1)):
            discount_cumsum[t] = x[t] + gamma * discount_cumsum[t + 1]
        return discount_cumsum

    def window(self, feature: dict, si: int) -> tuple[np.ndarray, ...]:
        """The blog's loop body: (s, a, r, d, rtg, timesteps, mask) of one window, each [1, max_len, ...]."""
        s = np.array(feature["observations"][si : si + self.max_len]).reshape(1, -1, self.state_dim)
        a = np.array(feature["actions"][si : si + self.max_len]).reshape(1, -1, self.act_dim)
        r = np.array(feature["rewards"][si : si + self.max_len]).reshape(1, -1, 1)
        d = np.array(feature["dones"][si : si + self.max_len]).reshape(1, -1)
        timesteps = np.arange(si, si + s.shape[1]).reshape(1, -1)
        timesteps[timesteps >= self.max_ep_len] = self.max_ep_len - 1  # padding cutoff
        rtg = self._discount_cumsum(np.array(feature["rewards"][si:]), gamma=1.0)[: s.shape[1]].reshape(1, -1, 1)
        if rtg.shape[1] < s.shape[1]:
            rtg = np.concatenate([rtg, np.zeros((1, 1, 1))], axis=1)
        # padding and state + reward normalization
        tlen = s.shape[1]
        s = np.concatenate([np.zeros((1, self.max_len - tlen, self.state_dim)), s], axis=1)
        s = (s - self.state_mean) / self.state_std
        a = np.concatenate([np.ones((1, self.max_len - tlen, self.act_dim)) * -10.0, a], axis=1)
        r = np.concatenate([np.zeros((1, self.max_len - tlen, 1)), r], axis=1)
        d = np.concatenate([np.ones((1, self.max_len - tlen)) * 2, d], axis=1)
        rtg = np.concatenate([np.zeros((1, self.max_len - tlen, 1)), rtg], axis=1) / self.scale
        timesteps = np.concatenate([np.zeros((1, self.max_len - tlen)), timesteps], axis=1)
        mask = np.concatenate([np.zeros((1, self.max_len - tlen)), np.ones((1, tlen))], axis=1)
        return s, a, r, d, rtg, timesteps, mask

    def __call__(self, features) -> dict[str, torch.Tensor]:
        batch_size = len(features)
        # this is a bit of a hack to be able to sample of a non-uniform distribution
        batch_inds = np.random.choice(np.arange(self.n_traj), size=batch_size, replace=True, p=self.p_sample)
        s, a, r, d, rtg, timesteps, mask = [], [], [], [], [], [], []
        for ind in batch_inds:
            feature = self.dataset[int(ind)]
            si = random.randint(0, len(feature["rewards"]) - 1)
            for column, value in zip((s, a, r, d, rtg, timesteps, mask), self.window(feature, si)):
                column.append(value)
        s = torch.from_numpy(np.concatenate(s, axis=0)).float()
        a = torch.from_numpy(np.concatenate(a, axis=0)).float()
        r = torch.from_numpy(np.concatenate(r, axis=0)).float()
        d = torch.from_numpy(np.concatenate(d, axis=0))  # built, then left out of the batch (as in the blog)
        rtg = torch.from_numpy(np.concatenate(rtg, axis=0)).float()
        timesteps = torch.from_numpy(np.concatenate(timesteps, axis=0)).long()
        mask = torch.from_numpy(np.concatenate(mask, axis=0)).float()
        return {"states": s, "actions": a, "rewards": r, "returns_to_go": rtg, "timesteps": timesteps, "attention_mask": mask}


class TutorialTrainableDT(DecisionTransformerModel):
    """The blog's `TrainableDT`: MSE over the unpadded steps, picked by boolean indexing."""

    def forward(self, **kwargs):
        output = super().forward(**kwargs)
        action_preds = output[1]
        action_targets = kwargs["actions"]
        attention_mask = kwargs["attention_mask"]
        act_dim = action_preds.shape[2]
        action_preds = action_preds.reshape(-1, act_dim)[attention_mask.reshape(-1) > 0]
        action_targets = action_targets.reshape(-1, act_dim)[attention_mask.reshape(-1) > 0]
        loss = torch.mean((action_preds - action_targets) ** 2)
        return {"loss": loss}

    def original_forward(self, **kwargs):
        return super().forward(**kwargs)


def tutorial_trainer(dataset, output_dir: str | Path, max_steps: int = -1) -> Trainer:
    """The blog's training setup: the episode `Dataset` itself as `train_dataset`, its collator,
    `DecisionTransformerConfig` defaults (so max_ep_len=4096), its `TrainingArguments`."""
    collator = TutorialCollator(dataset)
    config = DecisionTransformerConfig(state_dim=collator.state_dim, act_dim=collator.act_dim)
    model = TutorialTrainableDT(config)
    args = TrainingArguments(
        output_dir=str(output_dir),
        remove_unused_columns=False,
        num_train_epochs=120,
        max_steps=max_steps,  # not in the blog: limits benchmark runs
        per_device_train_batch_size=64,
        learning_rate=1e-4,
        weight_decay=1e-4,
        warmup_steps=0.1,  # the blog's warmup_ratio=0.1, spelt as transformers 5 takes it
        optim="adamw_torch",
        max_grad_norm=0.25,
        report_to="none",  # not in the blog: no experiment trackers in benchmarks
        use_cpu=not torch.cuda.is_available(),  # the blog's Colab runs on its GPU
    )
    return Trainer(model=model, args=args, train_dataset=dataset, data_collator=collator)


def get_action(model, states, actions, rewards, returns_to_go, timesteps):
    """The blog's `get_action`: pad the last K steps of one episode and return the last predicted action."""
    K = model.config.context_length
    states = states.reshape(1, -1, model.config.state_dim)
    actions = actions.reshape(1, -1, model.config.act_dim)
    returns_to_go = returns_to_go.reshape(1, -1, 1)
    timesteps = timesteps.reshape(1, -1)
    states = states[:, -K:]
    actions = actions[:, -K:]
    returns_to_go = returns_to_go[:, -K:]
    timesteps = timesteps[:, -K:]
    padding = K - states.shape[1]
    # pad all tokens to sequence length
    attention_mask = torch.cat([torch.zeros(padding), torch.ones(states.shape[1])])
    attention_mask = attention_mask.to(dtype=torch.long).reshape(1, -1)
    states = torch.cat([torch.zeros((1, padding, model.config.state_dim)), states], dim=1).float()
    actions = torch.cat([torch.zeros((1, padding, model.config.act_dim)), actions], dim=1).float()
    returns_to_go = torch.cat([torch.zeros((1, padding, 1)), returns_to_go], dim=1).float()
    timesteps = torch.cat([torch.zeros((1, padding), dtype=torch.long), timesteps], dim=1)
    state_preds, action_preds, return_preds = model.original_forward(
        states=states,
        actions=actions,
        rewards=rewards,
        returns_to_go=returns_to_go,
        timesteps=timesteps,
        attention_mask=attention_mask,
        return_dict=False,
    )
    return action_preds[0, -1]


def tutorial_episode(model, env, target_return: float = 12000.0, max_ep_len: int = 1000, seed: int | None = None) -> float:
    """The blog's evaluation loop for one episode (no `torch.no_grad`, as in the blog); returns its return."""
    scale = model.config.scale
    state_dim, act_dim = model.config.state_dim, model.config.act_dim
    state_mean = torch.tensor(model.config.state_mean, dtype=torch.float32)
    state_std = torch.tensor(model.config.state_std, dtype=torch.float32)
    episode_return = 0.0
    state, _ = env.reset(seed=seed)
    target = torch.tensor(target_return / scale, dtype=torch.float32).reshape(1, 1)
    states = torch.from_numpy(state).reshape(1, state_dim).to(dtype=torch.float32)
    actions = torch.zeros((0, act_dim), dtype=torch.float32)
    rewards = torch.zeros(0, dtype=torch.float32)
    timesteps = torch.tensor(0, dtype=torch.long).reshape(1, 1)
    for t in range(max_ep_len):
        actions = torch.cat([actions, torch.zeros((1, act_dim))], dim=0)
        rewards = torch.cat([rewards, torch.zeros(1)])
        action = get_action(model, (states - state_mean) / state_std, actions, rewards, target, timesteps)
        actions[-1] = action
        action = action.detach().cpu().numpy()
        state, reward, terminated, truncated, _ = env.step(action)
        cur_state = torch.from_numpy(state).reshape(1, state_dim).to(dtype=torch.float32)
        states = torch.cat([states, cur_state], dim=0)
        rewards[-1] = reward
        pred_return = target[0, -1] - (reward / scale)
        target = torch.cat([target, pred_return.reshape(1, 1)], dim=1)
        timesteps = torch.cat([timesteps, torch.ones((1, 1), dtype=torch.long) * (t + 1)], dim=1)
        episode_return += reward
        if terminated or truncated:
            break
    return episode_return

"""Runs INSIDE the d3rlpy venv (benchmarks/peer.py makes it): d3rlpy's DecisionTransformer on exported episodes.

    python peer_d3rlpy_worker.py EPISODES_NPZ OUT_JSON STEPS EVAL_EPISODES EVAL_MAX_STEPS DROPOUT

Settings matched to ours: batch 64, K 20, AdamW lr 1e-3 with cosine decay, weight decay 1e-4, grad clip 0.25,
3 layers x 128, 1 head, dropout DROPOUT (embedding, attention, residual), global timestep embedding, states standardised, returns / 1000.
Imports nothing from dt_tutorial (d3rlpy pins another gymnasium).
"""

import json
import sys
import time

import d3rlpy
import gymnasium as gym
import numpy as np
import torch


def main(npz_path, out_json, steps, eval_episodes, eval_max_steps, dropout):
    data = np.load(npz_path)
    dataset = d3rlpy.dataset.MDPDataset(observations=data["observations"], actions=data["actions"], rewards=data["rewards"],
                                        terminals=data["terminals"], timeouts=data["timeouts"])
    algo = d3rlpy.algos.DecisionTransformerConfig(
        batch_size=64, context_size=20, max_timestep=1000, learning_rate=1e-3, num_heads=1, num_layers=3,
        encoder_factory=d3rlpy.models.VectorEncoderFactory([128], exclude_last_activation=True),
        optim_factory=d3rlpy.optimizers.AdamWFactory(
            weight_decay=1e-4, clip_grad_norm=0.25,
            lr_scheduler_factory=d3rlpy.optimizers.CosineAnnealingLRFactory(T_max=steps)),
        observation_scaler=d3rlpy.preprocessing.StandardObservationScaler(),
        reward_scaler=d3rlpy.preprocessing.MultiplyRewardScaler(0.001),
        position_encoding_type=d3rlpy.PositionEncodingType.GLOBAL,
        embed_dropout=dropout, attn_dropout=dropout, resid_dropout=dropout,
    ).create(device="cuda:0" if torch.cuda.is_available() else "cpu:0")
    step_times = []
    start = time.perf_counter()
    algo.fit(dataset, n_steps=steps, n_steps_per_epoch=steps, show_progress=False, save_interval=10**9,
             logger_adapter=d3rlpy.logging.NoopAdapterFactory(), callback=lambda *_: step_times.append(time.perf_counter()))
    fit_s = time.perf_counter() - start
    timed = step_times[3:]  # from the end of step 3, as benchmarks.training times ours
    env = gym.make("HalfCheetah-v5")
    returns, eval_start = [], time.perf_counter()
    for episode in range(eval_episodes):
        actor = algo.as_stateful_wrapper(target_return=12000.0)
        obs, _ = env.reset(seed=episode)
        reward, total = 0.0, 0.0
        for _ in range(eval_max_steps):
            obs, reward, terminated, truncated, _ = env.step(actor.predict(obs, reward))
            total += reward
            if terminated or truncated:
                break
        returns.append(total)
    result = {
        "peer": f"d3rlpy {d3rlpy.__version__}", "torch": torch.__version__, "gymnasium": gym.__version__,
        "n_parameters": sum(p.numel() for p in algo.impl.modules.transformer.parameters()),
        "steps": steps, "fit_s": round(fit_s, 2), "steps_per_s": (len(timed) - 1) / (timed[-1] - timed[0]),
        "eval_episodes": eval_episodes, "eval_max_steps": eval_max_steps, "eval_s": round(time.perf_counter() - eval_start, 2),
        "eval_returns": returns, "torch_threads": torch.get_num_threads(), "dropout": dropout,
    }
    with open(out_json, "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6]))

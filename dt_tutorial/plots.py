"""Matplotlib figures of the tutorial: dataset returns, one training window, loss curve,
achieved-vs-target return. Each returns the Figure and saves it when given a path."""

from __future__ import annotations

from pathlib import Path

import matplotlib

if not matplotlib.get_backend().lower().startswith(("module://", "nbagg", "widget", "ipympl", "qt", "tk", "macosx")):
    matplotlib.use("Agg")  # headless scripts and CLI; notebooks keep their inline backend
import matplotlib.pyplot as plt
import numpy as np


def _finish(fig, path: str | Path | None):
    fig.tight_layout()
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
    return fig


def plot_episode_returns(trajectories, path=None):
    """Histogram of episode returns and of episode lengths."""
    fig, (ax_ret, ax_len) = plt.subplots(1, 2, figsize=(10, 3.5))
    ax_ret.hist(trajectories.episode_returns, bins=30, color="tab:blue")
    ax_ret.set(xlabel="episode return", ylabel="episodes", title=f"{trajectories.name}: returns")
    ax_len.hist(trajectories.episode_lengths, bins=30, color="tab:orange")
    ax_len.set(xlabel="episode length (steps)", ylabel="episodes", title="lengths")
    return _finish(fig, path)


def plot_window(batch: dict, row: int = 0, dims: tuple[int, ...] = (0, 1, 8), path=None):
    """One training window: returns-to-go, a few normalised state dims, and the attention mask."""
    mask = batch["attention_mask"][row].numpy()
    steps = np.arange(len(mask))
    fig, axes = plt.subplots(3, 1, figsize=(8, 6), sharex=True)
    axes[0].plot(steps, batch["returns_to_go"][row, :, 0].numpy(), marker="o")
    axes[0].set(ylabel="return-to-go / scale", title=f"window {row}: {int(mask.sum())} real steps, {int((mask == 0).sum())} padded")
    for d in dims:
        axes[1].plot(steps, batch["states"][row, :, d].numpy(), marker=".", label=f"state[{d}]")
    axes[1].set(ylabel="normalised state")
    axes[1].legend(loc="upper left", fontsize=8)
    axes[2].step(steps, mask, where="mid", color="black")
    axes[2].set(xlabel="position in window (K steps)", ylabel="attention mask", yticks=[0, 1])
    return _finish(fig, path)


def loss_curve(history: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """(steps, losses) from a run's loss history."""
    points = [(h["step"], h["loss"]) for h in history if "loss" in h]
    return np.array([p[0] for p in points]), np.array([p[1] for p in points])


def plot_loss(history: list[dict], path=None, title: str = "training loss"):
    """The action MSE against optimizer steps, from a run's loss history."""
    steps, losses = loss_curve(history)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot(steps, losses, marker=".")
    ax.set(xlabel="optimizer step", ylabel="action MSE (masked)", title=title, yscale="log")
    ax.grid(alpha=0.3)
    return _finish(fig, path)


def plot_return_conditioning(results, dataset_returns=None, path=None):
    """Achieved vs target return: every episode as a faint dot, mean ± std per target, the achieved = target
    diagonal, and beside it where the training data's episode returns lie (`dataset_returns`: returns or their
    evenly spaced quantiles, e.g. `model.dataset_return_quantiles(config)`) as a histogram on the same y-axis."""
    targets = np.array([r.target_return for r in results])
    means = np.array([r.returns.mean() for r in results])
    stds = np.array([r.returns.std() for r in results])
    fig, (ax, ax_data) = plt.subplots(1, 2, figsize=(7.5, 4.5), sharey=True, gridspec_kw={"width_ratios": [4, 1]})
    for r in results:
        ax.scatter(np.full(len(r.returns), r.target_return), r.returns, s=10, color="tab:blue", alpha=0.25, linewidths=0)
    ax.errorbar(targets, means, yerr=stds, marker="o", capsize=3, label="mean ± std over episodes")
    lims = [min(targets.min(), means.min(), 0), max(targets.max(), means.max())]
    ax.plot(lims, lims, "k--", alpha=0.5, label="achieved = target")
    ax.set(xlabel="target return (conditioning)", ylabel="achieved return", title=f"return conditioning: {results[0].env_id}")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    if dataset_returns is not None:
        dataset_returns = np.asarray(dataset_returns, dtype=float)
        ax_data.hist(dataset_returns, bins=25, orientation="horizontal", color="tab:green", alpha=0.6,
                     weights=np.full(len(dataset_returns), 1 / len(dataset_returns)))
        ax_data.set(xlabel="share of episodes", title="training data")
    else:
        ax_data.set_axis_off()
    ax_data.grid(alpha=0.3)
    return _finish(fig, path)


def plot_conditioning_curves(curves: dict, path=None, title: str = "return conditioning by training data"):
    """Achieved vs target return of several models on one axes (`curves`: label -> `return_conditioning` results),
    mean ± std per target and the achieved = target diagonal: e.g. expert-only vs multi-skill training data.

    Panels side by side when `curves` maps each panel's title to such a dict: e.g. DT vs BC, one panel per dataset."""
    panels = curves if all(isinstance(v, dict) for v in curves.values()) else {title: curves}
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.5), squeeze=False)
    for ax, (panel, panel_curves) in zip(axes[0], panels.items()):
        for label, results in panel_curves.items():
            targets = [r.target_return for r in results]
            ax.errorbar(targets, [r.returns.mean() for r in results], yerr=[r.returns.std() for r in results],
                        marker="o", capsize=3, label=label)
        everything = [v for results in panel_curves.values() for r in results for v in (r.target_return, r.returns.mean())]
        lims = [min(min(everything), 0), max(everything)]
        ax.plot(lims, lims, "k--", alpha=0.5, label="achieved = target")
        ax.set(xlabel="target return (conditioning)", ylabel="achieved return", title=panel)
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    return _finish(fig, path)

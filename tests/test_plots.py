"""plots.py: the return-conditioning figure shows where the training data's returns lie (real files, real model config)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from dt_tutorial.model import dataset_return_quantiles, make_config
from dt_tutorial.plots import plot_return_conditioning
from dt_tutorial.rollout import EvalResult


def _curve() -> list[EvalResult]:
    returns = {0.0: [100.0, 300.0, 250.0], 6000.0: [2000.0, 2600.0, 2300.0], 12000.0: [3100.0, 2900.0, 3500.0]}
    return [EvalResult("HalfCheetah-v5", t, np.array(r), np.full(3, 1000), None) for t, r in returns.items()]


def _pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB")).astype(int)


def test_plot_is_written_and_shows_the_dataset_distribution(tmp_path):
    rng = np.random.default_rng(0)
    low_data = np.percentile(rng.normal(1000, 300, 500), np.arange(101))
    high_data = np.percentile(rng.normal(9000, 300, 500), np.arange(101))
    low, high, none = (plot_return_conditioning(_curve(), data, tmp_path / f"{name}.png")
                       for name, data in (("low", low_data), ("high", high_data), ("none", None)))
    images = {name: _pixels(tmp_path / f"{name}.png") for name in ("low", "high", "none")}
    assert images["low"].shape == images["high"].shape and images["low"].shape[2] == 3
    assert images["low"].std() > 10  # a drawn figure, not a blank canvas
    assert np.abs(images["low"] - images["high"]).mean() > 0.5  # the data panel follows the distribution
    assert np.abs(images["low"] - images["none"]).mean() > 0.5
    assert len(low.axes[0].collections) >= 3  # every episode as a dot: one scatter per target


def test_config_keeps_the_return_percentiles_and_old_configs_stay_readable(halfcheetah):
    config = make_config(halfcheetah)
    quantiles = dataset_return_quantiles(config)
    returns = halfcheetah.episode_returns
    assert len(quantiles) == 101 and np.all(np.diff(quantiles) >= 0)
    np.testing.assert_allclose(quantiles[[0, 50, 100]], np.percentile(returns, [0, 50, 100]), rtol=1e-6, atol=1e-3)
    del config.dataset_return_quantiles  # a model saved before the percentiles were kept
    np.testing.assert_allclose(dataset_return_quantiles(config), [returns.min(), returns.max()])


def test_conditioning_curves_draw_one_line_per_model_and_the_diagonal(tmp_path):
    from dt_tutorial.plots import plot_conditioning_curves

    flat = [EvalResult("HalfCheetah-v5", t, np.array([11000.0, 11200.0]), np.full(2, 1000), None) for t in (0.0, 6000.0, 12000.0)]
    fig = plot_conditioning_curves({"multi-skill": _curve(), "expert-only": flat}, tmp_path / "curves.png")
    ax = fig.axes[0]
    assert sorted(t.get_text() for t in ax.get_legend().get_texts()) == ["achieved = target", "expert-only", "multi-skill"]
    means = {c.get_label(): np.asarray(c.lines[0].get_ydata(), float) for c in ax.containers}  # errorbar: its data line first
    np.testing.assert_allclose(means["multi-skill"], [r.returns.mean() for r in _curve()])
    np.testing.assert_allclose(means["expert-only"], [11100.0] * 3)
    assert _pixels(tmp_path / "curves.png").std() > 10


def test_conditioning_curves_in_panels_draw_one_axes_per_panel(tmp_path):
    from dt_tutorial.plots import plot_conditioning_curves

    flat = [EvalResult("HalfCheetah-v5", t, np.array([3000.0, 3100.0]), np.full(2, 1000), None) for t in (0.0, 6000.0, 12000.0)]
    fig = plot_conditioning_curves({"expert": {"DT": _curve(), "BC": flat}, "multi-skill": {"DT": flat}}, tmp_path / "p.png")
    assert [ax.get_title() for ax in fig.axes] == ["expert", "multi-skill"]
    assert [len(ax.containers) for ax in fig.axes] == [2, 1]  # one errorbar per method
    assert _pixels(tmp_path / "p.png").std() > 10

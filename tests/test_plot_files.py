"""Every plot writes a PNG that decodes, has its figure's size in pixels (figsize x 110 dpi) and is not blank."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from dt_tutorial.collator import DecisionTransformerGymDataCollator
from dt_tutorial.plots import plot_episode_returns, plot_loss, plot_window

DPI = 110


def check_png(path, figsize) -> None:
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == (round(figsize[0] * DPI), round(figsize[1] * DPI))
        pixels = np.asarray(image.convert("L"), dtype=float)
    assert pixels.std() > 10  # lines and text on the background, not an empty canvas
    assert (pixels < 128).mean() > 0.005  # some dark ink: axes, labels, curves


@pytest.mark.parametrize("name", ["returns", "window", "loss"])
def test_plots_write_a_real_png_of_the_figure_size(name, halfcheetah, tmp_path):
    path = tmp_path / f"{name}.png"
    if name == "returns":
        fig = plot_episode_returns(halfcheetah, path)
    elif name == "window":
        fig = plot_window(DecisionTransformerGymDataCollator(halfcheetah, seed=0)(range(4)), path=path)
    else:
        fig = plot_loss([{"step": s, "loss": 1.0 / s} for s in range(1, 40)], path)
    check_png(path, fig.get_size_inches())

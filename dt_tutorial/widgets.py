"""The target-return slider: pick a return, run an episode, watch the video and the achieved return.

`run_target(model, target, ...)` is the plain callback (tests call it directly); `target_return_slider`
wires it to an ipywidgets slider and button.
"""

from __future__ import annotations

from pathlib import Path

from dt_tutorial.defaults import PRECISION, RENDER_SIZE, TARGET_RETURN
from dt_tutorial.errors import UserError
from dt_tutorial.video import record_video, show_video


def run_target(model, target_return: float, *, seed: int = 0, max_steps: int | None = None,
               video_path: str | Path = "slider_episode.mp4", render_size=RENDER_SIZE,
               precision: str = PRECISION) -> tuple[float, Path]:
    """Run one episode at `target_return` and write its video; returns (achieved return, video path)."""
    result = record_video(model, video_path, target_return=target_return, seed=seed, max_steps=max_steps,
                          render_size=render_size, precision=precision, progress=False)
    return float(result.returns[0]), Path(video_path)


def target_return_slider(model, *, low: float = 0.0, high: float = TARGET_RETURN, step: float = 500.0, value: float = TARGET_RETURN,
                         max_steps: int | None = None, video_path: str | Path = "slider_episode.mp4", precision: str = PRECISION):
    """A slider for the target return, a run button, and an output area with the result and video."""
    import ipywidgets as widgets

    slider = widgets.FloatSlider(value=value, min=low, max=high, step=step, description="target return",
                                 continuous_update=False, style={"description_width": "initial"},
                                 layout=widgets.Layout(width="480px"))
    button = widgets.Button(description="run episode", button_style="primary", icon="play")
    output = widgets.Output()

    def on_click(_):
        # Results are appended to the output widget's state rather than captured with `with output:`: a notebook
        # runner (nbclient, under nbmake) mirrors a capturing Output widget by sending messages on the kernel's shell
        # channel while it awaits the cell's reply there, which now and then stalls the cell until its timeout
        # (jupyter/nbclient#312; measured here: 3 of 6 runs of notebook 4 waited the full timeout).
        button.disabled = True
        output.outputs = ()
        output.append_stdout(f"running one episode at target {slider.value:.0f}...\n")
        try:
            achieved, path = run_target(model, slider.value, max_steps=max_steps, video_path=video_path, precision=precision)
            output.outputs = ()
            output.append_stdout(f"target {slider.value:.0f} → achieved {round(achieved)}\n")
            output.append_display_data(show_video(path))
        except UserError as err:  # e.g. no OpenGL for rendering: say so, keep the button usable
            output.append_stdout(f"error: {err}\n")
        except Exception as err:  # shown in the widget too, then raised (a cell calling run() fails)
            output.append_stderr(f"{type(err).__name__}: {err}\n")
            raise
        finally:
            button.disabled = False

    button.on_click(on_click)
    box = widgets.VBox([widgets.HBox([slider, button]), output])
    box.run = lambda: on_click(None)  # lets a notebook cell (or a test) trigger a run without a click
    return box

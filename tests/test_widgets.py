"""widgets.py: the target-return slider's callback and the widget itself, with real episodes and video."""

from __future__ import annotations

import ipywidgets
import pytest
from _helpers import WatchedPolicy, cheetah_model, cheetah_run, one_thread  # noqa: F401 (fixtures)

from dt_tutorial.envs import make_env
from dt_tutorial.video import read_video
from dt_tutorial.widgets import run_target, target_return_slider

pytestmark = pytest.mark.usefixtures("one_thread")


def test_run_target_returns_the_achieved_return_and_a_video(cheetah_model, tmp_path):
    taken = []  # the actions the policy chose, as the rollout received them

    def recording(window, predict):
        chosen = predict(window)  # [1, act_dim]
        taken.append(chosen.float().cpu().numpy()[0])
        return chosen

    achieved, path = run_target(WatchedPolicy(cheetah_model, recording), 3000, seed=4, max_steps=20, video_path=tmp_path / "run.mp4")
    assert isinstance(achieved, float)
    assert path == tmp_path / "run.mp4" and read_video(path).shape == (21, 240, 320, 3)
    # An independent check of the achieved return: the same actions replayed in a fresh env from the same seed.
    env = make_env("HalfCheetah-v5")
    env.reset(seed=4)
    replayed = sum(env.step(action)[1] for action in taken)
    env.close()
    assert len(taken) == 20 and achieved == pytest.approx(replayed, rel=1e-9)


def shown_text(box) -> str:
    """The text the slider's output area holds (its widget state: what JupyterLab renders)."""
    return "".join(out.get("text", "") for out in box.children[1].outputs)


def test_slider_builds_and_runs_an_episode(cheetah_model, tmp_path):
    video = tmp_path / "slider.mp4"
    box = target_return_slider(cheetah_model, low=0, high=9000, value=6000, max_steps=10, video_path=video)
    slider, button = box.children[0].children
    assert isinstance(slider, ipywidgets.FloatSlider) and (slider.min, slider.max, slider.value) == (0, 9000, 6000)
    assert isinstance(button, ipywidgets.Button)
    box.run()  # what a click does
    assert shown_text(box).startswith("target 6000 → achieved")  # the "running..." line was cleared
    outputs = box.children[1].outputs
    assert [out["output_type"] for out in outputs] == ["stream", "display_data"]
    assert "<video" in outputs[1]["data"]["text/html"]
    assert read_video(video).shape[0] == 11
    assert not button.disabled


def test_slider_reports_a_user_error_and_stays_usable(cheetah_model, tmp_path):
    cheetah_model.config.env_id = "Hopper-v5"  # the wrong env for this model
    box = target_return_slider(cheetah_model, max_steps=10, video_path=tmp_path / "never.mp4")
    box.run()
    assert "error: the model was trained on states of size 17" in shown_text(box)
    assert not box.children[0].children[1].disabled
    assert not (tmp_path / "never.mp4").exists()


def test_a_return_just_below_zero_prints_as_0_not_minus_0(cheetah_model, tmp_path, monkeypatch):
    from dt_tutorial import widgets

    video = tmp_path / "slider.mp4"
    box = target_return_slider(cheetah_model, value=0, max_steps=10, video_path=video)
    real_run_target = widgets.run_target
    monkeypatch.setattr(widgets, "run_target", lambda *args, **kwargs: (-0.3, real_run_target(*args, **kwargs)[1]))
    box.run()
    assert shown_text(box) == "target 0 → achieved 0\n"

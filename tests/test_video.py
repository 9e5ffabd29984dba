"""video.py: real MuJoCo rendering (headless EGL/OSMesa), mp4 and gif round trips."""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import cheetah_model, cheetah_run, one_thread  # noqa: F401 (fixtures)
from conftest import raises_one_line

from dt_tutorial.envs import make_env
from dt_tutorial.rollout import evaluate
from dt_tutorial.render import render_frame
from dt_tutorial.video import (display_copy, read_video, record_each_target, record_targets_video, record_video,
                               show_recorded_targets, show_video, tile_panels, write_video)

pytestmark = pytest.mark.usefixtures("one_thread")

STEPS = 30


@pytest.fixture(scope="module")
def rendered(cheetah_run):
    """One 30-step episode rendered at the default size, and the same episode without rendering."""
    from dt_tutorial.model import load_model

    model = load_model(cheetah_run)
    with_video = evaluate(model, n_episodes=1, seed=1, max_steps=STEPS, capture_video=True, progress=False)
    without = evaluate(model, n_episodes=1, seed=1, max_steps=STEPS, progress=False)
    return with_video, without


def test_capture_renders_the_reset_frame_and_every_step(rendered):
    result, without_video = rendered
    frames = np.stack(result.frames)
    assert frames.shape == (STEPS + 1, 240, 320, 3) and frames.dtype == np.uint8
    assert frames[0].std() > 10  # a rendered scene, not a blank buffer
    assert np.abs(frames[-1].astype(int) - frames[0]).mean() > 1  # the cheetah moved
    np.testing.assert_array_equal(result.returns, without_video.returns)  # rendering does not change the episode


@pytest.mark.parametrize("suffix", [".mp4", ".gif"])
def test_written_video_decodes_to_the_same_frames(rendered, tmp_path, suffix):
    frames = rendered[0].frames
    path = write_video(frames, tmp_path / f"episode{suffix}", fps=20)
    decoded = read_video(path)
    assert decoded.shape == (STEPS + 1, 240, 320, 3)
    # mp4 is lossy (H.264) and gif has a 256-colour palette: close, not equal
    assert np.abs(decoded.astype(int) - np.stack(frames)).mean() < 8


def test_record_video_keeps_an_even_size_that_is_not_a_multiple_of_8(cheetah_model, tmp_path):
    result = record_video(cheetah_model, tmp_path / "small.mp4", seed=2, max_steps=5, render_size=(240, 180), progress=False)
    assert read_video(tmp_path / "small.mp4").shape == (6, 180, 240, 3)
    assert result.lengths.tolist() == [5]


def test_render_frame_without_render_mode_is_a_user_error():
    env = make_env("HalfCheetah-v5")
    env.reset(seed=0)
    with raises_one_line("render_mode='rgb_array'"):
        render_frame(env)
    env.close()


def test_write_video_rejects_no_frames_and_unknown_formats(tmp_path):
    with raises_one_line("no frames to write"):
        write_video([], tmp_path / "x.mp4")
    with raises_one_line("must end in .mp4 or .gif, not 'x.avi'"):
        write_video([np.zeros((8, 8, 3), np.uint8)], tmp_path / "x.avi")


def test_a_video_is_written_again_over_the_last_one(tmp_path):
    """A notebook run twice writes its videos to the same paths."""
    for shade in (10, 200):
        path = write_video([np.full((8, 8, 3), shade, np.uint8)] * 3, tmp_path / "again.mp4")
    assert abs(float(read_video(path).mean()) - 200) < 5


def _body_pixels(frame: np.ndarray) -> float:
    """Fraction of tan/brown pixels (the cheetah's colour; the floor is black and pale green, the sky grey)."""
    rgb = frame.astype(int)
    return float(((rgb[..., 0] - rgb[..., 2]) > 40).mean())


def test_the_camera_follows_the_running_cheetah():
    from dt_tutorial.sources.policies import Actor
    from dt_tutorial.render import make_render_env

    env = make_render_env("HalfCheetah-v5")
    expert = Actor.shipped("tqc", deterministic=True)
    obs, _ = env.reset(seed=0)
    first = render_frame(env)
    for _ in range(150):  # 7.5 s of expert running: about 15 m from the start
        obs, *_ = env.step(expert(obs[None])[0])
    assert env.unwrapped.data.qpos[0] > 10.0
    assert _body_pixels(first) > 0.005
    assert _body_pixels(render_frame(env)) > 0.005  # still in the picture
    env.close()


def test_targets_video_shows_one_labelled_panel_per_target(cheetah_model, tmp_path):
    path = tmp_path / "targets.mp4"
    results = record_targets_video(cheetah_model, [0, 6000, 12000], path, seed=1, max_steps=8, render_size=(160, 120), progress=False)
    video = read_video(path)
    assert video.shape == (9, 120, 3 * 160, 3)
    # frame 0: the same start state in every panel, so only the labels (top-left corner) tell them apart
    panels = [video[0, :, k * 160 : (k + 1) * 160].astype(int) for k in range(3)]  # [120, 160, rgb]
    for i, a in enumerate(panels):
        for b in panels[i + 1 :]:
            assert np.abs(a[:30, :110] - b[:30, :110]).mean() > 3  # each label names its own target
            assert np.abs(a[60:] - b[60:]).mean() < 3  # the scene below the label is the same
    for result in results:  # the label's return is the episode's return at the last frame
        assert result.frame_returns[-1] == pytest.approx(result.returns[0])
        assert len(result.frames) == 9
    one = evaluate(cheetah_model, target_return=6000, n_episodes=1, seed=1, max_steps=8, progress=False)
    assert results[1].returns[0] == pytest.approx(one.returns[0], rel=1e-5)


def test_tile_panels_fills_a_grid_beyond_four():
    panels = [np.full((4, 6, 3), 10 * (i + 1), np.uint8) for i in range(5)]
    grid = tile_panels(panels)
    assert grid.shape == (2 * 4, 3 * 6, 3)  # 3 columns, 2 rows
    assert grid[4, 0, 0] == 40 and grid[4, 6, 0] == 50 and grid[4, 12, 0] == 0  # row 2: panels 4, 5, an empty cell


def _embedded_videos(html: str) -> list[bytes]:
    import base64
    import re

    return [base64.b64decode(data) for data in re.findall(r'src="data:video/mp4;base64,([A-Za-z0-9+/=]+)"', html)]


def _codec(path) -> str:
    import imageio.v3 as iio

    return iio.immeta(path, plugin="FFMPEG")["codec"]


def test_show_video_embeds_a_smaller_h264_copy_at_the_display_width(rendered, tmp_path):
    frames = rendered[0].frames  # 31 frames, 320x240
    path = write_video(frames, tmp_path / "episode.mp4")
    html = show_video(path, width=160).data
    assert 'preload="metadata"' in html and 'width="160"' in html
    (embedded,) = _embedded_videos(html)
    assert len(embedded) < path.stat().st_size  # the display copy is smaller than the file
    (tmp_path / "shown.mp4").write_bytes(embedded)
    assert _codec(tmp_path / "shown.mp4").startswith("h264")
    decoded = read_video(tmp_path / "shown.mp4")
    assert decoded.shape == (STEPS + 1, 120, 160, 3)  # every frame, scaled down to the display width
    halved = np.stack(frames).reshape(STEPS + 1, 120, 2, 160, 2, 3).mean(axis=(2, 4))
    assert np.abs(decoded.astype(float) - halved).mean() < 10  # the same pictures


def test_display_copy_keeps_a_narrow_video_at_its_own_even_width(rendered, tmp_path):
    path = write_video(rendered[0].frames[:5], tmp_path / "short.mp4")
    (tmp_path / "copy.mp4").write_bytes(display_copy(path, width=999))
    assert read_video(tmp_path / "copy.mp4").shape == (5, 240, 320, 3)


def test_recorded_targets_show_one_labelled_video_per_target_behind_a_range_control(cheetah_model, tmp_path):
    recordings = record_each_target(cheetah_model, [6000, 0, 12000], tmp_path / "recorded", seed=1, max_steps=6,
                                    render_size=(160, 120), progress=False)
    assert [r.target_return for r, _ in recordings] == [6000, 0, 12000]
    assert [p.name for _, p in recordings] == ["target_6000.mp4", "target_0.mp4", "target_12000.mp4"]
    first_frames = [read_video(p)[0].astype(int) for _, p in recordings]
    assert all(read_video(p).shape == (7, 120, 160, 3) for _, p in recordings)
    assert np.abs(first_frames[0][:30, :110] - first_frames[1][:30, :110]).mean() > 3  # each labelled with its target
    batch = evaluate(cheetah_model, target_return=[6000, 0, 12000], n_episodes=1, seed=1, max_steps=6, progress=False)
    np.testing.assert_allclose([r.returns[0] for r, _ in recordings], [r.returns[0] for r in batch], rtol=1e-5)

    html = show_recorded_targets(recordings, width=160).data
    assert "Recorded, not live" in html
    assert 'type="range" min="0" max="2"' in html and 'value="2"' in html  # the highest target selected
    assert [t for t in ("0", "6000", "12000") if f'data-target="{t}"' in html] == ["0", "6000", "12000"]
    assert html.count("<video") == 3 and html.count(" hidden>") == 2  # sorted by target, only one shown
    assert f"target 12000 → achieved {round(recordings[2][0].returns[0])}" in html
    assert len(_embedded_videos(html)) == 3

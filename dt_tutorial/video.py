"""Write mp4/gif, read them back, show them inline in Jupyter/Colab, record a policy's episode.

Rendering itself (OpenGL backend, render env, frames) lives in `render`; this module writes files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dt_tutorial.checks import check_writable
from dt_tutorial.defaults import FPS, PRECISION, RENDER_SIZE, TARGET_RETURN
from dt_tutorial.errors import UserError
from dt_tutorial.rollout import evaluate


def check_video_path(path: str | Path) -> None:
    """A one-line error unless `path` names a format `write_video` writes in a place it can write (checked before long
    work)."""
    if Path(path).suffix not in (".mp4", ".gif"):
        raise UserError(f"video path must end in .mp4 or .gif, not {Path(path).name!r}")
    check_writable(path)


def write_video(frames: list[np.ndarray], path: str | Path, fps: int = FPS) -> Path:
    """Write RGB frames [height, width, 3] as .mp4 (H.264 via imageio-ffmpeg) or .gif."""
    import imageio.v2 as imageio

    path = Path(path)
    if not frames:
        raise UserError("no frames to write")
    check_video_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".gif":
        imageio.mimsave(path, frames, duration=1000 / fps, loop=0)
    else:
        # H.264 in yuv420p needs even sizes: odd ones are resized up by a pixel, even ones are kept.
        imageio.mimsave(path, frames, fps=fps, codec="libx264", quality=7, macro_block_size=2)
    return path


def read_video(path: str | Path) -> np.ndarray:
    """All frames of a video file: [n_frames, height, width, 3] uint8."""
    import imageio.v2 as imageio

    return np.stack(list(imageio.mimread(path, memtest=False)))


DISPLAY_CRF = 30  # H.264 quality of a video shown inline (0 lossless ... 51 worst; libx264's default 23)


def display_copy(path: str | Path, width: int) -> bytes:
    """The mp4 at `path` re-encoded for showing inline: H.264 (yuv420p, plays in every browser), scaled down to at
    most `width` pixels wide, quality `DISPLAY_CRF`, its index first (starts playing while loading). A notebook
    saved with its videos stays small: they are stored in it as base64."""
    import subprocess
    import tempfile

    import imageio_ffmpeg

    even_width = f"trunc(min({int(width)}\\,iw)/2)*2"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "display.mp4"
        subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-i", str(path), "-an", "-c:v", "libx264",
                        "-crf", str(DISPLAY_CRF), "-pix_fmt", "yuv420p", "-vf", f"scale={even_width}:-2",
                        "-movflags", "+faststart", str(out)], check=True, capture_output=True)
        return out.read_bytes()


def video_html(path: str | Path, width: int = 480, attributes: str = "controls autoplay loop muted") -> str:
    """A <video> element holding the display copy of the mp4 at `path` (base64: no file server needed)."""
    import base64

    data = base64.b64encode(display_copy(path, width)).decode()
    return (f'<video width="{width}" {attributes} playsinline preload="metadata">'
            f'<source src="data:video/mp4;base64,{data}" type="video/mp4"></video>')


def show_video(path: str | Path, width: int = 480):
    """An inline, looping video (or gif) for Jupyter and Colab; an mp4 is shown as its small display copy."""
    from IPython.display import HTML, Image

    path = Path(path)
    if path.suffix == ".gif":
        return Image(filename=str(path), width=width)
    return HTML(video_html(path, width))


def record_video(model, path: str | Path, target_return: float = TARGET_RETURN, seed: int = 0, *, env_id: str | None = None,
                 max_steps: int | None = None, render_size: tuple[int, int] = RENDER_SIZE, fps: int = FPS,
                 device: str | None = None, precision: str = PRECISION, progress: bool = True):
    """Run one episode at `target_return` (in `env_id`, default the model's), write its video to `path`; returns the EvalResult.

    `device` and `precision` as in `rollout.evaluate`."""
    check_video_path(path)
    result = evaluate(model, env_id, target_return, n_episodes=1, seed=seed, max_steps=max_steps, capture_video=True,
                      render_size=render_size, device=device, precision=precision, progress=progress)
    write_video(result.frames, path, fps=fps)
    return result


def record_targets_video(policy, targets, path: str | Path, seed: int = 0, *, env_id: str | None = None,
                         max_steps: int | None = None, render_size: tuple[int, int] = RENDER_SIZE, fps: int = FPS,
                         device: str | None = None, precision: str = PRECISION, progress: bool = True):
    """One episode per target, all in one batch, written as ONE video whose frame shows the episodes side by side
    (a grid beyond 4), each panel labelled with its target and the return so far; returns the EvalResults.

    `device` and `precision` as in `rollout.evaluate`."""
    check_video_path(path)
    results = _filmed(policy, targets, seed, env_id, max_steps, render_size, device, precision, progress)
    n_frames = max(len(r.frames) for r in results)
    grid = [
        tile_panels([_labelled(r, min(i, len(r.frames) - 1)) for r in results])  # an ended episode holds its last frame
        for i in range(n_frames)
    ]
    write_video(grid, path, fps=fps)
    return results


def record_each_target(policy, targets, folder: str | Path, seed: int = 0, *, env_id: str | None = None,
                       max_steps: int | None = None, render_size: tuple[int, int] = RENDER_SIZE, fps: int = FPS,
                       device: str | None = None, precision: str = PRECISION, progress: bool = True) -> list[tuple]:
    """One episode per target, all in one batch, each written to its own labelled video `folder/target_<T>.mp4`;
    returns [(EvalResult, video path)] in the order of `targets`. (Frames are held in memory until written:
    ~230 kB each at 320x240, so a 1,000-step episode takes ~230 MB.) `device` and `precision` as in `rollout.evaluate`."""
    results = _filmed(policy, targets, seed, env_id, max_steps, render_size, device, precision, progress)
    return [(r, write_video([_labelled(r, i) for i in range(len(r.frames))], Path(folder) / f"target_{r.target_return:.0f}.mp4", fps=fps))
            for r in results]


def show_recorded_targets(recordings: list[tuple], width: int = 480):
    """The slider's kernel-less stand-in for a static page: a range control over episodes recorded beforehand at
    fixed targets (`record_each_target`'s [(EvalResult, path)]), showing each one's video and achieved return, and
    saying that they were recorded, not run live."""
    import json
    import uuid

    from IPython.display import HTML

    recordings = sorted(recordings, key=lambda rec: rec[0].target_return)
    targets = [f"{r.target_return:.0f}" for r, _ in recordings]
    labels = [f"target {t} → achieved {round(r.returns[0])}" for t, (r, _) in zip(targets, recordings)]  # (no "-0")
    videos = "".join(
        f'<div data-target="{t}"{"" if i == len(recordings) - 1 else " hidden"}>'
        f'{video_html(path, width, attributes="controls loop muted")}</div>'
        for i, (t, (_, path)) in enumerate(zip(targets, recordings))
    )
    root = f"recorded-targets-{uuid.uuid4().hex[:8]}"
    return HTML(f"""<div class="recorded-targets" id="{root}">
<p><strong>Recorded, not live:</strong> {len(recordings)} episodes run beforehand, one per target from {targets[0]} to
{targets[-1]}. Pick a target to watch its episode; the live slider (any target, a new episode) needs a running notebook.</p>
<label>target return <input type="range" min="0" max="{len(recordings) - 1}" step="1" value="{len(recordings) - 1}"
 aria-label="recorded target return"></label> <output>{labels[-1]}</output>
{videos}
<script>
(function () {{
  const root = document.getElementById("{root}");
  const labels = {json.dumps(labels)};
  const input = root.querySelector("input"), output = root.querySelector("output");
  const panels = root.querySelectorAll("[data-target]");
  input.addEventListener("input", () => {{
    panels.forEach((panel, i) => {{
      const shown = i === Number(input.value);
      panel.hidden = !shown;
      if (!shown) panel.querySelector("video").pause();
    }});
    output.textContent = labels[Number(input.value)];
  }});
}})();
</script>
</div>""")


def _filmed(policy, targets, seed, env_id, max_steps, render_size, device, precision, progress):
    """One rendered episode per target, all in one batch: the EvalResults."""
    return evaluate(policy, env_id, [float(t) for t in targets], n_episodes=1, seed=seed, max_steps=max_steps,
                    capture_video=True, render_size=render_size, device=device, precision=precision, progress=progress)


def tile_panels(panels: list[np.ndarray]) -> np.ndarray:
    """Equal-size panels [height, width, 3] in one row (up to 4) or a near-square grid, empty cells black."""
    cols = len(panels) if len(panels) <= 4 else int(np.ceil(np.sqrt(len(panels))))
    rows = -(-len(panels) // cols)
    height, width, _ = panels[0].shape
    grid = np.zeros((rows * height, cols * width, 3), np.uint8)
    for i, panel in enumerate(panels):
        r, c = divmod(i, cols)
        grid[r * height : (r + 1) * height, c * width : (c + 1) * width] = panel
    return grid


def _labelled(result, frame: int) -> np.ndarray:
    """The episode's frame with "target T / return R" drawn in its top-left corner."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.fromarray(result.frames[frame])
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=max(12, image.height // 15))
    text = f"target {result.target_return:.0f}\nreturn {result.frame_returns[frame]:.0f}"
    box = draw.multiline_textbbox((6, 4), text, font=font)
    draw.rectangle((box[0] - 3, box[1] - 2, box[2] + 3, box[3] + 3), fill=(0, 0, 0))
    draw.multiline_text((6, 4), text, font=font, fill=(255, 255, 255))
    return np.asarray(image)

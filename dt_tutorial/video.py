"""Write mp4/gif, read them back, show them inline in Jupyter/Colab, record a policy's episode.

Rendering itself (OpenGL backend, render env, frames) lives in `render`; this module writes files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dt_tutorial.defaults import FPS, PRECISION, RENDER_SIZE, TARGET_RETURN
from dt_tutorial.errors import UserError
from dt_tutorial.rollout import evaluate


def check_video_path(path: str | Path) -> None:
    """A one-line error unless `path` names a format `write_video` writes (checked before long work)."""
    if Path(path).suffix not in (".mp4", ".gif"):
        raise UserError(f"video path must end in .mp4 or .gif, not {Path(path).name!r}")


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


def show_video(path: str | Path, width: int = 480):
    """An inline, looping video (or gif) for Jupyter and Colab."""
    from IPython.display import HTML, Image
    import base64

    path = Path(path)
    if path.suffix == ".gif":
        return Image(filename=str(path), width=width)
    data = base64.b64encode(path.read_bytes()).decode()
    return HTML(f'<video width="{width}" controls autoplay loop muted><source src="data:video/mp4;base64,{data}" type="video/mp4"></video>')


def record_video(model, path: str | Path, target_return: float = TARGET_RETURN, seed: int = 0, *, env_id: str | None = None,
                 max_steps: int | None = None, render_size: tuple[int, int] = RENDER_SIZE, fps: int = FPS,
                 device: str | None = None, precision: str = PRECISION, progress: bool = True):
    """Run one episode at `target_return` (in `env_id`, default the model's), write its video to `path`; returns the EvalResult.

    `device` and `precision` as in `rollout.evaluate`."""
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
    results = evaluate(policy, env_id, [float(t) for t in targets], n_episodes=1, seed=seed, max_steps=max_steps,
                       capture_video=True, render_size=render_size, device=device, precision=precision, progress=progress)
    n_frames = max(len(r.frames) for r in results)
    grid = [
        tile_panels([_labelled(r, min(i, len(r.frames) - 1)) for r in results])  # an ended episode holds its last frame
        for i in range(n_frames)
    ]
    write_video(grid, path, fps=fps)
    return results


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

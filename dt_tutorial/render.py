"""Rendering apart from video files: the headless OpenGL backend choice, a render env, its frames.

MuJoCo picks its OpenGL backend from MUJOCO_GL when it is first imported. With no display,
`choose_gl_backend()` (called when dt_tutorial is imported) sets EGL if libEGL is installed,
else OSMesa if libOSMesa is, and leaves a value the user already set alone.
"""

from __future__ import annotations

import ctypes.util
import os
import sys

import numpy as np

from dt_tutorial.defaults import RENDER_SIZE
from dt_tutorial.envs import make_env
from dt_tutorial.errors import UserError

INSTALL_HINT = (
    "no OpenGL backend for headless MuJoCo rendering: install EGL or OSMesa "
    "(Debian/Ubuntu/Colab: apt-get install -y libegl1 libosmesa6) or set MUJOCO_GL to a working backend"
)


def choose_gl_backend() -> str | None:
    """Set MUJOCO_GL for headless Linux (egl, else osmesa) unless already set; return the choice."""
    if "MUJOCO_GL" in os.environ:
        return os.environ["MUJOCO_GL"]
    if not sys.platform.startswith("linux") or os.environ.get("DISPLAY"):
        return None  # a desktop: MuJoCo's default (GLFW) works
    for backend, library in (("egl", "EGL"), ("osmesa", "OSMesa")):
        if ctypes.util.find_library(library):
            os.environ["MUJOCO_GL"] = backend
            if backend == "osmesa":
                os.environ.setdefault("PYOPENGL_PLATFORM", "osmesa")
            return backend
    return None


FLOOR_SCALE = 50
SHADOW_MAP_SIZE = 1024  # MuJoCo's default 4096² shadow map makes CPU rendering ~2.5x slower, for no visible gain here


def make_render_env(env_id: str, width: int = RENDER_SIZE[0], height: int = RENDER_SIZE[1]):
    """An env that renders RGB frames of `width` x `height`."""
    # "track" follows the body (gymnasium's locomotion XMLs all have it); gymnasium 1.4's default free camera
    # stays where the episode started, so a running cheetah leaves the picture within a second.
    import mujoco  # after choose_gl_backend() has set MUJOCO_GL (dt_tutorial's import does)

    env = make_env(env_id, render_mode="rgb_array", width=width, height=height, camera_name="track")
    model = env.unwrapped.model
    model.vis.quality.shadowsize = SHADOW_MAP_SIZE  # read when the renderer is first made
    # The floor is drawn 40 m wide; an expert cheetah leaves it after ~4 s. Draw it 50x larger, with the
    # same checker size (planes collide as infinite planes anyway, so the physics does not change).
    floors = np.flatnonzero(model.geom_type == mujoco.mjtGeom.mjGEOM_PLANE)
    model.geom_size[floors, :2] *= FLOOR_SCALE
    model.mat_texrepeat[model.geom_matid[floors][model.geom_matid[floors] >= 0]] *= FLOOR_SCALE
    return env


def render_frame(env) -> np.ndarray:
    """env.render() -> [height, width, 3] uint8, with the missing-OpenGL failure turned into one clear error."""
    if env.render_mode != "rgb_array":
        raise UserError(f"the env was made with render_mode={env.render_mode!r}, not render_mode='rgb_array': it returns no frames")
    try:
        return env.render()
    except Exception as err:  # GLFW, EGL and OSMesa each fail with their own exception types
        raise UserError(f"{INSTALL_HINT} ({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''})") from None

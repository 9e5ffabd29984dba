"""The notebooks' install step on Colab: install what the runtime lacks, one line per step with its time.

It runs before the package is installed (the notebooks' first cell downloads this file from the pinned release
and calls `install`), so it uses the standard library only. Steps:

1. pip: the package from `source` (a release `git+https://github.com/<repo>@v<version>`, or a local checkout)
   and the dependencies the runtime lacks (MuJoCo); pip keeps every installed package that already satisfies
   the package's bounds, and those bounds fit Colab's versions (`.ci/colab_check.sh` checks both).
2. apt: the OpenGL library MuJoCo renders with when there is no screen: EGL on a GPU runtime, OSMesa on a
   CPU one; MUJOCO_GL is set to match.
3. A summary: what was installed, and any installed package whose version changed (there should be none).

Command line (the Colab-like check runs it so): `python dt_tutorial/colab_install.py SOURCE`.
"""

from __future__ import annotations

import ctypes.util
import os
import re
import shutil
import subprocess
import sys
import time
from importlib.metadata import distributions

PACKAGE = "dt-tutorial"
# MUJOCO_GL value -> (the library it loads, the Debian/Ubuntu package that ships it)
RENDER_LIBRARIES = {"egl": ("EGL", "libegl1"), "osmesa": ("OSMesa", "libosmesa6")}


def installed_versions() -> dict[str, str]:
    """{normalised distribution name: version} of this Python's installed packages."""
    return {normalise(dist.metadata["Name"]): dist.version for dist in distributions() if dist.metadata["Name"]}


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def release_version(source: str) -> str | None:
    """'0.2.0' for a source pinned to the release tag 'v0.2.0' (`...@v0.2.0`), else None (a checkout, a branch)."""
    match = re.search(r"@v(\d+(?:\.\d+)*)$", source)
    return match.group(1) if match else None


def has_gpu() -> bool:
    """True on a machine with an NVIDIA GPU and its driver (a Colab GPU runtime)."""
    return shutil.which("nvidia-smi") is not None and subprocess.run(["nvidia-smi", "-L"], capture_output=True).returncode == 0


def changes(before: dict[str, str], after: dict[str, str]) -> tuple[list[str], list[str]]:
    """(['name version', ...] newly installed, ['name old -> new' or 'name old -> removed', ...] changed)."""
    added = [f"{name} {after[name]}" for name in sorted(after.keys() - before.keys())]
    changed = [f"{name} {version} -> {after.get(name, 'removed')}" for name, version in sorted(before.items())
               if after.get(name) != version]
    return added, changed


def run_step(description: str, command: list[str]) -> None:
    """Run `command`, printing `description` and, when done, its time; on failure show the command's output."""
    print(f"{description} ...", end=" ", flush=True)
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        print(f"failed after {time.perf_counter() - start:.0f} s")
        print((done.stdout + done.stderr)[-4000:])
        raise RuntimeError(f"{' '.join(command[:4])} ... exited with {done.returncode}")
    print(f"{time.perf_counter() - start:.0f} s")


def pip_step(source: str) -> None:
    wanted = release_version(source)
    have = installed_versions().get(PACKAGE)
    if wanted is not None and have == wanted:
        print(f"pip: {PACKAGE} {have} already installed")
        return
    run_step(f"pip: {PACKAGE} from {source} and the dependencies missing here (MuJoCo)",
             [sys.executable, "-m", "pip", "install", "--progress-bar", "off", f"{PACKAGE} @ {source}"
              if "://" in source else source])


def render_step(gpu: bool) -> str | None:
    """Make MuJoCo's headless OpenGL library present (EGL on a GPU, OSMesa without) and set MUJOCO_GL to it;
    returns the apt package installed, if any."""
    backend = "egl" if gpu else "osmesa"
    library, apt_package = RENDER_LIBRARIES[backend]
    os.environ["MUJOCO_GL"] = backend
    os.environ["PYOPENGL_PLATFORM"] = backend
    runtime = "GPU" if gpu else "CPU"
    if ctypes.util.find_library(library):
        print(f"apt: lib{library} for rendering on a {runtime} runtime already installed (MUJOCO_GL={backend})")
        return None
    sudo = [] if os.geteuid() == 0 or not shutil.which("sudo") else ["sudo"]
    run_step(f"apt: {apt_package} for rendering on a {runtime} runtime (MUJOCO_GL={backend})",
             sudo + ["env", "DEBIAN_FRONTEND=noninteractive", "sh", "-c",
                     f"apt-get update -qq && apt-get install -y -qq --no-install-recommends {apt_package}"])
    return apt_package


def install(source: str, *, gpu: bool | None = None) -> list[str]:
    """Install what this runtime lacks for the tutorial (see the module's docstring); returns the preinstalled
    packages whose version changed ('name old -> new'; empty when, as intended, none did)."""
    start = time.perf_counter()
    before = installed_versions()
    pip_step(source)
    apt_package = render_step(has_gpu() if gpu is None else gpu)
    added, changed = changes(before, installed_versions())
    installed = ", ".join(added + ([f"{apt_package} (apt)"] if apt_package else [])) or "nothing (all there already)"
    print(f"installed in {time.perf_counter() - start:.0f} s: {installed}")
    if changed:
        print(f"changed preinstalled packages: {', '.join(changed)}; restart the session (Runtime > Restart session)")
    else:
        print("preinstalled packages: none changed")
    return changed


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1].startswith("-"):
        sys.exit(f"usage: python {os.path.basename(__file__)} SOURCE  (a checkout's path, or git+https://github.com/<repo>@<tag>)")
    sys.exit(1 if install(sys.argv[1]) else 0)

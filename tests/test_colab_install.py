"""The notebooks' Colab install step (dt_tutorial/colab_install.py): its pure parts, its step lines, and that it
can run before the package is installed (standard library only). The whole step runs for real, against Colab's
versions, in .ci/colab_check.sh."""

from __future__ import annotations

import ast
import ctypes.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from dt_tutorial import colab_install
from dt_tutorial.colab_install import changes, release_version, render_step, run_step

SCRIPT = Path(colab_install.__file__)


def test_uses_the_standard_library_only():
    """The notebooks' first cell runs it before the package (or anything else) is installed."""
    tree = ast.parse(SCRIPT.read_text())
    modules = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    modules |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level == 0}
    assert modules - {"__future__"} <= set(sys.stdlib_module_names), modules - set(sys.stdlib_module_names)


def test_runs_as_a_file_outside_the_package(tmp_path):
    copy = tmp_path / "colab_install.py"
    copy.write_text(SCRIPT.read_text())
    done = subprocess.run([sys.executable, "-I", str(copy)], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode != 0 and "usage: python colab_install.py SOURCE" in done.stderr


@pytest.mark.parametrize("source, version", [
    ("git+https://github.com/dt-tutorial/dt_tutorial@v0.2.0", "0.2.0"),
    ("git+https://github.com/dt-tutorial/dt_tutorial@v1.10", "1.10"),
    ("git+https://github.com/dt-tutorial/dt_tutorial@main", None),
    ("git+https://github.com/dt-tutorial/dt_tutorial", None),
    ("/home/me/dt_tutorial", None),
])
def test_release_version(source, version):
    assert release_version(source) == version


def test_changes_lists_new_and_changed_packages():
    before = {"ipywidgets": "7.7.1", "numpy": "2.1.3", "torch": "2.11.0"}
    after = {"ipywidgets": "8.1.9", "numpy": "2.1.3", "mujoco": "3.3.7", "glfw": "2.10.0"}
    assert changes(before, after) == (["glfw 2.10.0", "mujoco 3.3.7"], ["ipywidgets 7.7.1 -> 8.1.9", "torch 2.11.0 -> removed"])
    assert changes(before, dict(before)) == ([], [])


def test_run_step_prints_one_line_with_its_time(capsys):
    run_step("step", [sys.executable, "-c", "print('noise the user does not need')"])
    assert re.fullmatch(r"step \.\.\. \d+ s\n", capsys.readouterr().out)


def test_a_failing_step_shows_its_output(capsys):
    with pytest.raises(RuntimeError, match="exited with 3"):
        run_step("step", [sys.executable, "-c", "import sys; print('why it failed'); sys.exit(3)"])
    out = capsys.readouterr().out
    assert out.startswith("step ... failed after") and "why it failed" in out


@pytest.mark.skipif(not ctypes.util.find_library("EGL"), reason="needs libEGL installed")
def test_gpu_runtime_renders_with_egl_and_installs_nothing_present(monkeypatch, capsys):
    monkeypatch.delenv("MUJOCO_GL", raising=False)
    monkeypatch.delenv("PYOPENGL_PLATFORM", raising=False)
    assert render_step(gpu=True) is None
    assert "already installed (MUJOCO_GL=egl)" in capsys.readouterr().out
    assert colab_install.os.environ["MUJOCO_GL"] == "egl"


def test_an_installed_release_is_not_installed_again(monkeypatch, capsys):
    monkeypatch.setattr(colab_install, "installed_versions", lambda: {"dt-tutorial": "0.2.0"})
    monkeypatch.setattr(colab_install, "run_step", lambda *args: pytest.fail(f"ran {args}"))
    colab_install.pip_step("git+https://github.com/dt-tutorial/dt_tutorial@v0.2.0")
    assert capsys.readouterr().out == "pip: dt-tutorial 0.2.0 already installed\n"


def test_another_release_or_a_checkout_is_installed(monkeypatch):
    ran = []
    monkeypatch.setattr(colab_install, "installed_versions", lambda: {"dt-tutorial": "0.2.0"})
    monkeypatch.setattr(colab_install, "run_step", lambda description, command: ran.append(command[-1]))
    colab_install.pip_step("git+https://github.com/dt-tutorial/dt_tutorial@v0.3.0")
    colab_install.pip_step("/home/me/dt_tutorial")
    assert ran == ["dt-tutorial @ git+https://github.com/dt-tutorial/dt_tutorial@v0.3.0", "/home/me/dt_tutorial"]

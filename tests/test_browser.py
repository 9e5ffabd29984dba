"""The notebooks as a learner sees them: JupyterLab in a real Chromium (Playwright), every cell run in fast mode.

Notebooks run in file order (notebook 4 loads notebook 3's model) in a copy under a temp folder. Asserted per
notebook: no error or stderr output, every image output shown as a loaded <img>; in notebook 4 the slider's
"run episode" click shows "target ... → achieved ..." and a <video> that decodes frames. Needs Chromium
(`DT_TUTORIAL_CHROMIUM`, else `chromium` / `chromium-browser` on PATH) and the `[browser]` extra.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

PROJECT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((PROJECT / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT_S = 600  # a whole notebook in fast mode, on a busy 2-core machine
CHROMIUM = os.environ.get("DT_TUTORIAL_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install -e '.[browser]'")
pytest.importorskip("jupyterlab", reason="jupyterlab is not installed: pip install -e '.[browser]'")
if not CHROMIUM:
    pytest.skip("no Chromium: apt-get install chromium, or set DT_TUTORIAL_CHROMIUM", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def lab_url(tmp_path_factory, dt_cache):
    """A JupyterLab server (no token) serving a copy of the notebooks; shut down with its kernels at the end."""
    home = tmp_path_factory.mktemp("jupyter")
    root = home / "notebooks"
    root.mkdir()
    for notebook in NOTEBOOKS:
        shutil.copy(notebook, root)
    port = free_port()
    env = {
        **os.environ, "DT_TUTORIAL_FAST": "1", "DT_TUTORIAL_CACHE": str(dt_cache),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "JUPYTER_CONFIG_DIR": str(home / "config"),
        "IPYTHONDIR": str(home / "ipython"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT), os.environ.get("PYTHONPATH")])),  # this checkout
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}",
         f"--ServerApp.root_dir={root}", "--IdentityProvider.token=", "--ServerApp.password=",
         "--LabApp.expose_app_in_browser=True"],
        env=env, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status", timeout=5)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start:\n{server.stdout.read() if server.poll() is not None else ''}")
                time.sleep(1)
        yield url, home
    finally:
        server.terminate()  # SIGTERM: the server shuts its kernels down, then exits
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope="module")
def page(lab_url):
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"]
        )
        try:
            yield browser.new_page(viewport={"width": 1400, "height": 1000})
        finally:
            browser.close()


# Image outputs in the notebook model (what the kernel sent) and the <img> elements that show them.
COUNT_IMAGES_JS = """() => {
  const cells = window.jupyterapp.shell.currentWidget.content.model.cells;
  let n = 0;
  for (let i = 0; i < cells.length; i++) {
    const outputs = cells.get(i).outputs;
    if (!outputs) continue;
    for (let j = 0; j < outputs.length; j++) if (outputs.get(j).data["image/png"]) n++;
  }
  return n;
}"""
KERNEL_BUSY_JS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel && panel.sessionContext.session && panel.sessionContext.session.kernel;
  const running = [...document.querySelectorAll('.jp-Notebook .jp-InputPrompt')].some(p => p.textContent.includes('*'));
  return !kernel || kernel.status !== 'idle' || running;
}"""


def run_all_cells(page, url: str, notebook: str) -> None:
    page.goto(f"{url}/lab/tree/{notebook}?reset")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget && "
                           "window.jupyterapp.shell.currentWidget.sessionContext.session && "
                           "window.jupyterapp.shell.currentWidget.sessionContext.session.kernel && "
                           "window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'",
                           timeout=120_000)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(f"() => !({KERNEL_BUSY_JS})()", timeout=CELL_TIMEOUT_S * 1000, polling=1000)


def check_outputs(page) -> None:
    stderr = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    texts = stderr.all_inner_texts()
    assert not texts, "error or stderr output:\n" + "\n---\n".join(texts)
    n_images = page.evaluate(COUNT_IMAGES_JS)
    shown = page.evaluate("() => [...document.querySelectorAll('.jp-RenderedImage img')]"
                          ".filter(img => img.complete && img.naturalWidth > 0).length")
    assert shown == n_images, f"{n_images} image outputs, {shown} shown as loaded <img>"


def check_slider_video(page) -> None:
    """Clicks "run episode" and checks the new video plays and the achieved return is printed."""
    page.locator(".widget-slider, .widget-hslider").first.wait_for(timeout=30_000)
    page.evaluate("() => document.querySelectorAll('video').forEach(v => v.dataset.before = '1')")
    page.get_by_role("button", name="run episode").click()
    video = page.locator("video:not([data-before])").first
    video.wait_for(timeout=300_000)
    page.get_by_text(re.compile(r"target -?\d+ → achieved -?\d+")).first.wait_for(timeout=30_000)
    video.scroll_into_view_if_needed()
    played = video.evaluate("""async v => {
      v.muted = true;
      for (let waited = 0; v.readyState < 2 && !v.error && waited < 30000; waited += 200)
        await new Promise(ok => setTimeout(ok, 200));  // (a <source>'s load error does not reach v.onerror)
      if (v.readyState < 2) return {duration: v.duration, frames: 0, advanced: false, error: v.error && v.error.code};
      await v.play();
      const start = v.currentTime;
      await new Promise(ok => setTimeout(ok, 1500));
      return {duration: v.duration, frames: v.webkitDecodedFrameCount, advanced: v.currentTime > start};
    }""")
    assert played["duration"] > 0 and (played["frames"] > 0 or played["advanced"]), f"the video did not play: {played}"


@pytest.mark.parametrize("notebook", [path.name for path in NOTEBOOKS])
def test_notebook_runs_cleanly_in_chromium(page, lab_url, notebook):
    url, home = lab_url
    screenshot = home / f"{Path(notebook).stem}.png"
    try:
        run_all_cells(page, url, notebook)
        check_outputs(page)
        if "target_return_slider" in (home / "notebooks" / notebook).read_text():
            check_slider_video(page)
    finally:
        page.screenshot(path=str(screenshot), full_page=True)
        print(f"screenshot: {screenshot}")

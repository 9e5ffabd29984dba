"""The website (docs/): built in fast mode with the documented command and warnings as errors (a broken link or a
failing notebook cell fails it), then opened page by page in a real Chromium (Playwright), served over HTTP.

Asserted: every page loads without a script error, every image decodes, every video plays (the landing page's demo
video, notebook 4's three targets, the recorded slider's), the recorded slider's control switches videos, no
notebook cell shows an error, no page holds a base64 video. Needs the `[docs]` extra; the browser part needs the
`[browser]` extra and Chromium (as tests/test_browser.py).
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from dt_tutorial.notebook import REPO, colab_url, site_url

PROJECT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(path.stem for path in (PROJECT / "notebooks").glob("*.ipynb"))
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
CHROMIUM = os.environ.get("DT_TUTORIAL_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")

pytest.importorskip("myst_nb", reason="the site needs the [docs] extra: pip install -e '.[docs]'")
sys.path.insert(0, str(PROJECT / "docs" / "_ext"))
import tutorial_site  # noqa: E402


def test_readme_links_each_notebook_in_colab_and_on_the_site():
    readme = (PROJECT / "README.md").read_text()
    for notebook in NOTEBOOKS:
        assert colab_url(f"{notebook}.ipynb") in readme, notebook
        assert site_url(f"notebooks/{notebook}.html") in readme, notebook
    assert site_url() in readme
    owner, name = REPO.split("/")
    assert site_url() == f"https://{owner.lower()}.github.io/{name}/"


def test_included_links_map_to_site_pages_files_or_github():
    readme_dir = PROJECT
    assert tutorial_site.map_link("BENCHMARKS.md#steering", readme_dir, image=False) == "benchmarks.md#steering"
    assert tutorial_site.map_link("notebooks/03_train.ipynb", readme_dir, image=False) == "notebooks/03_train.ipynb"
    assert tutorial_site.map_link("docs/multi_gpu.md", readme_dir, image=False) == "multi_gpu.md"
    assert tutorial_site.map_link("CONTRIBUTING.md", readme_dir, image=False) == f"https://github.com/{REPO}/blob/main/CONTRIBUTING.md"
    assert tutorial_site.map_link("benchmarks", readme_dir, image=False) == f"https://github.com/{REPO}/tree/main/benchmarks"
    assert tutorial_site.map_link("benchmarks/x.png", readme_dir, image=True) == "../benchmarks/x.png"
    assert tutorial_site.map_link("https://huggingface.co/blog", readme_dir, image=False) == "https://huggingface.co/blog"
    assert tutorial_site.map_link("#set-up", readme_dir, image=False) == "#set-up"
    assert tutorial_site.map_link(site_url("recorded_slider.html"), readme_dir, image=False) == "recorded_slider.md"


def test_public_modules_are_found_by_walking_the_package():
    modules = tutorial_site.public_modules()
    assert {"dt_tutorial.video", "dt_tutorial.train", "dt_tutorial.notebook"} <= set(modules)
    assert not any(part.startswith("_") for name in modules for part in name.split("."))  # no __main__, no _private


@pytest.fixture(scope="module")
def site(tmp_path_factory, dt_cache) -> Path:
    """The fast build with the README's documented command plus -W (warnings are errors), into a temp folder, with a
    fresh notebook cache: every notebook really runs. DT_TUTORIAL_SITE=<html folder> checks a site built beforehand
    instead (e.g. the full build: `DT_TUTORIAL_SITE=docs/_build/html python -m pytest tests/test_site.py`)."""
    if os.environ.get("DT_TUTORIAL_SITE"):
        return Path(os.environ["DT_TUTORIAL_SITE"]).resolve()
    tmp = tmp_path_factory.mktemp("site")
    html = tmp / "html"
    env = {**os.environ, "DT_TUTORIAL_FAST": "1", "DT_TUTORIAL_CACHE": str(dt_cache),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT), os.environ.get("PYTHONPATH")]))}
    build = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", "-d", str(tmp / "doctrees"),
         "-D", f"nb_execution_cache_path={tmp / 'jupyter_cache'}", "docs", str(html)],
        cwd=PROJECT, env=env, capture_output=True, text=True,
    )
    assert build.returncode == 0, f"the site build failed:\n{build.stdout[-3000:]}\n{build.stderr[-6000:]}"
    return html


def pages(html: Path) -> list[str]:
    return sorted(p.relative_to(html).as_posix() for p in html.rglob("*.html"))


def test_the_build_has_every_page_and_keeps_videos_as_files(site):
    names = pages(site)
    for page in ["index.html", "readme.html", "benchmarks.html", "api.html", "recorded_slider.html",
                 "_api/dt_tutorial.video.html", *(f"notebooks/{n}.html" for n in NOTEBOOKS)]:
        assert page in names, page
    for page in names:
        text = (site / page).read_text()
        assert not re.search(r"data:video/mp4;base64,[A-Za-z0-9+/=]{100}", text), f"{page} embeds a video"
        for src in re.findall(r'<video[^>]*src="([^"]+)"|<source src="([^"]+)"', text):
            target = (site / page).parent / (src[0] or src[1])
            assert target.resolve().is_file(), f"{page}: {src} is missing"
    watch = (site / "notebooks/04_watch_it_run.html").read_text()
    assert "_videos/" in watch and 'preload="metadata"' in watch
    assert "widget-state+json" not in watch and "recorded_slider.html" in watch  # the live widget points to its stand-in
    assert (site / "recorded_slider.html").read_text().count("<video") == 9


try:
    from playwright import sync_api
except ImportError:
    sync_api = None


@pytest.fixture(scope="module")
def served(site):
    handler = functools.partial(QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser():
    if sync_api is None:
        pytest.skip("playwright is not installed: pip install -e '.[browser]'")
    if not CHROMIUM:
        pytest.skip("no Chromium: apt-get install chromium, or set DT_TUTORIAL_CHROMIUM")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


PLAY_JS = """async v => {
  v.muted = true;
  if (v.readyState < 1) v.load();
  for (let waited = 0; v.readyState < 2 && !v.error && waited < 30000; waited += 200)
    await new Promise(ok => setTimeout(ok, 200));
  if (v.readyState < 2) return {src: v.currentSrc, error: v.error && v.error.code, advanced: false};
  await v.play();
  const start = v.currentTime;
  await new Promise(ok => setTimeout(ok, 1200));
  v.pause();
  return {src: v.currentSrc, duration: v.duration, width: v.videoWidth, advanced: v.currentTime > start};
}"""


def check_video_plays(video) -> str:
    played = video.evaluate(PLAY_JS)
    assert played.get("advanced") and played["duration"] > 0 and played["width"] > 0, f"the video did not play: {played}"
    return played["src"]


def open_page(browser, url: str):
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    errors = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    response = page.goto(url, wait_until="load")
    assert response is not None and response.ok, f"{url}: {response and response.status}"
    return page, errors


@pytest.mark.browser
def test_every_page_loads_with_its_images_and_no_cell_error(site, served, browser):
    for name in pages(site):
        page, errors = open_page(browser, f"{served}/{name}")
        try:
            images = page.evaluate("""async () => {
              const images = [...document.images];
              await Promise.all(images.map(img => img.decode().catch(() => null)));
              return images.map(img => ({src: img.src, ok: img.complete && img.naturalWidth > 0}));
            }""")
            # The site's own images must decode; the only remote one is the notebooks' Colab badge (no network here).
            remote = {img["src"] for img in images if not img["src"].startswith(served)}
            assert remote <= {COLAB_BADGE}, f"{name}: remote images {remote}"
            broken = [img["src"] for img in images if img["src"].startswith(served) and not img["ok"]]
            assert not broken, f"{name}: images that do not decode: {broken}"
            assert page.locator(".cell_output .traceback, .cell_output .output.error").count() == 0, f"{name}: a cell error"
            stderr = [t for t in page.locator(".cell_output .output.stderr").all_inner_texts() if "Error" in t]
            assert not stderr, f"{name}: {stderr}"
            assert not errors, f"{name}: script errors {errors}"
        finally:
            page.close()


@pytest.mark.browser
@pytest.mark.parametrize("name", ["index.html", "notebooks/04_watch_it_run.html"])
def test_the_videos_play(served, browser, name):
    page, _ = open_page(browser, f"{served}/{name}")
    try:
        videos = page.locator("video")
        assert videos.count() >= 1
        for i in range(videos.count()):
            videos.nth(i).scroll_into_view_if_needed()
            check_video_plays(videos.nth(i))
    finally:
        page.close()


@pytest.mark.browser
def test_the_recorded_slider_switches_videos(served, browser):
    page, errors = open_page(browser, f"{served}/recorded_slider.html")
    try:
        root = page.locator(".recorded-targets")
        assert "Recorded, not live" in root.inner_text()
        shown = root.locator("[data-target]:not([hidden]) video")
        assert shown.count() == 1
        first = check_video_plays(shown)
        assert root.locator("output").inner_text().startswith("target 12000 → achieved ")
        root.locator('input[type="range"]').evaluate("el => { el.value = '0'; el.dispatchEvent(new Event('input')); }")
        shown = root.locator("[data-target]:not([hidden])")
        assert shown.count() == 1 and shown.get_attribute("data-target") == "0"
        assert root.locator("output").inner_text().startswith("target 0 → achieved ")
        assert check_video_plays(shown.locator("video")) != first  # another file
        assert not errors
    finally:
        page.close()

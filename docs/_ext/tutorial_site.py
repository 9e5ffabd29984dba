"""The site's build steps, as a small Sphinx extension.

- The notebooks (`notebooks/*.ipynb`, the source) are copied into `docs/notebooks/` (ignored by git), where
  MyST-NB executes them; their `runs/` folder is kept per mode in `_build/` (fast and real models never mix).
- README and BENCHMARKS are included, not copied: their repository links are mapped to the site's pages (a
  notebook, BENCHMARKS, docs/*.md), images to the file, anything else to the file on GitHub.
- The API page lists every public module of the package, found by walking it (no hand-kept list): one
  autodoc page each in `docs/_api/` (ignored by git).
- The package's docstrings are written in Markdown (backticks for code, "- " lists): autodoc parses them with MyST.
- A live ipywidgets output (notebook 4's slider) needs a kernel: its page shows a link to the recorded stand-in
  (`recorded_slider.md`) instead, and the widgets' saved state (which holds the episode's video) is left out.
- Videos are files: a `data:video/mp4;base64,...` source in a notebook's HTML output is written to
  `_videos/<hash>.mp4` in the site and referenced from the page, loaded on demand (`preload="metadata"`).
"""

from __future__ import annotations

import base64
import hashlib
import os
import pkgutil
import re
import shutil
from pathlib import Path

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

from dt_tutorial.notebook import REPO, site_url

DOCS = Path(__file__).resolve().parents[1]
PROJECT = DOCS.parent
LINK = re.compile(r"(!?)\[([^\]\n]*)\]\(([^()\s]+)\)")
DATA_VIDEO = re.compile(r'src="data:video/mp4;base64,([A-Za-z0-9+/=\s]+)"')


def copy_notebooks(app, config) -> None:
    """docs/notebooks/ = the repository's notebooks (rewritten only when changed, so Sphinx sees what changed)
    and a `runs` link to this mode's run folder."""
    target = DOCS / "notebooks"
    target.mkdir(exist_ok=True)
    sources = {path.name: path for path in sorted((PROJECT / "notebooks").glob("*.ipynb"))}
    for stale in target.glob("*.ipynb"):
        if stale.name not in sources:
            stale.unlink()
    for name, source in sources.items():
        copy = target / name
        if not copy.exists() or copy.read_bytes() != source.read_bytes():
            shutil.copyfile(source, copy)
    runs = DOCS / "_build" / ("runs_fast" if os.environ.get("DT_TUTORIAL_FAST") == "1" else "runs")
    runs.mkdir(parents=True, exist_ok=True)
    link = target / "runs"
    if link.is_symlink() or link.exists():
        if link.resolve() == runs.resolve():
            return
        link.unlink() if link.is_symlink() else shutil.rmtree(link)
    link.symlink_to(os.path.relpath(runs, target), target_is_directory=True)


def public_modules(package: str = "dt_tutorial") -> list[str]:
    """Every module and subpackage of `package` whose name has no leading underscore (so not __main__)."""
    root = __import__(package)
    return sorted(info.name for info in pkgutil.walk_packages(root.__path__, f"{package}.")
                  if not any(part.startswith("_") for part in info.name.split(".")))


def write_api_pages(app, config) -> None:
    """docs/_api/<module>.rst for every public module (rewritten only when changed), listed by the API page."""
    folder = DOCS / "_api"
    folder.mkdir(exist_ok=True)
    pages = {f"{name}.rst": f"{name}\n{'=' * len(name)}\n\n.. automodule:: {name}\n" for name in public_modules()}
    for stale in folder.glob("*.rst"):
        if stale.name not in pages:
            stale.unlink()
    for name, text in pages.items():
        if not (folder / name).exists() or (folder / name).read_text() != text:
            (folder / name).write_text(text)


class Markdown(SphinxDirective):
    """`.. markdown::` parses its content as MyST Markdown, where reStructuredText is expected (in autodoc)."""

    has_content = True

    def run(self) -> list[nodes.Node]:
        from docutils.utils import new_document
        from myst_parser.parsers.sphinx_ import MystParser

        document = new_document(self.get_source_info()[0], self.state.document.settings)
        MystParser().parse("\n".join(self.content), document)
        for raw in list(document.findall(nodes.raw)):  # "<video>" in a docstring names an element: show it as code
            raw.replace_self(nodes.literal(raw.astext(), raw.astext()))
        return list(document.children)


def docstrings_as_markdown(app, what, name, obj, options, lines: list[str]) -> None:
    if lines:
        lines[:] = [".. markdown::", ""] + [f"   {line}" if line.strip() else "" for line in lines]


def site_target(repo_path: str) -> str | None:
    """The site page (relative to docs/) that shows the repository file `repo_path`, if any."""
    path = Path(repo_path)
    if repo_path == "README.md":
        return "index.md"
    if repo_path == "BENCHMARKS.md":
        return "benchmarks.md"
    if path.parent == Path("notebooks") and path.suffix == ".ipynb":
        return repo_path
    if path.parent == Path("docs") and path.suffix == ".md" and path.name != "README.md":  # (docs/README.md: how to build)
        return path.name
    return None


def map_link(target: str, included_dir: Path, image: bool) -> str:
    """A repository-relative link from an included file, as the site needs it; a link to the site itself, made local."""
    if target.startswith(site_url()):
        page, _, anchor = target[len(site_url()):].partition("#")
        stem = page.removesuffix(".html") or "index"
        for source in (f"{stem}.md", f"{stem}.ipynb"):
            if (DOCS / source).exists():
                return source + (f"#{anchor}" if anchor else "")
        return target
    if "://" in target or target.startswith(("#", "mailto:")):
        return target
    path, _, anchor = target.partition("#")
    absolute = (included_dir / path).resolve()
    try:
        repo_path = absolute.relative_to(PROJECT).as_posix()
    except ValueError:
        return target
    if image:
        return os.path.relpath(absolute, DOCS)
    page = site_target(repo_path)
    if page is not None:
        return page + (f"#{anchor}" if anchor else "")
    kind = "tree" if absolute.is_dir() else "blob"
    return f"https://github.com/{REPO}/{kind}/main/{repo_path}" + (f"#{anchor}" if anchor else "")


def rewrite_included_links(app, relative_path: Path, parent_docname: str, content: list[str]) -> None:
    """include-read: README's and BENCHMARKS' links, made to work on the site (pages including them sit at the top)."""
    included_dir = (Path(app.srcdir) / relative_path).parent
    content[0] = LINK.sub(
        lambda m: f"{m[1]}[{m[2]}]({map_link(m[3], included_dir, image=bool(m[1]))})", content[0]
    )


def videos_as_files(app, doctree, docname: str) -> None:
    """doctree-resolved: each base64 mp4 in an HTML output becomes a file of the site, loaded on demand."""
    out = Path(app.outdir) / "_videos"
    prefix = "../" * docname.count("/")
    for raw in list(doctree.findall(nodes.raw)):
        html = raw.astext()
        if "data:video/mp4;base64," not in html:
            continue

        def to_file(match: re.Match) -> str:
            data = base64.b64decode(match[1])
            name = hashlib.sha1(data).hexdigest()[:16] + ".mp4"
            out.mkdir(parents=True, exist_ok=True)
            (out / name).write_bytes(data)
            return f'src="{prefix}_videos/{name}"'

        html = DATA_VIDEO.sub(to_file, html)
        html = re.sub(r"<video\b([^>]*)>", lambda m: "<video" + _on_demand(m[1]) + ">", html)
        raw.replace_self(nodes.raw("", html, format="html", classes=raw.get("classes", [])))


def _on_demand(attributes: str) -> str:
    """A <video>'s attributes without autoplay and with preload="metadata" (a page loads a video when played)."""
    attributes = re.sub(r'\s(autoplay|preload(="[^"]*")?)(?=[\s>]|$)', "", attributes)
    return f'{attributes} preload="metadata"'


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
RECORDED_PAGE = "recorded_slider"


def drop_widget_state(app, doctree) -> None:
    """doctree-read: MyST-NB keeps a notebook's widget state to embed in its page (env.nb_metadata); a page without a
    kernel cannot use it."""
    getattr(app.env, "nb_metadata", {}).get(app.env.docname, {}).get("js_files", {}).pop("ipywidgets_state", None)


def widgets_as_links(app, doctree, docname: str) -> None:
    """doctree-resolved: each live widget output becomes a pointer to the recorded stand-in."""
    link = app.builder.get_relative_uri(docname, RECORDED_PAGE)
    for raw in list(doctree.findall(nodes.raw)):
        if WIDGET_VIEW in raw.astext():
            raw.replace_self(nodes.raw("", (
                '<div class="admonition note live-widget"><p>A live widget was here: it needs a running notebook '
                f'(a Python kernel). On this site, <a href="{link}">the slider, recorded</a> shows episodes run '
                "at its targets when the site was built.</p></div>"), format="html"))


def setup(app):
    app.connect("config-inited", copy_notebooks)
    app.connect("config-inited", write_api_pages)
    app.connect("include-read", rewrite_included_links)
    app.add_directive("markdown", Markdown)
    app.connect("autodoc-process-docstring", docstrings_as_markdown)
    app.connect("doctree-read", drop_widget_state)
    app.connect("doctree-resolved", widgets_as_links)
    app.connect("doctree-resolved", videos_as_files)
    return {"parallel_read_safe": False, "parallel_write_safe": True}

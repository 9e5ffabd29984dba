"""What every tutorial notebook must keep (no kernel, fast): the Colab badge and install cell built from
`dt_tutorial.notebook.REPO` and `RELEASE` (the README's Colab link too), the versions cell, one parameters cell
holding the single FAST switch, no outputs, and a jupytext `.py` twin in sync with the `.ipynb`. Each failure
names the notebook and the rule it broke."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from dt_tutorial.notebook import RELEASE, REPO, colab_url, install_urls

jupytext = pytest.importorskip("jupytext", reason="pip install -e '.[test]' (jupytext) to check the notebook pairs")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
FAST_LINE = 'FAST = os.environ.get("DT_TUTORIAL_FAST") == "1"'


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def code_cells(nb) -> list[str]:
    return [cell.source for cell in nb.cells if cell.cell_type == "code"]


def install_cell(nb) -> str:
    return code_cells(nb)[0]


def test_the_five_notebooks_are_there():
    assert [p.name for p in PATHS] == [
        "01_load_the_dataset.ipynb",
        "02_preprocessing_and_collator.ipynb",
        "03_train.ipynb",
        "04_watch_it_run.ipynb",
        "05_dt_vs_behaviour_cloning.ipynb",
    ]


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_colab_badge_links_to_this_notebook(path):
    first = read(path).cells[0]
    badge = f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab_url(path.name)})"
    assert first.cell_type == "markdown" and first.source.startswith(badge), (
        f"{path.name}: the first cell must start with the Colab badge linking to {colab_url(path.name)}"
    )


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_install_cell_then_versions_cell(path):
    cells = code_cells(read(path))
    script, source = install_urls()
    assert '"google.colab" in sys.modules' in cells[0] and f'urlretrieve("{script}", "colab_install.py")' in cells[0] \
        and f'install("{source}")' in cells[0], (
        f"{path.name}: the first code cell must be the Colab-only install cell: download {script} and install {source}"
    )
    assert "show_versions()" in cells[1], f"{path.name}: the second code cell must call show_versions()"


def test_install_cell_names_only_the_release():
    """No other repository, branch or tag: what the badge opens is what the cell installs."""
    cell = install_cell(read(PATHS[0]))
    urls = re.findall(r'"((?:git\+)?https://[^"]+)"', cell)
    assert urls == list(install_urls()), f"the install cell should name exactly {install_urls()}, found {urls}"
    assert (ROOT / "dt_tutorial" / "colab_install.py").exists(), "the script the install cell downloads is missing"


def test_readme_links_the_release_on_colab():
    readme = (ROOT / "README.md").read_text()
    assert colab_url(PATHS[0].name) in readme and f"github.com/{REPO}" in readme and RELEASE in readme, (
        f"README.md must link {colab_url(PATHS[0].name)} and name github.com/{REPO} and {RELEASE}"
    )


def test_install_cells_are_identical():
    first, *others = PATHS
    for path in others:
        assert install_cell(read(path)) == install_cell(read(first)), (
            f"{path.name}: its install cell differs from {first.name}'s; keep them identical"
        )


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_one_parameters_cell_with_the_single_fast_switch(path):
    nb = read(path)
    headed = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "markdown" and cell.source.startswith("## Parameters")]
    assert len(headed) == 1, f"{path.name}: needs exactly one '## Parameters' markdown cell, found {len(headed)}"
    parameters = nb.cells[headed[0] + 1]
    assert parameters.cell_type == "code" and FAST_LINE in parameters.source, (
        f"{path.name}: the cell after '## Parameters' must define `{FAST_LINE}`"
    )
    readers = [i for i, source in enumerate(code_cells(nb)) if "DT_TUTORIAL_FAST" in source]
    assert len(readers) == 1, f"{path.name}: DT_TUTORIAL_FAST must be read in the parameters cell only (code cells {readers})"
    assert sum(line.startswith("FAST =") for source in code_cells(nb) for line in source.splitlines()) == 1, (
        f"{path.name}: FAST must be assigned once, in the parameters cell"
    )


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_names_the_python3_kernel(path):
    """Without a kernelspec, JupyterLab asks which kernel to start instead of starting one (and Colab guesses)."""
    kernel = read(path).metadata.get("kernelspec", {})
    assert kernel.get("name") == "python3", f"{path.name}: metadata.kernelspec must name the python3 kernel, found {kernel or 'none'}"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_outputs_are_stripped(path):
    for i, cell in enumerate(read(path).cells):
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, (
                f"{path.name}: code cell {i} has outputs or an execution count; clear all outputs before committing"
            )


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_text_twin_in_sync(path):
    twin = path.with_suffix(".py")
    assert twin.exists(), f"{path.name}: its jupytext twin {twin.name} is missing; run `jupytext --sync notebooks/*.ipynb`"
    ipynb = [(cell.cell_type, cell.source) for cell in jupytext.read(path).cells]
    text = [(cell.cell_type, cell.source) for cell in jupytext.read(twin, fmt="py:percent").cells]
    for i, (a, b) in enumerate(zip(ipynb, text)):
        assert a == b, f"{path.name}: cell {i} differs from {twin.name}; run `jupytext --sync notebooks/*.ipynb`"
    assert len(ipynb) == len(text), f"{path.name}: {len(ipynb)} cells but {twin.name} has {len(text)}; run `jupytext --sync`"


def test_pairing_is_configured_in_the_repo():
    config = jupytext.config.load_jupytext_config(str(NOTEBOOKS))
    assert config is not None and "py:percent" in str(config.formats), "jupytext.toml must pair notebooks with py:percent twins"


BLOG_LINE = "BLOG_SETTINGS = blog_settings()"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_one_switch_for_the_blogs_settings_read_the_same_way(path):
    nb = read(path)
    headed = next(i for i, cell in enumerate(nb.cells) if cell.cell_type == "markdown" and cell.source.startswith("## Parameters"))
    assert BLOG_LINE in nb.cells[headed + 1].source, f"{path.name}: the parameters cell must set `{BLOG_LINE}`"
    setters = [source for source in code_cells(nb) for line in source.splitlines() if line.startswith("BLOG_SETTINGS =")]
    assert len(setters) == 1, f"{path.name}: BLOG_SETTINGS must be set once, in the parameters cell"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_one_versions_call(path):
    calls = sum(source.count("show_versions()") for source in code_cells(read(path)))
    assert calls == 1, f"{path.name}: show_versions() is called {calls} times; once, in the versions cell"


@pytest.mark.parametrize("path", PATHS[:-1], ids=lambda p: p.stem)
def test_each_notebook_links_to_the_next(path):
    following = PATHS[PATHS.index(path) + 1].name
    text = "\n".join(cell.source for cell in read(path).cells if cell.cell_type == "markdown")
    assert f"]({following})" in text, f"{path.name}: link to the next notebook, {following}"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_ends_with_exercises_that_have_checks_and_solutions(path):
    text = "\n".join(cell.source for cell in read(path).cells if cell.cell_type == "markdown")
    exercises = text.split("## Exercises", 1)
    assert len(exercises) == 2, f"{path.name}: needs an '## Exercises' section"
    body = exercises[1]
    checks = body.count("*You should see")
    assert 2 <= checks <= 3, f"{path.name}: 2-3 exercises, each with a '*You should see ...*' check (found {checks})"
    assert "<details><summary>Solutions</summary>" in body and "```python" in body, f"{path.name}: folded solutions with code"

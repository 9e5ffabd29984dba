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

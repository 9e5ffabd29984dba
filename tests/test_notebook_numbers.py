"""Every number the notebooks' text quotes is traceable (no kernel, fast).

Results belong in outputs: a notebook prints what it measured, it does not type it into its text. So a number in
a markdown cell must be one of:
- a small count (an integer up to 10: "step 3", "notebook 4");
- a value the notebook's own code writes (a literal in a code cell or in a solution's code block: a setting such
  as `K = 20`, a target such as 12000);
- a constant of the package (dt_tutorial/*.py: a preset's learning rate, the D4RL reference returns);
- a measured result cited from BENCHMARKS.md: the markdown cell names BENCHMARKS.md and the number is there.
A number that is none of these (a result typed from an old run, a claim without a source) fails, with the
notebook, the cell and the number named."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
# 12,000 / 0.92 / 1e-4 / 120; not digits inside words or identifiers (v5, GPT-2's "2" is a small count anyway).
NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?(?:e-?\d+)?)(?![\w])")
# Not quoted numbers: link targets, comments, citations ("Chen et al., 2021"), inline code that pins or assigns (`gym==0.21`).
HIDDEN = re.compile(r"\(https?://[^)]*\)|<!--.*?-->|https?://\S+|et al\., \d{4}|`[^`\n]*=[^`\n]*`", re.S)
FENCED = re.compile(r"```python\n(.*?)```", re.S)


def numbers(text: str) -> set[float]:
    return {float(match.replace(",", "")) for match in NUMBER.findall(text)}


def package_numbers() -> set[float]:
    return set().union(*(numbers(path.read_text()) for path in (ROOT / "dt_tutorial").rglob("*.py")))


BENCHMARK_NUMBERS = numbers((ROOT / "BENCHMARKS.md").read_text().replace("\u202f", "").replace("\u2009", ""))
PACKAGE_NUMBERS = package_numbers()


def test_the_number_pattern():
    assert numbers("1,920 steps at 1e-4, rho 0.92-0.99, HalfCheetah-v5, 12,000 → 11,326") == {1920, 1e-4, 0.92, 0.99, 12000, 11326}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_markdown_numbers_are_traceable(path):
    nb = nbformat.read(path, as_version=4)
    markdown = [cell.source for cell in nb.cells if cell.cell_type == "markdown"]
    code = "\n".join([cell.source for cell in nb.cells if cell.cell_type == "code"] +
                     [block for text in markdown for block in FENCED.findall(text)])
    written = numbers(code)
    unsupported = []
    for i, text in enumerate(markdown):
        prose = HIDDEN.sub("", FENCED.sub("", text))
        cited = "BENCHMARKS.md" in prose
        for value in numbers(prose):
            small = value <= 10 and value == int(value)
            if not (small or value in written or value in PACKAGE_NUMBERS or (cited and value in BENCHMARK_NUMBERS)):
                unsupported.append(f"markdown cell {i}: {value:g}" + ("" if cited else " (the cell cites no BENCHMARKS.md)"))
    assert not unsupported, (
        f"{path.name} quotes numbers that no code cell writes and no cited BENCHMARKS.md row holds; print them from "
        "code, or cite BENCHMARKS.md in that cell:\n  " + "\n  ".join(unsupported)
    )

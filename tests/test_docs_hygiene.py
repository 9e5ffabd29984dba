"""The project speaks of the project alone: its docs and results hold no dated headings, ticket numbers or absolute
paths of the machine they were written on, and every link into BENCHMARKS.md lands on a heading."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"

# A heading named after when the work happened: a date, a time of day, a month and day, a work session.
DATED = re.compile(
    r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}:\d{2}\b|\b\d{1,2}h\d{2}\b"
    r"|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.? \d{1,2}\b"
    r"|\b(?:first|second|third|fourth|this|last|previous|next|earlier|later)\s+session\b|\b(?:morning|afternoon|evening)\b",
    re.IGNORECASE,
)
# An internal ticket: "issue 12", "issues 9 and 12", "PR 3", "#12" (not "nbclient#312", a colour "#333333" or an anchor).
TICKET = re.compile(r"""\b(?:issues?|tickets?|PRs?|pull requests?)\s+#?\d+|(?<![\w/.&#'"-])#\d{1,5}\b""", re.IGNORECASE)
# A path of the machine a file was written on (system paths like /usr/bin are allowed in docs).
MACHINE_PATH = re.compile(r"(?<![\w.~$-])/(?:work|root|home|tmp|Users|mnt|opt)/|\b[A-Z]:\\(?:Users|work)\\")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def doc_files() -> list[Path]:
    files = [ROOT / name for name in ("README.md", "BENCHMARKS.md", "CONTRIBUTING.md")]
    files += sorted(p for p in (ROOT / "docs").rglob("*") if p.is_file() and "_build" not in p.parts
                    and p.suffix in {".md", ".rst", ".py", ".txt", ".ipynb", ".html", ".toml", ".yml", ".yaml"})
    files += sorted(p for p in (ROOT / "notebooks").iterdir() if p.suffix in {".md", ".py", ".ipynb"})
    return [p for p in files if p.exists()]


def result_files() -> list[Path]:
    return sorted(p for p in RESULTS.rglob("*") if p.is_file())


def markdown_of(path: Path) -> str:
    """The markdown a reader sees: a notebook's markdown cells, a jupytext twin's markdown comments, or the file."""
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        return "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown")
    if path.suffix == ".py" and path.parent.name == "notebooks":
        blocks = re.findall(r"^# %% \[markdown\][^\n]*\n((?:#[^\n]*\n?)*)", path.read_text(encoding="utf-8"), re.MULTILINE)
        return "\n".join(re.sub(r"^# ?", "", line) for block in blocks for line in block.splitlines())
    return path.read_text(encoding="utf-8") if path.suffix == ".md" else ""


def headings(markdown: str) -> list[str]:
    """Markdown headings outside fenced code blocks."""
    found, fenced = [], False
    for line in markdown.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        elif not fenced and (match := HEADING.match(line)):
            found.append(match.group(2))
    return found


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: its text, lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "")  # a link's text, code as text
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    seen: dict[str, int] = {}
    result = set()
    for heading in headings(markdown):
        slug = github_slug(heading)
        result.add(slug if slug not in seen else f"{slug}-{seen[slug]}")
        seen[slug] = seen.get(slug, 0) + 1
    return result


def test_the_patterns_catch_what_they_are_for():
    assert DATED.search("Third session of 2026-11-27") and DATED.search("Runs at 10:39") and DATED.search("Nov 27 runs")
    assert DATED.search("This session's re-measurement") and DATED.search("Holding the expert (evening)")
    assert not DATED.search("Evaluation") and not DATED.search("GPU budget: 100,000 steps")
    assert not DATED.search("Restart the session after installing") and not DATED.search("What you build today")
    for text in ("(issue 12)", "issues 9 and 12", "see #12", "PR 3"):
        assert TICKET.search(text), text
    for text in ("jupyter/nbclient#312", "color '#1f77b4'", 'color="#333333"', "[Steering](BENCHMARKS.md#steering)", "&#8203;", "issue a warning"):
        assert not TICKET.search(text), text
    for text in ('"/work/wt/_exp4/bc"', "at /home/me/x", "'/tmp/pytest-of-root/x'", "C:\\Users\\me"):
        assert MACHINE_PATH.search(text), text
    for text in ("~/.cache/dt_tutorial", "$HOME/x", "outputs/tmp/x", "../../tmp/x", "/usr/bin/chromium", "dt_tutorial/collator.py"):
        assert not MACHINE_PATH.search(text), text
    assert github_slug("Peers: d3rlpy") == "peers-d3rlpy"
    assert github_slug("The default demo: `python -m dt_tutorial demo`") == "the-default-demo-python--m-dt_tutorial-demo"
    assert anchors("# A\n```\n# not a heading\n```\n## A\n") == {"a", "a-1"}


@pytest.mark.parametrize("path", doc_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_docs_have_no_dated_headings_tickets_or_machine_paths(path):
    text = path.read_text(encoding="utf-8")
    dated = [h for h in headings(markdown_of(path)) if DATED.search(h)]
    assert not dated, f"{path.name}: headings named after when the work happened: {dated}"
    assert not TICKET.findall(text), f"{path.name}: internal ticket numbers: {TICKET.findall(text)}"
    assert not MACHINE_PATH.findall(text), f"{path.name}: absolute paths of a machine: {MACHINE_PATH.findall(text)}"


def test_results_files_hold_no_machine_paths_or_tickets():
    for path in result_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        where = path.relative_to(ROOT)
        assert not MACHINE_PATH.findall(text), f"{where}: absolute paths of a machine: {MACHINE_PATH.findall(text)}"
        assert not TICKET.findall(text), f"{where}: internal ticket numbers: {TICKET.findall(text)}"
        if path.suffix == ".json":
            strings = re.findall(r'"((?:[^"\\]|\\.)*)"', text)
            assert not [s for s in strings if os.path.isabs(s)], f"{where}: absolute paths"


def test_every_link_into_benchmarks_lands_on_a_heading():
    benchmarks = (ROOT / "BENCHMARKS.md").read_text(encoding="utf-8")
    targets = anchors(benchmarks)
    links = [(path, link) for path in doc_files() for link in LINK.findall(markdown_of(path))]
    into = [(path.name, link.split("#", 1)[1]) for path, link in links
            if link.split("#", 1)[0].endswith("BENCHMARKS.md") and "#" in link]
    into += [("BENCHMARKS.md", link[1:]) for link in LINK.findall(benchmarks) if link.startswith("#")]
    assert any(name == "README.md" for name, _ in into), "README links to no BENCHMARKS section"
    broken = [(name, anchor) for name, anchor in into if anchor not in targets]
    assert not broken, f"links to no heading of BENCHMARKS.md: {broken}; its anchors: {sorted(targets)}"


def test_benchmarks_links_to_files_that_exist():
    links = LINK.findall((ROOT / "BENCHMARKS.md").read_text(encoding="utf-8"))
    files = [link.split("#", 1)[0] for link in links if not link.startswith(("#", "http://", "https://"))]
    assert files and not [f for f in files if not (ROOT / f).exists()]
    named = re.findall(r"`(benchmarks/results/[^`*]+?)`", (ROOT / "BENCHMARKS.md").read_text(encoding="utf-8"))
    missing = [name for name in named if not (ROOT / name).exists()]
    assert named and not missing, f"results named in BENCHMARKS.md that are not in the repository: {missing}"


def test_every_named_benchmarks_section_exists():
    """Prose and comments name sections as BENCHMARKS.md, "Steering": each name must be (part of) a heading."""
    names = headings((ROOT / "BENCHMARKS.md").read_text(encoding="utf-8"))
    sources = doc_files() + sorted((ROOT / "dt_tutorial").rglob("*.py")) + sorted((ROOT / "benchmarks").glob("*.py"))
    cited = [(path.name, name) for path in sources
             for name in re.findall(r'BENCHMARKS\.md,?\s*(?:#\s*)?["“]([^"”\n]+)["”]', path.read_text(encoding="utf-8"))]
    assert cited
    missing = [(file, name) for file, name in cited if not any(name.lower() in heading.lower() for heading in names)]
    assert not missing, f"sections named that BENCHMARKS.md has no heading for: {missing}"

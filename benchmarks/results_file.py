"""Results files: JSON with every path written relative to the repository, never as an absolute path of the machine."""

from __future__ import annotations

import json
import os
from pathlib import Path, PurePath

REPOSITORY = Path(__file__).resolve().parents[1]


def repository_relative(path: str | os.PathLike) -> str:
    """`path` relative to the repository, in '/' form ('outputs/bc'); a path outside it: its name alone."""
    path = Path(path)
    if not path.is_absolute():
        return path.as_posix()
    try:
        return path.resolve().relative_to(REPOSITORY).as_posix()
    except ValueError:  # outside the repository: the machine's folders stay out of the results
        return path.name


def portable(value):
    """`value` (JSON-able, Paths allowed) with every absolute path, a Path or a string, made repository-relative."""
    if isinstance(value, dict):
        return {key: portable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [portable(item) for item in value]
    if isinstance(value, PurePath) or (isinstance(value, str) and os.path.isabs(value)):
        return repository_relative(value)
    return value


def write_results(path: str | os.PathLike, results, indent: int | None = 1) -> Path:
    """Write `results` as JSON to `path` (folders made), paths repository-relative; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(portable(results), indent=indent))
    return path

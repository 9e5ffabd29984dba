"""Targeted filters for library messages that say nothing useful to a learner (all other warnings still show)."""

from __future__ import annotations

import contextlib
import logging

# transformers' Trainer always sorts checkpoints by mtime (`use_mtime=True` is hard-coded in `_save_checkpoint`)
# and logs this when two checkpoints were written within a second, as every short run does: the fallback it
# announces (sorting by step number) is exactly right for us, so the line is noise.
_NOISE = {"transformers.trainer_utils": ("mtime may not be reliable on this filesystem",),
          # `datasets` logs an unreadable parquet file before raising; our one-line error says it already.
          "datasets.packaged_modules.parquet.parquet": ("Failed to read schema",)}


class DropMessages(logging.Filter):
    """Drops log records whose message starts with one of `prefixes`."""

    def __init__(self, prefixes: tuple[str, ...]):
        super().__init__()
        self.prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(self.prefixes)


def silence_library_noise() -> None:
    """Installs the filters once (idempotent) on the loggers that emit the known-noise lines."""
    for logger_name, prefixes in _NOISE.items():
        logger = logging.getLogger(logger_name)
        if not any(isinstance(f, DropMessages) for f in logger.filters):
            logger.addFilter(DropMessages(prefixes))


@contextlib.contextmanager
def datasets_progress(enabled: bool):
    """`datasets`' own progress bars (e.g. "Saving the dataset") turned off inside the block unless `enabled`, as
    `--no-progress` asks; with `enabled` they stay as they are."""
    import datasets

    if enabled or datasets.are_progress_bars_disabled():
        yield
        return
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        datasets.enable_progress_bars()


@contextlib.contextmanager
def progress_bars(enabled: bool):
    """`--no-progress` for the libraries too: unless `enabled`, no progress bars of `transformers` (loading and
    writing weights) or `datasets` inside the block."""
    import transformers

    was_on = transformers.utils.logging.is_progress_bar_enabled()
    if not enabled:
        transformers.utils.logging.disable_progress_bar()
    try:
        with datasets_progress(enabled):
            yield
    finally:
        if was_on:
            transformers.utils.logging.enable_progress_bar()

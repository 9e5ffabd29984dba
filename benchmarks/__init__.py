"""Benchmarks of dt_tutorial against the HF blog's own pipeline; results in BENCHMARKS.md.

- `tutorial`: the blog's collator, TrainableDT, Trainer setup and evaluation loop (the baselines).
- `synthetic`: hub-schema episodes built from Arrow arrays, cached on disk.
- `speed`: collator, training (each pipeline in its own process: `training`), evaluation, rendering.
- `quality`: slow learning-quality runs (expert data, mixed-quality data, the demo preset).
- `machine`: CPU, cores, load, versions, date.
- `results_file`: results as JSON with repository-relative paths.
Run `python -m benchmarks --help`.
"""

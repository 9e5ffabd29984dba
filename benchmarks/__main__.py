"""`python -m benchmarks`: speed against the tutorial's pipeline; `--quality` for the learning-quality runs.

    python -m benchmarks                 # the speed table of BENCHMARKS.md (several minutes)
    python -m benchmarks --quick         # smaller sizes, a few minutes on 2 cores
    python -m benchmarks --only training --profile
    python -m benchmarks --peer d3rlpy --peer-steps 200   # d3rlpy's DecisionTransformer, its own venv (made once)
    python -m benchmarks --bc bundled-expert,bundled --preset demo   # DT vs BC vs 10%BC (benchmarks/bc.py)
    python -m benchmarks --quality expert,mixed,demo --preset demo --max-steps 3000 --out outputs/quality.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.machine import format_machine, machine_info
from benchmarks.results_file import write_results


def _csv(kind, choices=None):
    def parse(text: str):
        items = [kind(item) for item in text.split(",") if item]
        if choices and not set(items) <= set(choices):
            raise argparse.ArgumentTypeError(f"choose from {', '.join(choices)}")
        return tuple(items)

    return parse


def build_parser() -> argparse.ArgumentParser:
    from benchmarks.quality import ACTION_SCALES, MIXED_TARGETS, NOISE_LEVELS, PART_DEFAULTS, PARTS
    from benchmarks.speed import SECTIONS

    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    speed = parser.add_argument_group("speed")
    speed.add_argument("--quick", action="store_true", help="smaller sizes (fewer batches and steps, 200-step evaluation)")
    speed.add_argument("--only", type=_csv(str, SECTIONS), default=SECTIONS, help=f"comma-separated sections: {','.join(SECTIONS)}")
    speed.add_argument("--profile", action="store_true", help="also print cProfile's top entries for each measured pipeline")
    speed.add_argument("--json", type=Path, help="write the raw results and machine info here")
    peer = parser.add_argument_group("peer library")
    peer.add_argument("--peer", choices=["d3rlpy"], help="instead: time d3rlpy's DecisionTransformer with matched settings")
    peer.add_argument("--peer-dataset", default="bundled-expert", help="episodes for the peer (default bundled-expert)")
    peer.add_argument("--peer-steps", type=int, default=200, help="the peer's optimizer steps (its cosine schedule spans them)")
    peer.add_argument("--peer-rounds", type=int, default=2, help="interleaved rounds of d3rlpy then ours (best of each is compared)")
    peer.add_argument("--peer-eval-max-steps", type=int, default=1000, help="cap on the peer's evaluation episode length")
    peer.add_argument("--peer-dropout", type=float, default=0.1, help="both models' dropout (0.1: the tutorial's; 0: the demo preset's)")
    baseline = parser.add_argument_group("behaviour cloning (slow: trains models; uses --preset, --max-steps, --eval-*)")
    baseline.add_argument("--bc", type=_csv(str), help="instead: DT vs BC vs 10%%BC on these datasets, e.g. bundled-expert,bundled")
    baseline.add_argument("--bc-targets", type=_csv(float), help="target returns (default 3000,6000,9000,12000)")
    baseline.add_argument("--bc-out", type=Path, default=Path("outputs/benchmarks/bc"), help="runs, bc.json and the plot")
    quality = parser.add_argument_group("learning quality (slow: trains models)")
    quality.add_argument("--quality", nargs="?", const=PARTS, type=_csv(str, PARTS), help=f"run these parts instead: {','.join(PARTS)} (default all)")
    quality.add_argument("--preset", choices=["tutorial", "demo", "tiny"], help="training preset for every part (default: per part)")
    quality.add_argument("--max-steps", type=int, help="optimizer steps, overriding the preset's")
    quality.add_argument("--data-episodes", type=int, help="dataset episodes (default: " + ", ".join(f"{part} {episodes}" for part, (_, episodes) in PART_DEFAULTS.items()) + ")")
    quality.add_argument("--eval-episodes", type=int, default=10)
    quality.add_argument("--eval-max-steps", type=int, help="cap on evaluation episode length (default 1000)")
    quality.add_argument("--targets", type=_csv(float), default=MIXED_TARGETS, help="mixed part's target returns")
    quality.add_argument("--noise-levels", type=_csv(float), default=NOISE_LEVELS,
                         help="mixed part's action-noise levels (used with --action-scales none)")
    quality.add_argument("--action-scales", type=lambda text: None if text == "none" else _csv(float)(text), default=ACTION_SCALES,
                         help="mixed part's quality levels as scales of the expert's actions, or 'none' for --noise-levels")
    quality.add_argument("--seed", type=int, default=0)
    quality.add_argument("--runs", type=Path, default=Path("outputs/benchmarks/quality"), help="where the trained runs are saved")
    quality.add_argument("--out", type=Path, default=Path("outputs/benchmarks/quality.json"), help="results JSON")
    return parser


def main(argv=None) -> None:
    args = build_parser().parse_args(argv)
    if args.peer:
        from benchmarks.peer import compare_with_peer, format_comparison

        machine = machine_info()
        print(format_machine(machine))
        result = compare_with_peer(args.peer_dataset, args.peer_steps, args.eval_episodes, args.peer_eval_max_steps, args.peer_rounds,
                                   dropout=args.peer_dropout)
        print(format_comparison(result) + f"\nload average before {machine['load_average']}, after {machine_info()['load_average']}")
        if args.json:
            write_results(args.json, {"machine": machine, "peer": result})
        return
    if args.bc:
        from benchmarks.bc import BCSettings, run_bc

        overrides = {"preset": args.preset, "targets": args.bc_targets}
        run_bc(args.bc, BCSettings(**{k: v for k, v in overrides.items() if v}, max_steps=args.max_steps,
                                   eval_episodes=args.eval_episodes, eval_max_steps=args.eval_max_steps, output_dir=args.bc_out))
        return
    if args.quality:
        from benchmarks.quality import QualitySettings, run_quality

        settings = QualitySettings(
            preset=args.preset, max_steps=args.max_steps, data_episodes=args.data_episodes, eval_episodes=args.eval_episodes,
            eval_max_steps=args.eval_max_steps, targets=args.targets, noise_levels=args.noise_levels, action_scales=args.action_scales, seed=args.seed,
            output_dir=args.runs,
        )
        run_quality(args.quality, settings, args.out)
        print(f"results: {args.out}")
        return
    from benchmarks.speed import FULL, QUICK, format_table, run_speed, table_rows

    sizes = QUICK if args.quick else FULL
    machine = machine_info()
    print(format_machine(machine))
    results = run_speed(sizes, args.only, profile=args.profile)
    machine_after = machine_info()
    print(f"\n{'quick' if args.quick else 'full'} run; load average before {machine['load_average']}, after {machine_after['load_average']}")
    print(format_table(table_rows(results)))
    if args.json:
        write_results(args.json, {"machine": machine, "load_average_after": machine_after["load_average"],
                                  "quick": args.quick, "results": results})


if __name__ == "__main__":
    main()

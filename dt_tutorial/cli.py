"""`python -m dt_tutorial {train,evaluate,demo,collect}`: the tutorial from the command line."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

from dt_tutorial.defaults import ATTENTIONS, DEVICES, PRECISION, PRECISIONS, PRESET_NAMES, TARGET_RETURN
from dt_tutorial.errors import UserError
from dt_tutorial.quiet import progress_bars

# The demo's achieved-vs-target sweep (with --target added) and the side-by-side video targets.mp4.
DEMO_TARGETS = (1500, 3000, 4500, 6000, 7500, 9000, 10500, 12000)
DEMO_VIDEO_TARGETS = (2000, 6000, 12000)


class _Parser(argparse.ArgumentParser):
    """Argument mistakes as one line, `error: ...`, like every other user error (exit status 2)."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def _is_main_process() -> bool:
    """False on the other ranks of a torchrun / accelerate launch: they train but stay quiet."""
    return int(os.environ.get("RANK", "0")) == 0


def _add_training_args(p: argparse.ArgumentParser, preset: str) -> None:
    p.add_argument("--dataset", default="bundled", help="'bundled' (multi-skill, offline), 'bundled-expert', a hub config like halfcheetah-expert-v2, "
                   "minari:<dataset id> (e.g. minari:mujoco/halfcheetah/expert-v0; needs the [minari] extra), or a local path")
    p.add_argument("--preset", default=preset, choices=PRESET_NAMES, help=f"training settings to start from (default {preset})")
    p.add_argument("--epochs", type=_finite_float, help="passes over the episodes (tutorial: 120)")
    p.add_argument("--max-steps", type=_positive_int, help="optimizer steps; overrides --epochs")
    p.add_argument("--save-steps", type=_positive_int, help="checkpoint every this many steps, for --resume")
    p.add_argument("--batch-size", type=_positive_int)
    p.add_argument("--lr", type=_finite_float, dest="learning_rate", help="peak learning rate")
    p.add_argument("--scheduler", dest="lr_scheduler", help="transformers scheduler: linear, cosine, constant_with_warmup, ...")
    p.add_argument("--warmup-ratio", type=_finite_float)
    p.add_argument("--weight-decay", type=_finite_float)
    p.add_argument("--context-length", type=_positive_int, help="K, steps per window (tutorial: 20)")
    p.add_argument("--dropout", type=_finite_float, help="dropout in the transformer (tutorial: 0.1, demo: 0)")
    p.add_argument("--return-pace", action=argparse.BooleanOptionalAction, default=None,
                   help="feed the return-to-go as a pace, the rate still needed (demo), or as the paper's sum (--no-return-pace, tutorial)")
    p.add_argument("--seed", type=int)
    p.add_argument("--device", choices=DEVICES)
    p.add_argument("--precision", choices=PRECISIONS,
                   help="auto: bf16 where the CPU/GPU has it, fp16 on older CUDA GPUs, else fp32")
    p.add_argument("--attention", choices=ATTENTIONS,
                   help="auto: eager on a CPU (its fused sdpa kernel trains this short sequence slower), the model's default (sdpa) on GPUs")
    p.add_argument("--compile", choices=["default", "reduce-overhead"],
                   help="torch.compile the model (reduce-overhead: also CUDA graphs); pays off on GPUs, after a minute of compiling")
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint in --output (same data and settings)")
    p.add_argument("--overwrite", action="store_true", help="replace the model and checkpoints already in --output")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m dt_tutorial",
        description="Train your first Decision Transformer: train on offline RL data, evaluate in gymnasium, render the video.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("train", help="train a Decision Transformer with the 🤗 Trainer and save the run")
    _add_training_args(p, preset="tutorial")
    p.add_argument("--output", default="runs/dt", help="run folder: model, config with normalisation stats, loss history, plot")

    p = sub.add_parser("evaluate", help="run a saved model in its env: returns, D4RL score, optional video")
    p.add_argument("--model", required=True, help="a run folder saved by train, or a hub model id (e.g. edbeeching/decision-transformer-gym-halfcheetah-expert)")
    p.add_argument("--stats-from", help="dataset to compute a plain DecisionTransformerModel checkpoint's state mean/std from "
                   "(as --dataset; default for the hub's edbeeching checkpoints: the dataset they were trained on)")
    p.add_argument("--target", type=_finite_float, default=TARGET_RETURN, help=f"target return to condition on (default {TARGET_RETURN:.0f})")
    p.add_argument("--episodes", type=_positive_int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--env", help="gymnasium env id; default: the one saved with the model")
    p.add_argument("--max-steps", type=_positive_int, help="cap on episode length (default: the env's limit)")
    p.add_argument("--video", help="also render one episode to this .mp4 or .gif")
    p.add_argument("--device", default=None, help="torch device for the model (default: cpu)")
    p.add_argument("--precision", choices=PRECISIONS, default=PRECISION,
                   help="compute precision of the model's forward passes (auto: bf16 where the CPU/GPU has it)")
    p.add_argument("--no-progress", action="store_true")

    p = sub.add_parser("demo", help="the whole tutorial in one go: train on bundled data, evaluate, write video and plots")
    _add_training_args(p, preset="demo")
    p.add_argument("--output", default="outputs/demo", help="folder for the model, video, plots and results")
    p.add_argument("--target", type=_finite_float, default=TARGET_RETURN, help=f"target return of the evaluation (default {TARGET_RETURN:.0f})")
    p.add_argument("--episodes", type=_positive_int, default=10, help="evaluation episodes")
    p.add_argument("--eval-steps", type=_positive_int, help="cap on evaluation episode length (default: the env's limit)")
    p.add_argument("--video-steps", type=_positive_int, default=400, help="steps of the rendered episode (20 per second of video)")

    p = sub.add_parser("collect", help="roll out a policy in gymnasium and save an offline dataset")
    p.add_argument("--policy", default="tqc", help="a shipped HalfCheetah agent (tqc = expert, sac, ppo, ars, a2c, trpo), "
                   "an exported .npz actor, or an SB3 SAC/TQC/PPO/A2C/TRPO/ARS .zip (its .vecnormalize.pkl beside it is used)")
    p.add_argument("--env", default="HalfCheetah-v5")
    p.add_argument("--episodes", type=_positive_int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--noise", type=_finite_float, default=0.0, help="std of Gaussian noise added to actions")
    p.add_argument("--deterministic", action="store_true", help="use the actor's mean action")
    p.add_argument("--output", required=True, help="folder to save_to_disk the dataset to")
    p.add_argument("--overwrite", action="store_true", help="replace what --output already holds (never a model)")
    p.add_argument("--no-progress", action="store_true")
    return parser


def _train_config(args):
    from dt_tutorial.train import get_config

    names = ("epochs", "max_steps", "save_steps", "batch_size", "learning_rate", "lr_scheduler", "warmup_ratio", "weight_decay",
             "context_length", "dropout", "return_pace", "seed", "device", "precision", "attention", "compile")
    overrides = {n: getattr(args, n) for n in names if getattr(args, n) is not None}
    if args.epochs is not None and args.max_steps is None:
        overrides["max_steps"] = -1  # an explicit epoch count wins over a preset's step budget
    return get_config(args.preset, **overrides)


def _train(args):
    from dt_tutorial.run_folder import check_output, run_lock

    config = _train_config(args)
    output = Path(args.output)
    check_output(output, overwrite=args.overwrite, resume=args.resume)
    with run_lock(output, enabled=_is_main_process()):  # held from here: a second training stops at once
        return _train_into(args, config, output)


def _train_into(args, config, output: Path):
    from dt_tutorial.data import Trajectories
    from dt_tutorial.sources import load_episodes, source_name
    from dt_tutorial.plots import plot_loss
    from dt_tutorial.train import steps_per_epoch, train

    data = Trajectories.from_dataset(load_episodes(args.dataset, progress=not args.no_progress), name=source_name(args.dataset))
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    epoch = steps_per_epoch(data.n_episodes, config.batch_size, world_size)
    steps = config.max_steps if config.max_steps > 0 else math.ceil(config.epochs * epoch)
    main_process = _is_main_process()
    if main_process:
        print(f"{data.name}: {data.n_episodes} episodes, {data.n_steps} steps, returns {data.episode_returns.min():.0f}"
              f"..{data.episode_returns.max():.0f}; training {steps} steps (preset {args.preset}"
              + (f", {world_size} processes × batch {config.batch_size})" if world_size > 1 else ")"))
    start = time.perf_counter()
    result = train(data, config, output, resume=args.resume, overwrite=args.overwrite,
                   progress=not args.no_progress and main_process)
    if main_process:
        plot_loss(result.history, output / "loss.png", title=f"training loss ({data.name})")
        print(f"trained in {time.perf_counter() - start:.0f} s; saved to {output}")
    return result


def _evaluate(args):
    from dt_tutorial.checks import check_targets
    from dt_tutorial.model import load_model
    from dt_tutorial.rollout import evaluate
    from dt_tutorial.video import check_video_path, record_video

    if args.video:
        check_video_path(args.video)
    model = load_model(args.model, stats_from=args.stats_from)
    args.target = check_targets([args.target], model.config)[0]
    result = evaluate(model, args.env, args.target, args.episodes, args.seed, max_steps=args.max_steps, device=args.device,
                      precision=args.precision,
                      progress=not args.no_progress)
    print(result.summary())
    print("returns:", " ".join(f"{r:.0f}" for r in result.returns))
    if args.video:
        video = record_video(model, args.video, args.target, args.seed, env_id=args.env, max_steps=args.max_steps,
                             device=args.device, precision=args.precision, progress=not args.no_progress)
        print(f"video: {args.video} (return {video.returns[0]:.0f} over {video.lengths[0]} steps)")


def _demo(args):
    from dt_tutorial.model import dataset_return_quantiles
    from dt_tutorial.plots import plot_return_conditioning
    from dt_tutorial.rollout import conditioning_summary, return_conditioning
    from dt_tutorial.video import record_targets_video, write_video

    output = Path(args.output)
    args.output = output / "model"
    start = phase_start = time.perf_counter()
    phases = {}  # seconds per phase, for results.json and the benchmarks

    def end_phase(name):
        nonlocal phase_start
        phases[name], phase_start = round(time.perf_counter() - phase_start, 1), time.perf_counter()

    trained = _train(args)
    model = trained.model.eval()
    end_phase("data_and_training")
    phases["training"] = round(trained.history[-1]["train_runtime"], 1)  # the Trainer's own clock
    phases["data_and_setup"] = round(phases.pop("data_and_training") - phases["training"], 1)
    # One batch: every target of the sweep (and --target) x --episodes episodes, the same start states for each.
    targets = sorted(set(DEMO_TARGETS) | {args.target})
    precision = args.precision or PRECISION  # the training's choice, for the sweep and the videos alike
    curve = return_conditioning(model, targets, n_episodes=args.episodes, max_steps=args.eval_steps, precision=precision,
                                progress=not args.no_progress)
    result = curve[targets.index(args.target)]
    print(result.summary())
    print("returns:", " ".join(f"{r:.0f}" for r in result.returns))
    data_returns = dataset_return_quantiles(model.config)
    conditioning = conditioning_summary(curve, data_returns)
    for r in curve:
        print(f"  target {r.target_return:>6.0f} -> achieved {r.mean_return:>6.0f} ± {r.returns.std():.0f}")
    print(f"Spearman rho (all episodes) {conditioning['spearman_rho']:.3f}")
    plot_return_conditioning(curve, data_returns, output / "return_conditioning.png")
    end_phase("evaluation_and_sweep")
    # One batch renders every panel of the side-by-side video, --target's too: its episode is also cheetah.mp4.
    video_targets = sorted(set(DEMO_VIDEO_TARGETS) | {args.target})
    side_by_side = record_targets_video(model, video_targets, output / "targets.mp4", max_steps=args.video_steps,
                                        precision=precision, progress=not args.no_progress)
    video = side_by_side[video_targets.index(args.target)]
    write_video(video.frames, output / "cheetah.mp4")
    end_phase("video")
    summary = {
        "target_return": args.target,
        "returns": result.returns.tolist(),
        "mean_return": result.mean_return,
        "d4rl_score": result.mean_score,
        "return_conditioning": conditioning,
        "video_return": float(video.returns[0]),
        "targets_video_returns": {str(r.target_return): float(r.returns[0]) for r in side_by_side},
        "seconds": round(time.perf_counter() - start, 1),
        "phase_seconds": phases,
    }
    (output / "results.json").write_text(json.dumps(summary, indent=1))
    print(f"done in {summary['seconds']:.0f} s: {output}/cheetah.mp4, targets.mp4, loss.png (in model/), return_conditioning.png, results.json")


def _collect(args):
    from dt_tutorial.sources.collect import collect_episodes
    from dt_tutorial.data import Trajectories
    from dt_tutorial.sources.policies import load_policy
    from dt_tutorial.checks import check_writable
    from dt_tutorial.run_folder import holds_a_model

    check_writable(args.output, folder=True)
    if holds_a_model(args.output):
        raise UserError(f"{args.output} holds a model: collect into another --output (the model would be mixed with data)")
    if not args.overwrite and Path(args.output).is_dir() and any(Path(args.output).iterdir()):
        raise UserError(f"{args.output} is not empty (a dataset collected before?): add --overwrite to replace it, or collect into another --output")
    policy = load_policy(args.policy, deterministic=args.deterministic, seed=args.seed)
    episodes = collect_episodes(policy, args.env, args.episodes, seed=args.seed, action_noise=args.noise, progress=not args.no_progress)
    episodes.save_to_disk(args.output)  # no progress bar with --no-progress: main's progress_bars
    returns = Trajectories.from_dataset(episodes, args.output).episode_returns
    print(f"saved {len(episodes)} episodes to {args.output}; returns {returns.mean():.0f} ± {returns.std():.0f}")


COMMANDS = {"train": _train, "evaluate": _evaluate, "demo": _demo, "collect": _collect}


def _close_process_group() -> None:
    """End a torchrun / accelerate launch's process group once every rank is done: left to the interpreter's exit,
    its threads sometimes aborted a rank ("terminate called without an active exception") after the work was saved."""
    distributed = sys.modules.get("torch.distributed")
    if distributed is not None and distributed.is_available() and distributed.is_initialized():
        distributed.barrier()
        distributed.destroy_process_group()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with progress_bars(not args.no_progress):
            COMMANDS[args.command](args)
        _close_process_group()
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0

"""Train a `TrainableDT` with the 🤗 `Trainer` and the vectorised collator.

`TrainConfig` holds every knob with the tutorial's values as defaults; `PRESETS` names three:
`tutorial` (the blog's exact settings), `demo` (chosen by measurement to make the cheetah run
after a few CPU minutes, see BENCHMARKS.md) and `tiny` (tests and the notebooks' fast mode).
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path

import torch
import transformers
from transformers import Trainer, TrainerCallback, TrainingArguments
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from dt_tutorial.collator import DecisionTransformerGymDataCollator
from dt_tutorial.data import Trajectories
from dt_tutorial.defaults import ATTENTIONS, COMPILE_MODES, CONTEXT_LENGTH, DEVICES, MAX_EP_LEN, PRECISION, RETURN_SCALE
from dt_tutorial.errors import UserError
from dt_tutorial.model import TrainableDT, make_config
from dt_tutorial.precision import resolve_precision
from dt_tutorial.quiet import silence_library_noise
from dt_tutorial.run_folder import check_checkpoint, check_output, check_resumable, clear, run_lock, run_record, write_record
from dt_tutorial import speed  # the speed layer's one door

HISTORY_FILE = "loss_history.json"
COLLATOR_RNG_FILE = "collator_rng-rank{rank}.json"  # one per process, in each checkpoint


@dataclass
class TrainConfig:
    """Training settings; defaults are the tutorial's."""

    epochs: float = 120
    """Passes over the episodes: one epoch = ceil(n_episodes / batch_size) optimizer steps, as in the tutorial."""
    max_steps: int = -1
    """If > 0, the number of optimizer steps (overrides `epochs`)."""
    batch_size: int = 64
    """Windows per optimizer step (per process under torchrun/accelerate)."""
    learning_rate: float = 1e-4
    weight_decay: float = 1e-4
    warmup_ratio: float = 0.1
    """Fraction of the steps with a linear warm-up (transformers 5 takes it as a float `warmup_steps`)."""
    lr_scheduler: str = "linear"
    """transformers scheduler name after warm-up: 'linear' decays to 0, 'constant_with_warmup' keeps the rate."""
    optim: str = "adamw_torch"
    """transformers optimizer name; on a CUDA GPU 'adamw_torch' runs as 'adamw_torch_fused' (the same update in one kernel)."""
    max_grad_norm: float = 0.25
    context_length: int = CONTEXT_LENGTH
    """K: time steps per window (the tutorial's `max_len`)."""
    scale: float = RETURN_SCALE
    """Returns-to-go are divided by this."""
    max_ep_len: int = MAX_EP_LEN
    """Timestep embeddings cover 0..max_ep_len-1; later steps are clipped."""
    return_pace: bool = False
    """Feed the return-to-go as a pace, RTG_t * H / (H - t) with H = max_ep_len (`model.return_pace`), instead of as a
    sum: the same number at t = 0, then the whole-episode return at the rate still needed. A difference from the
    paper, which makes the model follow the target (BENCHMARKS.md, "Steering")."""
    hidden_size: int = 128
    n_layer: int = 3
    n_head: int = 1
    dropout: float = 0.1
    seed: int = 42
    device: str = DEVICES[0]
    """'auto' (GPU if there is one), 'cpu', 'cuda' or 'mps'."""
    precision: str = PRECISION
    """'auto' (bf16 where the hardware has it, fp16 on older CUDA GPUs, else fp32), 'fp32', 'bf16' or 'fp16'."""
    attention: str = ATTENTIONS[0]
    """How the model computes attention in training: 'eager' (matmul, softmax, matmul), 'sdpa' (torch's fused
    kernel) or 'auto': eager on a CPU, where the fused kernel's backward is slow at this short sequence (60 tokens:
    1.06-1.43x more steps/s in bf16 on a 2-core EPYC, BENCHMARKS.md), the model's default elsewhere (sdpa, or eager with
    a transformers older than about 5.2x, which has no sdpa for this model). The same computation either way."""
    compile: str | None = None
    """A `torch.compile` mode for the model ('default'; 'reduce-overhead' adds CUDA graphs), or None: run eagerly.
    On a GPU the tiny model's step is bound by Python and kernel launches, which compiling cuts (BENCHMARKS.md);
    compiling itself takes a minute or so."""
    logging_steps: int = 50
    save_steps: int = 500
    """Checkpoint every this many steps (the last 2 are kept) so `resume=True` can continue."""


PRESETS = {
    "tutorial": TrainConfig(),
    # Chosen by measurement (BENCHMARKS.md): on the 1,000 bundled expert episodes, 3,000 steps at a 10x higher
    # peak rate with cosine decay made the cheetah run in 10/10 episodes (D4RL score 97.7), where the
    # tutorial's lr 1e-4 over 1,920 steps did not. On the multi-skill data, the return-to-go fed as a pace and no
    # dropout made it follow the target (Spearman rho 0.92-0.99 over 7 trainings, against 0.70-0.84 without);
    # the rest is the tutorial's.
    "demo": TrainConfig(max_steps=3000, learning_rate=1e-3, lr_scheduler="cosine", return_pace=True, dropout=0.0),
    "tiny": TrainConfig(max_steps=20, batch_size=16, hidden_size=32, n_layer=1, logging_steps=5, save_steps=10, return_pace=True,
                        dropout=0.0),
}


def get_config(preset: str = "tutorial", **overrides) -> TrainConfig:
    """A preset's config with some fields replaced, e.g. `get_config('demo', max_steps=500)`."""
    if preset not in PRESETS:
        raise UserError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    unknown = set(overrides) - {f.name for f in dataclasses.fields(TrainConfig)}
    if unknown:
        raise UserError(f"unknown training setting(s) {', '.join(sorted(unknown))}")
    config = dataclasses.replace(PRESETS[preset], **overrides)
    check_config(config)
    return config


def check_config(config: TrainConfig) -> None:
    """Raise a one-line UserError for settings that would fail (or silently misbehave) deep inside training."""
    from transformers.trainer_utils import SchedulerType

    numbers = ("epochs", "learning_rate", "warmup_ratio", "weight_decay", "max_grad_norm", "scale", "dropout")
    problems = [
        (not all(math.isfinite(getattr(config, n)) for n in numbers), f"{', '.join(numbers)} must be finite numbers"),
        (config.device not in DEVICES, f"device must be one of {', '.join(DEVICES)}, not {config.device!r}"),
        (config.device == "cuda" and not torch.cuda.is_available(), "device 'cuda' asked for but torch sees no CUDA GPU; use --device cpu or auto"),
        (config.device == "mps" and not torch.backends.mps.is_available(), "device 'mps' asked for but this torch has no Apple GPU; use --device cpu or auto"),
        (config.max_steps <= 0 and config.epochs <= 0, "give a positive number of epochs or max_steps"),
        (not config.learning_rate > 0, f"the learning rate must be positive, got {config.learning_rate}"),
        (not 0 <= config.warmup_ratio < 1, f"the warm-up ratio must be in [0, 1), got {config.warmup_ratio}"),
        (not config.weight_decay >= 0, f"weight decay must be >= 0, got {config.weight_decay}"),
        (not config.max_grad_norm > 0, f"max_grad_norm must be positive, got {config.max_grad_norm}"),
        (config.batch_size < 1 or config.context_length < 1, "batch size and context length must be at least 1"),
        (config.lr_scheduler not in {s.value for s in SchedulerType},
         f"unknown scheduler {config.lr_scheduler!r}; e.g. linear, cosine, constant_with_warmup"),
        (not config.scale > 0, f"the return scale must be positive, got {config.scale}"),
        (not 0 <= config.dropout < 1, f"dropout must be in [0, 1), got {config.dropout}"),
        (config.attention not in ATTENTIONS, f"attention must be one of {', '.join(ATTENTIONS)}, not {config.attention!r}"),
        (config.attention == "sdpa" and not TrainableDT._supports_sdpa,
         f"transformers {transformers.__version__} has no sdpa attention for the Decision Transformer (newer versions do); "
         "use attention auto or eager"),
        (config.compile not in COMPILE_MODES, f"compile must be one of {', '.join(map(str, COMPILE_MODES))}, not {config.compile!r}"),
    ]
    for failed, message in problems:
        if failed:
            raise UserError(message)
    resolve_precision(config.precision, training_device(config))


def training_attention(config: TrainConfig) -> str | None:
    """The attention implementation `config.attention` picks for its training device: 'eager', 'sdpa', or None for
    the model's default (sdpa where the installed transformers has it for the Decision Transformer, else eager)."""
    if config.attention != "auto":
        return config.attention
    return "eager" if training_device(config) == "cpu" else None


def training_device(config: TrainConfig) -> str:
    """The device type the Trainer will use for `config.device` ('auto': cuda, else mps, else cpu)."""
    if config.device != "auto":
        return config.device
    return "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"


class EpisodeIndexDataset(torch.utils.data.Dataset):
    """What the `Trainer` iterates: cheap rows, one per episode, so an epoch has the tutorial's length.

    The collator ignores the rows and samples windows itself, so nothing heavy is fetched."""

    def __init__(self, n_rows: int):
        self.n_rows = n_rows

    def __len__(self) -> int:
        return self.n_rows

    def __getitem__(self, index: int) -> int:
        return index


class _ResumableCollator(DecisionTransformerGymDataCollator):
    """The collator, remembering its random state before each of the last few batches it drew.

    The Trainer's data loader fetches one batch ahead, so when the checkpoint after step N is saved
    the collator has usually drawn batch N + 1 already: the checkpoint must hold the state from before."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.n_batches = 0  # batches drawn so far
        self._states_before: dict[int, dict] = {}  # batch index -> rng state before drawing it (the last few)

    def __call__(self, features):
        self._states_before[self.n_batches] = self.rng.bit_generator.state
        self._states_before.pop(self.n_batches - 4, None)
        self.n_batches += 1
        return super().__call__(features)

    def state_before(self, n_batches: int) -> dict:
        """The rng state after the first `n_batches` batches."""
        return self.rng.bit_generator.state if n_batches == self.n_batches else self._states_before[n_batches]


def _rng_file(checkpoint: str | Path, process_index: int) -> Path:
    return Path(checkpoint) / COLLATOR_RNG_FILE.format(rank=process_index)


def last_complete_checkpoint(output_dir: str | Path, world_size: int = 1) -> Path | None:
    """The newest checkpoint-N folder that every one of `world_size` ranks saved to the end, or None.

    A run killed while saving leaves a partial folder; each rank's collator state (written last) marks
    its part complete, so a checkpoint lacking any rank's file is skipped."""
    folders = [c for c in Path(output_dir).glob(f"{PREFIX_CHECKPOINT_DIR}-*") if c.name.rsplit("-", 1)[1].isdigit()]
    checkpoints = sorted(folders, key=_checkpoint_step, reverse=True)
    complete = (
        c for c in checkpoints
        if (c / "trainer_state.json").exists() and all(_rng_file(c, rank).exists() for rank in range(world_size))
    )
    return next(complete, None)


def _checkpoint_step(checkpoint: Path) -> int:
    return int(checkpoint.name.rsplit("-", 1)[1])


class _CollatorRngCheckpoint(TrainerCallback):
    """Saves each rank's collator random state with each checkpoint, so a resumed run draws the same batches."""

    def __init__(self, collator: _ResumableCollator):
        self.collator = collator

    def on_save(self, args, state, control, **kwargs):
        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if folder.exists():
            n_batches = state.global_step * args.gradient_accumulation_steps
            _rng_file(folder, args.process_index).write_text(json.dumps(self.collator.state_before(n_batches)))


@dataclass
class TrainResult:
    model: TrainableDT
    trainer: Trainer
    history: list[dict]
    output_dir: Path


def steps_per_epoch(n_episodes: int, batch_size: int, world_size: int = 1) -> int:
    return math.ceil(math.ceil(n_episodes / world_size) / batch_size)


def make_trainer(trajectories: Trajectories, config: TrainConfig, output_dir: str | Path, *, progress: bool = True,
                 model: torch.nn.Module | None = None, full_batches: bool = False) -> Trainer:
    """The `Trainer`, model and collator for `trajectories`, with `config`'s settings.

    `model` replaces the `TrainableDT` built from `config` (the BC baseline trains this way, see `bc.py`).
    `full_batches`: every batch has `config.batch_size` windows, and an epoch has one row per window of
    `context_length` steps in the data (each step seen about once), not one per episode: 100 episodes would
    otherwise make every step an epoch, with the Trainer's few milliseconds of bookkeeping each. Otherwise, as
    in the blog, a batch has as many windows as the rows the `Trainer` hands over: one per episode, so never more
    than there are episodes."""
    check_config(config)
    silence_library_noise()
    device = training_device(config)
    precision = resolve_precision(config.precision, device)
    args = TrainingArguments(
        output_dir=str(output_dir),
        remove_unused_columns=False,  # the collator builds the batch; keep the Trainer from dropping "columns"
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        per_device_train_batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        weight_decay=config.weight_decay,
        warmup_steps=config.warmup_ratio,  # transformers 5: a float in [0, 1) is the warm-up ratio
        lr_scheduler_type=config.lr_scheduler,
        optim="adamw_torch_fused" if config.optim == "adamw_torch" and device == "cuda" else config.optim,
        max_grad_norm=config.max_grad_norm,
        logging_steps=config.logging_steps,
        logging_first_step=True,
        logging_nan_inf_filter=False,  # its per-step isnan(loss) check is a GPU->host sync every step; a NaN loss shows in the log
        save_steps=config.save_steps,
        save_total_limit=2,
        seed=config.seed,
        use_cpu=device == "cpu",  # also what lets accelerate autocast bf16 on a CPU
        bf16=precision == "bf16",  # autocast via accelerate; weights and optimizer stay fp32
        fp16=precision == "fp16",  # CUDA autocast + dynamic loss scaling
        report_to="none",
        disable_tqdm=not progress,
        dataloader_num_workers=0,
        dataloader_pin_memory=device == "cuda",  # pinning only helps copies to a CUDA GPU; elsewhere torch warns about it
        torch_compile=config.compile is not None,
        torch_compile_mode=config.compile,
    )
    # Per-process seed: under torchrun/accelerate each rank draws different windows.
    collator = _ResumableCollator(
        trajectories, max_len=config.context_length, scale=config.scale, max_ep_len=config.max_ep_len,
        seed=config.seed + args.process_index,
        # compiled: one shape (no smaller last batch per epoch); full_batches: as many windows as asked for
        batch_size=config.batch_size if config.compile or full_batches else None,
    )
    torch.manual_seed(config.seed)
    if model is None:
        model = TrainableDT(
            make_config(
                trajectories,
                context_length=config.context_length,
                scale=config.scale,
                max_ep_len=config.max_ep_len,
                return_pace=config.return_pace,
                hidden_size=config.hidden_size,
                n_layer=config.n_layer,
                n_head=config.n_head,
                resid_pdrop=config.dropout,
                embd_pdrop=config.dropout,
                attn_pdrop=config.dropout,
            )
        )
    attention = training_attention(config)
    if isinstance(model, TrainableDT) and attention:
        model.set_attn_implementation(attention)  # not saved: a loaded model starts with the default
    rows = max(trajectories.n_episodes, trajectories.n_steps // config.context_length) if full_batches else trajectories.n_episodes
    trainer = Trainer(model=speed.for_training(model), args=args, train_dataset=EpisodeIndexDataset(rows), data_collator=collator)
    trainer.add_callback(_CollatorRngCheckpoint(collator))
    return trainer


def train(
    data: Trajectories,
    config: TrainConfig | None = None,
    output_dir: str | Path = "runs/dt",
    *,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    model: torch.nn.Module | None = None,
    full_batches: bool = False,
) -> TrainResult:
    """Train, save the model (with its normalisation stats) and the loss history to `output_dir`.

    A folder that already holds a model is trained into only with `overwrite=True` (its model and checkpoints are
    replaced) or `resume=True` (continue its last checkpoint, with the same data and settings: `run_folder`).
    `model`: train this policy instead of a `TrainableDT` built from `config` (e.g. `bc.BCPolicy`); `full_batches`:
    see `make_trainer`."""
    config = config or TrainConfig()
    output_dir = Path(output_dir)
    check_output(output_dir, overwrite=overwrite, resume=resume)
    trainer = make_trainer(data, config, output_dir, progress=progress, model=model, full_batches=full_batches)
    with run_lock(output_dir, enabled=trainer.args.process_index == 0):
        check_output(output_dir, overwrite=overwrite, resume=resume)  # again, now that no other training can write
        record = run_record(data, config, trainer.model)
        checkpoint = last_complete_checkpoint(output_dir, trainer.args.world_size) if resume else None
        if resume and checkpoint is None:
            raise UserError(
                f"--resume: no complete checkpoint-* folder in {output_dir} to resume from"
                + (f" (one needs the collator state of all {trainer.args.world_size} processes)" if trainer.args.world_size > 1 else "")
            )
        if checkpoint:
            check_resumable(output_dir, record)
            check_checkpoint(checkpoint)
            collator = trainer.data_collator  # each rank resumes its own batches: its file must be there (never skipped)
            collator.rng.bit_generator.state = json.loads(_rng_file(checkpoint, trainer.args.process_index).read_text())
            collator.n_batches = _checkpoint_step(checkpoint) * trainer.args.gradient_accumulation_steps
        elif trainer.is_world_process_zero():
            if overwrite:
                clear(output_dir)
            write_record(output_dir, record)
        trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
        history = save_run(trainer, config, output_dir)
    return TrainResult(model=trainer.model, trainer=trainer, history=history, output_dir=output_dir)


def save_run(trainer: Trainer, config: TrainConfig, output_dir: str | Path) -> list[dict]:
    """Save a trained `Trainer`'s model (its config.json carries the data stats), its loss history and `config`
    to `output_dir`, as `train` does; returns the history. `notebook.load_or_train` reads these files back."""
    output_dir = Path(output_dir)
    trainer.save_model(str(output_dir))
    history = [entry for entry in trainer.state.log_history if "loss" in entry or "train_runtime" in entry]
    if trainer.is_world_process_zero():
        (output_dir / HISTORY_FILE).write_text(json.dumps(history, indent=1))
        (output_dir / "train_config.json").write_text(json.dumps(dataclasses.asdict(config), indent=1))
    return history


"""precision.py and its use in training: which format each device gets, and real tiny Trainer runs in it."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from _helpers import cheetah_model, cheetah_run  # noqa: F401 (fixtures)
from conftest import raises_one_line

from dt_tutorial import precision
from dt_tutorial.model import load_model
from dt_tutorial.precision import autocast, resolve_precision
from dt_tutorial.rollout import evaluate
from dt_tutorial.train import get_config, make_trainer, train

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
native_bf16_cpu = pytest.mark.skipif(not precision.cpu_has_native_bf16(), reason="this CPU has no native bf16")


@pytest.fixture
def cpu_bf16(monkeypatch):
    """Pretend the CPU has (True) or lacks (False) native bf16: the detection reads the hardware."""

    def set_to(value: bool):
        monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: value)

    return set_to


@pytest.mark.parametrize("native, expected", [(True, "bf16"), (False, "fp32")])
def test_auto_on_cpu_is_bf16_only_with_native_support(cpu_bf16, native, expected):
    cpu_bf16(native)
    assert resolve_precision("auto", "cpu") == expected
    assert resolve_precision("fp32", "cpu") == "fp32"


def test_cpu_detection_reads_the_bf16_flags():
    flags = open("/proc/cpuinfo").read().split()
    assert precision.cpu_has_native_bf16() == bool({"avx512_bf16", "amx_bf16"} & set(flags) or "bf16" in flags)


@pytest.mark.parametrize(
    "requested, device, native, message",
    [("fp16", "cpu", True, "fp16 needs a CUDA GPU"), ("bf16", "cpu", False, "no native bf16"),
     ("bf16", "mps", True, "no native bf16"), ("half", "cpu", True, "precision must be one of")],
)
def test_impossible_choices_fail_in_one_line(cpu_bf16, requested, device, native, message):
    cpu_bf16(native)
    with raises_one_line(message):
        resolve_precision(requested, device)


def test_config_checks_the_precision_before_training(cpu_bf16):
    cpu_bf16(False)
    with raises_one_line("no native bf16"):
        get_config("tiny", device="cpu", precision="bf16")


def test_autocast_computes_in_the_chosen_format():
    layer = torch.nn.Linear(4, 4)
    x = torch.ones(2, 4)
    with autocast("bf16", "cpu"):
        assert layer(x).dtype == torch.bfloat16
    with autocast("fp32", "cpu"):
        assert layer(x).dtype == torch.float32


@native_bf16_cpu
def test_bf16_training_autocasts_and_saves_fp32_weights(halfcheetah, tmp_path):
    trainer = make_trainer(halfcheetah, get_config("tiny", device="cpu", precision="bf16"), tmp_path)
    seen = set()  # dtypes of the first attention block's output during training
    trainer.model.encoder.h[0].attn.c_proj.register_forward_hook(lambda module, args, out: seen.add(out.dtype))
    trainer.train()
    trainer.save_model(str(tmp_path))
    assert seen == {torch.bfloat16}
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    assert losses and all(map(math.isfinite, losses))
    assert {p.dtype for p in load_model(tmp_path).parameters()} == {torch.float32}


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=cuda)])
def test_pinned_memory_only_when_training_on_cuda(halfcheetah, tmp_path, device):
    trainer = make_trainer(halfcheetah, get_config("tiny", device=device, precision="fp32"), tmp_path)
    assert trainer.args.dataloader_pin_memory == (device == "cuda")


@cuda
def test_fp16_on_cuda_trains_with_loss_scaling(halfcheetah, tmp_path):
    config = get_config("tiny", device="cuda", precision="fp16", save_steps=1000)
    result = train(halfcheetah, config, tmp_path, progress=False)
    assert result.trainer.accelerator.scaler is not None  # dynamic loss scaling
    assert all(math.isfinite(h["loss"]) for h in result.history if "loss" in h)
    assert {p.dtype for p in load_model(tmp_path).parameters()} == {torch.float32}


@cuda
def test_cuda_auto_precision_matches_the_gpu():
    assert resolve_precision("auto", "cuda") == ("bf16" if torch.cuda.is_bf16_supported() else "fp16")


@cuda
def test_rollout_runs_the_model_on_its_cuda_device(cheetah_model):
    model = cheetah_model.to("cuda")
    devices = set()
    model.embed_state.register_forward_pre_hook(lambda module, args: devices.update(a.device.type for a in args))
    result = evaluate(model, target_return=3000.0, n_episodes=2, max_steps=30, progress=False)
    assert len(result.returns) == 2 and devices == {"cuda"}


@pytest.mark.parametrize("device, mode", [
    ("cpu", "default"),
    pytest.param("cuda", "reduce-overhead", marks=cuda),
])
def test_compiled_training_follows_the_eager_losses(halfcheetah, tmp_path, device, mode):
    """`compile=` trains through torch.compile (with CUDA graphs on the GPU): same data, seed and no dropout give the
    eager run's losses up to rounding; the saved model loads as a plain fp32 model."""
    settings = dict(device=device, precision="fp32", dropout=0.0, max_steps=12, logging_steps=1, save_steps=1000)
    compiled = make_trainer(halfcheetah, get_config("tiny", compile=mode, **settings), tmp_path)
    assert compiled.args.torch_compile_mode == mode
    assert compiled.data_collator.batch_size == 16  # every batch full (3 episodes: the epoch's batch has 3 rows)
    eager = make_trainer(halfcheetah, get_config("tiny", **settings), tmp_path / "eager")
    eager.data_collator.batch_size = 16  # the same batches
    compiled.train()
    eager.train()
    np.testing.assert_allclose(losses(compiled), losses(eager), rtol=2e-3)
    assert losses(eager)[-1] < losses(eager)[0]
    compiled.save_model(str(tmp_path))
    assert {p.dtype for p in load_model(tmp_path).parameters()} == {torch.float32}


def losses(trainer) -> list[float]:
    return [h["loss"] for h in trainer.state.log_history if "loss" in h]

"""train.py: short real `Trainer` runs (tiny preset) on the small collected datasets."""

from __future__ import annotations

import json
import math
import os

import pytest

from conftest import raises_one_line

from dt_tutorial.model import TrainableDT
from dt_tutorial.train import get_config, make_trainer, train, training_attention


def losses(history: list[dict]) -> list[float]:
    return [entry["loss"] for entry in history if "loss" in entry]


def test_training_lowers_the_loss(halfcheetah, tmp_path):
    config = get_config(
        "tiny", max_steps=40, context_length=10, learning_rate=3e-3, lr_scheduler="constant_with_warmup",
        logging_steps=5, save_steps=1000, device="cpu",
    )
    result = train(halfcheetah, config, tmp_path, progress=False)
    curve = losses(result.history)
    assert len(curve) == 9  # step 1, then every 5 steps
    assert curve[-1] < 0.6 * curve[0]
    assert json.loads((tmp_path / "loss_history.json").read_text()) == result.history
    assert (tmp_path / "config.json").exists()


@pytest.mark.parametrize("epochs", [1, 2])
def test_an_epoch_is_one_pass_over_the_episodes(hopper, tmp_path, epochs):
    config = get_config("tiny", max_steps=-1, epochs=epochs, batch_size=32, context_length=10, save_steps=1000, device="cpu")
    trainer = make_trainer(hopper, config, tmp_path, progress=False)
    assert len(trainer.train_dataset) == hopper.n_episodes == 40  # cheap rows: one per episode, not the episode table
    assert trainer.train_dataset[3] == 3
    trainer.train()
    assert trainer.state.max_steps == trainer.state.global_step == epochs * math.ceil(40 / 32)


def test_same_seed_same_loss_history(hopper, tmp_path):
    def run(seed: int, name: str) -> list[float]:
        config = get_config(
            "tiny", max_steps=5, batch_size=8, context_length=10, logging_steps=1, save_steps=1000, seed=seed, device="cpu"
        )
        return losses(train(hopper, config, tmp_path / name, progress=False).history)

    first = run(0, "a")
    assert len(first) == 5
    assert run(0, "b") == first
    assert run(1, "c") != first


@pytest.mark.parametrize(
    "override, message",
    [
        ({"learning_rate": -1.0}, "learning rate must be positive"),
        ({"warmup_ratio": 1.5}, "warm-up ratio"),
        ({"weight_decay": -0.1}, "weight decay"),
        ({"dropout": 1.0}, "dropout must be in"),
        ({"max_grad_norm": 0.0}, "max_grad_norm"),
        ({"lr_scheduler": "sideways"}, "unknown scheduler 'sideways'"),
        ({"device": "tpu"}, "device must be"),
        ({"epochs": 0, "max_steps": -1}, "positive number of epochs"),
        ({"scale": 0.0}, "return scale"),
        ({"attention": "flash"}, "attention must be one of auto, eager, sdpa"),
    ],
)
def test_bad_training_settings_fail_before_training(override, message):
    with raises_one_line(message):
        get_config("tiny", **override)


def test_auto_attention_is_eager_on_a_cpu_and_the_models_default_elsewhere():
    import dataclasses

    assert training_attention(get_config("tiny", device="cpu")) == "eager"
    on_gpu = dataclasses.replace(get_config("tiny", device="cpu"), device="cuda")  # no CUDA needed to ask
    assert training_attention(on_gpu) is None
    assert training_attention(dataclasses.replace(on_gpu, attention="eager")) == "eager"


def test_sdpa_asked_of_a_transformers_without_it_fails_in_one_line(monkeypatch):
    """transformers 5.17 (still in some images) has no sdpa for the Decision Transformer: say so before training."""
    monkeypatch.setattr(TrainableDT, "_supports_sdpa", False)
    with raises_one_line("has no sdpa attention for the Decision Transformer"):
        get_config("tiny", attention="sdpa")
    assert get_config("tiny", attention="auto").attention == "auto"


@pytest.mark.skipif(not TrainableDT._supports_sdpa, reason="this transformers has no sdpa for the Decision Transformer")
def test_cpu_training_uses_eager_attention_and_sdpa_computes_the_same(halfcheetah, tmp_path):
    import torch

    def first_step(attention: str):
        config = get_config("tiny", max_steps=1, batch_size=8, context_length=10, device="cpu", precision="fp32", attention=attention)
        trainer = make_trainer(halfcheetah, config, tmp_path / attention, progress=False)
        batch = trainer.data_collator(list(range(8)))
        loss = trainer.model(**batch)["loss"]
        loss.backward()
        return trainer.model.config._attn_implementation, loss.item(), [p.grad for p in trainer.model.parameters() if p.grad is not None]

    chosen, loss, grads = first_step("auto")
    assert chosen == "eager"
    sdpa, sdpa_loss, sdpa_grads = first_step("sdpa")
    assert sdpa == "sdpa"
    assert sdpa_loss == pytest.approx(loss, rel=1e-5)
    assert len(grads) == len(sdpa_grads) > 10
    assert all(torch.allclose(a, b, rtol=1e-4, atol=1e-6) for a, b in zip(grads, sdpa_grads))


def test_training_prints_no_checkpoint_mtime_noise(halfcheetah, tmp_path, capfd, caplog):
    """Two checkpoints a fraction of a second apart made transformers log "mtime may not be reliable ..."."""
    import transformers.utils.logging as hf_logging
    from transformers.trainer_utils import sort_checkpoints

    hf_logging.warning_once.cache_clear()  # a warning logged earlier in this session would otherwise stay silent
    train(halfcheetah, get_config("tiny", max_steps=4, save_steps=1, device="cpu"), tmp_path, progress=False)
    checkpoints = list(tmp_path.glob("checkpoint-*"))
    assert len(checkpoints) == 2  # rotation ran (save_total_limit=2)
    for checkpoint in checkpoints:  # same mtime, as a loaded machine may not produce by itself: the line is certain
        os.utime(checkpoint, (1e9, 1e9))
    hf_logging.warning_once.cache_clear()
    assert sort_checkpoints(str(tmp_path), use_mtime=True) == sorted(map(str, checkpoints))
    logged = capfd.readouterr().err + "".join(record.getMessage() for record in caplog.records)
    assert "mtime may not be reliable" not in logged  # stderr (with -s) or pytest's log capture (without)

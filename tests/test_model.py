"""model.py: the tutorial's masked loss, and what inference needs surviving save -> load_model."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from conftest import raises_one_line
from dt_tutorial.collator import DecisionTransformerGymDataCollator
from dt_tutorial.errors import UserError
from dt_tutorial.model import TrainableDT, conditioned, load_model, make_config, return_pace, state_normalisation

K = 10


@pytest.fixture
def model(hopper) -> TrainableDT:
    torch.manual_seed(0)
    config = make_config(hopper, context_length=K, scale=100.0, max_ep_len=64, hidden_size=32, n_layer=1, n_head=1)
    return TrainableDT(config).eval()


@pytest.fixture
def batch(hopper) -> dict[str, torch.Tensor]:
    """Windows of short Hopper episodes: many are left-padded."""
    batch = DecisionTransformerGymDataCollator(hopper, max_len=K, scale=100.0, max_ep_len=64, seed=0)(range(32))
    assert (batch["attention_mask"] == 0).any()
    return batch


def test_config_carries_the_data_normalisation_and_provenance(model, hopper):
    config = model.config
    np.testing.assert_array_equal(state_normalisation(config)[0], hopper.state_mean)
    np.testing.assert_array_equal(state_normalisation(config)[1], hopper.state_std)
    assert (config.scale, config.context_length, config.max_ep_len) == (100.0, K, 64)
    assert (config.env_id, config.dataset_name) == ("Hopper-v5", "hopper-test")
    assert config.dataset_return_range == [hopper.episode_returns.min(), hopper.episode_returns.max()]
    assert (config.state_dim, config.act_dim) == (11, 3)


def test_loss_is_the_tutorials_masked_action_mse(model, batch):
    with torch.no_grad():
        loss = model(**batch)["loss"]
        action_preds = model.original_forward(**batch).action_preds  # [B, K, act_dim]
    # The tutorial: keep the real steps with boolean indexing, then the mean squared error.
    real = batch["attention_mask"].reshape(-1) > 0
    preds = action_preds.reshape(-1, 3)[real]
    targets = batch["actions"].reshape(-1, 3)[real]
    torch.testing.assert_close(loss, torch.mean((preds - targets) ** 2), rtol=1e-6, atol=1e-7)


def test_loss_under_cpu_bf16_autocast_is_finite(model, batch):
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        loss = model(**batch)["loss"]
    assert torch.isfinite(loss) and loss > 0


def test_nan_predicted_at_padded_steps_stays_out_of_the_loss(model, batch):
    with torch.no_grad():
        expected = model(**batch)["loss"]
    padded = batch["attention_mask"] == 0  # [B, K]

    def poison_padded_predictions(module, inputs, output):
        # predict_action's output [B, K, act_dim]: NaN wherever the step is padding
        return output.masked_fill(padded.unsqueeze(-1), float("nan"))

    hook = model.predict_action.register_forward_hook(poison_padded_predictions)
    try:
        with torch.no_grad():
            poisoned = model(**batch)["loss"]
    finally:
        hook.remove()
    assert torch.isfinite(poisoned)
    torch.testing.assert_close(poisoned, expected)


def test_loss_trains_the_network(model, batch):
    model.train()
    model(**batch)["loss"].backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert sum(g is not None and bool(g.abs().sum() > 0) for g in grads) > len(grads) // 2


def test_save_and_load_model_round_trip(model, batch, tmp_path):
    model.save_pretrained(tmp_path)
    loaded = load_model(tmp_path)
    assert not loaded.training
    for key in ("state_mean", "state_std", "scale", "context_length", "env_id", "dataset_name", "dataset_return_range", "max_ep_len"):
        assert getattr(loaded.config, key) == getattr(model.config, key), key
    with torch.no_grad():
        before, after = model.original_forward(**batch), loaded.original_forward(**batch)
    for field in ("state_preds", "action_preds", "return_preds"):
        torch.testing.assert_close(getattr(after, field), getattr(before, field), rtol=0, atol=0)


def test_load_model_of_a_folder_without_a_model(tmp_path):
    with raises_one_line("holds no saved model .no config.json"):
        load_model(tmp_path)


def test_load_model_of_a_missing_folder(tmp_path):
    with raises_one_line("no saved model at .*: no such folder"):
        load_model(tmp_path / "runs" / "typo")


@pytest.mark.parametrize("removed", [("state_mean", "state_std"), ("scale",)])
def test_load_model_needs_the_inference_settings(model, tmp_path, removed):
    model.save_pretrained(tmp_path)
    config_file = tmp_path / "config.json"
    config = json.loads(config_file.read_text())
    for key in removed:
        del config[key]
    config_file.write_text(json.dumps(config))
    with pytest.raises(UserError, match=f"lacks {', '.join(removed)} in its config.json") as error:
        load_model(tmp_path)
    assert "\n" not in str(error.value)


def test_return_pace_is_the_return_to_go_per_remaining_step_times_the_horizon():
    returns_to_go = torch.tensor([[[6.0], [3.0], [6.0], [0.0]]])  # [1, 4, 1]
    timesteps = torch.tensor([[0, 500, 999, 0]])  # [1, 4]
    pace = return_pace(returns_to_go, timesteps, horizon=1000, low=0.0, high=1e4)
    torch.testing.assert_close(pace, torch.tensor([[[6.0], [6.0], [6000.0], [0.0]]]))
    clipped = return_pace(returns_to_go, timesteps, horizon=1000, low=0.0, high=11.9)
    assert clipped.max() == pytest.approx(11.9)


def test_pace_reaches_the_model_only_when_asked(hopper, batch):
    torch.manual_seed(0)
    config = make_config(hopper, context_length=K, scale=100.0, max_ep_len=64, hidden_size=32, n_layer=1, n_head=1,
                         return_pace=True)
    model = TrainableDT(config).eval()
    assert conditioned(make_config(hopper, context_length=K), batch) is batch  # off by default: the paper's input
    paced = conditioned(config, batch)["returns_to_go"]
    low, high = min(config.dataset_return_range[0], 0) / config.scale, config.dataset_return_range[1] / config.scale
    expected = (batch["returns_to_go"] * 64 / (64 - batch["timesteps"][..., None])).clamp(low, high)
    torch.testing.assert_close(paced, expected)
    assert (paced[batch["attention_mask"] == 0] == 0).all()  # padding stays padding
    with torch.no_grad():
        with_pace = model.original_forward(**batch).action_preds
        model.config.return_pace = False
        without = model.original_forward(**batch).action_preds
    assert not torch.allclose(with_pace, without)


def test_return_pace_survives_save_and_load(hopper, tmp_path):
    TrainableDT(make_config(hopper, context_length=K, hidden_size=32, n_layer=1, n_head=1, return_pace=True)).save_pretrained(tmp_path)
    assert load_model(tmp_path).config.return_pace is True

"""speed/last_action.py: `last_action` gives the full forward's last action, with padding, heads, layers and autocast."""

from __future__ import annotations

import pytest
import torch

from dt_tutorial.collator import DecisionTransformerGymDataCollator
from dt_tutorial import speed
from dt_tutorial.speed.last_action import LastActionPolicy, last_action, supports_last_action
from dt_tutorial.model import TrainableDT, conditioned, make_config
from dt_tutorial.precision import autocast, cpu_has_native_bf16

K = 10


def windows(hopper, seed: int = 0) -> dict[str, torch.Tensor]:
    """Collator windows of short Hopper episodes: many left padded, the last step of each real (as in a rollout)."""
    batch = DecisionTransformerGymDataCollator(hopper, max_len=K, scale=100.0, max_ep_len=64, seed=seed)(range(32))
    assert (batch["attention_mask"][:, 0] == 0).sum() > 5 and (batch["attention_mask"][:, -1] == 1).all()
    return batch


def make_model(hopper, **kwargs) -> TrainableDT:
    torch.manual_seed(0)
    settings = dict(hidden_size=32, n_layer=3, n_head=1, return_pace=True) | kwargs
    return TrainableDT(make_config(hopper, context_length=K, scale=100.0, max_ep_len=64, **settings)).eval()


def full_forward_action(model, batch) -> torch.Tensor:
    return model.original_forward(**batch, return_dict=True).action_preds[:, -1]


@pytest.mark.parametrize(
    "settings",
    [{}, {"n_layer": 1}, {"n_head": 4}, {"scale_attn_by_inverse_layer_idx": True}, {"return_pace": False}],
    ids=["3 layers", "1 layer", "4 heads", "layer-scaled attention", "return-to-go as a sum"],
)
def test_last_action_is_the_full_forwards_last_action(hopper, settings):
    model = make_model(hopper, **settings)
    for seed in range(3):
        batch = windows(hopper, seed)
        with torch.inference_mode():
            expected = full_forward_action(model, batch)
            fast = last_action(model, **conditioned(model.config, batch))
            via_policy = speed.policy(model).predict_actions(batch)
        assert fast.shape == (32, hopper.act_dim)
        torch.testing.assert_close(fast, expected, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(via_policy, expected, rtol=1e-5, atol=1e-6)


def test_padding_never_changes_a_real_tokens_action(hopper):
    """Garbage in the padded steps (which the mask hides) leaves the action unchanged."""
    model, batch = make_model(hopper), windows(hopper)
    policy = speed.policy(model)
    noisy = {key: value.clone() for key, value in batch.items()}
    padded = batch["attention_mask"] == 0  # [n, K]
    noisy["states"][padded] = 1e3
    noisy["actions"][padded] = -7.0
    noisy["returns_to_go"][padded] = 50.0
    with torch.inference_mode():
        torch.testing.assert_close(policy.predict_actions(noisy), policy.predict_actions(batch), rtol=1e-5, atol=1e-6)
        assert not torch.equal(policy.predict_actions({**noisy, "attention_mask": torch.ones_like(batch["attention_mask"])}),
                               policy.predict_actions(batch))


@pytest.mark.skipif(not cpu_has_native_bf16(), reason="bf16 autocast on this CPU is emulated (slow); fp32 is tested above")
def test_last_action_under_bf16_autocast_stays_within_bf16_rounding(hopper):
    model, batch = make_model(hopper, hidden_size=64), windows(hopper)
    with torch.inference_mode():
        exact = full_forward_action(model, batch)
        with autocast("bf16", "cpu"):
            full_bf16 = full_forward_action(model, batch).float()
            fast_bf16 = speed.policy(model).predict_actions(batch).float()
    assert fast_bf16.dtype == torch.float32
    bf16_error = (full_bf16 - exact).abs().max().item()
    assert 0 < bf16_error < 0.05  # actions are tanh outputs in [-1, 1]
    assert (fast_bf16 - exact).abs().max().item() < 3 * bf16_error


@pytest.mark.skipif(not cpu_has_native_bf16(), reason="bf16 autocast on this CPU is emulated (slow)")
def test_weights_cast_once_give_autocasts_own_numbers_and_follow_weight_changes(hopper):
    model, batch = make_model(hopper, hidden_size=64), windows(hopper)
    policy = LastActionPolicy(model)

    def both():
        with torch.inference_mode(), autocast("bf16", "cpu"):
            kept = policy.predict_actions(batch)  # the casts kept across calls
            recast = last_action(model, **conditioned(model.config, batch))  # cast at this call, as autocast does
        return kept, recast

    kept, recast = both()
    assert torch.equal(kept, recast) and len(policy.cast_cache) > 20
    with torch.no_grad():  # an optimizer-like in-place update
        model.encoder.h[0].mlp.c_fc.weight.mul_(1.5)
    changed, recast = both()
    assert torch.equal(changed, recast) and not torch.equal(changed, kept)
    model.load_state_dict(make_model(hopper, hidden_size=64).state_dict())  # back to the first weights
    assert torch.equal(both()[0], kept)
    with torch.inference_mode():  # outside autocast: the float32 weights themselves
        torch.testing.assert_close(policy.predict_actions(batch), full_forward_action(model, batch), rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_last_action_on_cuda_is_the_full_forwards_last_action(hopper, precision):
    torch.backends.cuda.matmul.allow_tf32 = False  # fp32 compared to float32 rounding (the default; kept explicit)
    model = make_model(hopper, hidden_size=64).cuda()
    batch = {key: value.cuda() for key, value in windows(hopper).items()}
    with torch.inference_mode():
        exact = full_forward_action(model, batch)
        with autocast(precision, "cuda"):
            full = full_forward_action(model, batch).float()
            fast = speed.policy(model).predict_actions(batch).float()
    assert fast.device.type == "cuda" and fast.shape == (32, hopper.act_dim)
    if precision == "fp32":
        torch.testing.assert_close(fast, exact, rtol=1e-4, atol=1e-5)
    else:
        bf16_error = (full - exact).abs().max().item()
        assert 0 < bf16_error < 0.05
        assert (fast - exact).abs().max().item() < 3 * bf16_error


def test_options_it_does_not_reproduce_fall_back_to_the_full_forward(hopper):
    model = make_model(hopper, reorder_and_upcast_attn=True)
    assert not supports_last_action(model.config) and supports_last_action(make_model(hopper).config)
    assert speed.policy(model) is model  # the model's own predict_actions: its full forward
    batch = windows(hopper)
    with torch.inference_mode():
        torch.testing.assert_close(model.predict_actions(batch), full_forward_action(model, batch))
    policy = speed.policy(make_model(hopper))
    policy.train()  # in train mode the full forward runs, dropout included: two calls differ
    assert policy.config.resid_pdrop > 0
    assert not torch.equal(policy.predict_actions(batch), policy.predict_actions(batch))

"""speed/ (the door): which policy a rollout runs, the step caches training gets, and the one switch that turns both off."""

from __future__ import annotations

import json

import pytest
import torch
from transformers import PreTrainedModel

from dt_tutorial import speed
from dt_tutorial.bc import BCPolicy, make_bc_config
from dt_tutorial.model import TrainableDT, make_config
from dt_tutorial.speed.last_action import LastActionPolicy
from dt_tutorial.train import get_config, make_trainer


@pytest.fixture
def model(hopper) -> TrainableDT:
    torch.manual_seed(0)
    return TrainableDT(make_config(hopper, context_length=10, hidden_size=32, n_layer=1, n_head=1)).eval()


def test_a_decision_transformer_runs_as_a_last_action_policy_and_other_policies_as_they_are(model, hopper):
    policy = speed.policy(model)
    assert isinstance(policy, LastActionPolicy) and policy.model is model
    assert policy.config is model.config and list(policy.parameters()) == list(model.parameters())
    bc = BCPolicy(make_bc_config(hopper))
    assert speed.policy(bc) is bc


def test_switched_off_the_door_gives_the_model_itself(model, monkeypatch):
    monkeypatch.setattr(speed, "ENABLED", False)
    assert speed.policy(model) is model
    assert speed.for_training(model) is model and "train" not in vars(model)


def test_the_step_caches_keep_train_eval_and_parameter_counts_exact(model, tmp_path):
    model = speed.for_training(model)
    assert "train" in vars(model) and "num_parameters" in vars(model)
    model.train()
    assert all(m.training for m in model.modules())
    model.encoder.h[0].eval()  # one block alone: the next train() must still switch it back
    model.train()
    assert all(m.training for m in model.modules())
    model.eval()
    assert not any(m.training for m in model.modules())
    for exclude in (False, True):
        expected = PreTrainedModel.num_parameters(model, exclude_embeddings=exclude)
        assert model.num_parameters(exclude_embeddings=exclude) == expected == model.num_parameters(exclude_embeddings=exclude)
    assert model.num_parameters() == sum(p.numel() for p in model.parameters())
    model.save_pretrained(tmp_path)  # what is saved is the blog's model: its class, its weights
    assert json.loads((tmp_path / "config.json").read_text())["architectures"] == ["TrainableDT"]


def test_the_trainer_trains_the_model_with_its_step_caches(hopper, tmp_path, monkeypatch):
    trainer = make_trainer(hopper, get_config("tiny", context_length=10), tmp_path, progress=False)
    assert "train" in vars(trainer.model)
    monkeypatch.setattr(speed, "ENABLED", False)
    trainer = make_trainer(hopper, get_config("tiny", context_length=10), tmp_path / "off", progress=False)
    assert "train" not in vars(trainer.model)

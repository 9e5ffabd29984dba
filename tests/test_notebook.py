"""notebook.py: the notebooks' data/preset choice, and notebook 4's refusal to load a stale run (real Trainer runs)."""

from __future__ import annotations

import json
import shutil

import pytest

from dt_tutorial.sources.collect import BUNDLED
from dt_tutorial.notebook import BLOG_SETTINGS_VARIABLE, HUB_CONFIG, accepted_names, blog_settings, load_or_train, run_mismatch, tutorial_choice
from dt_tutorial.train import get_config

from _helpers import cheetah_run, one_thread  # noqa: F401  (fixtures)


def test_default_path_is_multi_skill_demo_and_the_blog_is_one_switch_away():
    assert tutorial_choice(blog_settings=False, fast=False) == ("bundled", False, "demo")
    assert tutorial_choice(blog_settings=True, fast=False) == ("bundled-expert", True, "tutorial")
    assert tutorial_choice(blog_settings=True, fast=True) == ("bundled-expert", False, "tiny")
    assert accepted_names("bundled-expert", use_hub=True) == {BUNDLED["bundled-expert"][0], HUB_CONFIG}
    assert accepted_names("bundled", use_hub=True) == {BUNDLED["bundled"][0]}


@pytest.mark.parametrize(("value", "expected"), [(None, False), ("0", False), ("", False), ("1", True)])
def test_the_blog_settings_switch_is_one_environment_variable(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv(BLOG_SETTINGS_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(BLOG_SETTINGS_VARIABLE, value)
    assert blog_settings() is expected


def test_run_mismatch_accepts_only_a_run_with_these_settings_on_this_data(cheetah_run, tmp_path):
    names = {"halfcheetah-test"}
    assert run_mismatch(cheetah_run, get_config("tiny"), names) is None  # device and save_steps do not matter
    assert "trained on halfcheetah-test" in run_mismatch(cheetah_run, get_config("tiny"), {"bundled-halfcheetah-multiskill"})
    reason = run_mismatch(cheetah_run, get_config("demo"), names)
    assert "other settings" in reason and "max_steps=20" in reason
    assert "no finished training run" in run_mismatch(tmp_path / "missing", get_config("tiny"), names)
    unfinished = shutil.copytree(cheetah_run, tmp_path / "unfinished")
    (unfinished / "train_config.json").unlink()
    assert "no finished training run" in run_mismatch(unfinished, get_config("tiny"), names)


def test_load_or_train_trains_instead_of_loading_a_stale_run(cheetah_run, one_thread, tmp_path, capsys):
    config = get_config("tiny", device="cpu", max_steps=5)
    fresh = tmp_path / "fresh"
    model = load_or_train([cheetah_run, fresh], config, "bundled", 2, progress=False)
    out = capsys.readouterr().out
    assert f"not using {cheetah_run}" in out and "training here" in out
    assert model.config.dataset_name == BUNDLED["bundled"][0] and not model.training
    assert json.loads((fresh / "train_config.json").read_text())["max_steps"] == 5
    again = load_or_train([cheetah_run, fresh], config, "bundled", 2, progress=False)
    assert f"loaded the model in {fresh}" in capsys.readouterr().out
    assert again.config.dataset_name == model.config.dataset_name

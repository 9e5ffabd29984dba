"""sources/collect.py: episode collection, multi-agent recipes and the cached bundled datasets."""

from __future__ import annotations

import multiprocessing

import numpy as np
import pytest

from conftest import random_policy, raises_one_line
from dt_tutorial.sources.cache import cache_dir
from dt_tutorial.sources.collect import (BUNDLED, CHUNK_EPISODES, MULTI_SKILL, X_VELOCITY, Recipe, bundled_dataset, collect_episodes,
                                 collect_recipe, speed_controlled)
from dt_tutorial.data import Trajectories
from dt_tutorial.schema import EPISODE_FEATURES
from dt_tutorial.sources import load_episodes
from dt_tutorial.envs import make_env
from dt_tutorial.sources.policies import Actor

def test_collected_episodes_have_the_hub_schema_in_episode_order(hopper_episodes):
    assert hopper_episodes.features == EPISODE_FEATURES
    assert len(hopper_episodes) == 40
    env = make_env("Hopper-v5")
    for i, row in enumerate(hopper_episodes):
        n = len(row["rewards"])
        assert len(row["observations"]) == len(row["actions"]) == len(row["dones"]) == n
        np.testing.assert_allclose(row["observations"][0], env.reset(seed=i)[0], rtol=1e-6)  # episode i reset with seed + i
    lengths = [len(r) for r in hopper_episodes["rewards"]]
    assert len(set(lengths)) > 5 and max(lengths) < 1000


def test_dones_only_on_termination(hopper_episodes, halfcheetah_episodes):
    for dones in hopper_episodes["dones"]:  # a random Hopper falls: only its last step terminates
        assert dones[-1] and not any(dones[:-1])
    for dones, rewards in zip(halfcheetah_episodes["dones"], halfcheetah_episodes["rewards"]):
        assert len(rewards) == 1000 and not any(dones)  # time limit: truncated, never terminated


def test_collection_is_deterministic_for_a_seed(hopper_episodes):
    again = collect_episodes(random_policy(0, 3), "Hopper-v5", 40, seed=0, progress=False)
    assert again.to_dict() == hopper_episodes.to_dict()
    other = collect_episodes(random_policy(0, 3), "Hopper-v5", 40, seed=1, progress=False)
    assert other["observations"][0] != hopper_episodes["observations"][0]


def test_episodes_do_not_depend_on_the_number_of_envs():
    """A deterministic policy gives the same episodes whichever env slot ran them, and in the same order."""

    def policy(obs):  # [n, 11] -> [n, 3]: a fixed feedback law that falls after a varying time
        return np.tanh(obs[:, 2:5] * 5.0 + obs[:, 8:11])

    one = collect_episodes(policy, "Hopper-v5", 7, seed=3, n_envs=1, progress=False)
    four = collect_episodes(policy, "Hopper-v5", 7, seed=3, n_envs=4, progress=False)
    assert len({len(r) for r in one["rewards"]}) > 1
    assert one.to_dict() == four.to_dict()


def test_action_noise_lowers_returns(halfcheetah_episodes):
    noisy = collect_episodes(Actor.shipped("tqc", seed=0), "HalfCheetah-v5", 2, seed=0, action_noise=0.5, progress=False)
    clean_returns = [np.sum(r) for r in halfcheetah_episodes["rewards"]]
    noisy_returns = [np.sum(r) for r in noisy["rewards"]]
    assert min(clean_returns) > 10_000  # the shipped actor is an expert in HalfCheetah-v5 (D4RL expert: 12135)
    assert max(noisy_returns) < 0.8 * min(clean_returns)
    actions = np.concatenate(noisy["actions"])
    assert np.abs(actions).max() <= 1.0  # noise is clipped to the action space


def test_collect_needs_an_episode():
    with raises_one_line("n_episodes must be at least 1"):
        collect_episodes(random_policy(0, 3), "Hopper-v5", 0)


def test_bundled_expert_is_the_tqc_collection_cached(dt_cache, capfd):
    first = bundled_dataset("bundled-expert", n_episodes=2, seed=5, progress=False)
    assert "Saving the dataset" not in capfd.readouterr().err  # progress=False silences datasets' own bars too
    assert len(list(cache_dir().glob("bundled-halfcheetah-expert-2ep-seed5-*/dataset_info.json"))) == 1
    # A recipe's chunk seeds its agents with [recipe seed, agent index, chunk index]; resets use seed + episode.
    direct = collect_episodes(Actor.shipped("tqc", seed=[5, 0, 0]), "HalfCheetah-v5", 2, seed=5, progress=False)
    assert first.remove_columns("policy").to_dict() == direct.to_dict()
    assert first["policy"] == ["tqc", "tqc"]
    assert bundled_dataset("bundled-expert", n_episodes=2, seed=5, progress=False).to_dict() == first.to_dict()


def test_a_driver_switches_policies_inside_an_episode():
    """Policy 0 pushes every joint to -1, policy 1 to +1; the driver hands over at step 30 of episode 1 only."""
    low, high = (lambda obs: -np.ones((len(obs), 6))), (lambda obs: np.ones((len(obs), 6)))
    episodes = collect_episodes([low, high], "HalfCheetah-v5", 2, driver=lambda ep, t: int(ep == 1 and t >= 30),
                                n_envs=2, progress=False)
    first, second = (np.asarray(a) for a in episodes["actions"])
    assert (first == -1).all()
    assert (second[:30] == -1).all() and (second[30:] == 1).all()


def test_recipe_plans_follow_the_shares_and_switch_to_another_agent():
    recipe = Recipe(agents=("tqc", "sac", "trpo"), n_episodes=200, weights=(2.0, 1.0, 1.0), switching_share=0.25, switches=2)
    plans = recipe.plans()
    assert plans == recipe.plans()  # drawn from the recipe's seed
    single = [p for p in plans if len(p) == 1]
    switching = [p for p in plans if len(p) > 1]
    assert len(switching) == 50 and all(len(p) == 3 for p in switching)
    counts = np.bincount([p[0][1] for p in single], minlength=3)
    assert 0.4 < counts[0] / len(single) < 0.6  # weight 2 of 4
    for plan in switching:
        starts, agents = zip(*plan)
        assert starts[0] == 0 and list(starts) == sorted(set(starts)) and starts[-1] < 1000
        assert all(a != b for a, b in zip(agents, agents[1:]))


def test_multi_skill_episodes_are_driven_as_their_plan_says():
    recipe = Recipe(agents=("tqc", "trpo", "tqc*0.5"), n_episodes=6, switching_share=0.5, deterministic=True, seed=3)
    episodes = collect_recipe(recipe, progress=False)
    actors = {"tqc": Actor.shipped("tqc", deterministic=True), "trpo": Actor.shipped("trpo", deterministic=True)}
    actors["tqc*0.5"] = lambda obs: 0.5 * actors["tqc"](obs)
    for row, plan in zip(episodes, recipe.plans()):
        observations, actions = np.asarray(row["observations"]), np.asarray(row["actions"])
        for (start, agent), end in zip(plan, [s for s, _ in plan[1:]] + [len(actions)]):
            expected = actors[recipe.agents[agent]](observations[start:end])
            np.testing.assert_allclose(actions[start:end], expected, atol=1e-5)
    assert sorted(p for p in episodes["policy"] if "@" not in p) == sorted(
        recipe.agents[p[0][1]] for p in recipe.plans() if len(p) == 1)


def test_stopping_episodes_coast_to_rest_after_their_stop_step():
    recipe = Recipe(agents=("tqc",), n_episodes=4, stop_share=0.5, deterministic=True, seed=5)
    plans = recipe.plans()
    assert sorted(len(p) for p in plans) == [1, 1, 2, 2] and recipe.drivers == ("tqc", "stop")
    episodes = collect_recipe(recipe, progress=False)
    for row, plan in zip(episodes, plans):
        actions, rewards = np.asarray(row["actions"]), np.asarray(row["rewards"])
        if len(plan) == 1:
            assert row["policy"] == "tqc" and rewards.sum() > 10000
            continue
        stop = plan[1][0]
        assert row["policy"] == f"tqc@0,stop@{stop}"
        assert not actions[stop:].any() and np.abs(actions[:stop]).sum(axis=1).min() > 0
        assert abs(rewards[stop + 150:].sum()) < 5  # at rest: no reward once it has coasted out
        assert rewards.sum() == pytest.approx(rewards[:stop + 150].sum(), abs=5)


@pytest.mark.parametrize("speed", [3.0, 9.0])
def test_a_speed_controlled_expert_runs_at_its_speed(speed):
    episodes = collect_recipe(Recipe(agents=(f"tqc~{speed}",), n_episodes=2, seed=9), progress=False)
    mean_speeds = [np.asarray(obs)[100:, X_VELOCITY].mean() for obs in episodes["observations"]]  # after the start
    np.testing.assert_allclose(mean_speeds, speed, atol=0.6)
    assert speed_controlled(lambda obs: np.ones((len(obs), 6)), 20.0)(np.zeros((1, 17))).max() == 1.0  # scales stay <= 1


def test_held_speeds_refuse_other_envs():
    with raises_one_line("is not HalfCheetah"):
        collect_recipe(Recipe(agents=("tqc~3.0",), n_episodes=1), "Hopper-v5", progress=False)


def test_worker_processes_collect_the_same_episodes_as_one_process():
    recipe = Recipe(agents=("tqc", "tqc~3.0", "random"), n_episodes=2 * CHUNK_EPISODES + 3, seed=2)
    serial = collect_recipe(recipe, progress=False, workers=1)
    parallel = collect_recipe(recipe, progress=False, workers=2)
    assert parallel.to_dict() == serial.to_dict()
    assert sorted(set(serial["policy"])) == sorted(recipe.agents)


def test_the_default_bundled_data_is_the_documented_multi_skill_recipe(dt_cache):
    episodes = load_episodes("bundled")
    assert BUNDLED["bundled"][1] == MULTI_SKILL and len(episodes) == MULTI_SKILL.n_episodes
    plans = MULTI_SKILL.plans()
    assert episodes["policy"] == [
        MULTI_SKILL.agents[p[0][1]] if len(p) == 1 else ",".join(f"{MULTI_SKILL.agents[a]}@{s}" for s, a in p) for p in plans]
    returns = Trajectories.from_dataset(episodes, "bundled").episode_returns
    assert returns.min() < 2500 and returns.max() > 11000  # spans slow to expert gaits


def _load_in_child(cache: str, queue) -> None:
    import os

    os.environ["DT_TUTORIAL_CACHE"] = cache
    queue.put(bundled_dataset("bundled-expert", n_episodes=2, seed=11, progress=False)["rewards"][0][:3])


def test_concurrent_processes_generate_the_bundled_data_once(tmp_path):
    """Two processes asking at once (torchrun ranks on a cold cache): one collects, both read the same data."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    children = [context.Process(target=_load_in_child, args=(str(tmp_path), queue)) for _ in range(2)]
    for child in children:
        child.start()
    for child in children:
        child.join(120)
        assert child.exitcode == 0
    first, second = queue.get(timeout=5), queue.get(timeout=5)
    assert first == second
    folders = list(tmp_path.glob("bundled-halfcheetah-expert-2ep-seed11-*"))
    assert [f.name.endswith(".lock") for f in sorted(folders)] == [False, True]  # the data and its lock, no leftovers


def test_unknown_bundled_name():
    with raises_one_line("unknown bundled dataset"):
        bundled_dataset("bundled-medium")

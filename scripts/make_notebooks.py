"""Write the four tutorial notebooks (notebooks/*.ipynb) with nbformat, outputs stripped.

    python scripts/make_notebooks.py

The notebooks are generated, not hand-edited: change their text here and rerun. The Colab badges and
install cells take the GitHub repo from `dt_tutorial.notebook.REPO`, the one place it is named.
"""

from pathlib import Path
from textwrap import dedent

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from dt_tutorial.notebook import REPO, colab_url

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def md(text: str):
    return new_markdown_cell(dedent(text).strip())


def code(text: str):
    return new_code_cell(dedent(text).strip())


def header(name: str, title: str, intro: str) -> list:
    """Badge and title, the Colab install cell, the versions cell."""
    badge = f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab_url(name)})"
    return [
        md(f"{badge}\n\n# {title}\n\n{dedent(intro).strip()}"),
        md(
            """
            ## Setup

            On Google Colab the next cell installs the `dt_tutorial` package from GitHub, plus the system libraries
            MuJoCo needs to draw the simulation without a screen (EGL). Anywhere else it does nothing: install the
            package yourself first (see the README).
            """
        ),
        code(
            f"""
            # Colab only. REPO in dt_tutorial/notebook.py is the one place the GitHub repo is named: this URL (and the
            # badge above) is generated from it, because this cell runs before the package is installed.
            import os
            import subprocess
            import sys

            if "google.colab" in sys.modules:
                subprocess.run([sys.executable, "-m", "pip", "install", "-q", "dt-tutorial @ git+https://github.com/{REPO}"], check=True)
                subprocess.run("apt-get update -qq && apt-get install -y -qq libegl1 libosmesa6 > /dev/null", shell=True, check=True)
                os.environ["MUJOCO_GL"] = "egl"  # headless OpenGL for MuJoCo's renderer
            """
        ),
        md("The versions this notebook runs with, and the device (CPU or GPU) that training will use:"),
        code(
            """
            from dt_tutorial.notebook import show_versions

            show_versions()
            """
        ),
    ]


FAST_LINE = 'FAST = os.environ.get("DT_TUTORIAL_FAST") == "1"  # CI sets DT_TUTORIAL_FAST=1: every size below shrinks'
PARAMETERS_TEXT = """
## Parameters

Every size in this notebook follows from one switch, `FAST`. Continuous integration sets the environment
variable `DT_TUTORIAL_FAST=1` so that the notebook runs in seconds; leave it unset to get the real thing.
"""
DATA_PARAMETERS = """
USE_HUB = not FAST  # try the tutorial's dataset on the Hugging Face hub (else: the bundled expert data)
N_BUNDLED_EPISODES = 20 if FAST else 1000  # episodes of the bundled dataset (used when the hub is not)
"""


def parameters(extra: str = "") -> list:
    lines = ["import os", "", FAST_LINE, dedent(DATA_PARAMETERS).strip()]
    if extra:
        lines.append(dedent(extra).strip())
    return [md(PARAMETERS_TEXT), code("\n".join(lines))]


LOAD_DATA = [
    md(
        """
        ## The data

        The same dataset as notebook 1, in one call: the hub's `halfcheetah-expert-v2` if `USE_HUB` and the hub is
        reachable, otherwise the bundled expert episodes. `Trajectories` flattens it once into plain arrays.
        """
    ),
    code(
        """
        from dt_tutorial.data import Trajectories
        from dt_tutorial.notebook import load_tutorial_dataset

        episodes, dataset_name = load_tutorial_dataset(USE_HUB, N_BUNDLED_EPISODES)
        traj = Trajectories.from_dataset(episodes, dataset_name)
        print(f"{dataset_name}: {traj.n_episodes} episodes, {traj.n_steps:,} steps, state_dim {traj.state_dim}, act_dim {traj.act_dim}")
        """
    ),
]


def notebook_01() -> list:
    return [
        *header(
            "01_load_the_dataset.ipynb",
            "1 · Offline RL, the Decision Transformer, and the dataset",
            """
            This is the first of four notebooks that rebuild the 🤗 blog tutorial
            [*Train your first Decision Transformer*](https://huggingface.co/blog/train-decision-transformers)
            on today's libraries. At the end of notebook 4 a simulated half-cheetah runs across the screen, steered
            by a transformer that never touched the simulator while it learned.

            Here we meet the ideas and the data: what offline reinforcement learning is, how a Decision
            Transformer reads an episode, and what is inside the expert HalfCheetah dataset.
            """,
        ),
        md(
            """
            ## Offline reinforcement learning

            In reinforcement learning (RL) an *agent* acts in an *environment*: at each time step it sees a
            *state*, picks an *action*, and gets a *reward*. Its goal is to collect as much reward as possible
            over an *episode*. Usually it learns by trial and error: act, see what happens, adjust.

            **Offline** RL removes the trial and error. The agent gets a fixed dataset of episodes that someone
            else recorded (states, actions, rewards) and must learn a good way to act from that alone, without
            acting during training. This is how you learn from logs when trying things out is slow, expensive or
            dangerous: robots, driving, medicine.

            Our environment is **HalfCheetah**: a two-legged 2-D robot in the MuJoCo physics simulator. The
            state is 17 numbers (joint angles and velocities), the action is 6 numbers (the torque on each joint,
            between −1 and 1), and the reward is mostly the forward speed. An episode lasts 1000 steps.
            """
        ),
        md(
            """
            ## The Decision Transformer

            The Decision Transformer (Chen et al., 2021) treats offline RL as *sequence modelling*, the job
            language models do. Each time step $t$ of an episode becomes three tokens:

            - the **return-to-go** $\\hat R_t = r_t + r_{t+1} + \\dots + r_T$: the reward still to come from step $t$ to the end;
            - the **state** $s_t$: what the agent sees;
            - the **action** $a_t$: what it did.

            The model reads the last $K$ steps (here $K = 20$) as one sequence
            $\\hat R_1, s_1, a_1, \\hat R_2, s_2, a_2, \\dots$ and learns to predict each action from the tokens before it.

            The backbone is **GPT-2**, a decoder-only transformer with **causal attention**: every token may look
            only at tokens to its left. So the prediction of $a_t$ sees $\\hat R_t$, $s_t$ and all earlier steps,
            but never $a_t$ itself or the future. A timestep embedding tells the model where in the episode each
            step is.

            Why the return-to-go? During training it tells the model how well the rest of this episode went.
            At test time *we choose it*: ask for a high return and the model imitates the behaviour that led to
            high returns in the data. Notebook 4 puts this on a slider.
            """
        ),
        md(
            """
            ## What changed since the blog post

            The original notebook no longer runs. This version keeps its ideas and fixes what broke:

            - **gym 0.21 + mujoco-py** (no longer installable) → **gymnasium** `HalfCheetah-v5` + the official `mujoco` bindings.
            - **The dataset's loading script** (refused by `datasets` ≥ 4) → the hub's **parquet export** of the same data,
              plus a bundled offline copy.
            - **A row-by-row Python collator** (most of the training time) → a **vectorised** collator (notebook 2).
            - **Dropout left on during evaluation** → the model in **eval mode**, without gradients (notebook 4).
            - **A broken video recorder** → frames written with **imageio** and shown inline (notebook 4).
            - transformers 5 takes the warm-up ratio as a float `warmup_steps` (notebook 3).
            """
        ),
        *parameters(),
        md(
            """
            ## Load the dataset

            The tutorial's data is the `halfcheetah-expert-v2` configuration of the hub dataset
            `edbeeching/decision_transformer_gym_replay`: 1000 episodes of an expert HalfCheetah policy from the
            D4RL benchmark. The blog loaded it with `load_dataset(...)`, which ran a script stored in the dataset
            repo; `datasets` ≥ 4 no longer runs such scripts, so `load_episodes` reads the hub's automatic parquet
            export of the same data.

            Without a connection (or in `FAST` mode) we use the **bundled** dataset instead: expert HalfCheetah-v5
            episodes produced on your machine by a pretrained expert policy that ships with the package. Same
            columns, so nothing downstream changes. The first call generates it (seconds), later calls read a cache.
            Notebooks 2–4 make the same choice with one call, `load_tutorial_dataset(USE_HUB, N_BUNDLED_EPISODES)`.
            """
        ),
        code(
            """
            from dt_tutorial.collect import BUNDLED_NAME, bundled_dataset
            from dt_tutorial.data import load_episodes
            from dt_tutorial.errors import UserError
            from dt_tutorial.notebook import hub_reachable

            episodes = None
            if USE_HUB and hub_reachable():  # a quick check: the hub client would retry for ~25 s without a network
                try:
                    episodes, dataset_name = load_episodes("halfcheetah-expert-v2"), "halfcheetah-expert-v2"
                except UserError as err:
                    print(f"note: {err}")
            if episodes is None:
                reason = "fast mode" if FAST else "the hub is not reachable or not asked for"
                print(f"Using {N_BUNDLED_EPISODES} bundled expert episodes ({reason}).")
                episodes, dataset_name = bundled_dataset(n_episodes=N_BUNDLED_EPISODES, progress=False), BUNDLED_NAME
            episodes
            """
        ),
        md(
            """
            ## One row is one episode

            A 🤗 `Dataset` is a table. Here each row is a whole episode, and each column holds one list per episode:
            `observations` (one 17-number state per step), `actions` (6 numbers per step), `rewards` and `dones`
            (one per step; `dones` marks a real ending such as a fall, which the cheetah cannot do).
            """
        ),
        code(
            """
            first = episodes.with_format("numpy")[0]  # episode 0 as numpy arrays
            for column, values in first.items():
                print(f"{column:<13} shape {values.shape}  dtype {values.dtype}")
            """
        ),
        md(
            """
            ## Flatten it once: `Trajectories`

            Training cuts thousands of short windows out of these episodes, so reading the table row by row each
            time would be slow. `Trajectories.from_dataset` converts it **once** into flat arrays (all steps of all
            episodes one after another), the start and length of each episode, the returns-to-go of every step, and
            the mean and standard deviation of each state dimension. It also checks the data (matching lengths, no
            NaNs) and fails with a one-line message if something is wrong.
            """
        ),
        code(
            """
            from dt_tutorial.data import Trajectories

            traj = Trajectories.from_dataset(episodes, dataset_name)
            print(f"{traj.n_episodes} episodes, {traj.n_steps:,} time steps in all")
            print(f"state_dim {traj.state_dim}, act_dim {traj.act_dim}, environment {traj.env_id}")
            print(f"observations array: {traj.observations.shape}, actions array: {traj.actions.shape}")
            lengths, returns = traj.episode_lengths, traj.episode_returns
            print(f"episode lengths: min {lengths.min()}, mean {lengths.mean():.0f}, max {lengths.max()}")
            print(f"episode returns: min {returns.min():.0f}, mean {returns.mean():.0f}, max {returns.max():.0f}")
            """
        ),
        md(
            """
            ## How good are the episodes?

            The return of an episode is the sum of its rewards. The left histogram shows them: an expert dataset
            sits in a narrow band near the top. The right one shows the lengths: every HalfCheetah episode runs
            the full 1000 steps, because the cheetah cannot fall and the episode only ends at the time limit.
            """
        ),
        code(
            """
            import matplotlib.pyplot as plt

            from dt_tutorial.plots import plot_episode_returns

            plot_episode_returns(traj)
            plt.show()
            """
        ),
        md(
            """
            RL papers report HalfCheetah results as a **D4RL score**: 0 is a random policy, 100 is the D4RL
            expert (a return of about 12 135). We use it in notebook 4 to judge our trained model; here is the
            dataset's own score, the level the model imitates.
            """
        ),
        code(
            """
            from dt_tutorial.envs import d4rl_score

            scores = d4rl_score(traj.env_id, traj.episode_returns)
            print(f"D4RL score of the dataset's episodes: {scores.mean():.1f} ± {scores.std():.1f}")
            """
        ),
        md(
            """
            ## State statistics

            The 17 state numbers come in very different units and sizes: angles in radians (around 0.1), the
            forward velocity (around 10 for an expert). The table lists each dimension's mean, standard deviation
            and range; the bar plot shows mean ± std. Notebook 2 rescales every dimension to mean 0 and std 1
            with exactly these statistics.
            """
        ),
        code(
            """
            import pandas as pd

            # HalfCheetah's observation, in the order of the gymnasium documentation (the x position is left out).
            STATE_NAMES = [
                "tip height", "tip angle", "back thigh angle", "back shin angle", "back foot angle",
                "front thigh angle", "front shin angle", "front foot angle", "x velocity", "z velocity",
                "tip angular vel.", "back thigh ang. vel.", "back shin ang. vel.", "back foot ang. vel.",
                "front thigh ang. vel.", "front shin ang. vel.", "front foot ang. vel.",
            ]
            stats = pd.DataFrame(
                {"mean": traj.state_mean, "std": traj.state_std, "min": traj.observations.min(0), "max": traj.observations.max(0)},
                index=pd.Index(STATE_NAMES, name="state dimension"),
            ).astype(float)
            stats.round(3)
            """
        ),
        md("The same numbers as a picture: the velocities vary far more than the angles."),
        code(
            """
            fig, ax = plt.subplots(figsize=(10, 4))
            ax.bar(range(traj.state_dim), traj.state_mean, yerr=traj.state_std, capsize=3, color="tab:blue")
            ax.set_xticks(range(traj.state_dim), STATE_NAMES, rotation=60, ha="right", fontsize=8)
            ax.set(xlabel="state dimension", ylabel="value (mean ± std)", title=f"{dataset_name}: state statistics")
            ax.grid(axis="y", alpha=0.3)
            fig.tight_layout()
            plt.show()
            """
        ),
        md(
            """
            ## Next

            [Notebook 2](02_preprocessing_and_collator.ipynb) turns these episodes into training batches:
            normalised states, returns-to-go, length-weighted sampling, padding and the attention mask.
            """
        ),
    ]


def notebook_02() -> list:
    return [
        *header(
            "02_preprocessing_and_collator.ipynb",
            "2 · Preprocessing and the data collator",
            """
            The model does not read whole episodes. It reads **windows** of $K = 20$ consecutive steps. A *data
            collator* cuts the windows out of the dataset, normalises them and stacks them into a batch, every
            training step. This notebook takes that preprocessing apart, one idea at a time, and shows each on
            real data and real batches.
            """,
        ),
        *parameters(
            """
            K = 20  # context length: time steps per window (the tutorial's max_len)
            SCALE = 1000.0  # returns-to-go are divided by this
            BATCH_SIZE = 64  # windows per batch, as in the tutorial
            N_SAMPLING_DRAWS = 20_000 if FAST else 500_000  # draws for the sampling check
            """
        ),
        *LOAD_DATA,
        md(
            """
            ## 1 · State normalisation

            Notebook 1 showed that the 17 state numbers have very different sizes. Neural networks learn best
            when every input is around 0 with a spread of about 1, so each dimension is shifted by its dataset
            mean and divided by its standard deviation:

            $$s' = \\frac{s - \\text{mean}}{\\text{std} + 10^{-6}}$$

            (the $10^{-6}$ avoids dividing by zero for a constant dimension; `traj.state_std` already includes it).
            Evaluation must use the very same mean and std, so notebook 3 stores them in the model's config.
            """
        ),
        code(
            """
            import numpy as np

            normalised = (traj.observations - traj.state_mean) / traj.state_std  # [n_steps, state_dim]
            print("std of each raw dimension:       ", np.round(traj.observations.std(0), 2))
            print("mean of each normalised dimension:", np.round(normalised.mean(0), 3))
            print("std of each normalised dimension: ", np.round(normalised.std(0), 3))
            """
        ),
        md(
            """
            ## 2 · Returns-to-go

            The return-to-go of step $t$ is the sum of the rewards from $t$ to the end of the episode. The blog
            computes it per episode with `discount_cumsum(rewards, gamma=1.0)`: a cumulative sum run backwards from
            the last step, where each step adds its reward to `gamma` times the running total. With `gamma = 1`
            nothing is discounted: every future reward counts fully.

            `Trajectories` computes the returns-to-go of all episodes at once (suffix sums over the flat array).
            Let us check that both agree on one episode.
            """
        ),
        code(
            """
            from dt_tutorial.data import discount_cumsum

            ep = traj.episode(0)
            rtg_loop = discount_cumsum(ep["rewards"], gamma=1.0)  # the tutorial's per-episode loop
            print("loop (first 5 steps):        ", np.round(rtg_loop[:5], 1))
            print("Trajectories (first 5 steps):", np.round(ep["returns_to_go"][:5], 1))
            print(f"largest difference over the episode: {np.abs(rtg_loop - ep['returns_to_go']).max():.4f} (float32 rounding)")
            """
        ),
        md(
            """
            The rewards of an expert stay high all episode, so its return-to-go falls almost linearly from the
            episode's return to 0:
            """
        ),
        code(
            """
            import matplotlib.pyplot as plt

            fig, (ax_reward, ax_rtg) = plt.subplots(1, 2, figsize=(10, 3.2))
            ax_reward.plot(ep["rewards"], lw=0.8)
            ax_reward.set(xlabel="time step t", ylabel="reward $r_t$", title="rewards of episode 0")
            ax_rtg.plot(ep["returns_to_go"] / SCALE)
            ax_rtg.set(xlabel="time step t", ylabel="return-to-go / 1000", title="its returns-to-go, scaled")
            fig.tight_layout()
            plt.show()
            """
        ),
        md(
            """
            ### The scale 1000

            An expert's return-to-go starts around 11 000, while the normalised states are around ±1. Dividing
            returns-to-go by `SCALE = 1000` brings them to roughly 0–12, a size the network handles well. It is
            only a unit change: evaluation divides by the same 1000, so "aim for 12 000" enters the model as 12.0.
            """
        ),
        md(
            """
            ## 3 · Length-weighted sampling

            Each training window starts at a random step. The tutorial draws an **episode with probability
            proportional to its length**, then a **start uniformly inside** it. Why weight by length? So that every
            time step of the dataset is equally likely to start a window: with $N$ steps in all, step $t$ of an
            episode of length $L$ is drawn with probability

            $$\\frac{L}{N} \\times \\frac{1}{L} = \\frac{1}{N}.$$

            That is simply **one step drawn uniformly** from all $N$. So the collator draws one global step index
            per window (`collator.sample_starts`) and finds its episode with a binary search (`np.searchsorted`):
            no per-row loop, same distribution.

            All HalfCheetah episodes are 1000 steps long, which hides the weighting. For the check, we make a small
            dataset of episodes cut to 100, 300, 600 and 1000 steps, draw many starts both ways and compare.
            """
        ),
        code(
            """
            import datasets

            from dt_tutorial.collator import DecisionTransformerGymDataCollator
            from dt_tutorial.data import EPISODE_FEATURES

            cut_lengths = [100, 300, 600, 1000]
            uneven = datasets.Dataset.from_dict(
                {column: [traj.episode(i)[column][:n] for i, n in enumerate(cut_lengths)] for column in EPISODE_FEATURES},
                features=EPISODE_FEATURES,
            )
            uneven_traj = Trajectories.from_dataset(uneven, "uneven lengths")
            sampler = DecisionTransformerGymDataCollator(uneven_traj, max_len=K, seed=0)

            # The collator's way: one uniform global step, then its episode.
            starts = sampler.sample_starts(N_SAMPLING_DRAWS)  # [draws] global step indices
            episode_of_start = np.searchsorted(uneven_traj.episode_starts, starts, side="right") - 1  # [draws]

            # The tutorial's way: an episode with p ∝ length (sampler.p_sample), then a uniform start inside it.
            rng = np.random.default_rng(1)
            tutorial_episode = rng.choice(uneven_traj.n_episodes, size=N_SAMPLING_DRAWS, p=sampler.p_sample)  # [draws]
            tutorial_offset = rng.integers(0, uneven_traj.episode_lengths[tutorial_episode])  # [draws] start inside it

            print("episode length     :", cut_lengths)
            print("expected  p(episode):", np.round(sampler.p_sample, 3))
            print("collator  p(episode):", np.round(np.bincount(episode_of_start, minlength=4) / N_SAMPLING_DRAWS, 3))
            print("tutorial  p(episode):", np.round(np.bincount(tutorial_episode, minlength=4) / N_SAMPLING_DRAWS, 3))
            """
        ),
        md(
            """
            Both ways pick the episodes in proportion to their length. Inside an episode the start must be
            uniform too: here are the start positions inside the 1000-step episode, from both ways.
            """
        ),
        code(
            """
            last = uneven_traj.n_episodes - 1
            collator_offset = starts[episode_of_start == last] - uneven_traj.episode_starts[last]
            fig, ax = plt.subplots(figsize=(8, 3.2))
            bins = np.linspace(0, cut_lengths[-1], 21)
            ax.hist(collator_offset, bins=bins, histtype="step", lw=2, label="collator: uniform global step")
            ax.hist(tutorial_offset[tutorial_episode == last], bins=bins, histtype="step", lw=2, label="tutorial: episode ∝ length, then uniform")
            ax.set(xlabel="window start inside the 1000-step episode", ylabel="number of draws", title="start positions are uniform either way")
            ax.legend(fontsize=8, loc="lower center")
            fig.tight_layout()
            plt.show()
            """
        ),
        md(
            """
            ## 4 · A real batch

            Now the collator itself, on our dataset. Its constructor is the tutorial's:
            `DecisionTransformerGymDataCollator(dataset, max_len=20, scale=1000, ...)`. The 🤗 `Trainer` calls it
            with a list of dataset rows; this collator only uses how many there are (the batch size) and draws
            the windows itself. It returns a dict of tensors, the inputs of the model:
            """
        ),
        code(
            """
            collator = DecisionTransformerGymDataCollator(traj, max_len=K, scale=SCALE, seed=0)
            batch = collator([None] * BATCH_SIZE)  # what the Trainer does each step, with BATCH_SIZE rows
            for name, tensor in batch.items():
                print(f"{name:<15} {str(tuple(tensor.shape)):<14} {tensor.dtype}")
            """
        ),
        md(
            """
            `states`, `actions`, `rewards` and `returns_to_go` have one entry per step of each window;
            `timesteps` is each step's position inside its episode (for the timestep embedding, capped at
            `max_ep_len - 1 = 999`). Below, one window: its scaled return-to-go, three of its normalised state
            dimensions, and its attention mask.
            """
        ),
        code(
            """
            from dt_tutorial.plots import plot_window

            plot_window(batch, row=0)
            plt.show()
            """
        ),
        md(
            """
            ## 5 · Padding and the attention mask

            A window that starts fewer than $K$ steps before its episode's end has fewer than $K$ real steps.
            It is **padded on the left** up to $K$: padded states are zero states (then normalised), actions −10,
            rewards, returns-to-go and timesteps 0. The **attention mask** is 1 on real steps and 0 on padding:
            GPT-2 does not attend to masked positions, and the loss ignores them. Padding on the left keeps the
            newest real step in the last position, exactly where the model looks when it acts (notebook 4).

            With 1000-step episodes few random windows need padding, so let us ask for one that starts 6 steps
            before the end of episode 0: `collator.windows` takes the start indices directly.
            """
        ),
        code(
            """
            padded_rows = int((batch["attention_mask"].sum(dim=1) < K).sum())
            print(f"windows with padding in the random batch: {padded_rows} of {BATCH_SIZE}")

            near_end = traj.episode_starts[0] + traj.episode_lengths[0] - 6  # global index: 6 steps before episode 0 ends
            padded = collator.windows(np.array([near_end]))
            print("attention mask:   ", padded["attention_mask"][0].int().tolist())
            print("action[0] per step:", padded["actions"][0, :, 0].numpy().round(2))
            print("timesteps:        ", padded["timesteps"][0].tolist())
            plot_window(padded, row=0)
            plt.show()
            """
        ),
        md(
            """
            ## 6 · Vectorised: no Python loop over rows

            The blog's collator loops in Python over the 64 rows of every batch, slicing one episode at a time
            and concatenating small arrays; the `Trainer` calls it at every step, so it took most of the training
            time. This collator builds the whole batch with a few array operations: one random draw, one
            `searchsorted`, and one gather with a `[batch, K]` grid of indices into the flat arrays of
            `Trajectories`. Same windows, same padding, same distribution. Here is all of it:
            """
        ),
        code(
            """
            import inspect

            print(inspect.getsource(DecisionTransformerGymDataCollator.windows))
            """
        ),
        md(
            """
            How much faster than the tutorial's row-by-row collator it is, measured on the same data: see
            BENCHMARKS.md. The time one batch takes here:
            """
        ),
        code(
            """
            import time

            n_batches = 50 if FAST else 500
            t0 = time.perf_counter()
            for _ in range(n_batches):
                collator([None] * BATCH_SIZE)
            print(f"{(time.perf_counter() - t0) / n_batches * 1e3:.2f} ms per batch of {BATCH_SIZE} windows of {K} steps")
            """
        ),
        md(
            """
            ## Next

            [Notebook 3](03_train.ipynb) gives these batches to the 🤗 `Trainer` and trains the Decision Transformer.
            """
        ),
    ]


def notebook_03() -> list:
    return [
        *header(
            "03_train.ipynb",
            "3 · Train the Decision Transformer",
            """
            Time to train. The 🤗 `Trainer` runs the training loop for us: batches, optimizer, learning-rate
            schedule, logging, checkpoints. We bring three things: a model whose forward pass returns a loss, the
            collator from notebook 2, and the settings (`TrainingArguments`).
            """,
        ),
        *parameters(
            """
            PRESET = "tiny" if FAST else "tutorial"  # "tutorial" (the blog's), "demo" (runs after a few CPU minutes) or "tiny": see the presets below
            RUN_DIR = "runs/03_train"  # where the model is saved; notebook 4 loads it from here
            PUSH_TO_HUB = False  # True uploads the model to the hub (needs a login); never done in CI
            HUB_MODEL_ID = "your-username/decision-transformer-halfcheetah"
            """
        ),
        *LOAD_DATA,
        md(
            """
            ## The model: `TrainableDT`

            transformers' `DecisionTransformerModel` is GPT-2 with embeddings for returns-to-go, states, actions
            and timesteps. Given a batch of windows it predicts an action for every step. The `Trainer` needs the
            forward pass to return a **loss**, so `TrainableDT` subclasses the model and adds the tutorial's loss:
            the mean squared error between predicted and true actions, over the real steps only (the attention
            mask zeroes the padding). Here is its forward pass:
            """
        ),
        code(
            """
            import inspect

            from dt_tutorial.model import TrainableDT

            print(inspect.getsource(TrainableDT.forward))
            """
        ),
        md(
            """
            ## The settings: three presets

            All training settings live in one `TrainConfig`, and three presets name useful combinations:

            - **`tutorial`**: the blog's exact values: windows of $K = 20$, batch 64, learning rate 1e-4, weight
              decay 1e-4, 10 % linear warm-up then linear decay, AdamW, gradient-norm clipping at 0.25, 120 epochs;
              GPT-2 with 3 layers, 128 hidden units, 1 head, dropout 0.1.
            - **`demo`**: a budget of 3000 steps at a 10× higher learning rate with a cosine schedule, chosen by
              measurement to make the cheetah run after a few minutes on a CPU.
            - **`tiny`**: 20 steps of a 1-layer, 32-wide model. It learns next to nothing; it proves the whole
              pipeline runs, in seconds (tests and this notebook's fast mode).

            An *epoch* here follows the tutorial: one pass over the episodes, i.e. ⌈episodes / batch size⌉ steps
            (each step samples fresh windows). When `max_steps` is positive it sets the number of steps instead,
            and `epochs` is ignored (as in `demo` and `tiny` below).
            """
        ),
        code(
            """
            import dataclasses

            import pandas as pd

            from dt_tutorial.train import PRESETS, get_config

            pd.DataFrame({name: dataclasses.asdict(preset) for name, preset in PRESETS.items()})
            """
        ),
        md("The tutorial's settings, and the preset this notebook uses:"),
        code(
            """
            from dt_tutorial.train import steps_per_epoch

            print(get_config("tutorial"))
            config = get_config(PRESET)
            n_steps = config.max_steps if config.max_steps > 0 else config.epochs * steps_per_epoch(traj.n_episodes, config.batch_size)
            print(f"\\nthis notebook trains the {PRESET!r} preset: {n_steps:.0f} optimizer steps on {traj.n_episodes} episodes")
            """
        ),
        md(
            """
            ## `TrainingArguments` and the `Trainer`

            `make_trainer` turns the config into `TrainingArguments`, builds the collator and a fresh `TrainableDT`
            sized from the data (its config also stores the state mean/std, the scale and the env id, which
            evaluation needs), and hands them to a `Trainer`.

            One change from the blog: it passed `warmup_ratio=0.1`. **transformers 5 removed `warmup_ratio`**;
            `warmup_steps` now takes either a whole number of steps or a float below 1, read as a fraction of all
            steps. So the tutorial's warm-up is `warmup_steps=0.1`.

            The `Trainer` also needs a dataset to count epochs with. Our collator ignores the rows it is given,
            so the `Trainer` gets a cheap stand-in with one row per episode instead of the heavy episode table.
            """
        ),
        code(
            """
            from dt_tutorial.model import count_parameters
            from dt_tutorial.train import make_trainer

            trainer = make_trainer(traj, config, RUN_DIR, progress=False)
            for field in ("num_train_epochs", "max_steps", "per_device_train_batch_size", "learning_rate", "weight_decay",
                          "warmup_steps", "lr_scheduler_type", "optim", "max_grad_norm"):
                print(f"{field:<28} {getattr(trainer.args, field)}")
            print(f"\\nmodel: {count_parameters(trainer.model):,} parameters")
            """
        ),
        md(
            """
            Before training, the loss on one batch: the untrained model predicts actions near 0, so the loss is
            about the mean squared size of the expert's actions.
            """
        ),
        code(
            """
            import torch

            batch = trainer.data_collator([None] * config.batch_size)
            with torch.no_grad():
                loss = trainer.model(**{k: v.to(trainer.model.device) for k, v in batch.items()})["loss"]
            print(f"loss of the untrained model: {loss.item():.3f}")
            print(f"mean squared action in the data: {(traj.actions ** 2).mean():.3f}")
            """
        ),
        md(
            """
            ## Train

            `train(...)` builds this same `Trainer` with `make_trainer`, runs **`Trainer.train()`**, then saves the
            model, its loss history and its config to `RUN_DIR`. (It can also resume an interrupted run from its
            last checkpoint: `train(..., resume=True)`.) On a GPU it uses the GPU.
            """
        ),
        code(
            """
            from dt_tutorial.train import train

            result = train(traj, config, RUN_DIR, progress=not FAST)
            runtime = next(h["train_runtime"] for h in result.history if "train_runtime" in h)
            print(f"trained {result.trainer.state.global_step} steps in {runtime:.0f} s; saved to {result.output_dir}")
            """
        ),
        md(
            """
            ## The loss curve

            The loss is the action error on the windows of each batch, logged every `logging_steps` steps. It
            should fall fast at first, then slowly. (With the `tiny` preset it barely moves: 20 steps is nothing.)
            """
        ),
        code(
            """
            import matplotlib.pyplot as plt

            from dt_tutorial.plots import plot_loss

            plot_loss(result.history, title=f"training loss ({PRESET} preset)")
            plt.show()
            """
        ),
        md(
            """
            ## The saved run, loaded back

            `RUN_DIR` now holds the model (`config.json` + `model.safetensors`), the loss history, the training
            config and the last checkpoints. Because the state mean/std, the scale and the env id are in
            `config.json`, `load_model(RUN_DIR)` is all that evaluation needs. It returns the model in **eval
            mode**: dropout off. (The blog evaluated with dropout still on, which adds noise to every action.)
            """
        ),
        code(
            """
            from pathlib import Path

            from dt_tutorial.model import load_model

            print("files in", RUN_DIR, ":", sorted(p.name for p in Path(RUN_DIR).iterdir()))
            loaded = load_model(RUN_DIR)
            print({key: getattr(loaded.config, key) for key in ("env_id", "dataset_name", "scale", "context_length")})
            """
        ),
        md("A check that nothing was lost: the loaded model predicts the same actions as the one in memory."),
        code(
            """
            trained = result.model.to("cpu").eval()
            with torch.no_grad():
                in_memory = trained.original_forward(**batch, return_dict=True).action_preds
                reloaded = loaded.original_forward(**batch, return_dict=True).action_preds
            print("same predictions:", torch.allclose(in_memory, reloaded, atol=1e-6))
            """
        ),
        md(
            """
            ## Share it on the hub (optional)

            `push_to_hub` uploads the model with its config to your account, so anyone can load it with
            `load_model("your-username/...")`. It needs a Hugging Face token (`huggingface_hub.notebook_login()`
            or `hf auth login`). It only runs when you set `PUSH_TO_HUB = True` in the parameters.
            """
        ),
        code(
            """
            if PUSH_TO_HUB:
                loaded.push_to_hub(HUB_MODEL_ID)
                print(f"uploaded: https://huggingface.co/{HUB_MODEL_ID}")
            else:
                print("PUSH_TO_HUB is False: nothing uploaded")
            """
        ),
        md(
            """
            ## How long does the real run take?

            <!-- TIMINGS --> Measured on a 2-core CPU (BENCHMARKS.md): the full `tutorial` preset on the 1,000
            expert episodes is 1,920 optimizer steps at about 3.7 steps/s, so about 9 minutes (the blog's own
            pipeline managed 1.4 steps/s there: about 23 minutes), and the `demo` preset's 3,000 steps about
            14 minutes on that busy machine. We had no GPU to time a Colab run on; the blog quoted about 40
            minutes on a Colab GPU, most of it spent in its row-by-row collator, which is gone here, so expect
            a few minutes.

            ## Next

            [Notebook 4](04_watch_it_run.ipynb) loads this run, evaluates it in the simulator and shows the cheetah running.
            """
        ),
    ]


def notebook_04() -> list:
    return [
        *header(
            "04_watch_it_run.ipynb",
            "4 · Watch it run",
            """
            The payoff: put the trained Decision Transformer in the HalfCheetah simulator, measure how well it
            does, watch a video of it, and ask it for different returns to see what return-conditioning means.
            """,
        ),
        *parameters(
            """
            RUN_DIR = "runs/03_train"  # notebook 3's saved model
            FALLBACK_PRESET = "tiny" if FAST else "demo"  # trained here if notebook 3's model is missing
            OUT_DIR = "runs/04_watch_it_run"  # videos (and the fallback model) go here
            TARGET_RETURN = 12000  # the tutorial's target, about the expert's return
            N_EVAL_EPISODES = 2 if FAST else 10
            MAX_STEPS = 100 if FAST else None  # steps per evaluation episode; None: the env's full 1000
            VIDEO_STEPS = 50 if FAST else None  # steps of the filmed episodes (each frame is rendered, which is slow on a CPU)
            VIDEO_SIZE = (160, 120) if FAST else (480, 360)  # (width, height) in pixels
            CONDITIONING_TARGETS = [0, 12000] if FAST else [0, 2000, 4000, 6000, 8000, 10000, 12000, 14000]
            N_CONDITIONING_EPISODES = 2 if FAST else 5
            """
        ),
        md(
            """
            ## The model

            If notebook 3 saved a model in `RUN_DIR` we load it. Otherwise this notebook trains one itself with
            `FALLBACK_PRESET` (`demo` takes a few CPU minutes and runs well; `tiny` takes seconds and barely moves),
            so it also works on its own.
            """
        ),
        code(
            """
            from pathlib import Path

            from dt_tutorial.model import count_parameters, load_model

            if (Path(RUN_DIR) / "config.json").exists():
                model = load_model(RUN_DIR)
                print(f"loaded notebook 3's model from {RUN_DIR}")
            else:
                from dt_tutorial.data import Trajectories
                from dt_tutorial.notebook import load_tutorial_dataset
                from dt_tutorial.train import get_config, train

                print(f"no model in {RUN_DIR} (run notebook 3 to use yours): training the {FALLBACK_PRESET!r} preset here")
                episodes, dataset_name = load_tutorial_dataset(USE_HUB, N_BUNDLED_EPISODES)
                trajectories = Trajectories.from_dataset(episodes, dataset_name)
                model = train(trajectories, get_config(FALLBACK_PRESET), Path(OUT_DIR) / "model", progress=not FAST).model.eval()
            print(f"{count_parameters(model):,} parameters, trained on {model.config.dataset_name} for {model.config.env_id}")
            """
        ),
        md(
            """
            ## Evaluate: how well does it run?

            An evaluation episode goes like this. Reset the environment and set the return-to-go to the target we
            ask for, divided by the scale (12 000 → 12.0). At each step, give the model the last $K$ steps
            (normalised with the mean/std saved in the model, left-padded at the start exactly as in training),
            take its predicted action for the newest step, apply it in the environment, and lower the return-to-go
            by the reward received. The model runs in eval mode without gradients, and all episodes advance
            together: one model call per time step for the whole batch.

            We report the returns and their **D4RL score** (0 = random policy, 100 = D4RL expert).
            In fast mode the episodes stop after `MAX_STEPS` and the model is the `tiny` one, so expect returns
            near 0: the cheetah barely moves. A model trained with the `demo` or `tutorial` preset runs.
            """
        ),
        code(
            """
            import numpy as np

            from dt_tutorial.rollout import evaluate

            evaluation = evaluate(model, target_return=TARGET_RETURN, n_episodes=N_EVAL_EPISODES, max_steps=MAX_STEPS, progress=not FAST)
            print(evaluation.summary())
            print("returns:    ", np.round(evaluation.returns, 1).tolist())
            print("D4RL scores:", np.round(evaluation.scores, 1).tolist())
            low, high = model.config.dataset_return_range
            print(f"(the training episodes returned {low:.0f} to {high:.0f})")
            """
        ),
        md(
            """
            ## The video

            `record_video` runs one episode with rendering on: MuJoCo draws each frame off-screen (through EGL on
            a machine without a display), the frames are written to an mp4 file with imageio, and `show_video`
            embeds it here. (The blog's recorder no longer works with today's libraries.)
            """
        ),
        code(
            """
            from dt_tutorial.video import record_video, show_video

            video_path = Path(OUT_DIR) / "cheetah.mp4"
            episode = record_video(model, video_path, target_return=TARGET_RETURN, max_steps=VIDEO_STEPS, render_size=VIDEO_SIZE, progress=not FAST)
            print(episode.summary())
            show_video(video_path)
            """
        ),
        md(
            """
            ## The target-return slider

            Pick a target return, press *run episode*, and watch what the model does when asked for that much
            reward. (In fast mode, nobody is there to click, so the cell runs one episode itself.)
            """
        ),
        code(
            """
            from IPython.display import display

            from dt_tutorial.widgets import target_return_slider

            slider_video = Path(OUT_DIR) / "slider_episode.mp4"
            slider = target_return_slider(model, value=TARGET_RETURN, max_steps=VIDEO_STEPS, video_path=slider_video)
            display(slider)
            if FAST:
                slider_video.unlink(missing_ok=True)
                slider.run()  # one episode at the slider's value, as a click would
                # The widget shows errors instead of raising them, so check that the episode's video was written.
                assert slider_video.exists(), "the slider's episode failed: see the error in the widget above"
            """
        ),
        md(
            """
            ## Return conditioning

            The Decision Transformer paper's signature plot: the return achieved against the return asked for.
            A model that learned what returns-to-go mean follows the diagonal inside the range of returns it saw
            in training (shaded) and levels off above it: asking for more than the data ever got does not make it
            better than the data. With only expert episodes, low targets are outside what it has seen too, so
            expect it to follow them loosely at best; datasets with mixed quality (`halfcheetah-medium-replay-v2`)
            cover more of the range. (In fast mode the episodes are cut short, so the shaded range is left out.)
            """
        ),
        code(
            """
            import matplotlib.pyplot as plt

            from dt_tutorial.plots import plot_return_conditioning
            from dt_tutorial.rollout import return_conditioning

            results = return_conditioning(model, CONDITIONING_TARGETS, n_episodes=N_CONDITIONING_EPISODES, max_steps=MAX_STEPS, progress=False)
            for r in results:
                print(r.summary())
            plot_return_conditioning(results, None if MAX_STEPS else model.config.dataset_return_range)
            plt.show()
            """
        ),
        md(
            """
            ## Where next

            - Train longer (`PRESET = "demo"` or `"tutorial"` in notebook 3) and rerun this notebook.
            - The command line does all of this in one go: `python -m dt_tutorial demo`.
            - Other datasets: `hopper-medium-v2`, `walker2d-medium-replay-v2`, … (`python -m dt_tutorial train --dataset ...`),
              or your own: `python -m dt_tutorial collect --noise 0.3` makes lower-quality HalfCheetah data.
            """
        ),
    ]


def write(name: str, cells: list) -> Path:
    nb = new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
            "colab": {"provenance": []},
        },
    )
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i:02d}"  # stable ids: regenerating gives no diff
    nbformat.validate(nb)
    path = NOTEBOOKS / name
    nbformat.write(nb, path)
    return path


if __name__ == "__main__":
    NOTEBOOKS.mkdir(exist_ok=True)
    for name, cells in (
        ("01_load_the_dataset.ipynb", notebook_01()),
        ("02_preprocessing_and_collator.ipynb", notebook_02()),
        ("03_train.ipynb", notebook_03()),
        ("04_watch_it_run.ipynb", notebook_04()),
    ):
        print("wrote", write(name, cells))

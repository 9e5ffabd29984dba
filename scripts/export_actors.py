"""Export the actors of the six rl-trained-agents HalfCheetah zips to the .npz files `policies.Actor` reads.

    python scripts/export_actors.py ../shared/experts dt_tutorial/assets

Reads `<algo>-HalfCheetah-v3.zip` (+ `.vecnormalize.pkl` where the agent normalised observations); needs the
`experts` extra (stable-baselines3) for the normaliser pickles.
"""

import sys
from pathlib import Path

from dt_tutorial.sources.policies import SHIPPED, Actor, shipped_path

if __name__ == "__main__":
    experts, assets = Path(sys.argv[1]), Path(sys.argv[2])
    for name in SHIPPED:
        out = assets / shipped_path(name).name
        Actor.from_sb3(experts / f"{name}-HalfCheetah-v3.zip").save_npz(out)
        print(f"wrote {out} ({out.stat().st_size / 1024:.0f} KiB)")

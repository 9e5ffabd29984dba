"""Export the actor of an SB3 SAC/TQC zip to the plain .npz that `SquashedGaussianActor` reads.

    python scripts/export_expert_actor.py ../shared/experts/tqc-HalfCheetah-v3.zip HalfCheetah-v5 \
        dt_tutorial/assets/tqc_halfcheetah_v3_actor.npz

Needs the `experts` extra (stable-baselines3, sb3-contrib).
"""

import sys

from dt_tutorial.collect import SquashedGaussianActor

if __name__ == "__main__":
    zip_path, env_id, out = sys.argv[1:4]
    SquashedGaussianActor.from_sb3(zip_path, env_id).save_npz(out)
    print(f"wrote {out}")

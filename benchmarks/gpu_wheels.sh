#!/usr/bin/env bash
# Fill .whl/ (ignored by git) with the wheels that the GPU image (Python 3.12, torch, transformers, accelerate,
# numpy, pyarrow, pandas, fsspec, huggingface-hub, xxhash, cloudpickle, absl-py, etils ...) lacks, for benchmarks/gpu_check.sh.
# Each wheel's Requires-Dist was checked; imageio-ffmpeg (68 MB, video only) is left out. About 27 MB in all.
set -euo pipefail
WHEELS=(gymnasium==1.4.0 farama-notifications==0.0.6 mujoco==4.0.0 mujoco-core==4.0.0 mujoco-studio==4.0.0 websockets==17.4
        glfw==2.11.0 pyopengl==3.1.10 datasets==5.2.0 dill==0.4.1 multiprocess==0.70.19)
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 --platform manylinux_2_5_x86_64 --platform manylinux1_x86_64 -d .whl "${WHEELS[@]}"
du -sh .whl

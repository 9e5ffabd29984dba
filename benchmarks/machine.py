"""What the numbers were measured on: CPU, cores, load, library versions, date."""

from __future__ import annotations

import os
import platform
from datetime import datetime, timezone
from importlib.metadata import version

import psutil
import torch

LIBRARIES = ("torch", "transformers", "datasets", "numpy", "gymnasium", "mujoco")
ENV_VARS = ("MUJOCO_GL", "OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT")  # settings that change the timings


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict:
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        **{name: version(name) for name in LIBRARIES},
        **{name: os.environ.get(name) for name in ENV_VARS},
    }


def format_machine(info: dict) -> str:
    libraries = ", ".join(f"{name} {info[name]}" for name in LIBRARIES)
    env = " ".join(f"{name}={info[name]}" for name in ENV_VARS if info[name] is not None)
    return (
        f"{info['date']} | {info['cpu']}, {info['usable_cores']}/{info['cores']} cores, torch threads {info['torch_threads']}, "
        f"{info['memory_gb']} GiB | load average {info['load_average']} | Python {info['python']}, {libraries} | {env}"
    )

"""Worker processes of the data generation die with their parent: a killed parent leaves no worker running.

On Linux the kernel kills each worker when its parent exits (`prctl(PR_SET_PDEATHSIG, SIGKILL)`); elsewhere a thread
in the worker watches its parent id and exits when it changes.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

from threadpoolctl import threadpool_limits

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def init_worker(parent_pid: int) -> None:
    """A process pool's initializer: one BLAS/OpenMP thread per worker (each its own core), death with the parent."""
    threadpool_limits(1)
    die_with_parent(parent_pid)


def die_with_parent(parent_pid: int) -> None:
    if sys.platform.startswith("linux"):
        try:
            if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
                if os.getppid() != parent_pid:  # the parent died before the prctl took hold
                    os._exit(1)
                return
        except (OSError, AttributeError):
            pass
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(0.5)
    os._exit(1)

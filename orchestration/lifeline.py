"""A task's process dies with the process that supervises it.

Airflow 3 runs a task in a process forked by its supervisor (in a Celery worker, the pool process),
and puts it in a process group of its own. Celery kills its pool processes when the worker dies,
but nothing kills the task: a load went on writing after its worker was SIGKILLed, while the
scheduler retried it elsewhere. Linux's parent-death signal ends it with its supervisor.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def die_with_parent() -> bool:
    """Ask the kernel to SIGKILL this process when its parent exits; True where it could (Linux)."""
    if not sys.platform.startswith("linux"):
        return False
    parent = os.getppid()
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        return False
    if os.getppid() != parent:  # the parent died before the request: too late for the kernel to tell
        os.kill(os.getpid(), signal.SIGKILL)
    return True

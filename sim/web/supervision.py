"""A `cpw serve` worker process ends when the process that started it dies.

With `--workers N` (N > 1) uvicorn runs the application in N child processes under a
supervisor, `cpw serve` itself. A `kill -9` of the supervisor (or its crash) runs no shutdown
code, and its children would go on answering on the shared socket, unseen by the operator, who
believes the service stopped. Each worker therefore asks the kernel (Linux `prctl`,
PR_SET_PDEATHSIG) to kill it the moment its parent dies; where that call is not available a
thread checks the parent once a second. With one worker the application runs in the supervisor
itself and nothing is needed.
"""

import ctypes
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1  # linux/prctl.h
POLL_SECONDS = 1.0


def end_with_supervisor(supervisor: int) -> None:
    """In a worker process started by `supervisor` (a pid), arrange to die with it. The parent
    may already have died before the request is made, so it is then checked once."""
    if supervisor <= 0 or os.getpid() == supervisor:
        return  # the application runs in the supervisor's own process
    if not (sys.platform.startswith("linux") and _parent_death_signal()):
        threading.Thread(target=_watch, args=(supervisor,), name="supervisor", daemon=True).start()
    if os.getppid() != supervisor:
        os.kill(os.getpid(), signal.SIGKILL)


def _parent_death_signal() -> bool:
    """Ask for SIGKILL when the parent dies; False if the kernel refused."""
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0


def _watch(supervisor: int) -> None:
    while os.getppid() == supervisor:
        time.sleep(POLL_SECONDS)
    os.kill(os.getpid(), signal.SIGKILL)

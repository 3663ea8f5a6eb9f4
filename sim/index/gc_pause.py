"""CPython's cyclic garbage collector held off while a batch of lookups or logins is made.

A batch makes a few tracked objects per lookup (queries, answers, audit events and their
details) that live until the batch returns; the collector, run every 700 allocations, walks
them again and again, and each time they survive into the oldest generation it walks every
long-lived object of the process too (a simulation's, tens of thousands): measured, about a
fifth of a batched lookup's CPU time (bench/bench_real_lookups.py). Reference counting frees
what a batch makes when it returns; the few cycles (a caught refusal's traceback) wait for the
collector, which runs again from then on. Reentrant and shared by threads: collection resumes
when the last batch in the process ends, and only if it was on when the first began.
"""

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_LOCK = threading.Lock()
_state = {"holders": 0, "was_enabled": False}


@contextmanager
def collection_paused() -> Iterator[None]:
    """Hold off cyclic garbage collection for the block (see the module doc)."""
    with _LOCK:
        if _state["holders"] == 0:
            _state["was_enabled"] = gc.isenabled()
            gc.disable()
        _state["holders"] += 1
    try:
        yield
    finally:
        with _LOCK:
            _state["holders"] -= 1
            if _state["holders"] == 0 and _state["was_enabled"]:
                gc.enable()

"""The collector held off through a batch (sim.index.gc_pause): nested and across threads it
resumes only when the last holder leaves, and only if it was on to begin with."""

import gc
import threading

from sim.index.gc_pause import collection_paused


def test_collection_resumes_when_the_last_holder_leaves():
    assert gc.isenabled()
    first_in, second_out = threading.Event(), threading.Event()
    seen = []

    def other_batch():
        with collection_paused():
            first_in.set()
            second_out.wait(10)
            seen.append(gc.isenabled())

    with collection_paused():
        with collection_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
        worker = threading.Thread(target=other_batch)
        worker.start()
        first_in.wait(10)
    assert not gc.isenabled()  # the other thread's batch still runs
    second_out.set()
    worker.join(10)
    assert seen == [False]
    assert gc.isenabled()


def test_a_collector_switched_off_before_stays_off():
    gc.disable()
    try:
        with collection_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()

"""Drawing threads yield the CPU to the estimator: a lower OS priority for the calling thread only."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from mocap_app.render.thread import YIELD_NICENESS, yield_cpu


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread niceness is Linux's")
def test_yield_cpu_lowers_the_calling_threads_priority_only():
    seen = {}

    def drawing() -> None:
        before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        yield_cpu()
        seen["drawing"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) - before

    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    thread = threading.Thread(target=drawing)
    thread.start()
    thread.join()
    assert seen["drawing"] == min(YIELD_NICENESS, 19 - before)  # niceness tops out at 19
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before  # this thread untouched

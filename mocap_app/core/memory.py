"""Resident memory of this process: now, the peak so far, and a sampler for long runs (stdlib only)."""

from __future__ import annotations

import resource
import sys
import threading
from pathlib import Path


def rss_bytes() -> int:
    """Resident set size now (Linux: /proc/self/statm; elsewhere the peak, the best the OS tells)."""
    try:
        resident_pages = int(Path("/proc/self/statm").read_text().split()[1])
        return resident_pages * resource.getpagesize()
    except (OSError, IndexError, ValueError):
        return peak_rss_bytes()


def peak_rss_bytes() -> int:
    """The highest resident set size of this process so far."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # macOS reports bytes, Linux kibibytes


class RssSampler:
    """Samples `rss_bytes()` every `interval_s` on a daemon thread; `peak` is the highest sample, which (unlike
    ru_maxrss) can be reset to measure one phase of a run."""

    def __init__(self, interval_s: float = 0.05) -> None:
        self.interval_s = interval_s
        self.peak = rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.peak = max(self.peak, rss_bytes())

    def reset(self) -> int:
        """Start a new phase; returns the peak of the one that ended."""
        ended, self.peak = max(self.peak, rss_bytes()), rss_bytes()
        return ended

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())

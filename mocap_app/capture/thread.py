"""The capture thread: reads a `FrameSource`, stamps each image, hands it over through a bounded queue.

Queue policy by source kind (vidgear's rule): live sources keep the newest frames — when the
consumer falls behind, the oldest waiting frame is dropped and counted; files and image folders
never drop — the reader waits for the consumer (backpressure).

Memory: for sources that never drop, the images of every frame handed out and still referenced anywhere
(the queue, later pipeline stages, the consumer) are counted; past `memory_budget` bytes the reader waits
until older frames are let go. At 4K (25 MB per BGR image, 50 MB with `Frame.rgb`) the default budget
keeps about 10 frames alive, whatever the queues downstream could hold.

Timestamps: `Frame.timestamp_ns` is the source's own time of the image when it has one (a video's
presentation time, an image folder's index ÷ fps), else the thread's clock at the grab (cameras).
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from mocap_app.core.channel import Channel
from mocap_app.core.errors import CaptureError
from mocap_app.core.frames import Frame

from .base import FrameSource

logger = logging.getLogger(__name__)

DEFAULT_MEMORY_BUDGET = 512 * 2**20
# A reader kept waiting this long with nothing queued and no frame let go means the consumer keeps its frames
# (e.g. collects them in a list): the budget is then dropped for the run rather than dead-locking.
STALL_S = 10.0


def frame_nbytes(frame: Frame) -> int:
    """Bytes of the arrays a frame owns: its image and any cached conversion (`Frame.rgb`)."""
    return sum(v.nbytes for v in vars(frame).values() if isinstance(v, np.ndarray))


@dataclass(frozen=True)
class CaptureStats:
    """Counters of one capture run. captured: frames read from the source (dropped ones included);
    dropped: frames discarded because the consumer was behind (live sources only)."""

    captured: int
    dropped: int
    delivered: int
    end_reason: str


class CaptureThread:
    """Runs `source.read()` on its own thread; consume with `get()` or by iterating.

    Iteration yields every queued `Frame`, then raises the source's `CaptureError` if the stream
    ended on an error (after all frames read before it), else stops. `stop()` ends the thread
    promptly and joins it; use it as a context manager to never leave a thread behind.
    """

    def __init__(self, source: FrameSource, queue_size: int = 8, drop_oldest: bool | None = None,
                 clock: Callable[[], int] = time.perf_counter_ns,
                 prepare: Callable[[Frame], object] | None = None,
                 memory_budget: int | None = DEFAULT_MEMORY_BUDGET) -> None:
        """prepare: called on the capture thread with each new frame before it is queued — work done
        there (e.g. computing `Frame.rgb`) is off the consumer's critical path. memory_budget: bytes of
        frame arrays alive at once when frames are never dropped (None: only the queue bounds them)."""
        self.source = source
        self._prepare = prepare
        drop = source.info.is_live if drop_oldest is None else drop_oldest
        self.frames: Channel[Frame] = Channel(queue_size, drop_oldest=drop)
        self._clock = clock
        self._stop = threading.Event()
        self._captured = 0
        self.memory_budget = None if drop else memory_budget
        self._alive = threading.Condition()
        self._alive_bytes = 0
        self.peak_alive_bytes = 0
        self._last_release = time.monotonic()
        self._end_reason = "running"
        self._thread = threading.Thread(target=self._run, name=f"capture {source.info.name}", daemon=True)

    def _run(self) -> None:
        name = self.source.info.name
        reason, error = "end of stream", None
        nbytes = 0
        try:
            while not self._stop.is_set() and self._wait_for_room(nbytes):
                image = self.source.read()
                if image is None:
                    if getattr(self.source, "disconnected", False):
                        reason = "camera disconnected"
                    break
                stamp = getattr(self.source, "timestamp_ns", None)
                frame = Frame(image=image, index=self._captured, timestamp_ns=self._clock() if stamp is None else stamp,
                              source=name)
                self._captured += 1
                if self._prepare is not None:
                    self._prepare(frame)
                nbytes = self._track(frame)
                queued = self.frames.put(frame)
                del frame, image  # held here, they would count against the budget while the next one waits
                if not queued:
                    break
            if self._stop.is_set():
                reason = "stopped"
        except CaptureError as exc:
            reason, error = "error", exc
        except Exception as exc:  # a decoder crash must still end the stream visibly, not hang the consumer
            logger.exception("capture thread failed")
            reason, error = "error", CaptureError(f"Reading {name} failed: {exc}.", "See the log for details.")
        finally:
            self._end_reason = reason
            self.frames.close(error)

    def _track(self, frame: Frame) -> int:
        nbytes = frame_nbytes(frame)
        if self.memory_budget is not None:
            with self._alive:
                self._alive_bytes += nbytes
                self.peak_alive_bytes = max(self.peak_alive_bytes, self._alive_bytes)
            weakref.finalize(frame, self._release, nbytes).atexit = False
        return nbytes

    def _release(self, nbytes: int) -> None:
        with self._alive:
            self._alive_bytes -= nbytes
            self._last_release = time.monotonic()
            self._alive.notify_all()

    def _wait_for_room(self, nbytes: int) -> bool:
        """Wait until a frame of `nbytes` more fits the memory budget; False when asked to stop."""
        def over_budget() -> bool:
            budget = self.memory_budget
            return budget is not None and self._alive_bytes > 0 and self._alive_bytes + nbytes > budget

        with self._alive:
            waiting_since = time.monotonic()
            while over_budget():
                if self._stop.is_set():
                    return False
                self._alive.wait(0.1)
                idle = time.monotonic() - max(waiting_since, self._last_release)
                if idle > STALL_S and self._captured == self.frames.delivered + self.frames.dropped:
                    logger.warning("The consumer of %s keeps its frames (%.0f MB); reading on without the "
                                   "%.0f MB budget.", self.source.info.name, self._alive_bytes / 2**20,
                                   self.memory_budget / 2**20)
                    self.memory_budget = None
        return not self._stop.is_set()

    def start(self) -> CaptureThread:
        self._thread.start()
        return self

    def get(self, timeout: float | None = None) -> Frame | None:
        """The next frame; None when the stream has ended (or on timeout). Raises the source's
        CaptureError once the frames read before it have been delivered."""
        return self.frames.get(timeout)

    def __iter__(self) -> Iterator[Frame]:
        while (frame := self.get()) is not None:
            yield frame

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the thread to end, wait for it, release the source."""
        self._stop.set()
        self.frames.cancel()
        if self._thread.is_alive():
            self._thread.join(timeout)
        if self._thread.is_alive():
            logger.warning("capture thread did not end within %.1f s (source blocked in read)", timeout)
        else:
            self.source.close()

    @property
    def is_alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def stats(self) -> CaptureStats:
        return CaptureStats(self._captured, self.frames.dropped, self.frames.delivered, self._end_reason)

    def __enter__(self) -> CaptureThread:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

"""A bounded hand-over queue between two threads, with the two policies the app needs.

Live input keeps the newest items: a full channel drops its oldest item (counted). Files and
recordings never drop: a full channel blocks the producer (backpressure). The producer ends the
stream with `close()`, or with `close(error)` so the consumer raises that error after draining what
came before it. `cancel()` wakes both sides for a prompt shutdown.
"""

from __future__ import annotations

import collections
import threading
import time
from typing import Generic, TypeVar

T = TypeVar("T")


class Channel(Generic[T]):
    def __init__(self, capacity: int, drop_oldest: bool = False) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self.drop_oldest = drop_oldest
        self._items: collections.deque[T] = collections.deque()
        self._cond = threading.Condition()
        self._closed = False
        self._cancelled = False
        self._error: BaseException | None = None
        self.dropped = 0
        self.delivered = 0

    def put(self, item: T) -> bool:
        """Queue `item`; False when the channel was cancelled (the producer should stop)."""
        with self._cond:
            if self.drop_oldest:
                if len(self._items) >= self.capacity:
                    self._items.popleft()
                    self.dropped += 1
            else:
                while len(self._items) >= self.capacity and not self._cancelled:
                    self._cond.wait(0.1)
            if self._cancelled:
                return False
            self._items.append(item)
            self._cond.notify_all()
            return True

    def get(self, timeout: float | None = None) -> T | None:
        """The next item; None at the end of the stream or on timeout (check `finished`).
        Raises the producer's error once everything queued before it has been taken."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._items and not self._closed and not self._cancelled:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._cond.wait(remaining)
            if self._items and not self._cancelled:
                self.delivered += 1
                self._cond.notify_all()
                return self._items.popleft()
            error, self._error = self._error, None
        if error is not None:
            raise error
        return None

    @property
    def finished(self) -> bool:
        """True once the stream has ended and everything in it was taken."""
        with self._cond:
            return (self._closed or self._cancelled) and not self._items

    def close(self, error: BaseException | None = None) -> None:
        """No more items; the consumer gets `error` (if any) after the queued items. Closing again
        without an error keeps the first one."""
        with self._cond:
            self._closed = True
            if error is not None:
                self._error = error
            self._cond.notify_all()

    def cancel(self) -> None:
        """Stop both sides now; queued items are discarded."""
        with self._cond:
            self._cancelled = True
            self._items.clear()
            self._cond.notify_all()

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)

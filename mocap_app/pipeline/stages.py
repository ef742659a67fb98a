"""Pipeline stages: each runs on its own thread between two channels, timing its own work.

A stage takes items from its inbox, applies `work` and puts the result (unless None) into its
outbox. The end of the inbox's stream ends the stage and closes its outbox; an exception in
`work` closes the outbox with that exception, so it travels downstream to whoever consumes the
last channel, and the stages upstream are cancelled by the pipeline.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mocap_app.core.channel import Channel

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StageTiming:
    """name: stage; items: items processed; busy_s: seconds spent inside `work` (not waiting)."""

    name: str
    items: int
    busy_s: float

    @property
    def ms_per_item(self) -> float:
        return 1000.0 * self.busy_s / self.items if self.items else 0.0


class Stage:
    """on_close(error): called on the stage's thread when its stream ends, with the error that ended it (its own
    or one from upstream) or None."""

    def __init__(self, name: str, work: Callable[[Any], Any], inbox: Channel, outbox: Channel | None,
                 on_close: Callable[[BaseException | None], None] | None = None) -> None:
        self.name = name
        self.work = work
        self.inbox = inbox
        self.outbox = outbox
        self.on_close = on_close
        self.error: BaseException | None = None
        self._items = 0
        self._busy_ns = 0
        self._thread = threading.Thread(target=self._run, name=f"stage {name}", daemon=True)

    def _run(self) -> None:
        error: BaseException | None = None
        try:
            while (item := self.inbox.get()) is not None:
                start = time.perf_counter_ns()
                result = self.work(item)
                self._busy_ns += time.perf_counter_ns() - start
                self._items += 1
                if result is not None and self.outbox is not None and not self.outbox.put(result):
                    break
        except BaseException as exc:
            error = exc
            self.error = exc
            self.inbox.cancel()  # upstream stops feeding a dead stage
        finally:
            if self.on_close is not None:
                try:
                    self.on_close(error)
                except Exception as exc:  # a failing close must not hide the stage's own error
                    logger.exception("closing stage %s failed", self.name)
                    error = error or exc
            if self.outbox is not None:
                self.outbox.close(error)

    def start(self) -> None:
        self._thread.start()

    def cancel(self) -> None:
        """Wake the stage wherever it waits (its channels) so it ends now."""
        self.inbox.cancel()
        if self.outbox is not None:
            self.outbox.cancel()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    @property
    def is_alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def timing(self) -> StageTiming:
        return StageTiming(self.name, self._items, self._busy_ns / 1e9)


class RoundRobinStage:
    """One stage run by several workers, for work that releases the GIL (MediaPipe, ONNX Runtime):
    item i goes to worker i mod N and results leave in input order.

    Each worker owns its `work` callable and so its state: a tracking estimator on worker k sees every
    N-th frame, always the same ones, which keeps its tracking consistent.
    """

    def __init__(self, name: str, works: list[Callable[[Any], Any]], inbox: Channel, outbox: Channel,
                 on_close: Callable[[BaseException | None], None] | None = None) -> None:
        if not works:
            raise ValueError("a stage needs at least one worker")
        self.name = name
        self.inbox = inbox
        self.outbox = outbox
        self.on_close = on_close
        self._lanes_in = [Channel(2) for _ in works]
        self._lanes_out = [Channel(2) for _ in works]
        self._workers = [Stage(f"{name}[{k}]", work, lane_in, lane_out)
                         for k, (work, lane_in, lane_out) in enumerate(zip(works, self._lanes_in, self._lanes_out,
                                                                            strict=True))]
        self._dispatcher = threading.Thread(target=self._dispatch, name=f"stage {name} dispatch", daemon=True)
        self._collector = threading.Thread(target=self._collect, name=f"stage {name} collect", daemon=True)

    def _dispatch(self) -> None:
        count = 0
        try:
            while (item := self.inbox.get()) is not None:
                if not self._lanes_in[count % len(self._lanes_in)].put(item):
                    break
                count += 1
        except BaseException as exc:
            self._lanes_in[count % len(self._lanes_in)].close(exc)
        finally:
            for lane in self._lanes_in:
                lane.close()

    def _collect(self) -> None:
        error: BaseException | None = None
        complete = False
        try:
            count = 0
            while (result := self._lanes_out[count % len(self._lanes_out)].get()) is not None:
                count += 1
                if not self.outbox.put(result):
                    break
            else:
                complete = True
        except BaseException as exc:
            error = exc
        finally:
            if not complete:  # broken or cancelled downstream: stop the workers (else they block on full lanes)
                self.inbox.cancel()
                for lane in (*self._lanes_in, *self._lanes_out):
                    lane.cancel()
            if self.on_close is not None:
                self.on_close(error)
            self.outbox.close(error)

    def start(self) -> None:
        for worker in self._workers:
            worker.start()
        self._dispatcher.start()
        self._collector.start()

    def cancel(self) -> None:
        """Stop the dispatcher, the workers and the collector now."""
        self.inbox.cancel()
        self.outbox.cancel()
        for lane in (*self._lanes_in, *self._lanes_out):
            lane.cancel()

    def join(self, timeout: float | None = None) -> None:
        self._collector.join(timeout)
        self._dispatcher.join(timeout)
        for worker in self._workers:
            worker.join(timeout)

    @property
    def is_alive(self) -> bool:
        return any(t.is_alive() for t in (self._dispatcher, self._collector)) or any(w.is_alive for w in self._workers)

    @property
    def timing(self) -> StageTiming:
        timings = [w.timing for w in self._workers]
        return StageTiming(self.name, sum(t.items for t in timings), sum(t.busy_s for t in timings))

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
    def timings(self) -> list[StageTiming]:
        return [StageTiming(self.name, self._items, self._busy_ns / 1e9)]


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
    def timings(self) -> list[StageTiming]:
        timings = [t for w in self._workers for t in w.timings]
        return [StageTiming(self.name, sum(t.items for t in timings), sum(t.busy_s for t in timings))]


class NewestFirstStage:
    """Live input through several workers that release the GIL (MediaPipe): a worker that becomes free takes the
    newest item, runs `prepare` on it (one worker at a time, in the order items were taken: detection and
    tracking keep state), then its own `work`; results leave in the order the items were taken.

    Nothing is prepared or worked on that is then dropped: a frame waits in the source's drop-oldest queue until
    a worker is free for it. (Round-robin lanes with a detect stage in front, at 30 fps in and 20 out on two
    cores, detected every frame, estimated frames up to two lanes deep behind the newest and dropped a tenth of
    the estimates between the stages.) Each worker keeps its own `work` and state; which frames a worker sees
    depends on timing, so files go through `RoundRobinStage` (repeatable) instead.
    """

    def __init__(self, name: str, prepare_name: str, prepare: Callable[[Any], Any],
                 works: list[Callable[[Any], Any]], inbox: Channel, outbox: Channel) -> None:
        if not works:
            raise ValueError("a stage needs at least one worker")
        self.name, self.prepare_name = name, prepare_name
        self.prepare, self.works = prepare, works
        self.inbox, self.outbox = inbox, outbox
        self._take_lock = threading.Lock()  # held while taking and preparing an item
        self._cond = threading.Condition()
        self._taken = 0  # sequence number of the next item taken
        self._next_out = 0  # sequence number the collector hands on next
        self._done: dict[int, Any] = {}
        self._error: tuple[int, BaseException] | None = None  # the first failed item's sequence number
        self._workers_left = len(works)
        self._cancelled = False
        self._prepare_items = self._prepare_ns = 0
        self._work_items = [0] * len(works)
        self._work_ns = [0] * len(works)
        self._threads = [threading.Thread(target=self._work, args=(k,), name=f"stage {name}[{k}]", daemon=True)
                         for k in range(len(works))]
        self._collector = threading.Thread(target=self._collect, name=f"stage {name} collect", daemon=True)

    def _work(self, k: int) -> None:
        work = self.works[k]
        seq = 0
        try:
            while True:
                with self._take_lock:
                    seq = self._taken  # an error from upstream comes after every item taken so far
                    item = self.inbox.get()
                    if item is None:
                        break
                    self._taken += 1
                    start = time.perf_counter_ns()
                    prepared = self.prepare(item)
                    self._prepare_ns += time.perf_counter_ns() - start
                    self._prepare_items += 1
                start = time.perf_counter_ns()
                result = work(prepared)
                self._work_ns[k] += time.perf_counter_ns() - start
                self._work_items[k] += 1
                with self._cond:
                    self._done[seq] = result
                    self._cond.notify_all()
        except BaseException as exc:
            with self._cond:
                if self._error is None or seq < self._error[0]:
                    self._error = (seq, exc)
                self._cond.notify_all()
            self.inbox.cancel()  # upstream stops feeding a dead stage; the other workers end
        finally:
            with self._cond:
                self._workers_left -= 1
                self._cond.notify_all()

    def _next_result(self) -> tuple[bool, Any]:
        """(True, the next result in order) or (False, None) once every worker ended and all was handed on;
        raises a worker's error once the results taken before it are out."""
        with self._cond:
            while True:
                if self._next_out in self._done:
                    self._next_out += 1
                    return True, self._done.pop(self._next_out - 1)
                if self._cancelled:
                    return False, None
                if self._error is not None and self._next_out >= self._error[0]:
                    raise self._error[1]
                if self._workers_left == 0:
                    return False, None
                self._cond.wait()

    def _collect(self) -> None:
        error: BaseException | None = None
        complete = False
        try:
            while True:
                more, result = self._next_result()
                if not more:
                    complete = not self._cancelled
                    break
                if result is not None and not self.outbox.put(result):
                    break
        except BaseException as exc:
            error = exc
        finally:
            if not complete:  # broken or cancelled downstream: the workers stop taking items
                self.inbox.cancel()
            self.outbox.close(error)

    def start(self) -> None:
        for thread in self._threads:
            thread.start()
        self._collector.start()

    def cancel(self) -> None:
        self.inbox.cancel()
        self.outbox.cancel()
        with self._cond:
            self._cancelled = True
            self._cond.notify_all()

    def join(self, timeout: float | None = None) -> None:
        self._collector.join(timeout)
        for thread in self._threads:
            thread.join(timeout)

    @property
    def is_alive(self) -> bool:
        return self._collector.is_alive() or any(t.is_alive() for t in self._threads)

    @property
    def timings(self) -> list[StageTiming]:
        return [StageTiming(self.prepare_name, self._prepare_items, self._prepare_ns / 1e9),
                StageTiming(self.name, sum(self._work_items), sum(self._work_ns) / 1e9)]

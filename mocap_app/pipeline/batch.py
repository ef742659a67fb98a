"""Many inputs at once: `process INPUTS... -o OUT/ --workers N` on this machine's cores, or `--cluster` on Ray.

Each worker (a spawned process here, a Ray actor on a cluster) builds its estimators once and runs
`process.process_input` on one input after another. The driver hands out the inputs, writes the outputs a
worker returns (a worker that sees OUT/ at the same path writes them itself), and records every finished input
in OUT/'s manifest, one JSON line each. A re-run of the same command skips what the manifest says is done with
the same input file and options. A worker that dies mid-input is replaced and the input retried, at most
`MAX_ATTEMPTS` times; an input that fails (corrupt, nobody in it) fails alone.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import hashlib
import json
import logging
import multiprocessing
import multiprocessing.connection
import os
import secrets
import shutil
import signal
import socket
import tempfile
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from mocap_app.core.config import AppConfig
from mocap_app.core.errors import BatchError, ConfigError, DependencyError, MocapError, RunInterrupted
from mocap_app.core.files import atomic_write

from .process import (
    ProcessOptions,
    build_estimators,
    check_request,
    close_all,
    plan_outputs,
    process_input,
    recovery_hint,
)

logger = logging.getLogger(__name__)

MANIFEST_NAME = "mocap-manifest.jsonl"
PARTIAL_DIR = ".mocap-partial"  # journals of the inputs in progress (and the cluster's shared-folder probe)
MAX_ATTEMPTS = 3  # per input, counting only attempts whose worker died: a failing input fails at once
MEMORY_PER_WORKER = 1.5 * 2**30  # a default-estimator worker's peak RSS is ~1 GB; SMPLer-X S/B more
Status = Literal["done", "failed"]


@dataclass(frozen=True)
class InputStamp:
    """What identifies an input's content without reading it: bytes and last change (a folder: of its files)."""

    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> InputStamp:
        if path.is_dir():
            files = [p.stat() for p in path.iterdir() if p.is_file()]
            return cls(sum(s.st_size for s in files), max([path.stat().st_mtime_ns, *(s.st_mtime_ns for s in files)]))
        stat = path.stat()
        return cls(stat.st_size, stat.st_mtime_ns)


@dataclass(frozen=True)
class BatchJob:
    """One input to process: its output files in OUT/, and which attempt this is."""

    input: Path
    outputs: tuple[Path, ...]
    stamp: InputStamp
    attempt: int = 1


@dataclass(frozen=True)
class InputError:
    """Why an input failed: the error's class name (NothingFoundError, CaptureError, WorkerDied, ...)."""

    kind: str
    message: str
    hint: str = ""


@dataclass(frozen=True)
class InputResult:
    """What a worker reports for one input. `files`: the outputs' bytes by file name, when the worker does not
    see OUT/ (the driver writes them); None when it wrote them itself."""

    status: Status
    written: tuple[str, ...] = ()
    frames: int = 0
    people: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0
    error: InputError | None = None
    worker: str = ""
    files: dict[str, bytes] | None = None


@dataclass(frozen=True)
class ManifestEntry:
    """One line of OUT/mocap-manifest.jsonl: the input as it was processed, with which options, and how."""

    input: str
    size: int
    mtime_ns: int
    options: str  # `options_key` of the run
    outputs: tuple[str, ...]
    status: Status
    frames: int = 0
    people: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0
    error: InputError | None = None
    attempts: int = 1
    worker: str = ""
    finished: str = ""

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, line: str) -> ManifestEntry:
        data = json.loads(line)
        error = data.pop("error")
        people = {int(k): v for k, v in data.pop("people").items()}
        return cls(**{**data, "outputs": tuple(data["outputs"]), "people": people,
                      "error": InputError(**error) if error else None})


class Manifest:
    """OUT/'s record of finished inputs. Appended (and fsynced) as each input finishes, so a run that is killed
    keeps every line written before; `compact` leaves one line per input (the latest) when a run ends."""

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / MANIFEST_NAME
        self.entries: dict[str, ManifestEntry] = {}
        if self.path.is_file():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                try:
                    entry = ManifestEntry.from_json(line)
                except (ValueError, TypeError, KeyError):
                    continue  # a line cut short by a kill, or written by another version
                self.entries[entry.input] = entry

    def record(self, entry: ManifestEntry) -> None:
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(entry.to_json() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        self.entries[entry.input] = entry

    def compact(self) -> None:
        lines = "".join(self.entries[k].to_json() + "\n" for k in sorted(self.entries))
        atomic_write(self.path, lambda handle: handle.write(lines.encode("utf-8")))


@dataclass(frozen=True)
class BatchSettings:
    """workers: how many inputs run at once (None: `default_workers` here, the cluster's CPUs / worker_cpus on
    Ray); cluster: None (this machine, no Ray), "auto" (RAY_ADDRESS, a running local Ray, else a new local
    one) or a Ray address (ray://HOST:10001); worker_cpus / worker_gpus: what each worker declares to Ray (and
    the cores per worker `default_workers` assumes); retry_failed: redo inputs the manifest lists as failed."""

    workers: int | None = None
    cluster: str | None = None
    worker_cpus: float = 2.0
    worker_gpus: float = 0.0
    retry_failed: bool = False


@dataclass(frozen=True)
class BatchPlan:
    folder: Path
    inputs: list[Path]  # every input of the command, resolved, in the order given
    jobs: list[BatchJob]  # what this run processes
    earlier: list[ManifestEntry]  # skipped: done (or failed, without --retry-failed) by an earlier run
    options_key: str


@dataclass(frozen=True)
class BatchEvent:
    """Progress for the caller: an input started on a worker, finished, failed, or is retried."""

    kind: Literal["started", "done", "failed", "retry"]
    input: Path
    worker: str = ""
    detail: str = ""


@dataclass(frozen=True)
class BatchReport:
    entries: list[ManifestEntry]  # every input of the command, in the order given
    ran: int  # processed by this run (the rest were skipped)
    workers: int
    where: str  # "this machine" or "Ray " + the cluster's address
    wall_s: float
    skipped: set[str]  # inputs left as an earlier run finished them

    @property
    def failed(self) -> list[ManifestEntry]:
        return [e for e in self.entries if e.status == "failed"]

    @property
    def frames(self) -> int:
        return sum(e.frames for e in self.entries)


def options_key(options: ProcessOptions, config: AppConfig, formats: list[str]) -> str:
    """A digest of everything that shapes the outputs: a manifest entry with another key is processed again."""
    text = json.dumps([dataclasses.asdict(options), dataclasses.asdict(config), sorted(formats)], sort_keys=True,
                      default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def check_batch_options(options: ProcessOptions) -> None:
    """What a batch cannot do: one overlay video or one live stream for many inputs running at once."""
    if options.overlay is not None:
        raise ConfigError("--overlay writes one video; a batch (--workers/--cluster) writes animation files only.",
                          "Process the input alone for its overlay, or drop --overlay.")
    if options.stream is not None:
        raise ConfigError("--stream sends one take live; a batch runs several at once.",
                          "Stream one input without --workers/--cluster, or drop --stream.")


def plan_batch(inputs: list[Path], outputs: list[Path], formats: list[str], options: ProcessOptions,
               config: AppConfig, retry_failed: bool = False) -> BatchPlan:
    """The jobs of a batch into the one -o folder, minus the inputs its manifest has done already with the same
    input file and options (and, without `retry_failed`, those that failed then: they would fail again)."""
    if len(outputs) != 1 or not outputs[0].is_dir():
        raise ConfigError("A batch (--workers/--cluster) writes into one existing folder: -o OUT/.",
                          "Example: python main.py process videos/ -o out/ --workers 2")
    check_batch_options(options)
    folder = outputs[0].resolve()
    plan = plan_outputs([p.resolve() for p in inputs], [folder], formats)
    manifest = Manifest(folder)
    key = options_key(options, config, formats)
    jobs, earlier = [], []
    for source, outs in plan.items():
        check_request(outs, options, config)
        stamp = InputStamp.of(source)
        entry = manifest.entries.get(str(source))
        same = entry is not None and (entry.size, entry.mtime_ns, entry.options) == (stamp.size, stamp.mtime_ns, key)
        done = same and entry.status == "done" and all(Path(p).exists() for p in entry.outputs)
        if done or (same and entry.status == "failed" and not retry_failed):
            earlier.append(entry)
        else:
            jobs.append(BatchJob(source, tuple(outs), stamp))
    return BatchPlan(folder, list(plan), jobs, earlier, key)


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def available_memory() -> float | None:
    """Bytes of memory free for new processes (Linux: MemAvailable), or None where unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def default_workers(inputs: int, worker_cpus: float = 2.0) -> int:
    """Workers on this machine when --workers is not given: one per `worker_cpus` cores (a worker keeps about
    two busy: two MediaPipe graphs on alternate frames, or torch's threads), no more than the free memory holds
    (`MEMORY_PER_WORKER` each) or than there are inputs; at least 1 (so 1 on a 2-core machine)."""
    count = int(usable_cores() // max(worker_cpus, 0.01))
    memory = available_memory()
    if memory is not None:
        count = min(count, int(memory // MEMORY_PER_WORKER))
    return max(1, min(count, inputs))


class InputWorker:
    """What runs inside one worker: its estimators, built once and reused for every input. The person detector
    is new for each input (~0.15 s once the process has loaded MediaPipe): track ids then start at 0 in every
    input, whichever inputs the worker did before, so an input's files do not depend on how the batch was spread."""

    def __init__(self, options: ProcessOptions, config: AppConfig) -> None:
        self.options = options
        self.config = config
        self.estimators = build_estimators(options, config)
        self.name = f"{socket.gethostname()}:{os.getpid()}"

    def run(self, job: BatchJob, scratch: Path, input_files: dict[str, bytes] | None = None) -> InputResult:
        """Process one input. `scratch`: a folder for the journal (and, with `input_files`, the input's copy and
        the outputs, returned as bytes). `input_files`: the input's bytes by file name when this worker does not
        see the driver's files; then the outputs come back in the result instead of being written to OUT/."""
        start = time.monotonic()
        work = Path(tempfile.mkdtemp(prefix="mocap-batch-", dir=scratch))
        journal = work / f"{job.input.stem}.mocapjournal"
        try:
            source, outputs = job.input, list(job.outputs)
            if input_files is not None:
                source = _unpack_input(input_files, work / "input", job.input)
                (work / "out").mkdir()
                outputs = [work / "out" / p.name for p in job.outputs]
            try:
                outcome = process_input(source, outputs, self.options, self.config, self.estimators,
                                        journal=journal)
            except RunInterrupted:
                raise
            except MocapError as exc:
                hint = exc.hint.replace(recovery_hint(journal), "").strip()  # the journal goes with the scratch
                return self._failed(InputError(type(exc).__name__, exc.message, hint), start)
            except Exception as exc:  # a bug, reported for this input only: the others still run
                return self._failed(InputError(type(exc).__name__, str(exc), traceback.format_exc(limit=-3)), start)
            written = list(outcome.written)
            if outcome.journal is not None:  # --keep-journal: beside the outputs
                kept = (work / "out" if input_files is not None else job.outputs[0].parent) / journal.name
                written.append(Path(shutil.move(outcome.journal, kept)))
            files = {p.name: p.read_bytes() for p in written} if input_files is not None else None
            final = [str(job.outputs[0].parent / p.name) for p in written]
            return InputResult("done", tuple(final), outcome.report.frames, dict(outcome.frames_per_track),
                               time.monotonic() - start, worker=self.name, files=files)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _failed(self, error: InputError, start: float) -> InputResult:
        return InputResult("failed", seconds=time.monotonic() - start, error=error, worker=self.name)

    def close(self) -> None:
        close_all(self.estimators)


def _read_input(path: Path) -> dict[str, bytes]:
    """An input's bytes for a worker that does not see it: the file, or an image folder's files."""
    if path.is_dir():
        return {p.name: p.read_bytes() for p in sorted(path.iterdir()) if p.is_file()}
    return {path.name: path.read_bytes()}


def _unpack_input(files: dict[str, bytes], folder: Path, original: Path) -> Path:
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder / original.name if original.name in files and len(files) == 1 else folder


# --- the workers: processes on this machine, or Ray actors ---------------------------------------------------------

WorkerEvent = tuple[Literal["ready", "done", "died"], int, Any]  # (what, worker id, WorkerInfo | InputResult | str)


@dataclass(frozen=True)
class WorkerInfo:
    name: str  # host:pid
    shares_out: bool  # sees OUT/ at the driver's path: writes outputs itself
    start_error: InputError | None = None  # the estimators could not be built


class WorkerPool(Protocol):
    def start(self) -> int: ...  # a new worker's id (it reports "ready" when it can take inputs)
    def submit(self, worker: int, job: BatchJob) -> None: ...
    def wait(self, timeout: float) -> list[WorkerEvent]: ...
    def stop(self, worker: int) -> None: ...
    def close(self, now: bool = False) -> None: ...


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM from the driver: stop the input the way Ctrl-C stops `process`


def _local_worker_main(conn: multiprocessing.connection.Connection, options: ProcessOptions, config: AppConfig,
                       scratch: Path) -> None:
    """A worker process: build once, then process each job the driver sends until it sends None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the driver decides
    signal.signal(signal.SIGTERM, _interrupted)
    try:
        try:
            worker = InputWorker(options, config)
        except Exception as exc:
            conn.send(("ready", WorkerInfo("", True, _start_error(exc))))
            return
        conn.send(("ready", WorkerInfo(worker.name, True)))
        while (job := conn.recv()) is not None:
            conn.send(("done", worker.run(job, scratch)))
        worker.close()
        os._exit(0)  # without the interpreter's teardown (graph unloads, ~1.5 s) the driver would wait for
    except (KeyboardInterrupt, RunInterrupted, EOFError, BrokenPipeError):
        os._exit(130)  # stopped by the driver, or the driver is gone: nothing of ours is left half-written


def _start_error(exc: BaseException) -> InputError:
    hint = exc.hint if isinstance(exc, MocapError) else traceback.format_exc(limit=-3)
    return InputError(type(exc).__name__, getattr(exc, "message", str(exc)), hint)


class LocalPool:
    """Worker processes on this machine (spawned: no fork of the driver's threads and graphs), each owning a
    pipe. Its own small pool rather than ProcessPoolExecutor: when one worker dies, the executor fails every
    input in flight; here only the input of the worker that died is retried."""

    def __init__(self, options: ProcessOptions, config: AppConfig, scratch: Path) -> None:
        self._args = (options, config, scratch)
        self._context = multiprocessing.get_context("spawn")
        self._workers: dict[int, tuple[multiprocessing.process.BaseProcess, multiprocessing.connection.Connection]] = {}
        self._next = 0

    def start(self) -> int:
        here, there = self._context.Pipe()
        process = self._context.Process(target=_local_worker_main, args=(there, *self._args), daemon=True,
                                        name=f"mocap batch worker {self._next}")
        process.start()
        there.close()
        self._next += 1
        self._workers[self._next] = (process, here)
        return self._next

    def submit(self, worker: int, job: BatchJob) -> None:
        self._workers[worker][1].send(job)

    def wait(self, timeout: float) -> list[WorkerEvent]:
        by_handle: dict[Any, int] = {}
        for wid, (process, conn) in self._workers.items():
            by_handle[conn] = wid
            by_handle[process.sentinel] = wid
        events: list[WorkerEvent] = []
        gone: set[int] = set()
        for handle in multiprocessing.connection.wait(list(by_handle), timeout):
            wid = by_handle[handle]
            if wid in gone:
                continue
            process, conn = self._workers[wid]
            try:
                while conn.poll():  # a result sent just before exiting still counts
                    kind, payload = conn.recv()
                    events.append((kind, wid, payload))
            except (EOFError, OSError):
                pass
            if not process.is_alive():
                process.join()
                events.append(("died", wid, _exit_reason(process.exitcode)))
                self._workers.pop(wid)
                conn.close()
                gone.add(wid)
        return events

    def stop(self, worker: int) -> None:
        process, conn = self._workers.pop(worker)
        with contextlib.suppress(OSError):
            conn.send(None)
        process.join(timeout=10)
        if process.is_alive():
            process.kill()
        conn.close()

    def close(self, now: bool = False) -> None:
        if now:  # Ctrl-C: each worker removes what it was writing, then exits
            for process, _ in self._workers.values():
                process.terminate()
            deadline = time.monotonic() + 3
            for process, _ in self._workers.values():
                process.join(timeout=max(deadline - time.monotonic(), 0))
                if process.is_alive():
                    process.kill()
                    process.join()
            for _, conn in self._workers.values():
                conn.close()
            self._workers.clear()
        for wid in list(self._workers):
            self.stop(wid)


def _exit_reason(code: int | None) -> str:
    if code is not None and code < 0:
        return f"the worker was killed ({signal.Signals(-code).name})"
    return f"the worker exited with code {code}"


class RayActorWorker:
    """The Ray actor body (wrapped by `ray.remote` in `RayPool`, so this module imports without Ray)."""

    def __init__(self, options: ProcessOptions, config: AppConfig, probe: Path, token: str) -> None:
        try:
            self.shares_out = probe.is_file() and probe.read_text() == token
        except OSError:
            self.shares_out = False
        self.scratch = probe.parent if self.shares_out else Path(tempfile.gettempdir())
        self.error: InputError | None = None
        self.worker: InputWorker | None = None
        try:
            self.worker = InputWorker(options, config)
        except Exception as exc:  # reported by `ready`, not as a dead actor Ray would not explain
            self.error = _start_error(exc)

    def ready(self) -> WorkerInfo:
        name = self.worker.name if self.worker else f"{socket.gethostname()}:{os.getpid()}"
        return WorkerInfo(name, self.shares_out, self.error)

    def run(self, job: BatchJob, input_files: dict[str, bytes] | None) -> InputResult:
        assert self.worker is not None, "run() on a worker that did not start"
        return self.worker.run(job, self.scratch, input_files)


def _import_ray():  # -> the ray module
    try:
        import ray
    except ImportError as exc:
        raise DependencyError("--cluster runs on Ray, which is not installed.",
                              "pip install -r requirements-cluster.txt (the Ray version of the cluster).") from exc
    return ray


class RayPool:
    """One actor per worker on a Ray cluster, each declaring `worker_cpus`/`worker_gpus`. A dead actor (killed
    process, lost node) is replaced by a new one Ray places wherever the resources are; the driver retries the
    input it held. Actors that do not see OUT/ get each input's bytes and return the outputs'."""

    def __init__(self, options: ProcessOptions, config: AppConfig, probe: Path, token: str,
                 settings: BatchSettings) -> None:
        self.ray = _import_ray()
        self._actor_class = self.ray.remote(RayActorWorker).options(
            num_cpus=settings.worker_cpus, num_gpus=settings.worker_gpus, max_restarts=0, max_task_retries=0)
        self._args = (options, config, probe, token)
        self._actors: dict[int, Any] = {}
        self._shares: dict[int, bool] = {}
        self._pending: dict[Any, tuple[str, int]] = {}  # object ref → (what, worker)
        self._next = 0

    def start(self) -> int:
        self._next += 1
        actor = self._actor_class.remote(*self._args)
        self._actors[self._next] = actor
        self._pending[actor.ready.remote()] = ("ready", self._next)
        return self._next

    def submit(self, worker: int, job: BatchJob) -> None:
        files = None if self._shares.get(worker) else _read_input(job.input)
        self._pending[self._actors[worker].run.remote(job, files)] = ("done", worker)

    def wait(self, timeout: float) -> list[WorkerEvent]:
        if not self._pending:
            time.sleep(timeout)
            return []
        ready, _ = self.ray.wait(list(self._pending), num_returns=len(self._pending), timeout=timeout)
        events: list[WorkerEvent] = []
        for ref in ready:
            kind, worker = self._pending.pop(ref)
            if worker not in self._actors:
                continue  # an actor already reported dead
            try:
                value = self.ray.get(ref)
            except self.ray.exceptions.RayError as exc:  # the actor died, its node was lost, or a bug in it
                self._drop(worker)
                events.append(("died", worker, f"the worker died ({type(exc).__name__}: {str(exc).splitlines()[0]})"))
                continue
            if kind == "ready":
                self._shares[worker] = value.shares_out
            events.append((kind, worker, value))  # type: ignore[arg-type]
        return events

    def _drop(self, worker: int) -> None:
        actor = self._actors.pop(worker)
        self._pending = {r: w for r, w in self._pending.items() if w[1] != worker}
        self.ray.kill(actor, no_restart=True)

    def stop(self, worker: int) -> None:
        self._drop(worker)

    def close(self, now: bool = False) -> None:
        for worker in list(self._actors):
            self._drop(worker)


@dataclass
class _Run:
    """The driver's state during one batch."""

    plan: BatchPlan
    manifest: Manifest
    on_event: Callable[[BatchEvent], None]
    queue: deque[BatchJob]
    busy: dict[int, BatchJob] = field(default_factory=dict)
    idle: list[int] = field(default_factory=list)
    names: dict[int, str] = field(default_factory=dict)
    start_failures: int = 0
    ran: int = 0

    def finish(self, job: BatchJob, result: InputResult) -> None:
        if result.files is not None:  # from a worker that does not see OUT/
            for name, data in result.files.items():
                atomic_write(self.plan.folder / name, lambda handle, data=data: handle.write(data))
        self.manifest.record(ManifestEntry(
            str(job.input), job.stamp.size, job.stamp.mtime_ns, self.plan.options_key,
            result.written if result.status == "done" else tuple(map(str, job.outputs)), result.status,
            result.frames, result.people, round(result.seconds, 3), result.error, job.attempt, result.worker,
            datetime.now(UTC).isoformat(timespec="seconds")))
        self.ran += 1
        detail = (f"{result.frames} frames in {result.seconds:.1f} s" if result.status == "done"
                  else f"{result.error.kind}: {result.error.message}" if result.error else "")
        self.on_event(BatchEvent(result.status, job.input, result.worker, detail))


def _drive(pool: WorkerPool, run: _Run, workers: int) -> None:
    """Hand the queued inputs to idle workers until all are finished; replace workers that die."""
    for _ in range(min(workers, len(run.queue))):
        pool.start()
    while run.queue or run.busy:
        while run.idle and run.queue:
            worker, job = run.idle.pop(), run.queue.popleft()
            pool.submit(worker, job)
            run.busy[worker] = job
            run.on_event(BatchEvent("started", job.input, run.names.get(worker, ""),
                                    f"attempt {job.attempt}" if job.attempt > 1 else ""))
        for kind, worker, payload in pool.wait(0.5):
            if kind == "ready":
                if payload.start_error is not None:
                    pool.stop(worker)
                    raise BatchError(f"A worker could not start: {payload.start_error.kind}: "
                                     f"{payload.start_error.message}", payload.start_error.hint)
                run.names[worker] = payload.name
                run.idle.append(worker)
            elif kind == "done":
                run.finish(run.busy.pop(worker), payload)
                run.idle.append(worker)
            else:
                _died(pool, run, worker, payload)


def _died(pool: WorkerPool, run: _Run, worker: int, reason: str) -> None:
    """A worker died: retry its input on a new one (bounded), or record the input as failed."""
    job = run.busy.pop(worker, None)
    if worker in run.idle:
        run.idle.remove(worker)
    if job is None:  # died while starting: repeatedly means it cannot start at all
        run.start_failures += 1
        if run.start_failures >= MAX_ATTEMPTS:
            raise BatchError(f"Workers keep dying while they start: {reason}.",
                             "Check the worker's log (on Ray: the dashboard or `ray logs`) and its memory.")
    elif job.attempt < MAX_ATTEMPTS:
        run.queue.appendleft(dataclasses.replace(job, attempt=job.attempt + 1))
        run.on_event(BatchEvent("retry", job.input, run.names.get(worker, ""),
                                f"{reason}; attempt {job.attempt + 1} of {MAX_ATTEMPTS}"))
    else:
        run.finish(job, InputResult("failed", error=InputError(
            "WorkerDied", f"{reason}, on each of {MAX_ATTEMPTS} attempts.",
            "It may need more memory than a worker has: try fewer --workers."), worker=run.names.get(worker, "")))
    if run.queue:
        pool.start()


def _sweep(plan: BatchPlan) -> None:
    """Remove what stopped workers left in OUT/: temporary export files of this batch's outputs, journals."""
    for job in plan.jobs:
        for output in job.outputs:
            for stale in plan.folder.glob(f".{glob.escape(output.stem)}*.tmp"):
                stale.unlink(missing_ok=True)
    shutil.rmtree(plan.folder / PARTIAL_DIR, ignore_errors=True)


def _ray_workers(ray, settings: BatchSettings, jobs: int) -> int:
    """--workers, else as many actors as the cluster's CPUs (and GPUs, when workers ask for them) hold."""
    resources = ray.cluster_resources()
    count = int(resources.get("CPU", 0) // max(settings.worker_cpus, 0.01))
    if settings.worker_gpus > 0:
        count = min(count, int(resources.get("GPU", 0) // settings.worker_gpus))
    if settings.workers is not None:
        if settings.workers > count:
            logger.warning("The cluster holds %d workers of %g CPUs / %g GPUs now; the other %d wait for "
                           "resources (an autoscaling cluster adds nodes).", count, settings.worker_cpus,
                           settings.worker_gpus, settings.workers - count)
        return min(settings.workers, jobs)
    if count < 1:
        raise BatchError(f"The Ray cluster has {resources.get('CPU', 0):g} CPUs and {resources.get('GPU', 0):g} "
                         f"GPUs: not enough for one worker of {settings.worker_cpus:g} CPUs and "
                         f"{settings.worker_gpus:g} GPUs.",
                         "Lower --worker-cpus / --worker-gpus, or add nodes.")
    return min(count, jobs)


def _join_ray(ray, cluster: str) -> bool:
    """Connect to (or, for "auto" without one running, start) the cluster; True when this call did, so the
    run disconnects at its end. An already connected driver (a test, a notebook) keeps its session."""
    if ray.is_initialized():
        return False
    try:
        ray.init(address=None if cluster == "auto" else cluster, logging_level=logging.WARNING, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise BatchError(f"Cannot join the Ray cluster at {cluster}: {exc}",
                         "Start it (`ray start --head`), check the address (ray://HOST:10001 or RAY_ADDRESS), "
                         "and that driver and cluster run the same Ray and Python versions.") from exc
    return True


def run_batch(plan: BatchPlan, options: ProcessOptions, config: AppConfig, settings: BatchSettings,
              on_event: Callable[[BatchEvent], None] = lambda event: None) -> BatchReport:
    """Process `plan.jobs` on local worker processes, or on Ray with `settings.cluster`; every finished input
    goes into the manifest at once. Ctrl-C / SIGTERM stops the workers (their unfinished files removed) and
    raises RunInterrupted: the outputs and the manifest hold exactly the inputs that finished."""
    start = time.monotonic()
    manifest = Manifest(plan.folder)
    run = _Run(plan, manifest, on_event, deque(plan.jobs))
    partial = plan.folder / PARTIAL_DIR
    joined = False
    ray = None
    interrupted = False
    workers = 0
    try:
        if plan.jobs:
            partial.mkdir(exist_ok=True)
            pool: WorkerPool
            if settings.cluster is None:
                workers = min(settings.workers or default_workers(len(plan.jobs), settings.worker_cpus),
                              len(plan.jobs))
                pool = LocalPool(options, config, partial)
            else:
                ray = _import_ray()
                joined = _join_ray(ray, settings.cluster)
                workers = _ray_workers(ray, settings, len(plan.jobs))
                token = secrets.token_hex(8)
                probe = partial / f"probe-{token}"
                probe.write_text(token)
                pool = RayPool(options, config, probe, token, settings)
            try:
                _drive(pool, run, workers)
            except BaseException:
                pool.close(now=True)
                raise
            pool.close()
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if joined:
            ray.shutdown()
        _sweep(plan)
        if manifest.entries:
            manifest.compact()
    if interrupted:
        raise RunInterrupted(f"Interrupted: {run.ran} of {len(plan.jobs)} inputs finished.",
                             f"Their files and {manifest.path} are complete; the same command again processes "
                             "the rest.")
    entries = [manifest.entries[str(p)] for p in plan.inputs if str(p) in manifest.entries]
    where = "this machine" if settings.cluster is None else f"Ray {settings.cluster}"
    return BatchReport(entries, run.ran, workers, where, time.monotonic() - start,
                       {e.input for e in plan.earlier})


def failure_summary(report: BatchReport) -> BatchError | None:
    """The error a batch with failed inputs ends with: how many, of which kind, and what to do; None if none."""
    failed = report.failed
    if not failed:
        return None
    kinds: dict[str, int] = {}
    for entry in failed:
        kind = entry.error.kind if entry.error else "unknown"
        kinds[kind] = kinds.get(kind, 0) + 1
    why = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items(), key=lambda item: -item[1]))
    earlier = sum(e.input in report.skipped for e in failed)
    again = f" ({earlier} in an earlier run)" if earlier else ""
    return BatchError(f"{len(failed)} of {len(report.entries)} inputs failed{again}: {why}.",
                      f"Each one's error is in the table above and in {MANIFEST_NAME}; fix those inputs and run the "
                      "same command with --retry-failed (done inputs are skipped).")


@dataclass(frozen=True)
class BatchBenchRow:
    """One configuration of `bench batch`: where, how many workers, and the throughput over the whole run
    (worker start and model load included, as a user waits for them)."""

    where: str
    workers: int
    videos: int
    frames: int
    wall_s: float

    @property
    def videos_per_minute(self) -> float:
        return 60 * self.videos / self.wall_s

    @property
    def fps(self) -> float:
        return self.frames / self.wall_s


def measure_batch(video: Path, copies: int, worker_counts: list[int], config: AppConfig,
                  clusters: list[str | None], worker_cpus: float = 2.0, worker_gpus: float = 0.0,
                  on_row: Callable[[BatchBenchRow], None] = lambda row: None) -> list[BatchBenchRow]:
    """Run `copies` copies of `video` as one batch per (cluster, worker count), each into a fresh folder
    (nothing skipped), writing npz without a mesh: what is timed is capture, estimation and per-input overhead."""
    options = ProcessOptions(mesh="none")
    rows = []
    with tempfile.TemporaryDirectory(prefix="mocap-bench-batch-") as scratch:
        clips = Path(scratch) / "clips"
        clips.mkdir()
        inputs = [Path(shutil.copyfile(video, clips / f"copy{k}{video.suffix}")) for k in range(copies)]
        for cluster in clusters:
            for workers in worker_counts:
                out = Path(tempfile.mkdtemp(dir=scratch, prefix="out-"))
                plan = plan_batch(inputs, [out], ["npz"], options, config)
                report = run_batch(plan, options, config, BatchSettings(workers, cluster, worker_cpus, worker_gpus))
                if report.failed:
                    entry = report.failed[0]
                    raise BatchError(f"bench batch: {Path(entry.input).name} failed: "
                                     f"{entry.error.message if entry.error else 'unknown'}", "Try the plain process.")
                rows.append(BatchBenchRow(report.where, report.workers, report.ran, report.frames, report.wall_s))
                on_row(rows[-1])
    return rows

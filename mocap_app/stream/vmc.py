"""The VMC protocol sender: a pipeline sink that streams the chosen person to a VMC receiver, one OSC bundle per
frame over UDP.

Each frame's bundle (VMC Marionette spec, protocol.vmc.info):
  /VMC/Ext/OK        ,iiii      loaded 1, calibration state 3 (calibrated), calibration mode 0 (normal),
                                tracking 1 (0 while the person is not seen: no pose follows, the avatar holds)
  /VMC/Ext/T         ,f         seconds since the stream's first frame, on the frames' own clock
  /VMC/Ext/Root/Pos  ,sfffffff  "root", position, quaternion (x, y, z, w)
  /VMC/Ext/Bone/Pos  ,sfffffff  per HumanBodyBones bone: name, local position, local quaternion
  /VMC/Ext/Blend/Val ,sf        per face preset: name, weight in [0, 1]
  /VMC/Ext/Blend/Apply ,        the values above take effect together
Poses come from `stream.unity`, face weights from `stream.face`. Every string, int, float and the time tag is
encoded by python-osc (`pythonosc.parsing.osc_types`); its message and bundle builders are not used because
each parses back what it built (2.3 ms of CPU a frame with them, 1.3 ms without, on the bench machine).

The pipeline is never held up by the network: `consume` converts nothing and only hands the record to the
sender thread through a drop-oldest slot; the socket is non-blocking. The socket is connected, so a receiver
that is not running shows up as ConnectionRefusedError (ICMP port unreachable, on Linux and Windows): reported
once in the log and in `status()`, while the frames keep going out for a receiver that starts later.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import logging
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from pythonosc.parsing import osc_types
from pythonosc.parsing.osc_types import IMMEDIATELY

from mocap_app.body.rest_skeleton import REST_JOINTS
from mocap_app.core.channel import Channel
from mocap_app.core.errors import ConfigError
from mocap_app.core.frames import Frame
from mocap_app.core.params import SmplxParams

from .address import ADDRESS_HINT, StreamConfig
from .face import blend_values
from .unity import UnityPose, unity_pose

logger = logging.getLogger(__name__)

CALIBRATED = 3  # VMC calibration state "Calibrated"
SEND_QUEUE_SIZE = 2  # frames waiting for the sender thread; more is latency, not smoothness
NO_RECEIVER_S = 2.0  # a refusal this recent means nobody is listening now
LATENCY_SAMPLES = 2048
TRANSFORM_TAGS = ",sfffffff"  # name, position x y z, quaternion x y z w
FOLLOW_GAP_S = 1.0  # the person streamed is replaced by another one only after being away this long
BEHIND_S = 0.1  # a real-time stream this far behind the video's clock restarts the clock (no catch-up burst)


class StreamFrame(Protocol):
    """What the sink reads of a pipeline result (`pipeline.runner.FrameResult`): the frame and its people."""

    @property
    def frame(self) -> Frame: ...

    @property
    def people(self) -> list[SmplxParams]: ...


@dataclass(frozen=True)
class StreamStatus:
    """A stream's state for a status bar or a benchmark.

    address: "vmc://HOST:PORT" ("" when off). state: "off", "streaming" or "no receiver" (a refusal in the last
    `NO_RECEIVER_S` seconds). frames_sent: bundles handed to the network; frames_dropped: frames the sender had
    no time for (newer ones replaced them) or the socket buffer refused; frames_skipped: frames above max_fps.
    latency_ms_median, latency_ms_p95: from a frame reaching the stream to its bundle leaving the socket (the
    conversion, encoding and send: what streaming adds), over the last `LATENCY_SAMPLES` frames.
    cpu_ms_per_frame: the sender thread's own CPU time per frame (what it takes from the pipeline's cores; the
    latency above also holds the time it waited for a core or the GIL).
    problem: the first send failure in words ("" when none).
    """

    address: str = ""
    state: str = "off"
    frames_sent: int = 0
    frames_dropped: int = 0
    frames_skipped: int = 0
    latency_ms_median: float = 0.0
    latency_ms_p95: float = 0.0
    cpu_ms_per_frame: float = 0.0
    problem: str = ""

    @property
    def summary(self) -> str:
        """One line for a status bar or a summary table."""
        if not self.address:
            return "not streaming"
        problem = f"; {self.problem}" if self.problem else ""
        state = "" if self.state == "off" else f" ({self.state})"
        return (f"{self.address}{state}: {self.frames_sent} frames sent, {self.frames_dropped} dropped, "
                f"{self.latency_ms_median:.1f} ms each{problem}")


@functools.lru_cache(maxsize=256)
def _head(address: str, type_tag: str, name: str = "") -> bytes:
    """A message's address, type tag and leading string argument, the same every frame: encoded once."""
    head = osc_types.write_string(address) + osc_types.write_string(type_tag)
    return head + osc_types.write_string(name) if name else head


def _floats(values: Iterable[float]) -> bytes:
    return b"".join(osc_types.write_float(float(v)) for v in values)


def frame_bundle(time_s: float, pose: UnityPose | None, blends: dict[str, float]) -> bytes:
    """One frame's datagram (see the module doc); pose None: the person is not seen (status and time only)."""
    tracking = int(pose is not None)
    messages = [_head("/VMC/Ext/OK", ",iiii") + b"".join(map(osc_types.write_int, (1, CALIBRATED, 0, tracking))),
                _head("/VMC/Ext/T", ",f") + _floats([time_s])]
    if pose is not None:
        messages.append(_head("/VMC/Ext/Root/Pos", TRANSFORM_TAGS, "root")
                        + _floats([*pose.root_position, *pose.root_rotation]))
        for name, position, rotation in zip(pose.bones, pose.local_positions, pose.local_rotations, strict=True):
            messages.append(_head("/VMC/Ext/Bone/Pos", TRANSFORM_TAGS, name) + _floats([*position, *rotation]))
        messages += [_head("/VMC/Ext/Blend/Val", ",sf", name) + _floats([value]) for name, value in blends.items()]
        messages.append(_head("/VMC/Ext/Blend/Apply", ","))
    # An OSC 1.0 bundle: "#bundle", its time tag (immediately), then each message's size and bytes.
    sized = b"".join(osc_types.write_int(len(m)) + m for m in messages)
    return osc_types.write_string("#bundle") + osc_types.write_date(IMMEDIATELY) + sized


def _connect(config: StreamConfig) -> socket.socket:
    """A non-blocking UDP socket connected to the receiver (connected: refusals are reported back)."""
    family, kind, protocol, _, address = socket.getaddrinfo(config.host, config.port, type=socket.SOCK_DGRAM)[0]
    sock = socket.socket(family, kind, protocol)
    try:
        sock.connect(address)
    except OSError as exc:
        sock.close()
        raise ConfigError(f"Cannot stream to {config.address}: {exc.strerror or exc}.",
                          f"Check that this machine reaches {config.host}. {ADDRESS_HINT}") from None
    sock.setblocking(False)
    return sock


@dataclass(frozen=True)
class _Item:
    person: SmplxParams | None
    time_s: float
    queued_ns: int


class _Sender:
    """One stream's socket and thread; `offer` runs on the pipeline's sink thread, the rest on the sender's."""

    def __init__(self, config: StreamConfig, rest_joints: np.ndarray) -> None:
        self.config, self.rest_joints = config, rest_joints
        self._socket = _connect(config)
        self._slot: Channel[_Item] = Channel(SEND_QUEUE_SIZE, drop_oldest=True)
        self._latencies_ns: collections.deque[int] = collections.deque(maxlen=LATENCY_SAMPLES)
        self._first_frame_ns: int | None = None
        self._first_wall_ns = 0
        self._next_due_ns = 0
        self._origin: np.ndarray | None = None
        self._followed: int | None = config.track_id
        self._followed_seen_ns = 0
        self._refused_at = -float("inf")
        self.sent = self.failed = self.skipped = 0
        self._handled = self._cpu_ns = 0  # frames the sender thread took on, and its CPU time for them
        self.problem = ""
        self._thread = threading.Thread(target=self._run, name="vmc stream", daemon=True)
        self._thread.start()

    # -- sink thread ---------------------------------------------------------------------------------
    def offer(self, result: StreamFrame) -> None:
        stamp = result.frame.timestamp_ns
        if self._first_frame_ns is None:
            self._first_frame_ns, self._first_wall_ns = stamp, time.perf_counter_ns()
        elapsed = stamp - self._first_frame_ns
        if self.config.max_fps is not None:
            period = round(1e9 / self.config.max_fps)
            if elapsed < self._next_due_ns - period // 4:  # a quarter period early still counts: clock jitter
                self.skipped += 1
                return
            # Keep the average rate at the cap; after a gap start counting afresh rather than burst.
            self._next_due_ns = max(self._next_due_ns + period, elapsed - period)
        if self.config.realtime:
            wait_ns = self._first_wall_ns + elapsed - time.perf_counter_ns()
            if wait_ns > 0:
                time.sleep(wait_ns / 1e9)  # paces the pipeline itself: a file streamed at its own speed
            elif wait_ns < -BEHIND_S * 1e9:
                self._first_wall_ns -= wait_ns  # a slower pipeline sets the pace; later frames keep their spacing
        self._slot.put(_Item(self._choose(result.people, elapsed), elapsed / 1e9, time.perf_counter_ns()))

    def _choose(self, people: list[SmplxParams], elapsed_ns: int) -> SmplxParams | None:
        """The configured track, or the person streamed so far (the order of `people` may change between frames);
        without a configured track, the first person of the frame once the last one was away `FOLLOW_GAP_S`."""
        person = next((p for p in people if p.track_id == self._followed), None)
        away_ns = elapsed_ns - self._followed_seen_ns
        if person is None and people and self.config.track_id is None and (
                self._followed is None or away_ns > FOLLOW_GAP_S * 1e9):
            person = people[0]
        if person is not None:
            self._followed, self._followed_seen_ns = person.track_id, elapsed_ns
        return person

    def finish(self, wait: bool) -> None:
        """End the stream: after the frames queued so far (wait) or now."""
        self._slot.close() if wait else self._slot.cancel()
        self._thread.join(2.0)
        self._socket.close()

    # -- sender thread -------------------------------------------------------------------------------
    def _run(self) -> None:
        while (item := self._slot.get()) is not None:
            started = time.thread_time_ns()
            try:
                self._send(self._encode(item), item.queued_ns)
            except Exception:  # a bug must not end the stream silently, nor stop the pipeline
                self.failed += 1
                self._report("a frame could not be encoded (the log has the traceback)", exc_info=True)
            self._handled += 1
            self._cpu_ns += time.thread_time_ns() - started

    def _encode(self, item: _Item) -> bytes:
        pose = None
        if item.person is not None:
            pose = unity_pose(item.person, self.rest_joints, self._origin)
            if self._origin is None:
                self._origin = pose.pelvis_world
        blends = blend_values(item.person) if item.person is not None else {}
        return frame_bundle(item.time_s, pose, blends)

    def _send(self, datagram: bytes, queued_ns: int) -> None:
        try:
            self._socket.send(datagram)
        except ConnectionRefusedError:
            # The datagram before this one was refused; this one is not sent. Nobody listens (yet).
            self._refused_at = time.monotonic()
            self.failed += 1
            self._report(f"nothing is listening at {self.config.address}; frames keep going out for a receiver "
                         "that starts later")
            return
        except BlockingIOError:
            self.failed += 1  # the socket buffer is full: this frame is dropped, the next one is newer anyway
            return
        except OSError as exc:
            self.failed += 1
            self._report(f"sending to {self.config.address} failed: {exc.strerror or exc}")
            return
        self.sent += 1
        self._latencies_ns.append(time.perf_counter_ns() - queued_ns)

    def _report(self, problem: str, exc_info: bool = False) -> None:
        if not self.problem:  # once per stream, not once per frame
            self.problem = problem
            logger.warning("VMC stream: %s", problem, exc_info=exc_info)

    def status(self) -> StreamStatus:
        latencies = np.array(self._latencies_ns, dtype=np.float64) / 1e6
        median, p95 = (np.percentile(latencies, [50, 95]) if latencies.size else (0.0, 0.0))
        refused = time.monotonic() - self._refused_at < NO_RECEIVER_S
        cpu_ms = self._cpu_ns / 1e6 / self._handled if self._handled else 0.0
        return StreamStatus(self.config.address, "no receiver" if refused else "streaming", self.sent,
                            self.failed + self._slot.dropped, self.skipped, float(median), float(p95), cpu_ms,
                            self.problem)


class VmcStream:
    """A pipeline sink (`consume`/`close`/`abort`) streaming one person over VMC. `start(config)` and `stop()`
    switch it while the pipeline runs (the GUI's toggle); while off, `consume` costs nothing.

    rest_joints: (55, 3) metres, model axes: the skeleton the estimates were fitted on (for bone offsets and the
    pelvis' height over the feet); a stream started later uses a new value."""

    def __init__(self, rest_joints: np.ndarray = REST_JOINTS, config: StreamConfig | None = None) -> None:
        self.rest_joints = np.asarray(rest_joints, dtype=np.float64)
        self._lock = threading.Lock()
        self._sender: _Sender | None = None
        self._ended = StreamStatus()  # the last stream's figures once it stopped
        if config is not None:
            self.start(config)

    def start(self, config: StreamConfig) -> None:
        """Stream to `config`'s receiver from the next frame on (replacing a running stream); ConfigError when
        the address cannot be reached from here."""
        sender = _Sender(config, self.rest_joints)
        with self._lock:
            previous, self._sender = self._sender, sender
        if previous is not None:
            previous.finish(wait=False)

    def stop(self, wait: bool = False) -> None:
        """Stop streaming (wait: after the frames already handed over)."""
        with self._lock:
            sender, self._sender = self._sender, None
        if sender is not None:
            sender.finish(wait)
            self._ended = dataclasses.replace(sender.status(), state="off")

    @property
    def active(self) -> bool:
        return self._sender is not None

    def status(self) -> StreamStatus:
        """The running stream's figures; when off, those of the last one (state "off"), or all zero."""
        sender = self._sender
        return sender.status() if sender is not None else self._ended

    def consume(self, result: StreamFrame) -> None:
        sender = self._sender
        if sender is not None:
            sender.offer(result)

    def close(self) -> None:
        self.stop(wait=True)

    def abort(self) -> None:
        self.stop()

"""A VMC receiver for checking a stream: what arrives, how often, in which form (`stream-listen`, the tests).

python-osc's UDP server and dispatcher decode the packets; this module only keeps the figures. A frame is one bundle
(ours sends each frame as one) or, from senders that do not bundle, what arrives up to the next `/VMC/Ext/T`
(sent once per frame).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from pythonosc import osc_bundle, osc_packet
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_message import OscMessage
from pythonosc.osc_server import BlockingOSCUDPServer
from pythonosc.parsing import osc_types

from mocap_app.core.errors import ConfigError

RATE_WINDOW_S = 2.0


@dataclass
class VmcFrame:
    """One received frame. time_s: its /VMC/Ext/T (nan: none came); received_ns: `time.perf_counter_ns()` when
    that arrived; ok: the /VMC/Ext/OK arguments; root: (position (3,), quaternion (4,) x y z w) or None;
    bones: HumanBodyBones name → (local position (3,), local quaternion (4,)); blends: name → value."""

    time_s: float = float("nan")
    received_ns: int = 0
    ok: tuple = ()
    root: tuple[np.ndarray, np.ndarray] | None = None
    bones: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    blends: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ListenerSummary:
    """frames: /VMC/Ext/T messages received; packets: datagrams; rate_fps: frames a second over the last
    `RATE_WINDOW_S` seconds; bones: every bone name seen; last: the newest frame (None before one came);
    type_tags: address → the OSC type tags it arrived with (e.g. ",sfffffff")."""

    frames: int
    packets: int
    rate_fps: float
    bones: tuple[str, ...]
    last: VmcFrame | None
    type_tags: dict[str, set[str]]


def _type_tag(message: OscMessage) -> str:
    _, index = osc_types.get_string(message.dgram, 0)
    return osc_types.get_string(message.dgram, index)[0] if index < len(message.dgram) else ","


def _transform(args: tuple) -> tuple[np.ndarray, np.ndarray]:
    return np.array(args[1:4], dtype=np.float64), np.array(args[4:8], dtype=np.float64)


class VmcListener:
    """Listens on UDP `host:port` (port 0: any free one, see `port`) on its own thread; `on_frame(frame)` on that
    thread for every completed frame. Use as a context manager, or `start()` / `stop()`."""

    def __init__(self, port: int, host: str = "0.0.0.0", on_frame: Callable[[VmcFrame], None] | None = None) -> None:
        self._on_frame = on_frame
        self._lock = threading.Lock()
        self._frame = VmcFrame()  # the frame arriving
        self._last: VmcFrame | None = None
        self._arrivals: list[float] = []
        self._bones: set[str] = set()
        self._type_tags: dict[str, set[str]] = {}
        self.frames = self.packets = 0
        dispatcher = _RecordingDispatcher(self._packet, self._complete)
        dispatcher.map("/VMC/Ext/T", self._time)
        dispatcher.map("/VMC/Ext/OK", lambda address, *args: self._set("ok", args))
        dispatcher.map("/VMC/Ext/Root/Pos", lambda address, *args: self._set("root", _transform(args)))
        dispatcher.map("/VMC/Ext/Bone/Pos", self._bone)
        dispatcher.map("/VMC/Ext/Blend/Val", self._blend)
        try:
            self._server = BlockingOSCUDPServer((host, port), dispatcher)
        except OSError as exc:
            raise ConfigError(f"Cannot listen on UDP {host}:{port}: {exc.strerror or exc}.",
                              "Another program (a VMC receiver?) may hold the port: close it or pick another "
                              "with --port.") from None
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="vmc listener", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> VmcListener:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(2.0)
        self._server.server_close()

    def __enter__(self) -> VmcListener:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- server thread -------------------------------------------------------------------------------
    def _packet(self, messages: list[OscMessage]) -> None:
        with self._lock:
            self.packets += 1
            for message in messages:
                self._type_tags.setdefault(message.address, set()).add(_type_tag(message))

    def _time(self, address: str, *args: object) -> None:
        if not np.isnan(self._frame.time_s):  # an unbundled sender's next frame began
            self._complete()
        now = time.perf_counter_ns()
        self._frame.time_s, self._frame.received_ns = float(args[0]), now  # type: ignore[arg-type]
        with self._lock:
            self.frames += 1
            self._arrivals.append(now / 1e9)
            while self._arrivals and self._arrivals[-1] - self._arrivals[0] > RATE_WINDOW_S:
                self._arrivals.pop(0)

    def _set(self, name: str, value: object) -> None:
        setattr(self._frame, name, value)

    def _bone(self, address: str, *args: object) -> None:
        self._frame.bones[str(args[0])] = _transform(args)
        with self._lock:
            self._bones.add(str(args[0]))

    def _blend(self, address: str, *args: object) -> None:
        self._frame.blends[str(args[0])] = float(args[1])  # type: ignore[arg-type]

    def _complete(self) -> None:
        """Hand on the frame that arrived (its bundle ended, or the next frame's time came)."""
        frame, self._frame = self._frame, VmcFrame()
        if np.isnan(frame.time_s):
            return
        with self._lock:
            self._last = frame
        if self._on_frame is not None:
            self._on_frame(frame)

    # -- any thread ----------------------------------------------------------------------------------
    def summary(self) -> ListenerSummary:
        with self._lock:
            span = self._arrivals[-1] - self._arrivals[0] if len(self._arrivals) > 1 else 0.0
            rate = (len(self._arrivals) - 1) / span if span > 0 else 0.0
            return ListenerSummary(self.frames, self.packets, rate, tuple(sorted(self._bones)), self._last,
                                   {k: set(v) for k, v in self._type_tags.items()})


class _RecordingDispatcher(Dispatcher):
    """python-osc's dispatcher, also telling the listener of each packet's messages (for their type tags) and of
    the end of a bundle (a whole frame, from senders that bundle their frames)."""

    def __init__(self, on_packet: Callable[[list[OscMessage]], None], on_bundle_end: Callable[[], None]) -> None:
        super().__init__()
        self._on_packet, self._on_bundle_end = on_packet, on_bundle_end

    def call_handlers_for_packet(self, data: bytes, client_address: tuple[str, int]) -> list:
        try:
            self._on_packet([timed.message for timed in osc_packet.OscPacket(data).messages])
        except osc_packet.ParseError:
            return []
        results = super().call_handlers_for_packet(data, client_address)
        if osc_bundle.OscBundle.dgram_is_bundle(data):
            self._on_bundle_end()
        return results

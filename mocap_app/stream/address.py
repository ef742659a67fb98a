"""Where a stream goes: `vmc://HOST[:PORT]` parsed and checked before any work starts."""

from __future__ import annotations

import math
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from mocap_app.core.errors import ConfigError

VMC_PORT = 39539  # the VMC protocol's usual receiver ("Marionette") port
ADDRESS_HINT = ("Give the receiver as vmc://HOST:PORT, e.g. vmc://127.0.0.1:39539 (where VSeeFace, Warudo and "
                "EVMC4U listen).")


@dataclass(frozen=True)
class StreamConfig:
    """A VMC stream. host: receiver name or IP; port: its UDP port; max_fps: send at most this many frames a second
    (None: every frame); realtime: hold each frame until its time in the video has come (a file streamed as if it
    were live; live sources are real time already); track_id: the person to send (None: the first one seen, the
    followed subject of a one-person run, kept while in view; another one after it has been away a second)."""

    host: str
    port: int = VMC_PORT
    max_fps: float | None = None
    realtime: bool = False
    track_id: int | None = None

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"vmc://{host}:{self.port}"


def parse_stream_address(text: str, max_fps: float | None = None, realtime: bool = False,
                         track_id: int | None = None) -> StreamConfig:
    """`vmc://HOST[:PORT]` → a checked StreamConfig; ConfigError (with a hint) for a bad scheme, host, port or rate.
    The host is resolved here, so a typo fails now rather than frame after frame."""
    parts = urlsplit(text.strip())
    if parts.scheme != "vmc" or not parts.hostname:
        raise ConfigError(f"'{text}' is not a stream address.", ADDRESS_HINT)
    try:
        port = parts.port if parts.port is not None else VMC_PORT
    except ValueError:
        port = 0
    if not 1 <= port <= 65535 or parts.path not in ("", "/") or parts.query or parts.username:
        raise ConfigError(f"'{text}' has no valid port (1-65535) after the host.", ADDRESS_HINT)
    try:
        socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_DGRAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ConfigError(f"The stream host '{parts.hostname}' cannot be resolved ({exc}).",
                          "Check the name, or give the receiver's IP address: vmc://192.168.1.20:39539.") from None
    if max_fps is not None and not (math.isfinite(max_fps) and 0 < max_fps <= 1000):
        raise ConfigError(f"--stream-fps must be in (0, 1000], got {max_fps}.", "Use e.g. --stream-fps 30.")
    return StreamConfig(parts.hostname, port, max_fps, realtime, track_id)


def stream_option(address: str | None, max_fps: float | None, realtime: bool,
                  track_id: int | None = None) -> StreamConfig | None:
    """The `--stream ADDRESS` / `--stream-fps N` pair of a command → its StreamConfig, None without --stream."""
    if address is None:
        if max_fps is not None:
            raise ConfigError("--stream-fps sets the rate of a stream, but no --stream was given.",
                              "Add --stream vmc://HOST:PORT, or drop --stream-fps.")
        return None
    return parse_stream_address(address, max_fps, realtime, track_id)


def unused_udp_port(host: str = "127.0.0.1") -> int:
    """A UDP port on `host` that nothing listens on at this moment (for a stream whose receiver is absent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])

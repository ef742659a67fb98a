"""`vmc://HOST[:PORT]`: what a stream address may be, and how a bad one is refused."""

from __future__ import annotations

import pytest

from mocap_app.core.errors import ConfigError
from mocap_app.stream import VMC_PORT, parse_stream_address, stream_option


@pytest.mark.parametrize(("text", "host", "port", "address"), [
    ("vmc://127.0.0.1:39540", "127.0.0.1", 39540, "vmc://127.0.0.1:39540"),
    ("vmc://localhost", "localhost", VMC_PORT, "vmc://localhost:39539"),  # the VMC receiver port by default
    ("  vmc://[::1]:40000/ ", "::1", 40000, "vmc://[::1]:40000"),
])
def test_stream_addresses_name_a_host_and_a_udp_port(text: str, host: str, port: int, address: str) -> None:
    config = parse_stream_address(text, max_fps=24.0, realtime=True, track_id=2)
    assert (config.host, config.port, config.address) == (host, port, address)
    assert (config.max_fps, config.realtime, config.track_id) == (24.0, True, 2)


@pytest.mark.parametrize(("text", "message"), [
    ("127.0.0.1:39539", "is not a stream address"),
    ("vmc://", "is not a stream address"),
    ("vmc://127.0.0.1:0", "has no valid port"),
    ("vmc://127.0.0.1:39539/avatar", "has no valid port"),
    ("vmc://user@127.0.0.1:39539", "has no valid port"),
])
def test_a_bad_address_is_a_config_error_with_a_hint(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as error:
        parse_stream_address(text)
    assert "vmc://HOST:PORT" in error.value.hint


def test_no_stream_option_means_no_stream() -> None:
    assert stream_option(None, None, realtime=True) is None
    assert stream_option("vmc://127.0.0.1", 30.0, realtime=False, track_id=4).track_id == 4

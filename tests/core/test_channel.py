from __future__ import annotations

import threading
import time

import pytest

from mocap_app.core.channel import Channel


def test_blocking_channel_applies_backpressure_and_loses_nothing() -> None:
    channel: Channel[int] = Channel(2)
    producer = threading.Thread(target=lambda: [channel.put(i) for i in range(100)] and channel.close())
    producer.start()
    time.sleep(0.05)
    assert len(channel) == 2  # producer is blocked on the full channel
    received = []
    while (item := channel.get(timeout=5)) is not None:
        received.append(item)
    producer.join(5)
    assert received == list(range(100)) and channel.dropped == 0 and channel.finished


def test_drop_oldest_keeps_the_newest_items() -> None:
    channel: Channel[int] = Channel(3, drop_oldest=True)
    for i in range(10):
        assert channel.put(i)
    channel.close()
    assert [channel.get(), channel.get(), channel.get(), channel.get()] == [7, 8, 9, None]
    assert channel.dropped == 7 and channel.delivered == 3


def test_error_reaches_the_consumer_after_the_queued_items() -> None:
    channel: Channel[str] = Channel(4)
    channel.put("a")
    channel.close(RuntimeError("broken input"))
    assert channel.get() == "a"
    with pytest.raises(RuntimeError, match="broken input"):
        channel.get()
    assert channel.get(timeout=0.01) is None


def test_cancel_wakes_a_blocked_producer_and_consumer() -> None:
    full: Channel[int] = Channel(1)
    full.put(0)
    results = []
    producer = threading.Thread(target=lambda: results.append(full.put(1)))
    producer.start()
    empty: Channel[int] = Channel(1)
    consumer = threading.Thread(target=lambda: results.append(empty.get()))
    consumer.start()
    time.sleep(0.05)
    full.cancel()
    empty.cancel()
    producer.join(2)
    consumer.join(2)
    assert not producer.is_alive() and not consumer.is_alive()
    assert sorted(results, key=str) == [False, None]

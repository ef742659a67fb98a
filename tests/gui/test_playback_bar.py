"""The playback bar (gui.playback) under a real X server (Xvfb, tests/conftest.py): scrubbing emits the frame
scrubbed to, playing shows frame k at k / fps seconds after play was pressed, and stops on the last frame."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from mocap_app.core import CameraIntrinsics, SmplxParams
from mocap_app.core.config import AppConfig
from mocap_app.pipeline.journal import JournalWriter
from mocap_app.pipeline.playback import TakePlayback

FPS = 50.0
# How late the bar may show a frame, seconds after its due time (k / fps after play). Measured on a 2-core machine
# under Xvfb (0.5 s plays of a 50 fps take): the latest frame of 40 plays 7.6 ms late (2 ms in the median play) when
# idle; of 80 plays with four busy processes competing for the two cores, 103 ms (6 ms in the median play). Never
# early, by construction.
LATE_S = 0.12
# Frames the bar may be behind the clock when paused right after playing: at most 1.01 in the same plays, idle or
# loaded (it draws the frame due at each tick, so only the last tick's lateness counts).
BEHIND_FRAMES = 3


def take(path: Path, frames: int) -> TakePlayback:
    """One person in every frame of a take at FPS, raw (no smoothing: nothing here looks at poses)."""
    camera = CameraIntrinsics.from_fov(640, 480)
    with JournalWriter(path, fps=FPS) as journal:
        for f in range(frames):
            journal.append([SmplxParams.neutral(camera, transl=np.array([0.0, 0.0, 3.0 + f / 100]), frame_index=f,
                                                timestamp_ns=round(f * 1e9 / FPS))])
    return TakePlayback.load(path, AppConfig(), smoothing="off")


@pytest.fixture
def bar(qtbot):
    from mocap_app.gui.playback import PlaybackBar

    widget = PlaybackBar()
    qtbot.addWidget(widget)
    widget.show()
    return widget


class Emitted:
    """frame_changed's frames with the perf_counter time each came."""

    def __init__(self, bar) -> None:
        self.frames: list[int] = []
        self.times: list[float] = []
        bar.frame_changed.connect(self._record)

    def _record(self, frame: int) -> None:
        self.frames.append(frame)
        self.times.append(time.perf_counter())


def test_a_take_shows_its_first_frame_and_scrubbing_emits_the_frame_scrubbed_to(qtbot, bar, tmp_path: Path) -> None:
    from PySide6.QtCore import Qt

    assert not bar.slider.isEnabled() and not bar.play_button.isEnabled() and bar.label.text() == "no take"
    emitted = Emitted(bar)
    bar.set_playback(take(tmp_path / "take.mocapjournal", 35))
    assert emitted.frames == [0] and (bar.slider.minimum(), bar.slider.maximum()) == (0, 34)
    assert bar.label.text() == "frame 1 / 35  ·  0.00 s" and bar.slider.isEnabled()

    bar.slider.setValue(7)
    qtbot.keyClick(bar.slider, Qt.Key.Key_Right)
    qtbot.keyClick(bar.slider, Qt.Key.Key_End)
    assert emitted.frames == [0, 7, 8, 34] and bar.frame() == 34
    assert bar.label.text() == "frame 35 / 35  ·  0.68 s"
    bar.slider.setValue(34)  # no change: no frame to draw again
    assert emitted.frames == [0, 7, 8, 34] and not bar.is_playing()

    bar.set_playback(None)
    assert emitted.frames == [0, 7, 8, 34] and not bar.slider.isEnabled() and bar.label.text() == "no take"


def test_playing_shows_frame_k_at_k_over_fps_seconds(qtbot, bar, tmp_path: Path) -> None:
    bar.set_playback(take(tmp_path / "take.mocapjournal", 200))
    emitted = Emitted(bar)
    start = time.perf_counter()
    qtbot.mouseClick(bar.play_button, _left())
    assert bar.is_playing() and bar.play_button.text() == "Pause"
    qtbot.wait(500)
    bar.pause()
    waited = time.perf_counter() - start
    assert not bar.is_playing() and bar.play_button.text() == "Play"
    frames = np.array(emitted.frames)
    late = np.array(emitted.times) - start - frames / FPS
    assert np.all(np.diff(frames) > 0) and frames[0] >= 1
    assert late.min() >= 0.0, "a frame was shown before its time"
    assert late.max() <= LATE_S, f"a frame was shown {late.max() * 1000:.1f} ms late"
    assert 0 <= waited * FPS - bar.frame() <= BEHIND_FRAMES  # about 25 frames in 0.5 s
    frame = bar.frame()
    qtbot.wait(100)
    assert bar.frame() == frame and emitted.frames[-1] == frame  # paused: stays


def test_a_slow_paint_drops_frames_and_the_take_keeps_its_time(qtbot, bar, tmp_path: Path) -> None:
    """A window that takes 40 ms to draw each frame of a 50 fps take: the bar shows every other frame or so, on
    time; a bar that stepped one frame per draw would be 13 frames (260 ms) behind after 0.5 s."""
    bar.set_playback(take(tmp_path / "take.mocapjournal", 200))
    bar.frame_changed.connect(lambda frame: time.sleep(0.04))
    emitted = Emitted(bar)
    start = time.perf_counter()
    bar.play()
    qtbot.wait(500)
    bar.pause()
    waited = time.perf_counter() - start
    frames = np.array(emitted.frames)
    assert np.any(np.diff(frames) > 1)  # frames were skipped
    assert 0 <= waited * FPS - bar.frame() <= BEHIND_FRAMES + 0.04 * FPS  # plus the last draw's 2 frames
    assert (np.array(emitted.times) - start - frames / FPS).max() <= LATE_S + 0.04


def test_playing_stops_on_the_last_frame_and_play_there_starts_again(qtbot, bar, tmp_path: Path) -> None:
    bar.set_playback(take(tmp_path / "take.mocapjournal", 10))
    emitted = Emitted(bar)
    start = time.perf_counter()
    bar.play()
    qtbot.waitUntil(lambda: not bar.is_playing(), timeout=2000)
    assert bar.frame() == 9 and emitted.frames[-1] == 9 and bar.play_button.text() == "Play"
    assert 0.0 <= emitted.times[-1] - start - 9 / FPS <= LATE_S  # the last frame on time (0.18 s)
    qtbot.wait(100)
    assert emitted.frames[-1] == 9 and bar.frame() == 9  # stopped, not wrapped

    qtbot.mouseClick(bar.play_button, _left())
    assert emitted.frames[-1] == 0 and bar.is_playing()


def test_a_pause_from_a_frame_changed_slot_holds(qtbot, bar, tmp_path: Path) -> None:
    """The window may pause while drawing a frame (a render error): the timer must not be re-armed after it."""
    bar.set_playback(take(tmp_path / "take.mocapjournal", 200))
    seen: list[tuple[int, bool]] = []

    def draw(frame: int) -> None:
        seen.append((frame, bar.is_playing()))
        if frame >= 3:
            bar.pause()

    bar.frame_changed.connect(draw)
    bar.play()
    qtbot.waitUntil(lambda: not bar.is_playing(), timeout=2000)
    qtbot.wait(100)
    assert all(playing for _, playing in seen) and seen[-1][0] >= 3 and [f >= 3 for f, _ in seen].count(True) == 1
    assert bar.frame() == seen[-1][0] and bar.play_button.text() == "Play"


def test_scrubbing_while_playing_plays_on_from_the_frame_scrubbed_to(qtbot, bar, tmp_path: Path) -> None:
    bar.set_playback(take(tmp_path / "take.mocapjournal", 200))
    bar.play()
    qtbot.wait(300)
    scrubbed = time.perf_counter()
    bar.slider.setValue(100)
    qtbot.wait(200)
    elapsed = time.perf_counter() - scrubbed
    assert bar.is_playing()
    assert 0 <= 100 + elapsed * FPS - bar.frame() <= BEHIND_FRAMES  # about 110, not 25 or 135


def _left():
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton

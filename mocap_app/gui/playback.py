"""The playback bar of a recorded take: play/pause, a timeline slider to scrub, and where in the take it is.

It draws nothing: the window connects `frame_changed` to drawing `TakePlayback.people_at(frame)`.
"""

from __future__ import annotations

import math
import time

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSlider, QWidget

from mocap_app.pipeline.playback import TakePlayback


class PlaybackBar(QWidget):
    """Plays a `TakePlayback` in real time: frame k is shown k / fps seconds after play was pressed on frame 0,
    read from a clock, so a slow paint drops frames instead of slowing the take down. Playing stops on the last
    frame (a take is reviewed once, not looped); play pressed there starts again from the first frame. Scrubbing
    while playing carries on from the frame scrubbed to.

    frame_changed(frame): the frame to show (0 .. num_frames - 1), once per change, from scrubbing, playing, or a
    new take (its first frame); not for `set_playback(None)`. The label counts frames from 1: "frame 1 / n" is
    frame 0, at 0.00 s.
    """

    frame_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._playback: TakePlayback | None = None
        self._fps, self._last = 1.0, 0  # the take's frame rate and last frame (1.0, 0 without a take)
        # Playing: frame `_anchor_frame` was due at perf_counter() == `_anchor_s`; later frames every 1 / fps.
        self._anchor_frame, self._anchor_s = 0, 0.0
        self._playing = False  # not the timer's state: that is off while a tick runs the window's drawing
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)  # re-armed for each frame's due time: no drift, no early frames
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._tick)
        self.play_button = QPushButton("Play")
        self.play_button.clicked.connect(self.toggle)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.valueChanged.connect(self._on_value)
        self.label = QLabel()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.play_button)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.label)
        self.set_playback(None)

    def set_playback(self, playback: TakePlayback | None) -> None:
        """Show `playback` (paused on its first frame, which is emitted), or nothing (None: controls disabled)."""
        self.pause()
        self._playback = playback
        self._fps, self._last = (playback.fps, playback.num_frames - 1) if playback else (1.0, 0)
        self.slider.blockSignals(True)  # one frame_changed below, not one per range and value change
        self.slider.setRange(0, self._last)
        self.slider.setValue(0)
        self.slider.blockSignals(False)
        self.play_button.setEnabled(playback is not None)
        self.slider.setEnabled(playback is not None)
        self._show_position()
        if playback is not None:
            self.frame_changed.emit(0)

    def playback(self) -> TakePlayback | None:
        return self._playback

    def frame(self) -> int:
        return self.slider.value()

    def is_playing(self) -> bool:
        return self._playing

    def play(self) -> None:
        if self._playback is None:
            return
        if self.frame() == self._last:
            self.slider.setValue(0)
        self._anchor(self.frame())
        self._playing = True
        self.play_button.setText("Pause")
        self._schedule()

    def pause(self) -> None:
        self._playing = False
        self._timer.stop()
        self.play_button.setText("Play")

    def toggle(self) -> None:
        if self.is_playing():
            self.pause()
        else:
            self.play()

    def _anchor(self, frame: int) -> None:
        self._anchor_frame, self._anchor_s = frame, time.perf_counter()

    def _due_frame(self) -> int:
        """The frame whose time has come, by the clock."""
        return self._anchor_frame + math.floor((time.perf_counter() - self._anchor_s) * self._fps)

    def _schedule(self) -> None:
        """Arm the timer for the next frame's due time."""
        due_s = self._anchor_s + (self.frame() + 1 - self._anchor_frame) / self._fps
        self._timer.start(max(0, math.ceil((due_s - time.perf_counter()) * 1000)))

    def _tick(self) -> None:
        frame = min(self._due_frame(), self._last)
        if frame > self.frame():  # not when the timer fired a little early: then only re-armed
            self.slider.blockSignals(True)  # kept from `_on_value`'s re-anchoring, which is for scrubs
            self.slider.setValue(frame)
            self.slider.blockSignals(False)
            self._show_position()
            self.frame_changed.emit(frame)
        if frame == self._last:
            self.pause()
        elif self._playing:  # unless a slot of frame_changed paused it
            self._schedule()

    def _on_value(self, frame: int) -> None:
        """A scrub (the user, or `slider.setValue`)."""
        if self.is_playing():
            self._anchor(frame)
            self._schedule()
        self._show_position()
        self.frame_changed.emit(frame)

    def _show_position(self) -> None:
        if self._playback is None:
            self.label.setText("no take")
            return
        frame = self.frame()
        self.label.setText(f"frame {frame + 1} / {self._playback.num_frames}  ·  "
                           f"{self._playback.time_at(frame):.2f} s")

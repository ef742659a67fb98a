"""The user's pipeline over frames an evaluation holds in memory (renders, photos), as `process` runs it.

The same pieces as `pipeline.process.process_input`: the estimator the settings name (`build_estimators`),
the person detector + tracker when more than one person is followed (`build_detection`), the capture thread
and the staged `Pipeline`; what an evaluation scores is what a user's run records (the journal holds the
raw estimates; the overlay shows the online-smoothed ones).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mocap_app.capture import CaptureThread, SourceInfo
from mocap_app.core.config import AppConfig
from mocap_app.core.params import SmplxParams

from ..process import (
    ProcessOptions,
    build_detection,
    build_estimators,
    close_all,
    online_smoother,
    smoothing_settings,
)
from ..runner import Pipeline, capture_queue_size


class ArraySource:
    """RGB images held in memory, read like a video file (every frame delivered, nominal timestamps)."""

    def __init__(self, images_rgb: Sequence[np.ndarray], fps: float = 30.0, name: str = "frames") -> None:
        if not images_rgb:
            raise ValueError("ArraySource needs at least one image")
        self._images = images_rgb
        self._next = 0
        self.timestamp_ns: int | None = None
        height, width = images_rgb[0].shape[:2]
        self.info = SourceInfo(kind="video", is_live=False, fps=float(fps), frame_count=len(images_rgb),
                               width=int(width), height=int(height), name=name, timing="nominal")

    def read(self) -> np.ndarray | None:
        """Next (H, W, 3) uint8 BGR image, or None after the last."""
        if self._next >= len(self._images):
            return None
        image = np.ascontiguousarray(self._images[self._next][..., ::-1])
        self.timestamp_ns = round(self._next * 1e9 / self.info.fps)
        self._next += 1
        return image

    def close(self) -> None:
        self._next = len(self._images)


@dataclass(frozen=True)
class FrameOutput:
    """What the pipeline gave for one frame: `raw` (recorded, exported) and `shown` (online-smoothed: the
    overlay; it may bridge a few frames of a person who was lost)."""

    index: int
    raw: list[SmplxParams]
    shown: list[SmplxParams]


def run_frames(source, config: AppConfig, max_people: int = 1) -> list[FrameOutput]:  # source: FrameSource
    """Run the default estimator's pipeline (with `max_people` people followed, like `process --max-people`)
    over every frame of `source`; fresh estimators, detector and tracker per call."""
    options = ProcessOptions.from_settings(config, model="default", max_people=max_people)
    estimators = build_estimators(options, config)
    detection = build_detection(options)
    outputs: list[FrameOutput] = []
    try:
        capture = CaptureThread(source, queue_size=capture_queue_size(False, config.capture.queue_size),
                                prepare=lambda frame: frame.rgb)
        smoothing = smoothing_settings(config)
        smoother = online_smoother(smoothing, source.info.fps)
        pipeline = Pipeline(capture, estimators, detector=detection[0], tracker=detection[1], smoother=smoother,
                            queue_size=config.capture.queue_size, live=False)
        pipeline.run(lambda r: outputs.append(FrameOutput(r.frame.index, list(r.raw_people), list(r.people))))
    finally:
        close_all([*estimators, *detection])
        source.close()
    return outputs

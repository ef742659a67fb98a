"""`python main.py bench detect`: person detector and tracker speed on the CPU."""

from __future__ import annotations

import json
import time
from pathlib import Path

import cv2
import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from mocap_app.core.config import REPO_ROOT
from mocap_app.core.errors import CaptureError
from mocap_app.core.frames import Detection
from mocap_app.detect import BlazePoseDetector, DetectorConfig, IouTracker

DEFAULT_SOURCE = REPO_ROOT / "assets" / "samples" / "demo.mp4"


def _read_frames(source: Path, count: int, width: int, height: int) -> list[np.ndarray]:
    """Up to `count` RGB frames of `source` (an image, or a video's first frames) at width x height."""
    image = cv2.imread(str(source)) if source.suffix.lower() in (".jpg", ".jpeg", ".png", ".bmp") else None
    frames = [image] if image is not None else []
    if image is None:
        capture = cv2.VideoCapture(str(source))
        while len(frames) < count:
            ok, frame = capture.read()
            if not ok:
                break
            frames.append(frame)
        capture.release()
    if not frames:
        raise CaptureError(f"Could not read an image or video frames from {source}.",
                           "Pass a .jpg/.png image or a video file showing people with --source.")
    return [np.ascontiguousarray(cv2.resize(f, (width, height))[..., ::-1]) for f in frames]


def _twice(image: np.ndarray) -> np.ndarray:
    """The middle half of the image twice side by side: the centred person becomes two people."""
    width = image.shape[1]
    middle = image[:, width // 4: width // 4 + width // 2]
    return np.ascontiguousarray(cv2.resize(np.concatenate([middle, middle], axis=1), image.shape[1::-1]))


def _time_detector(detector: BlazePoseDetector, images: list[np.ndarray], rounds: int) -> tuple[list[float], float]:
    """Per-call ms over `rounds` calls cycling through `images` (after 3 warm-up calls), and mean people found."""
    for image in images[:3]:
        detector.detect_rgb(image)
    times, people = [], 0
    for i in range(rounds):
        start = time.perf_counter()
        people += len(detector.detect_rgb(images[i % len(images)]))
        times.append(1000.0 * (time.perf_counter() - start))
    return times, people / rounds


def _walkers(num_people: int, num_frames: int, width: int, height: int, seed: int = 0) -> list[list[Detection]]:
    """Boxes of people walking back and forth across the image, crossing each other, with 2 px jitter and
    ~5% missed detections."""
    rng = np.random.default_rng(seed)
    frames = []
    for t in range(num_frames):
        dets = []
        for k in range(num_people):
            if rng.random() < 0.05:
                continue
            phase = 2 * np.pi * (t / 120.0 + k / num_people)
            cx, cy, h = width * (0.5 + 0.35 * np.sin(phase)), height * (0.5 + 0.05 * k), height * (0.7 - 0.05 * k)
            box = np.array([cx - h / 4, cy - h / 2, cx + h / 4, cy + h / 2]) + rng.normal(0.0, 2.0, 4)
            dets.append(Detection(box, 0.9))
        frames.append(dets)
    return frames


def _time_tracker(num_people: int, num_frames: int, width: int, height: int) -> tuple[list[float], int]:
    """Per-frame ms of `IouTracker.update`, and the number of ids it handed out."""
    tracker, times, ids = IouTracker(), [], set()
    for t, dets in enumerate(_walkers(num_people, num_frames, width, height)):
        start = time.perf_counter()
        tracked = tracker.update(dets, t)
        times.append(1000.0 * (time.perf_counter() - start))
        ids.update(d.track_id for d in tracked)
    return times, len(ids)


def bench_detect(
    source: Path = typer.Option(DEFAULT_SOURCE, "--source", help="Image or video showing one person, centred."),
    frames: int = typer.Option(100, help="Detector calls to time per row."),
    size: str = typer.Option("640x480", help="WxH the frames are resized to."),
    json_path: Path = typer.Option(None, "--json", help="Write the figures to this JSON file."),
) -> None:
    """Time the person detector (BlazePose from the mediapipe wheel) and the IoU/Hungarian tracker.

    Rows: the source's frames; the same frames with their middle half twice side by side (two people);
    an empty grey frame (one model pass, the least a frame costs); with max_people=1 (a single pass).

    Examples:
      python main.py bench detect
      python main.py bench detect --source clip.mp4 --frames 300 --json detect.json
    """
    width, height = (int(v) for v in size.lower().split("x"))
    images = _read_frames(source, frames, width, height)
    cases = {
        "one person (source)": (images, DetectorConfig()),
        "two people (middle half twice)": ([_twice(i) for i in images], DetectorConfig()),
        "nobody (grey frame)": ([np.full((height, width, 3), 128, np.uint8)], DetectorConfig()),
        "one person, max_people=1": (images, DetectorConfig(max_people=1)),
    }
    figures: dict[str, object] = {"source": str(source), "width": width, "height": height, "frames": frames}
    table = Table(title=f"person detection + tracking at {width}x{height}")
    for column in ("stage", "median ms", "p90 ms", "people / frame"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    detector_rows = []
    for name, (case_images, config) in cases.items():
        with BlazePoseDetector(config) as detector:
            times, people = _time_detector(detector, case_images, frames)
        row = {"case": name, "ms_median": round(float(np.median(times)), 3),
               "ms_p90": round(float(np.percentile(times, 90)), 3), "people_per_frame": round(people, 3)}
        detector_rows.append(row)
        table.add_row(f"detector: {name}", f"{row['ms_median']:.1f}", f"{row['ms_p90']:.1f}", f"{people:.2f}")
    figures["detector"] = detector_rows
    tracker_rows = []
    for num_people in (1, 4):
        times, ids = _time_tracker(num_people, 600, width, height)
        row = {"people": num_people, "frames": 600, "ms_median": round(float(np.median(times)), 4),
               "ms_p90": round(float(np.percentile(times, 90)), 4), "ids_given": ids}
        tracker_rows.append(row)
        table.add_row(f"tracker: {num_people} walking, crossing (ids given: {ids})", f"{row['ms_median']:.3f}",
                      f"{row['ms_p90']:.3f}", str(num_people))
    figures["tracker"] = tracker_rows
    Console().print(table)
    if json_path:
        json_path.write_text(json.dumps(figures, indent=2) + "\n")

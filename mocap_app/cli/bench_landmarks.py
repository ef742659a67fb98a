"""`python main.py bench landmarks`: MediaPipe holistic + SMPL-X fit speed at 640x480 on the CPU."""

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
from mocap_app.core.frames import CameraIntrinsics, Frame
from mocap_app.estimators.landmarks import LandmarkEstimator, LandmarkFitter, synthesize_landmarks

DEFAULT_IMAGE = REPO_ROOT / "tests" / "data" / "landmarks" / "astronaut.jpg"
TARGET_FPS = 24.0


def _read_frames(source: Path, count: int, width: int, height: int) -> list[np.ndarray]:
    """`count` BGR frames of `source` (an image repeated, or a video's first frames, looped) at width x height."""
    image = cv2.imread(str(source)) if source.suffix.lower() in (".jpg", ".jpeg", ".png", ".bmp") else None
    if image is not None:
        return [cv2.resize(image, (width, height))] * count
    capture = cv2.VideoCapture(str(source))
    frames: list[np.ndarray] = []
    while len(frames) < count:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(cv2.resize(frame, (width, height)))
    capture.release()
    if not frames:
        raise CaptureError(f"Could not read an image or video frames from {source}.",
                           "Pass a .jpg/.png image or a video file showing a person with --source.")
    return [frames[i % len(frames)] for i in range(count)]


def _timed(estimator: LandmarkEstimator, frame: Frame) -> tuple[list, float]:
    """The people `estimator` finds in `frame`, and the seconds it took."""
    start = time.perf_counter()
    people = estimator.estimate(frame, [])
    return people, time.perf_counter() - start


def synthetic_fit_ms(rounds: int, refine_steps: int) -> float:
    """Median ms of the fit alone on noise-free synthetic landmarks with both hands and the face."""
    camera = CameraIntrinsics.from_fov(640, 480)
    pose = np.zeros((55, 3))
    pose[0] = (np.pi, 0.0, 0.0)
    pose[16:20] = ((0.0, 0.0, -1.0), (0.0, 0.0, 1.0), (0.0, -1.0, 0.0), (0.0, 1.0, 0.0))  # arms down, elbows bent
    obs = synthesize_landmarks(pose, np.array([0.0, 0.0, 3.0]), camera)
    fitter = LandmarkFitter(refine_steps=refine_steps)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fitter.fit(obs, camera)
        times.append(time.perf_counter() - start)
    return 1000.0 * float(np.median(times))


def bench_landmarks(
    source: Path = typer.Option(DEFAULT_IMAGE, "--source", help="Image or video showing one person."),
    frames: int = typer.Option(200, help="Frames to time (after 10 warm-up frames)."),
    size: str = typer.Option("640x480", help="WxH the frames are resized to."),
    refine_steps: int = typer.Option(1, help="Gauss–Newton steps after the IK."),
    face_cost: bool = typer.Option(False, "--face-cost", help="Also run the estimator without the face "
                                   "(model.face = off) on the same frames, alternating frame by frame, and "
                                   "report what the face costs."),
    json_path: Path = typer.Option(None, "--json", help="Write the figures to this JSON file."),
) -> None:
    """Time the default estimator: MediaPipe holistic (model_complexity=1) + SMPL-X fit, one person.

    Examples:
      python main.py bench landmarks
      python main.py bench landmarks --source clip.mp4 --frames 300 --json landmarks.json
      python main.py bench landmarks --source assets/samples/demo.mp4 --face-cost
    """
    width, height = (int(v) for v in size.lower().split("x"))
    images = _read_frames(source, frames + 10, width, height)
    estimator = LandmarkEstimator(refine_steps=refine_steps)
    faceless = LandmarkEstimator(refine_steps=refine_steps, face="off") if face_cost else None
    totals, holistic, fit, found, faceless_totals = [], [], [], 0, []
    try:
        for index, image in enumerate(images):
            # The faceless side gets the same image right before or after (alternating: the second run of an
            # image finds it in the caches), as a Frame of its own: a shared one would hand it the RGB copy the
            # first side made (`Frame.rgb` is computed once), 0.8 ms it would not pay.
            if faceless is not None and index % 2:
                faceless_elapsed = _timed(faceless, Frame(image, index, time.perf_counter_ns()))[1]
            people, elapsed = _timed(estimator, Frame(image, index, time.perf_counter_ns()))
            if faceless is not None and not index % 2:
                faceless_elapsed = _timed(faceless, Frame(image, index, time.perf_counter_ns()))[1]
            if index < 10:
                continue
            found += bool(people)
            totals.append(1000.0 * elapsed)
            holistic.append(estimator.timing.holistic_ms)
            fit.append(estimator.timing.fit_ms)
            if faceless is not None:
                faceless_totals.append(1000.0 * faceless_elapsed)
    finally:
        estimator.close()
        if faceless is not None:
            faceless.close()
    total_ms = float(np.median(totals))
    figures = {
        "source": str(source), "width": width, "height": height, "frames": frames, "refine_steps": refine_steps,
        "detected_frames": found,
        "holistic_ms_median": round(float(np.median(holistic)), 3),
        "holistic_ms_p90": round(float(np.percentile(holistic, 90)), 3),
        "fit_ms_median": round(float(np.median(fit)), 3),
        "fit_ms_p90": round(float(np.percentile(fit, 90)), 3),
        "total_ms_median": round(total_ms, 3),
        "total_fps": round(1000.0 / total_ms, 2),
        "synthetic_fit_ms_median": round(synthetic_fit_ms(300, refine_steps), 3),
        "target_fps": TARGET_FPS,
    }
    if faceless_totals:
        # Per frame, with the face minus without it on the same frame: the machine's drift cancels.
        figures["faceless_total_ms_median"] = round(float(np.median(faceless_totals)), 3)
        figures["face_cost_ms_median"] = round(float(np.median(np.subtract(totals, faceless_totals))), 3)
    table = Table(title=f"landmarks estimator: {frames} frames {width}x{height}, person found in {found}")
    for column in ("stage", "median ms", "p90 ms"):
        table.add_column(column, justify="right" if column != "stage" else "left")
    table.add_row("holistic (MediaPipe)", f"{figures['holistic_ms_median']:.2f}", f"{figures['holistic_ms_p90']:.2f}")
    table.add_row("fit (SMPL-X)", f"{figures['fit_ms_median']:.3f}", f"{figures['fit_ms_p90']:.3f}")
    table.add_row("fit, synthetic landmarks with hands + face", f"{figures['synthetic_fit_ms_median']:.3f}", "")
    table.add_row("total per frame", f"{total_ms:.2f}", f"{float(np.percentile(totals, 90)):.2f}")
    if faceless_totals:
        table.add_row("total per frame, face off", f"{figures['faceless_total_ms_median']:.2f}",
                      f"{float(np.percentile(faceless_totals, 90)):.2f}")
        table.add_row("the face (per frame: on minus off)", f"{figures['face_cost_ms_median']:.2f}", "")
    console = Console()
    console.print(table)
    mark = "✔" if figures["total_fps"] >= TARGET_FPS else "✗"
    console.print(f"{mark} {figures['total_fps']:.1f} fps (target ≥ {TARGET_FPS:.0f})")
    if json_path:
        json_path.write_text(json.dumps(figures, indent=2) + "\n")

"""`python main.py bench capture`: the capture thread against a bare OpenCV read loop on the same file."""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from mocap_app.capture import CaptureThread, VideoFileSource
from mocap_app.core.errors import CaptureError


def write_test_video(path: Path, num_frames: int, width: int, height: int, fps: float = 30.0) -> Path:
    """A textured, moving synthetic clip (MPEG-4 Part 2), so decoding does real work."""
    rng = np.random.default_rng(0)
    texture = cv2.resize(rng.integers(0, 256, (height // 8, 2 * width // 8, 3), dtype=np.uint8),
                         (2 * width, height), interpolation=cv2.INTER_CUBIC)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    for i in range(num_frames):
        x = (7 * i) % width
        frame = np.ascontiguousarray(texture[:, x : x + width])
        cv2.putText(frame, str(i), (20, 60), cv2.FONT_HERSHEY_SIMPLEX, 2, (255, 255, 255), 4)
        writer.write(frame)
    writer.release()
    return path


def bare_opencv_fps(path: Path) -> tuple[float, int]:
    start = time.perf_counter()
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    count = 0
    while True:
        ok, _ = capture.read()
        if not ok:
            break
        count += 1
    capture.release()
    return count / (time.perf_counter() - start), count


def capture_thread_fps(path: Path, queue_size: int) -> tuple[float, int]:
    start = time.perf_counter()
    with CaptureThread(VideoFileSource(path), queue_size=queue_size) as capture:
        count = sum(1 for _ in capture)
    return count / (time.perf_counter() - start), count


def bench_capture(
    video: Path = typer.Option(None, "--video", help="Video file to read (default: a generated 640x480 clip)."),
    frames: int = typer.Option(600, help="Frames in the generated clip."),
    size: str = typer.Option("640x480", help="WxH of the generated clip."),
    rounds: int = typer.Option(5, help="Alternating rounds of each reader; medians are reported."),
    queue_size: int = typer.Option(8, help="Capture queue size."),
    json_path: Path = typer.Option(None, "--json", help="Write the figures to this JSON file."),
) -> None:
    """Decode fps of the capture thread vs a bare OpenCV loop on the same file, interleaved in one run.

    Example: python main.py bench capture --json capture.json
    """
    with tempfile.TemporaryDirectory() as scratch:
        if video is None:
            width, height = (int(v) for v in size.lower().split("x"))
            video = write_test_video(Path(scratch) / "bench.mp4", frames, width, height)
        source_info = VideoFileSource(video).info
        bare, threaded = [], []
        for _ in range(rounds):  # interleaved, so machine noise hits both alike
            fps, bare_count = bare_opencv_fps(video)
            bare.append(fps)
            fps, thread_count = capture_thread_fps(video, queue_size)
            threaded.append(fps)
    if bare_count != thread_count:
        raise CaptureError(f"The readers disagree on {video}: {bare_count} vs {thread_count} frames.",
                           "Report this with the video attached.")
    bare_fps, thread_fps = statistics.median(bare), statistics.median(threaded)
    overhead_pct = 100.0 * (bare_fps - thread_fps) / bare_fps
    figures = {
        "video": str(video), "frames": bare_count, "width": source_info.width, "height": source_info.height,
        "bare_opencv_fps": round(bare_fps, 1), "capture_thread_fps": round(thread_fps, 1),
        "bare_opencv_ms_per_frame": round(1000 / bare_fps, 3),
        "capture_thread_ms_per_frame": round(1000 / thread_fps, 3),
        "overhead_pct": round(overhead_pct, 2), "rounds": rounds,
    }
    table = Table(title=f"capture: {bare_count} frames {source_info.width}x{source_info.height}, median of {rounds}")
    for column in ("reader", "fps", "ms/frame"):
        table.add_column(column, justify="right" if column != "reader" else "left")
    table.add_row("bare OpenCV loop", f"{bare_fps:.0f}", f"{1000 / bare_fps:.3f}")
    table.add_row("CaptureThread", f"{thread_fps:.0f}", f"{1000 / thread_fps:.3f}")
    console = Console()
    console.print(table)
    console.print(f"capture thread overhead: {overhead_pct:+.1f}% (target ≤ 10%)")
    if json_path:
        json_path.write_text(json.dumps(figures, indent=2) + "\n")

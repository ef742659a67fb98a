"""`python main.py bench stream`: the main job with and without a VMC stream to a port nobody listens on."""

from __future__ import annotations

import json
import statistics
import tempfile
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from mocap_app.core.crash import cpu_description
from mocap_app.pipeline.process import ProcessOptions, build_estimators, check_input, close_all, process_input
from mocap_app.stream import StreamConfig, unused_udp_port

from .context import current_config

SAMPLE = Path(__file__).resolve().parents[2] / "assets" / "samples" / "demo.mp4"


def bench_stream(
    ctx: typer.Context,
    video: Path = typer.Option(SAMPLE, "--video", help="Input video (default: the bundled sample clip)."),
    model: str = typer.Option("default", "--model", help="Estimator: default or smplerx-s|b|l|h."),
    repeats: int = typer.Option(2, "--repeats", min=1, help="Runs per side, alternating (medians are shown)."),
    json_path: Path = typer.Option(None, "--json", help="Write the figures to this JSON file."),
) -> None:
    """Process a video without a stream and with one to a local UDP port nobody listens on, alternating in one
    run (not paced: as fast as the pipeline goes); print the fps of each and what the stream adds per frame.

    Stream latency: from a frame reaching the stream to its bundle leaving the socket (pose conversion, OSC
    encoding, send), measured on every frame; stream CPU: the sender thread's own CPU time per frame.

    Example: python main.py bench stream --json stream.json
    """
    config = current_config(ctx)
    info = check_input(video, config)
    console = Console()
    port = unused_udp_port()
    sides: dict[str, list] = {"no_stream": [], "stream": []}
    estimators = build_estimators(ProcessOptions(model=model), config)
    try:
        with tempfile.TemporaryDirectory() as scratch:
            for run in range(repeats):
                for side in sides:
                    stream = StreamConfig("127.0.0.1", port) if side == "stream" else None
                    outcome = process_input(video, [], ProcessOptions(model=model, stream=stream), config, estimators,
                                            journal=Path(scratch) / f"{side}_{run}.mocapjournal")
                    sides[side].append(outcome)
    finally:
        close_all(estimators)
    fps = {side: statistics.median(o.report.fps for o in outcomes) for side, outcomes in sides.items()}
    statuses = [o.stream for o in sides["stream"] if o.stream is not None]
    figures = {
        "video": str(video), "model": model, "machine": cpu_description(), "repeats": repeats,
        "frames": sides["no_stream"][0].report.frames, "receiver": f"127.0.0.1:{port} (nobody listening)",
        "fps_no_stream": round(fps["no_stream"], 2), "fps_stream": round(fps["stream"], 2),
        "fps_runs_no_stream": [round(o.report.fps, 2) for o in sides["no_stream"]],
        "fps_runs_stream": [round(o.report.fps, 2) for o in sides["stream"]],
        "fps_ratio_stream_to_none": round(fps["stream"] / fps["no_stream"], 3) if fps["no_stream"] else None,
        "stream_latency_ms_median": round(statistics.median(s.latency_ms_median for s in statuses), 2),
        "stream_latency_ms_p95": round(statistics.median(s.latency_ms_p95 for s in statuses), 2),
        "stream_cpu_ms_per_frame": round(statistics.median(s.cpu_ms_per_frame for s in statuses), 2),
        "stream_frames_sent": [s.frames_sent for s in statuses],
        "stream_frames_dropped": [s.frames_dropped for s in statuses],
        "stream_problem_reported": statuses[0].problem if statuses else "",
    }
    table = Table(title=f"bench stream: {video.name}, {info.width}x{info.height}, model {model}, "
                        f"{cpu_description()}")
    table.add_column("figure")
    table.add_column("value", overflow="fold")
    for key in ("fps_no_stream", "fps_stream", "fps_ratio_stream_to_none", "fps_runs_no_stream", "fps_runs_stream",
                "stream_latency_ms_median", "stream_latency_ms_p95", "stream_cpu_ms_per_frame", "stream_frames_sent",
                "stream_frames_dropped", "stream_problem_reported"):
        table.add_row(key.replace("_", " "), str(figures[key]))
    console.print(table)
    if json_path:
        json_path.write_text(json.dumps(figures, indent=2) + "\n")

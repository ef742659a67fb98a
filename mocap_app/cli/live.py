"""`python main.py` / `python main.py live`: the desktop window, live from a camera or a video."""

from __future__ import annotations

from pathlib import Path

import typer

from mocap_app.core.errors import ConfigError
from mocap_app.pipeline.live import LiveSource
from mocap_app.pipeline.process import MODELS, ProcessOptions, check_request
from mocap_app.stream import stream_option

from .context import current_config


def live_command(
    ctx: typer.Context,
    camera: int = typer.Option(None, "--camera", help="Camera index to open (default: the first camera found; "
                               "without one, the sample clip played live)."),
    video: Path = typer.Option(None, "--video", help="A video file to play instead of a camera."),
    realtime: bool = typer.Option(True, "--realtime/--every-frame", help="--video: paced at its own frame rate and "
                                  "looped, frames dropped when behind like a camera (default), or every frame as "
                                  "fast as it is processed."),
    model: str = typer.Option(None, "--model", "-m", help=f"One of: {', '.join(MODELS)} (default: the "
                              "model.estimator setting)."),
    max_people: int = typer.Option(1, "--max-people", help="People to follow (1: one subject)."),
    stream: str = typer.Option(None, "--stream", help="Send the motion live to a VMC receiver (vmc://HOST:PORT: "
                               "VSeeFace, Warudo, VNyan, EVMC4U...)."),
    stream_fps: float = typer.Option(None, "--stream-fps", help="Send at most this many frames a second "
                                     "(default: every frame)."),
) -> None:
    """Open the live window: the camera view with the body drawn over it, a 3-D view, recording and export.

    Examples:
      python main.py
      python main.py live --camera 1
      python main.py live --video dance.mp4 --every-frame --max-people 2
      python main.py live --stream vmc://127.0.0.1:39539
    """
    if camera is not None and video is not None:
        raise ConfigError("--camera and --video both name a source.", "Give one of them.")
    config = current_config(ctx)
    options = ProcessOptions.from_settings(config, model=model, max_people=max_people,
                                           stream=stream_option(stream, stream_fps, realtime=False))
    check_request([], options, config)
    source = (LiveSource("camera", camera=camera) if camera is not None
              else LiveSource("video", path=video, realtime=realtime) if video is not None else None)
    if video is not None and not video.is_file():
        raise ConfigError(f"Video {video} does not exist.", "Check the path.")
    from mocap_app.gui.app import run_window

    code = run_window(config, options, source)
    if code:
        raise typer.Exit(code)

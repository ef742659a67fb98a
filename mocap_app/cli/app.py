"""The typer application: every command registered here, and the one place where errors become exit codes.

A `MocapError` (something the user can fix) prints `error:` + `hint:` and exits 1. Any other exception is a
bug: its traceback and the environment go to a crash report (`core.crash`), the terminal gets one line naming
that file, and the exit code is 70 (EX_SOFTWARE).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from pathlib import Path

import typer

from mocap_app.core.config import load_config
from mocap_app.core.crash import write_crash_report
from mocap_app.core.errors import MocapError, RunInterrupted
from mocap_app.pipeline.process import smoothing_settings
from mocap_app.render.platform import select_platform

from . import (
    bench_batch,
    bench_capture,
    bench_detect,
    bench_export,
    bench_landmarks,
    bench_live,
    bench_longtake,
    bench_model,
    bench_pipeline,
    bench_render,
    bench_smoothing,
    bench_soak,
    bench_stream,
    build_engine,
    doctor,
    eval_conditions,
    eval_face,
    eval_feet,
    eval_real,
    eval_smoothing,
    eval_synthetic,
    export,
    live,
    process,
    stream_listen,
)

EXIT_USER_ERROR = MocapError.exit_code
EXIT_CRASH = 70  # sysexits.h EX_SOFTWARE: an internal error, not the user's
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report Ctrl-C

app = typer.Typer(
    name="mocap",
    help="Markerless motion capture to SMPL-X: body, hands and face from a webcam or video.",
    add_completion=False,
    pretty_exceptions_enable=False,
)
bench_app = typer.Typer(help="Benchmarks: print a table, write figures with --json FILE.", no_args_is_help=True)
eval_app = typer.Typer(help="Evaluations against known ground truth.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")
app.add_typer(eval_app, name="eval")

app.command("live")(live.live_command)
app.command("process")(process.process_command)
app.command("export", epilog=export.EPILOG)(export.export_command)
app.command("doctor")(doctor.doctor)
app.command("build-engine")(build_engine.build_engine)
app.command("stream-listen")(stream_listen.stream_listen)
for name, command in (("batch", bench_batch.bench_batch),
                      ("capture", bench_capture.bench_capture), ("detect", bench_detect.bench_detect),
                      ("export", bench_export.bench_export), ("landmarks", bench_landmarks.bench_landmarks),
                      ("live", bench_live.bench_live),
                      ("longtake", bench_longtake.bench_longtake),
                      ("model", bench_model.bench_model), ("pipeline", bench_pipeline.bench_pipeline),
                      ("render", bench_render.bench_render), ("smoothing", bench_smoothing.bench_smoothing),
                      ("soak", bench_soak.bench_soak), ("stream", bench_stream.bench_stream)):
    bench_app.command(name)(command)
eval_app.command("smoothing")(eval_smoothing.eval_smoothing)
eval_app.command("synthetic")(eval_synthetic.eval_synthetic)
eval_app.command("real")(eval_real.eval_real)
eval_app.command("conditions")(eval_conditions.eval_conditions)
eval_app.command("feet")(eval_feet.eval_feet)
eval_app.command("face")(eval_face.eval_face)


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug messages."),
    config_file: Path = typer.Option(None, "--config", help="Settings file (default: ~/.config/mocap/config.toml)."),
    overrides: list[str] = typer.Option([], "--set", help="Override a setting: --set section.key=value (repeatable)."),
) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    config = load_config(config_file, overrides)
    smoothing_settings(config)  # raw smoothing parameters are checked with the rest of the settings
    select_platform(config.render.platform)  # before any command imports OpenGL
    ctx.obj = config
    if ctx.invoked_subcommand is None:  # `python main.py` alone opens the live window
        ctx.invoke(live.live_command, ctx, camera=None, video=None, realtime=True, model=None, max_people=1,
                   stream=None, stream_fps=None)


def _exit_now(code: int) -> None:
    """Leave without the interpreter's teardown: after an interrupted run every file is closed or removed, and
    unloading MediaPipe's graphs, EGL and torch takes another ~1.5 s the user asked not to wait for."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _terminated(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM ends a run the way Ctrl-C does: partial files removed, journal kept


def main(argv: list[str] | None = None) -> None:
    """The `mocap` / `python main.py` / `python -m mocap_app` entry point."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminated)
    try:
        app(args=argv)  # typer handles --help, usage errors (exit 2) and a Ctrl-C outside a run itself
    except MocapError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        if isinstance(exc, RunInterrupted):
            _exit_now(exc.exit_code)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as exc:
        report = write_crash_report(exc, sys.argv if argv is None else ["mocap", *argv])
        print(f"error: mocap stopped on an internal error ({type(exc).__name__}); the traceback and this "
              f"machine's details are in {report} — please attach that file to a bug report.", file=sys.stderr)
        for note in getattr(exc, "__notes__", ()):
            print(f"hint: {note}", file=sys.stderr)
        sys.exit(EXIT_CRASH)

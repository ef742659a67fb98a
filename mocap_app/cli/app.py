"""The typer application and the one place where `MocapError` becomes an exit code."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import typer

from mocap_app.core.config import AppConfig, load_config
from mocap_app.core.errors import MocapError
from mocap_app.pipeline.process import smoothing_settings

app = typer.Typer(
    name="mocap",
    help="Markerless motion capture to SMPL-X: body, hands and face from a webcam or video.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
bench_app = typer.Typer(help="Benchmarks: print a table, write figures with --json FILE.", no_args_is_help=True)
eval_app = typer.Typer(help="Evaluations against known ground truth.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")
app.add_typer(eval_app, name="eval")


@app.callback()
def _root(
    ctx: typer.Context,
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug messages."),
    config_file: Path = typer.Option(None, "--config", help="Settings file (default: ~/.config/mocap/config.toml)."),
    overrides: list[str] = typer.Option([], "--set", help="Override a setting: --set section.key=value (repeatable)."),
) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    config = load_config(config_file, overrides)
    smoothing_settings(config)  # raw smoothing parameters are checked with the rest of the settings
    # PyOpenGL binds its platform once, at import: choose it before any command imports pyrender.
    os.environ.setdefault("PYOPENGL_PLATFORM", config.render.platform)
    ctx.obj = config


def current_config(ctx: typer.Context) -> AppConfig:
    """The resolved settings of this invocation (defaults ← file ← --set)."""
    return ctx.find_root().obj


def _register_commands() -> None:
    # Command modules attach themselves to `app` / `bench_app` / `eval_app` on import.
    from . import (  # noqa: F401
        bench_capture,
        bench_detect,
        bench_export,
        bench_landmarks,
        bench_model,
        bench_pipeline,
        bench_render,
        bench_smoothing,
        doctor,
        eval_smoothing,
        eval_synthetic,
        export,
        process,
    )


def main() -> None:
    _register_commands()
    try:
        app()
    except MocapError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        sys.exit(1)

"""What every command reads from the invocation: the resolved settings."""

from __future__ import annotations

import typer

from mocap_app.core.config import AppConfig


def current_config(ctx: typer.Context) -> AppConfig:
    """The resolved settings of this invocation (defaults ← file ← --set), set by the root callback."""
    return ctx.find_root().obj

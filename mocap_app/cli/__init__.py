"""Command-line interface: `mocap COMMAND` (typer). Commands live in their own modules; `app` registers them."""

from .app import app, main

__all__ = ["app", "main"]

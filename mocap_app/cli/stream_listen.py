"""`python main.py stream-listen`: a VMC receiver that shows what arrives (to check a stream or a setup)."""

from __future__ import annotations

import time

import typer
from rich.console import Console
from rich.table import Table

from mocap_app.stream import VMC_PORT, ListenerSummary, VmcListener

REPORT_EVERY_S = 1.0


def _root_text(summary: ListenerSummary) -> str:
    if summary.last is None or summary.last.root is None:
        return "-"
    position, rotation = summary.last.root
    return f"pos ({', '.join(f'{v:+.3f}' for v in position)}) m, rot ({', '.join(f'{v:+.3f}' for v in rotation)})"


def stream_listen(
    port: int = typer.Option(VMC_PORT, "--port", help="UDP port to listen on (VMC receivers use 39539)."),
    host: str = typer.Option("0.0.0.0", "--host", help="Address to listen on (0.0.0.0: every network)."),
    seconds: float = typer.Option(None, "--seconds", help="Stop after this many seconds (default: Ctrl-C)."),
) -> None:
    """Listen for VMC messages and print what arrives: frames and their rate, bones seen, the last root.

    Examples:
      python main.py stream-listen
      python main.py stream-listen --port 39540 --seconds 10
    """
    console = Console()
    started = time.monotonic()
    deadline = None if seconds is None else started + seconds
    with VmcListener(port, host) as listener:
        console.print(f"listening on UDP {host}:{listener.port} (Ctrl-C to stop)")
        try:
            while deadline is None or time.monotonic() < deadline:
                left = REPORT_EVERY_S if deadline is None else deadline - time.monotonic()
                time.sleep(max(0.0, min(REPORT_EVERY_S, left)))
                summary = listener.summary()
                console.print(f"{time.monotonic() - started:5.1f} s  {summary.frames} frames  "
                              f"{summary.rate_fps:5.1f} fps  {len(summary.bones)} bones  root {_root_text(summary)}")
        except KeyboardInterrupt:
            pass
        summary = listener.summary()
    if not summary.packets:
        console.print(f"nothing arrived on UDP port {listener.port}.")
        console.print("hint: point the sender at this machine and port (mocap: --stream vmc://HOST:PORT); a "
                      "firewall may block UDP.")
        raise typer.Exit(1)
    table = Table(title=f"stream-listen: {summary.frames} frames, {summary.packets} packets")
    table.add_column("what")
    table.add_column("seen", overflow="fold")
    for address, tags in sorted(summary.type_tags.items()):
        table.add_row(address, " ".join(sorted(tags)))
    table.add_row("rate (last 2 s)", f"{summary.rate_fps:.1f} fps")
    table.add_row(f"bones ({len(summary.bones)})", " ".join(summary.bones) or "-")
    table.add_row("last root", _root_text(summary))
    if summary.last is not None and summary.last.blends:
        table.add_row("last blend values", " ".join(f"{k}={v:.2f}" for k, v in summary.last.blends.items()))
    console.print(table)

"""Children of tests that are sent Ctrl-C."""

from __future__ import annotations

import signal


def sigint_as_at_a_terminal() -> None:
    """A `subprocess.Popen` preexec_fn: SIGINT back to its default action in the child, so its Python raises
    KeyboardInterrupt on Ctrl-C whatever the suite was started from (a shell's background job runs with SIGINT
    ignored, and a Python started that way never reacts to it)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)

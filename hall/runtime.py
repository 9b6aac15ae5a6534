"""Running a role as a daemon: wait for SIGTERM/SIGINT, then stop in reverse order."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


def run_until_signal(
    stops: list[Callable[[], None]], *, ready: Callable[[], None] | None = None
) -> int:
    """Block until SIGTERM or SIGINT; then call ``stops`` in reverse order."""
    done = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        done.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        if ready:
            ready()
        while not done.wait(1.0):
            pass
    finally:
        for stop in reversed(stops):
            try:
                stop()
            except Exception:
                log.exception("error while stopping")
        for s, handler in previous.items():
            signal.signal(s, handler)
    return 0

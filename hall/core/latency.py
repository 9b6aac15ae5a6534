"""Interpreter settings for the processes on the call path (the queue engine and every
window-side app).

A call crosses threads in each process: paho's network thread, the link's dispatcher,
the GUI or the engine's commit.  Python hands the GIL from a busy thread to a waiting
one only every switch interval (5 ms by default), so each hand-over may wait that long:
the engine's network thread sending a window's state waits while the dispatcher
evaluates the alerts.  ``gc.freeze`` after start-up keeps full collections (tens of ms
with Qt's wrappers or a big hall config) from landing in the middle of a call.
"""

from __future__ import annotations

import gc
import sys

SWITCH_INTERVAL_S = 0.001


def tune_for_latency() -> None:
    """Shorten the waits between threads and freeze what start-up built.  Call once the
    process is built (its UI, its engine and link)."""
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    gc.collect()
    gc.freeze()

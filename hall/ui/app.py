"""What every screen app shares to run as an appliance: the systemd watchdog on the
GUI thread (:class:`QtWatchdog`; the notifier itself is :mod:`hall.core.appliance`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from hall.core.appliance import Notifier, holds, notifier

log = logging.getLogger(__name__)

__all__ = ["QtWatchdog"]


class QtWatchdog:
    """READY from the running event loop; WATCHDOG pings from a timer on the GUI thread.

    Create and :meth:`start` it on the GUI thread once the window is shown;
    :meth:`stop` (sends ``STOPPING=1``) when shutting down.  ``alive`` (called
    on the GUI thread before each ping) can veto pings, e.g. when a part the
    app cannot do without is stuck.
    """

    def __init__(
        self,
        notify: Notifier | None = None,
        *,
        status: str | None = None,
        alive: Callable[[], bool] | None = None,
    ) -> None:
        self.notifier = notify or notifier()
        self._status = status
        self._alive = alive
        self._timer: Any = None
        self._healthy = True  # for the log: say when it changes, not at every tick
        self.pings = 0

    def start(self) -> QtWatchdog:
        from hall.ui.qt import QTimer

        if not self.notifier.enabled:
            return self
        QTimer.singleShot(0, self._ready)  # runs once the event loop turns
        interval = self.notifier.watchdog_interval_s
        if interval is not None:
            self._timer = QTimer()
            self._timer.setInterval(max(1, int(interval * 1000)))
            self._timer.timeout.connect(self._ping)
            self._timer.start()
        return self

    def _ready(self) -> None:
        self.notifier.ready(self._status)
        self._ping()  # a first ping at once: the interval starts now, not at the first tick

    def _ping(self) -> None:
        healthy = holds(self._alive)
        if healthy != self._healthy:
            if healthy:
                log.info("watchdog: the app is alive again; pinging")
            else:
                log.warning(
                    "watchdog: the app reports itself not alive; not pinging "
                    "(systemd restarts it after WatchdogSec)"
                )
            self._healthy = healthy
        if not healthy:
            return
        if self.notifier.watchdog_interval_s is not None and self.notifier.watchdog():
            self.pings += 1

    def stop(self, status: str | None = None) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.notifier.stopping(status)

"""What every screen app shares to run as an appliance: one lifecycle
(:func:`run_qt_app`) and the systemd watchdog on the GUI thread (:class:`QtWatchdog`;
the notifier itself is :mod:`hall.core.appliance`).

:func:`run_qt_app` is how ``hall kiosk`` and the window-side apps (``hall caller``,
``display``, ``board``, ``evaluator``) run: SIGTERM/SIGINT handled from the first moment
(even during start-up), the QApplication with the hall's CJK font, the hall link
connecting in the background (the screen never waits for the network), the app's
window full screen (or at a size), ``READY=1`` once the event loop runs and watchdog
pings while the link's threads run, then on a signal ``STOPPING=1`` and every part's
stop, last started first, each once.

The first frame comes first: :func:`after_first_frame` runs work once the window has
painted, and a :class:`LinkLater` (the kiosk's) starts the hall link, and loads paho
with it, only then (:func:`start_link_after_first_frame`): the screen shows before
the network stack is even imported.
"""

from __future__ import annotations

import logging
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hall.core.appliance import Notifier, holds, notifier, run_stops

if TYPE_CHECKING:
    from hall.ui.qtlink import QtLink
    from sync.mqtt import MqttLink

log = logging.getLogger(__name__)

__all__ = [
    "CJK_FONT",
    "LinkLater",
    "QtWatchdog",
    "after_first_frame",
    "connect_link",
    "run_qt_app",
    "run_stops",
    "start_link_after_first_frame",
]

#: The hall's screens speak Chinese: the application font when the system has it.
CJK_FONT = "WenQuanYi Micro Hei"
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
Stop = Callable[[], Any]
#: ``build(qtlink, stops) -> window``: builds the app's window on the hall link; appends
#: each part's stop to ``stops`` as soon as the part runs (a failure half-way still stops
#: what started).
Build = Callable[["QtLink", list[Stop]], Any]
#: Work after the first frame still runs when no paint comes this long after the hook
#: was set (a window that is never exposed).
FIRST_FRAME_FALLBACK_MS = 3000


@dataclass(frozen=True)
class LinkLater:
    """A hall link made and started after the window's first frame: ``make()`` builds
    the (not started) :class:`~sync.mqtt.MqttLink` of ``device_id`` in ``hall_id``."""

    hall_id: str
    device_id: str
    make: Callable[[], MqttLink]


def run_qt_app(
    build: Build,
    *,
    link: MqttLink | LinkLater,
    name: str,
    status: str,
    size: tuple[int, int] | None = None,
    alive: Callable[[], bool] | None = None,
) -> int:
    """Run a screen app until SIGTERM/SIGINT (0) or its event loop ends (its exit code).

    ``link`` (not started yet) connects in the background and is wrapped in a
    :class:`~hall.ui.qtlink.QtLink` for ``build``; a :class:`LinkLater` is made and
    started once the window has painted its first frame; ``name`` is the process's Qt
    application name (``hall-kiosk``), ``status`` what systemd shows (``caller
    caller-3``).  The window is shown at ``size`` or full screen.  The watchdog pings
    while the link's threads run and ``alive()`` (optional) holds.  An exception from
    ``build`` propagates once what had started is stopped.
    """
    from hall.ui.qt import QApplication

    stops: list[Stop] = []
    with _StopSignals() as signals:  # first: a SIGTERM during start-up still stops cleanly
        app = QApplication.instance() or QApplication([name])
        _use_font(app, CJK_FONT)
        try:
            if isinstance(link, LinkLater):
                qtlink = pending_link(link, stops)
            else:
                qtlink = connect_link(link, stops)
            window = build(qtlink, stops)
            if isinstance(link, LinkLater):
                start_link_after_first_frame(window, qtlink, link)
            if size is None:
                window.showFullScreen()
            else:
                window.resize(*size)
                window.show()

            def healthy() -> bool:
                return qtlink.alive() and holds(alive)

            systemd = QtWatchdog(status=status, alive=healthy).start()
            signals.end(app)  # after the watchdog: its READY comes first even then
            code = app.exec()
            systemd.stop(f"{status} stopping")
            log.info("%s stopping (%s)", status, signals.received or f"exit code {code}")
            return 0 if signals.received else int(code)
        finally:
            run_stops(stops, what=status)
            log.info("%s stopped", status)


def connect_link(link: MqttLink, stops: list[Stop]) -> QtLink:
    """Start ``link`` in the background (the UI never waits for the network) and wrap it
    for the GUI thread; their stops go on ``stops`` (the Qt link's first to run)."""
    from hall.ui.qtlink import QtLink

    link.start(wait=None)
    stops.append(link.stop)
    qtlink = QtLink(link)
    stops.append(qtlink.close)
    return qtlink


def pending_link(later: LinkLater, stops: list[Stop]) -> QtLink:
    """A Qt link for ``later``, attached when :func:`start_link_after_first_frame` runs.
    The link's stop and the Qt link's go on ``stops`` now, in :func:`connect_link`'s
    order (whatever starts meanwhile stops before them)."""
    from hall.ui.qtlink import QtLink

    qtlink = QtLink.pending(later.hall_id, later.device_id)
    stops.append(lambda: qtlink.link.stop() if qtlink.attached else None)
    stops.append(qtlink.close)
    return qtlink


def start_link_after_first_frame(
    window: Any,
    qtlink: QtLink,
    later: LinkLater,
) -> None:
    """Once ``window`` has painted its first frame: make ``later``'s link, attach it to
    ``qtlink`` (from :func:`pending_link`) and start it in the background.  Nothing when
    the app stopped meanwhile.  A link that cannot be made (a TLS file that does not
    load ...) ends the app with exit code 1, as it did when made before the window."""

    def start() -> None:
        from hall.ui.qt import QApplication

        if qtlink.closed:
            return
        try:
            link = later.make()
        except Exception:
            log.exception("the hall link of %s cannot be made", later.device_id)
            QApplication.exit(1)
            return
        qtlink.attach(link)
        link.start(wait=None)
        log.info("hall link to %s:%s starting", link.host, link.port)

    after_first_frame(window, start)


def after_first_frame(
    window: Any, work: Callable[[], Any], *, fallback_ms: int = FIRST_FRAME_FALLBACK_MS
) -> None:
    """Run ``work`` once, on the GUI thread, right after ``window``'s first paint (or
    ``fallback_ms`` after now if it never paints): what the first frame does not show
    waits for it."""
    from hall.ui.qt import QObject, QtCore, QTimer

    done = False

    def run() -> None:
        nonlocal done
        if done:
            return
        done = True
        window.removeEventFilter(watch)
        work()

    class FirstPaint(QObject):
        def eventFilter(self, watched: QObject, event: QtCore.QEvent) -> bool:
            if watched is window and event.type() == QtCore.QEvent.Type.Paint:
                QTimer.singleShot(0, self, run)  # after the paint and its flush to the screen
            return False

    watch = FirstPaint(window)
    window.installEventFilter(watch)
    QTimer.singleShot(fallback_ms, watch, run)


def _use_font(app: Any, family: str) -> None:
    from hall.ui.qt import QFont, QFontDatabase

    if family in QFontDatabase.families():  # asking for a missing family makes Qt warn
        app.setFont(QFont(family))


class _StopSignals:
    """SIGTERM and SIGINT end the Qt event loop cleanly, whenever they come.

    Python runs its signal handlers only between bytecodes, which never come while Qt
    waits in C++.  The C-level handler also writes the signal's number to a socket
    (:func:`signal.set_wakeup_fd`) that a ``QSocketNotifier`` watches: the event loop
    wakes at once and quits.  A signal before the loop runs is remembered
    (``received``) and ends the loop as soon as it has started (and said READY).
    """

    def __init__(self) -> None:
        self.received: str | None = None
        self._app: Any = None
        self._notifier: Any = None
        self._previous: dict[int, Any] = {}
        self._previous_fd = -1
        self._read, self._write = socket.socketpair()

    def __enter__(self) -> _StopSignals:
        for sock in (self._read, self._write):
            sock.setblocking(False)
        self._previous = {s: signal.signal(s, self._on_signal) for s in STOP_SIGNALS}
        self._previous_fd = signal.set_wakeup_fd(self._write.fileno(), warn_on_full_buffer=False)
        return self

    def _on_signal(self, signum: int, _frame: object) -> None:
        self._note(signum)

    def _note(self, signum: int) -> None:
        if self.received is None:
            self.received = signal.Signals(signum).name
            log.info("received %s, stopping", self.received)
        if self._app is not None:
            self._app.quit()

    def end(self, app: Any) -> None:
        """From now on a stop signal (or one that came already) ends ``app``'s loop."""
        from hall.ui.qt import QtCore, QTimer

        self._app = app
        self._notifier = QtCore.QSocketNotifier(
            self._read.fileno(), QtCore.QSocketNotifier.Type.Read
        )
        self._notifier.activated.connect(self._wake)
        QTimer.singleShot(0, self._wake)  # one that came between the check and exec()

    def _wake(self, *_args: object) -> None:
        try:
            numbers = self._read.recv(64)
        except BlockingIOError:
            numbers = b""
        for signum in numbers:
            if signum in STOP_SIGNALS:
                self._note(signum)
        if self.received is not None:
            self._app.quit()

    def __exit__(self, *_exc: object) -> None:
        if self._notifier is not None:
            self._notifier.setEnabled(False)
        signal.set_wakeup_fd(self._previous_fd)
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._read.close()
        self._write.close()


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

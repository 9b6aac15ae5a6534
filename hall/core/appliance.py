"""Running as an appliance under systemd: readiness, watchdog and stopping notifications.

The units in ``systemd/`` are ``Type=notify`` with ``WatchdogSec=``: systemd
waits for ``READY=1`` before it calls a role started, and restarts it when no
``WATCHDOG=1`` arrives within ``WatchdogSec``.  The notifications are
datagrams on the Unix socket named by ``$NOTIFY_SOCKET`` (the sd_notify
protocol, spoken here with the socket module: no extra dependency).  Outside
systemd (no ``$NOTIFY_SOCKET``) everything here does nothing.

* Qt roles: :class:`hall.ui.app.QtWatchdog` sends ``READY=1`` from the running event loop
  and pings from a ``QTimer`` on the GUI thread at half of ``$WATCHDOG_USEC``,
  so a hung UI (a blocked event loop) stops the pings and systemd restarts it.
* Daemons: :func:`run_daemon` waits for SIGTERM/SIGINT, stops in reverse
  order, and notifies: ``READY=1`` once started, a ping from its main loop (only
  while the optional ``alive()`` check holds), ``STOPPING=1`` before the stops.

A ping must mean the role works, not only that its main loop turns: each role
passes an ``alive`` check.  The Qt roles check that their MQTT link's threads
run (the GUI timer firing proves the event loop); the engine answers a request
it sends itself through the broker (a :class:`Probe` on a thread of its own);
the sync agent's loop thread must have turned recently.  See
docs/technician.md, "What the watchdog proves".
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

log = logging.getLogger(__name__)

__all__ = ["Notifier", "Probe", "holds", "notifier", "run_daemon", "run_stops"]


class Notifier:
    """sd_notify over ``$NOTIFY_SOCKET``; a no-op when systemd did not ask for it.

    ``environ`` defaults to ``os.environ``.  ``NOTIFY_SOCKET`` may name a path
    or an abstract socket (leading ``@``).  ``WATCHDOG_USEC`` is honoured only
    when ``WATCHDOG_PID`` is unset or names this process (systemd sets it for
    the main process; a child started with the same environment must not ping).
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET") or None
        if address and address.startswith("@"):
            address = "\0" + address[1:]
        self.address: str | None = address
        self.watchdog_usec = _watchdog_usec(env)
        self._lock = threading.Lock()
        self._failed = False

    @property
    def enabled(self) -> bool:
        return self.address is not None

    @property
    def watchdog_interval_s(self) -> float | None:
        """How often to ping: half of ``WatchdogSec`` (None: no watchdog asked for)."""
        if not self.enabled or not self.watchdog_usec:
            return None
        return self.watchdog_usec / 2_000_000

    def notify(self, *fields: str) -> bool:
        """Send ``KEY=value`` fields as one datagram; True if it was sent.

        A socket per message, as libsystemd's ``sd_notify`` does: nothing stays open.
        """
        if self.address is None:
            return False
        message = "\n".join(fields).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto(message, self.address)
        except OSError as exc:
            with self._lock:
                first, self._failed = not self._failed, True
            if first:  # say it once: a broken socket would flood the log
                log.warning("cannot notify systemd on %s: %s", self.address, exc)
            return False
        with self._lock:
            self._failed = False
        return True

    def ready(self, status: str | None = None) -> bool:
        return self.notify("READY=1", *([f"STATUS={status}"] if status else []))

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def stopping(self, status: str | None = None) -> bool:
        return self.notify("STOPPING=1", *([f"STATUS={status}"] if status else []))

    def status(self, text: str) -> bool:
        return self.notify(f"STATUS={text}")


def _watchdog_usec(env: Mapping[str, str]) -> int | None:
    pid = env.get("WATCHDOG_PID")
    if pid and pid.strip() != str(os.getpid()):
        return None
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    return usec if usec > 0 else None


_shared: Notifier | None = None
_shared_lock = threading.Lock()


def notifier() -> Notifier:
    """The process's notifier, made from the environment on first use."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Notifier()
        return _shared


def run_stops(stops: list[Callable[[], Any]], *, what: str) -> None:
    """Run ``stops`` last first, each taken off the list as it runs (so each runs once);
    a failing stop is logged and the others still run."""
    while stops:
        stop = stops.pop()
        try:
            stop()
        except Exception:
            log.exception("error while stopping %s", what)


def run_daemon(
    stops: list[Callable[[], None]],
    *,
    notify: Notifier | None = None,
    status: str | None = None,
    alive: Callable[[], bool] | None = None,
) -> int:
    """Block until SIGTERM or SIGINT, telling systemd along the way; then ``stops`` in reverse.

    Every daemon role runs through here; without systemd (no
    ``NOTIFY_SOCKET``) the notifications are no-ops.  ``READY=1`` (with ``status``) once the signal
    handlers are in place, ``WATCHDOG=1`` from this (main) loop at half of
    ``WATCHDOG_USEC`` while ``alive()`` holds, ``STOPPING=1`` before stopping.
    """
    n = notify or notifier()
    done = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        done.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    interval = n.watchdog_interval_s
    tick = min(1.0, interval) if interval is not None else 1.0
    was_healthy = True  # for the log: say when it changes, not at every tick
    try:
        n.ready(status)
        while True:
            if interval is not None:
                healthy = holds(alive)
                if healthy:
                    n.watchdog()
                if healthy != was_healthy:
                    if healthy:
                        log.info("watchdog: the daemon is alive again; pinging")
                    else:
                        log.warning(
                            "watchdog: the daemon reports itself not alive; not pinging "
                            "(systemd restarts it after WatchdogSec)"
                        )
                    was_healthy = healthy
            if done.wait(tick):
                break
        n.stopping()
    finally:
        run_stops(list(stops), what="the daemon")
        for s, handler in previous.items():
            signal.signal(s, handler)
    return 0


def holds(alive: Callable[[], bool] | None) -> bool:
    """``alive()``, where no check holds and a check that raises does not."""
    if alive is None:
        return True
    try:
        return bool(alive())
    except Exception:
        log.exception("watchdog: the alive check failed")
        return False


class Probe:
    """Proof, for a watchdog, that a role's own work turns.

    ``check()`` runs on a thread of its own, once at :meth:`start` and then every
    ``every`` seconds; it must bound its own wait (a request with a timeout) and
    raises when the work did not answer.  :meth:`alive` holds while the last
    success is younger than ``max_age``: it only reads a timestamp, so a watchdog
    loop calling it never waits for the probe.  A probe thread that died or hangs
    stops being alive too.

    ``excused()``, when given and true at a turn, counts as a success without a
    check: nothing can be proven then and a restart would not help (the broker is
    away and the link reconnects by itself).
    """

    def __init__(
        self,
        check: Callable[[], object],
        *,
        every: float,
        max_age: float,
        excused: Callable[[], bool] | None = None,
        name: str = "watchdog-probe",
    ) -> None:
        if not 0 < every < max_age:
            raise ValueError(f"a probe every {every}s cannot prove an age under {max_age}s")
        self._check = check
        self.every = every
        self.max_age = max_age
        self._excused = excused
        self._name = name
        self._stop = threading.Event()
        self._turned = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_ok: float | None = None  # time.monotonic() of the last success
        self.failures = 0

    def start(self) -> Probe:
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()
        return self

    def wait(self, timeout: float) -> bool:
        """Block until the first check ended (or ``timeout``); True if it succeeded."""
        self._turned.wait(timeout)
        return self.alive()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def alive(self) -> bool:
        last = self.last_ok
        return last is not None and time.monotonic() - last < self.max_age

    def _run(self) -> None:
        failing = False
        while not self._stop.is_set():
            try:
                if self._excused is None or not self._excused():
                    self._check()
                self.last_ok = time.monotonic()
                if failing:
                    log.info("watchdog probe %s answers again", self._name)
                failing = False
            except Exception as exc:
                self.failures += 1
                if not failing:  # say it once per outage: every few seconds would flood
                    log.warning("watchdog probe %s failed: %s", self._name, exc)
                failing = True
            self._turned.set()
            self._stop.wait(self.every)

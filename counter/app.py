"""Running one window-side app as a device: start order, full screen, clean stop on SIGTERM.

Start: settings, the Qt application, the hall link (connecting in the
background: the screen never waits for the network), the app's widget, its
keys, then ``READY=1`` and watchdog pings to systemd from the GUI thread
(``hall.core.appliance.QtWatchdog``; the units are ``Type=notify``).  Stop
(SIGTERM, SIGINT or the window closing): the app's own shutdown (keys,
timers, rating delivery), then the Qt link, then the MQTT link (which
publishes ``offline``), in that order.
"""

from __future__ import annotations

import argparse
import gc
import logging
import signal
import sys
from collections.abc import Callable
from typing import Any

from counter.settings import CounterSettings, SettingsError, load_settings
from hall.ui.voice.announcer import Announcer
from hall.ui.voice.pack import DEFAULT_PACK, VoicePack
from sync.connect import link_from_args
from sync.mqtt import MqttLink

log = logging.getLogger(__name__)

EXIT_CONFIG = 2
SWITCH_INTERVAL_S = 0.001  # GIL hand-over between the MQTT, dispatcher and GUI threads
Build = Callable[[Any, CounterSettings], Any]  # (qtlink, settings) -> widget with shutdown()


def announcer_for(settings: CounterSettings, role: str) -> Announcer | None:
    """The hall's speaker (``voice.speaker``) says the calls; other devices stay silent."""
    if settings.voice.speaker != role:
        return None
    return make_announcer(settings)


def make_announcer(settings: CounterSettings) -> Announcer:
    pack = VoicePack(settings.voice.pack or DEFAULT_PACK)
    missing = pack.missing()
    if missing:
        log.warning(
            "voice pack %s lacks %d clips (%s ...): run `make voice` or add the "
            "recordings; calls are shown but some cannot be said",
            pack.directory,
            len(missing),
            ", ".join(missing[:3]),
        )
    return Announcer(pack, times=settings.voice.times)


def tune_for_latency() -> None:
    """Shorten the waits between threads, and keep start-up objects out of the GC's way.

    A message crosses three threads (paho, the link's dispatcher, the GUI); with
    Python's default 5 ms switch interval each hand-over may wait that long.
    ``gc.freeze`` after start-up keeps full collections (tens of ms with Qt's
    wrappers) from landing in the middle of a call.  Call once the UI is built.
    """
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    gc.collect()
    gc.freeze()


def run(
    args: argparse.Namespace,
    *,
    role: str,
    device_id: str,
    title: str,
    build: Build,
    size: tuple[int, int],
) -> int:
    try:
        settings = load_settings(args.settings)
    except SettingsError as exc:
        log.error("%s", exc)
        return EXIT_CONFIG
    from hall.ui.app import QtWatchdog
    from hall.ui.qt import QApplication, QTimer
    from hall.ui.qtlink import QtLink

    app = QApplication.instance() or QApplication(["hall-" + role])
    stopping: list[str] = []

    def on_signal(signum: int, _frame: object) -> None:
        stopping.append(signal.Signals(signum).name)
        log.info("received %s, stopping", stopping[-1])
        app.quit()

    # Handlers first: a SIGTERM during start-up must still stop the app cleanly.
    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    link: MqttLink = link_from_args(args, device_id=device_id, role=role)
    link.start(wait=None)
    qtlink = QtLink(link)
    widget = None
    try:
        widget = build(qtlink, settings)
        widget.setWindowTitle(title)
        if args.windowed:
            widget.resize(*size)
            widget.show()
        else:
            widget.showFullScreen()
        # Python runs signal handlers between bytecodes: let it in regularly.
        tick = QTimer()
        tick.start(200)
        tick.timeout.connect(lambda: None)
        QTimer.singleShot(0, lambda: stopping and app.quit())  # a signal before exec()
        # systemd (Type=notify, WatchdogSec): READY once the event loop runs, then pings
        # from a GUI-thread timer while the link's threads run, so a hung screen (or one
        # whose MQTT thread died) is restarted.
        systemd = QtWatchdog(status=f"{role} {device_id}", alive=qtlink.alive).start()
        tune_for_latency()
        log.info("%s %s started (broker %s)", role, device_id, args.broker)
        code = app.exec()
        tick.stop()
        systemd.stop(f"{role} {device_id} stopping")
        return 0 if stopping else int(code)
    finally:
        if widget is not None:
            try:
                widget.shutdown()
                widget.close()
            except Exception:
                log.exception("error while stopping the %s", role)
        qtlink.close()
        link.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        log.info("%s %s stopped", role, device_id)

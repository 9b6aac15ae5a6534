"""Running one window-side app as a device: start order, full screen, clean stop on SIGTERM.

Start: settings, then the lifecycle of every screen app
(:func:`hall.ui.app.run_qt_app`): the Qt application, the hall link (connecting in
the background: the screen never waits for the network), the app's widget, its
keys, then ``READY=1`` and watchdog pings to systemd from the GUI thread (the units
are ``Type=notify``).  Stop (SIGTERM, SIGINT or the window closing): the app's own
shutdown (keys, timers, rating delivery), then the Qt link, then the MQTT link
(which publishes ``offline``), in that order.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from typing import Any

from counter.settings import CounterSettings, SettingsError, load_settings
from hall.core.latency import tune_for_latency
from hall.ui.voice.announcer import Announcer
from hall.ui.voice.pack import DEFAULT_PACK, VoicePack
from sync.connect import link_from_args

log = logging.getLogger(__name__)

EXIT_CONFIG = 2
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
    return Announcer(pack, times=settings.voice.times, max_age_s=settings.voice.max_age_s)


def run(
    args: argparse.Namespace,
    *,
    role: str,
    name: str,
    build: Build,
    size: tuple[int, int],
) -> int:
    """Run the ``role`` app of ``args.window`` (if the role has one) as a device.

    The device id defaults to ``{role}-{window}`` (``board-1`` without a window); the
    window title is ``name`` after the window's number (``3号窗口 叫号器``).
    """
    try:
        settings = load_settings(args.settings)
    except SettingsError as exc:
        log.error("%s", exc)
        return EXIT_CONFIG
    from hall.ui.app import run_qt_app

    window = getattr(args, "window", None)
    device_id = args.device or f"{role}-{window or 1}"

    def build_widget(qtlink: Any, stops: list[Any]) -> Any:
        widget = build(qtlink, settings)

        def stop_widget() -> None:
            widget.shutdown()
            widget.close()

        stops.append(stop_widget)
        widget.setWindowTitle(f"{window}号窗口 {name}" if window else name)
        tune_for_latency()
        log.info("%s %s started (broker %s)", role, device_id, args.broker)
        return widget

    return run_qt_app(
        build_widget,
        link=link_from_args(args, device_id=device_id, role=role),
        name=f"hall-{role}",
        status=f"{role} {device_id}",
        size=size if args.windowed else None,
    )

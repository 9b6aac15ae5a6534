"""``hall kiosk``: run the queue-ticket kiosk (取号机) full screen.

Start order: settings -> hall link (in the background: the UI never waits for
the network) -> printer -> window -> card readers and scanner.  Stop order is
the reverse.  Exit codes: 0 stopped by a signal, 2 bad settings, 3 the printer
spec is wrong.
"""

from __future__ import annotations

import argparse
import logging
import os
from typing import TYPE_CHECKING, Any

from sync.connect import add_broker_args, link_from_args

if TYPE_CHECKING:
    from kiosk.app import KioskWindow
    from kiosk.devices import KioskDevices

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("kiosk", help="run the queue-ticket kiosk (touch UI)")
    p.add_argument(
        "--settings",
        default=os.environ.get("HALL_KIOSK_SETTINGS"),
        help="kiosk settings YAML (see kiosk/settings.py for the keys)",
    )
    p.add_argument("--device", default=None, help="this kiosk's device id (default kiosk-1)")
    p.add_argument(
        "--printer",
        default=os.environ.get("HALL_PRINTER"),
        help="printer spec, e.g. serial:/dev/hall-printer?baud=9600&profile=80mm",
    )
    p.add_argument(
        "--idcard",
        default=os.environ.get("HALL_IDCARD"),
        help="ID card reader serial port, e.g. /dev/hall-idcard",
    )
    p.add_argument(
        "--citizencard",
        nargs="?",
        const="",
        default=None,
        metavar="READER",
        help="watch PC/SC readers for citizen cards (optionally one reader name)",
    )
    p.add_argument(
        "--scanner",
        default=os.environ.get("HALL_SCANNER"),
        help="barcode scanner input device, e.g. by-id:usb-...-event-kbd",
    )
    p.add_argument(
        "--salt-file",
        default=os.environ.get("HALL_SALT_FILE"),
        help="the hall's secret for person keys (same on every kiosk; made on the queue host)",
    )
    p.add_argument(
        "--staff-pin-file",
        default=os.environ.get("HALL_STAFF_PIN_FILE"),
        help="this kiosk's staff PIN, as its hash (written by `hall provision`)",
    )
    p.add_argument(
        "--status-file",
        default=os.environ.get("HALL_KIOSK_STATUS"),
        help="JSON health file for staff and monitoring",
    )
    p.add_argument(
        "--health-db",
        default=os.environ.get("HALL_SYNC_DB"),
        help="device database of the sync agent: device health goes into its heartbeat",
    )
    p.add_argument(
        "--voice-dir", default=None, help="voice pack folder (default assets/voice/default)"
    )
    p.add_argument("--no-voice", action="store_true", help="no voice prompts")
    p.add_argument(
        "--window",
        metavar="WxH",
        default=None,
        help="a window of this size instead of full screen (e.g. 1080x1920)",
    )
    add_broker_args(p)
    p.set_defaults(func=main)


def settings_from_args(args: argparse.Namespace) -> Any:
    """The settings file, then the options (which the units' environment sets) over it."""
    from kiosk.settings import load_settings, settings_from_mapping

    settings = load_settings(args.settings)
    files: dict[str, Any] = {}
    if args.salt_file and not os.path.exists(args.salt_file):
        # provisioned before the hall's salt was copied here: serve anyway (the window
        # makes a random salt, logs it as an error and reports it to staff)
        log.error(
            "the hall's person salt %s is missing: copy it from the queue host "
            "(hall provision --person-salt-file)",
            args.salt_file,
        )
    elif args.salt_file:
        files["salt_file"] = args.salt_file
    if getattr(args, "staff_pin_file", None):
        files["staff_pin_file"] = args.staff_pin_file
    if files:  # read and checked as a settings file would be (the error names the option)
        settings = settings_from_mapping(files, settings, source="kiosk options")
    changes: dict[str, Any] = {}
    if args.device:
        changes["device_id"] = args.device
    if args.status_file:
        changes["status_file"] = args.status_file
    settings = settings.with_(**changes) if changes else settings
    if settings.staff_pin_hash is None:
        log.error(
            "kiosk %s: no staff PIN configured%s: the green channel and the staff panel are "
            "refused until a technician sets one with `hall provision`",
            settings.device_id,
            f" ({args.staff_pin_file} does not exist)" if args.staff_pin_file else "",
        )
    return settings


def build(args: argparse.Namespace, stops: list[Any]) -> tuple[KioskWindow, KioskDevices]:
    """Everything ``hall kiosk`` runs, built in start order; each started part's stop is
    appended to ``stops`` at once (so a failure half-way still stops what started)."""
    from drivers.printer import open_printer
    from hall.ui.qtlink import QtLink
    from kiosk.app import KioskWindow
    from kiosk.devices import DeviceSpecs, KioskDevices
    from kiosk.voice import default_prompts

    settings = settings_from_args(args)
    link = link_from_args(args, device_id=settings.device_id, role="kiosk")
    link.start(wait=None)
    stops.append(link.stop)
    qtlink = QtLink(link)
    stops.append(qtlink.close)
    printer = open_printer(args.printer) if args.printer else None
    voice = default_prompts(args.voice_dir, enabled=not args.no_voice)
    window = KioskWindow(qtlink, settings, printer=printer, voice=voice)
    if args.health_db:
        from kiosk.health import sync_health_hook

        window.health.hooks.append(sync_health_hook(args.health_db))
    stops.append(window.close_down)
    devices = KioskDevices(
        window.bridge,
        window.health,
        DeviceSpecs(
            idcard_port=args.idcard, citizencard_reader=args.citizencard, scanner=args.scanner
        ),
    )
    stops.append(devices.stop)
    devices.start()
    return window, devices


def main(args: argparse.Namespace) -> int:
    import signal
    import threading

    from hall.ui.app import QtWatchdog
    from hall.ui.qt import QApplication, QTimer
    from kiosk.settings import SettingsError

    # SIGTERM/SIGINT may come at any time, even during start-up: note it, and let a
    # timer on the GUI thread end the event loop (Python runs handlers between bytecodes,
    # so the timer also keeps the interpreter awake while Qt waits).
    stopping = threading.Event()
    previous = {
        s: signal.signal(s, lambda *_: stopping.set()) for s in (signal.SIGTERM, signal.SIGINT)
    }
    app = QApplication.instance() or QApplication(["hall-kiosk"])
    stops: list[Any] = []
    try:
        try:
            window, _devices = build(args, stops)
        except SettingsError as exc:
            log.error("%s", exc)
            return 2
        except ValueError as exc:  # a printer spec that does not parse
            log.error("kiosk: %s", exc)
            return 3
        if args.window:
            width, _, height = args.window.partition("x")
            window.resize(int(width), int(height))
            window.show()
        else:
            window.showFullScreen()
        log.info("kiosk %s running", window.settings.device_id)
        watchdog = QTimer()
        watchdog.timeout.connect(lambda: stopping.is_set() and app.quit())
        watchdog.start(200)
        # systemd: READY once the event loop runs, pings from the GUI thread (hall.core.appliance)
        # while the hall link's threads run (a dead MQTT thread would leave the screen mute)
        qtlink = window.link
        assert qtlink is not None  # build() always makes one
        systemd = QtWatchdog(
            status=f"kiosk {window.settings.device_id}", alive=qtlink.alive
        ).start()
        if not stopping.is_set():
            app.exec()
        watchdog.stop()
        systemd.stop()
        log.info("kiosk %s stopping", window.settings.device_id)
        return 0
    finally:
        for stop in reversed(stops):
            try:
                stop()
            except Exception:
                log.exception("error while stopping the kiosk")
        for signum, handler in previous.items():
            signal.signal(signum, handler)

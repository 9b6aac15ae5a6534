"""``hall kiosk``: run the queue-ticket kiosk (取号机) full screen.

Start order: settings -> window -> card readers and scanner; right after the
window's first frame the hall link (in the background: the UI never waits for the
network) and the printer.  The first frame waits for none of paho, pydantic (when
no settings file is given) or python-escpos.  Stop order is the reverse (the
lifecycle of every screen app: :func:`hall.ui.app.run_qt_app`).
Exit codes: 0 stopped by a signal, 2 bad settings, 3 the printer spec is wrong (or
another option does not parse).
"""

from __future__ import annotations

import argparse
import logging
import os
from typing import TYPE_CHECKING, Any

from sync.connect import add_broker_args, link_from_args

if TYPE_CHECKING:
    from hall.ui.app import LinkLater
    from kiosk.app import KioskWindow
    from kiosk.devices import KioskDevices

log = logging.getLogger(__name__)

EXIT_SETTINGS = 2  # the settings file (or an option read as one) is wrong
EXIT_PRINTER_SPEC = 3  # the printer spec does not parse


# Options a unit's environment sets (kiosk.env): (option, variable, help).
_ENV_OPTIONS = (
    (
        "--settings",
        "HALL_KIOSK_SETTINGS",
        "kiosk settings YAML (see kiosk/settings.py for the keys)",
    ),
    (
        "--printer",
        "HALL_PRINTER",
        "printer spec, e.g. serial:/dev/hall-printer?baud=9600&profile=80mm",
    ),
    ("--idcard", "HALL_IDCARD", "ID card reader serial port, e.g. /dev/hall-idcard"),
    ("--scanner", "HALL_SCANNER", "barcode scanner input device, e.g. by-id:usb-...-event-kbd"),
    (
        "--salt-file",
        "HALL_SALT_FILE",
        "the hall's secret for person keys (same on every kiosk; made on the queue host)",
    ),
    (
        "--staff-pin-file",
        "HALL_STAFF_PIN_FILE",
        "this kiosk's staff PIN, as its hash (written by `hall provision`)",
    ),
    ("--status-file", "HALL_KIOSK_STATUS", "JSON health file for staff and monitoring"),
    (
        "--health-db",
        "HALL_SYNC_DB",
        "device database of the sync agent: device health goes into its heartbeat",
    ),
)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("kiosk", help="run the queue-ticket kiosk (touch UI)")
    for option, variable, text in _ENV_OPTIONS:
        p.add_argument(option, default=os.environ.get(variable), help=text)
    p.add_argument("--device", default=None, help="this kiosk's device id (default kiosk-1)")
    p.add_argument(
        "--citizencard",
        nargs="?",
        const="",
        default=None,
        metavar="READER",
        help="watch PC/SC readers for citizen cards (optionally one reader name)",
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

    ticket = sub.add_parser("ticket", help="queue tickets: preview the layout")
    tsub = ticket.add_subparsers(dest="ticket_command", metavar="ACTION")
    tsub.required = True
    p = tsub.add_parser(
        "preview",
        help="render a ticket of the configured hall to PNG",
        description="A ticket of the hall config's item (default: its first), laid out and "
        "rendered as the kiosk prints it.",
    )
    p.add_argument("--out", required=True, help="PNG file to write")
    p.add_argument(
        "--config",
        default=os.environ.get("HALL_CONFIG"),
        help="hall config YAML (default: $HALL_CONFIG, else the demo hall)",
    )
    p.add_argument("--item", default=None, help="the item's id (default: the first item)")
    p.add_argument("--lunch", metavar="HH:MM", default=None, help="a lunch ticket: calls from")
    p.add_argument("--profile", default="80mm", help="58mm or 80mm (default)")
    p.add_argument("--raster", action="store_true", help="send every line as an image")
    p.set_defaults(func=cmd_ticket_preview)


def cmd_ticket_preview(args: argparse.Namespace) -> int:
    """``hall ticket preview``: the configured hall's ticket as PNG (exit 2: bad config)."""
    from datetime import datetime, time

    from drivers.printer.escpos_codec import build_ticket
    from drivers.printer.profiles import get_profile
    from drivers.printer.render import render_png
    from kiosk.catalog import catalog_from_config
    from kiosk.engine.cli import DEFAULT_CONFIG
    from kiosk.engine.config import ConfigError, load_hall_config
    from kiosk.ticketing import preview_ticket, ticket_data

    path = args.config or str(DEFAULT_CONFIG)
    try:
        cfg = load_hall_config(path)
    except ConfigError as exc:
        log.error("%s", exc)
        return 2
    now = datetime.now().replace(second=0, microsecond=0)
    catalog = catalog_from_config(cfg, now)
    calls_from = None
    if args.lunch:
        calls_from = datetime.combine(now.date(), time.fromisoformat(args.lunch))
    url = cfg.web.ticket_url.replace("{token}", "preview").replace("{hall}", cfg.hall_id)
    try:
        ticket = preview_ticket(catalog, args.item, now=now, qr_url=url, calls_from=calls_from)
    except KeyError:
        known = ", ".join(i.id for i in catalog.items)
        log.error("hall %s has no item %r (it has: %s)", cfg.hall_id, args.item, known)
        return 2
    profile = get_profile(args.profile)
    data = build_ticket(ticket_data(ticket), profile, force_raster=args.raster)
    out = render_png(data, args.out, profile.dots)
    print(f"{out}: {cfg.hall_name} ({path}), {ticket.item_name}, {profile.name} ticket")
    return 0


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


def link_later(args: argparse.Namespace, device_id: str) -> LinkLater:
    """The kiosk's hall link, made and started after the window's first frame."""
    from hall.ui.app import LinkLater

    return LinkLater(
        args.hall, device_id, lambda: link_from_args(args, device_id=device_id, role="kiosk")
    )


def build(args: argparse.Namespace, stops: list[Any]) -> tuple[KioskWindow, KioskDevices]:
    """Everything ``hall kiosk`` runs, built in start order; each started part's stop is
    appended to ``stops`` at once (so a failure half-way still stops what started).
    The hall link starts once the window has painted its first frame."""
    from hall.ui.app import pending_link, start_link_after_first_frame

    settings = settings_from_args(args)
    later = link_later(args, settings.device_id)
    qtlink = pending_link(later, stops)
    window, devices = build_on(qtlink, settings, args, stops)
    start_link_after_first_frame(window, qtlink, later)
    return window, devices


def build_on(
    qtlink: Any, settings: Any, args: argparse.Namespace, stops: list[Any]
) -> tuple[KioskWindow, KioskDevices]:
    """The kiosk's window, printer and devices on a hall link (see :func:`build`).

    The printer opens right after the window's first frame (its spec's check loads
    pydantic, its codec python-escpos): a spec that does not parse ends the kiosk then,
    with exit code 3."""
    from hall.ui.app import after_first_frame
    from kiosk.app import KioskWindow
    from kiosk.devices import DeviceSpecs, KioskDevices
    from kiosk.voice import default_prompts

    voice = default_prompts(args.voice_dir, enabled=not args.no_voice)
    spec = args.printer
    window = KioskWindow(qtlink, settings, printer_coming=bool(spec), voice=voice)
    if spec:
        after_first_frame(window, lambda: _open_printer(window, spec))
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
    after_first_frame(window, _settle)
    log.info("kiosk %s running", settings.device_id)
    return window, devices


def _open_printer(window: KioskWindow, spec: str) -> None:
    from drivers.printer import open_printer
    from hall.ui.qt import QApplication

    try:
        printer = open_printer(spec)
    except ValueError as exc:  # a printer spec that does not parse
        log.error("kiosk: %s", exc)
        QApplication.exit(EXIT_PRINTER_SPEC)
        return
    window.attach_printer(printer)


def _settle() -> None:
    """After the first frame: what the touch paths would otherwise load on first use,
    then the interpreter tuned for them."""
    import subprocess  # noqa: F401  (a voice prompt's player)

    import hall.core.privacy  # noqa: F401  (a card's name masked, its number hashed)
    from hall.core.latency import tune_for_latency

    # the touch path crosses threads (GUI, paho, the printer's): short hand-overs, and
    # no full collection of what start-up built in the middle of a ticket
    tune_for_latency()


def main(args: argparse.Namespace) -> int:
    from hall.ui.app import run_qt_app
    from kiosk.settings import SettingsError

    try:
        settings = settings_from_args(args)
        device_id = settings.device_id
        size = None
        if args.window:
            width, _, height = args.window.partition("x")
            size = (int(width), int(height))
        # systemd: READY once the event loop runs, pings from the GUI thread while the
        # hall link's threads run (a dead MQTT thread would leave the screen mute)
        return run_qt_app(
            lambda qtlink, stops: build_on(qtlink, settings, args, stops)[0],
            link=link_later(args, device_id),
            name="hall-kiosk",
            status=f"kiosk {device_id}",
            size=size,
        )
    except SettingsError as exc:
        log.error("%s", exc)
        return EXIT_SETTINGS
    except ValueError as exc:  # an option that does not parse (--window)
        log.error("kiosk: %s", exc)
        return EXIT_PRINTER_SPEC

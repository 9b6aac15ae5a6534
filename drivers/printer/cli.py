"""``hall printer test|status|sim`` (``hall ticket preview``, the configured hall's
ticket, is the kiosk's: ``kiosk.cli``).

Exit codes: 0 ok, 3 the printer cannot print (paper out, cover open,
offline, not found, no reply) - the message says what to check.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime

EXIT_PRINTER = 3


def _add_selector(p: argparse.ArgumentParser) -> None:
    link = p.add_mutually_exclusive_group(required=True)
    link.add_argument("--port", help="serial port, e.g. /dev/hall-printer or /dev/ttyUSB0")
    link.add_argument("--usb", metavar="VID:PID", help="USB printer, hex ids, e.g. 0416:5011")
    link.add_argument("--host", metavar="HOST[:PORT]", help="network printer (port 9100)")
    link.add_argument("--file", metavar="PATH", help="device node or file (no status)")
    link.add_argument("--spec", help='a printer spec as in the config: "serial:/dev/x?baud=9600"')
    p.add_argument("--baud", type=int, default=9600, help="serial speed (default 9600)")
    p.add_argument("--profile", default=None, help="58mm, 58mm-nocut, 80mm (default), 80mm-nocut")
    p.add_argument("--timeout", type=float, default=2.0, help="status reply timeout, seconds")


def spec_from_args(args: argparse.Namespace) -> str:
    spec: str
    if args.spec:
        spec = str(args.spec)
    elif args.port:
        spec = f"serial:{args.port}?baud={args.baud}"
    elif args.usb:
        spec = f"usb:{args.usb}"
    elif args.host:
        spec = f"tcp:{args.host}"
    else:
        spec = f"file:{args.file}"
    if args.profile:
        spec += ("&" if "?" in spec else "?") + f"profile={args.profile}"
    return spec


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    printer = sub.add_parser("printer", help="thermal ticket printer: test, status, simulator")
    psub = printer.add_subparsers(dest="printer_command", metavar="ACTION")
    psub.required = True

    p = psub.add_parser("test", help="check status, then print a sample ticket")
    _add_selector(p)
    p.set_defaults(func=cmd_test)

    p = psub.add_parser("status", help="read paper / cover / online status (DLE EOT)")
    _add_selector(p)
    p.set_defaults(func=cmd_status)

    p = psub.add_parser(
        "sim",
        help="run a simulated printer on a pty",
        description="A simulated ESC/POS printer on a pty.  Control it by typing on stdin: "
        "paper ok|near_end|out, cover open|closed, offline on|off, error on|off, pull, plug.",
    )
    p.add_argument("--link", help="also reachable as this path (symlink), e.g. /tmp/hall-printer")
    p.add_argument("--out", help="save each received ticket as PNG in this folder")
    p.add_argument("--profile", default="80mm", help="paper width used for the PNGs")
    p.add_argument("--paper", choices=("ok", "near_end", "out"), default="ok")
    p.set_defaults(func=cmd_sim)


def _fail(exc: Exception) -> int:
    message = getattr(exc, "user_message", "")
    print(f"hall printer: {exc}" + (f"  [{message}]" if message else ""), file=sys.stderr)
    return EXIT_PRINTER


def cmd_status(args: argparse.Namespace) -> int:
    from drivers.printer.errors import PrinterError
    from drivers.printer.printer import open_printer

    with open_printer(spec_from_args(args), status_timeout=args.timeout) as printer:
        try:
            st = printer.status()
        except PrinterError as exc:
            return _fail(exc)
    print(
        f"{printer.device}: {st.describe()} (online={st.online} paper={st.paper} "
        f"cover_open={st.cover_open} error={st.error})"
    )
    return 0 if st.printable else EXIT_PRINTER


def cmd_test(args: argparse.Namespace) -> int:
    from drivers.printer.errors import PrinterError
    from drivers.printer.printer import open_printer
    from drivers.printer.ticket import sample_ticket

    with open_printer(spec_from_args(args), status_timeout=args.timeout) as printer:
        try:
            report = printer.print_ticket(sample_ticket(datetime.now().replace(second=0)))
        except PrinterError as exc:
            return _fail(exc)
    size = f"{report.bytes_sent} bytes, {printer.profile.name}"
    print(f"{printer.device}: printed a sample ticket ({size})")
    for warning in report.warnings:
        print(f"warning: {warning.message}  [{warning.user_message}]")
    return 0


def cmd_sim(args: argparse.Namespace) -> int:
    import signal
    import threading

    from drivers.printer.profiles import get_profile
    from drivers.printer.sim import run_standalone

    dots = get_profile(args.profile).dots
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def announce(line: str) -> None:
        print(line, flush=True)

    return run_standalone(
        link=args.link,
        out=args.out,
        dots=dots,
        paper=args.paper,
        stop=stop,
        announce=announce,
        commands=sys.stdin,
    )

"""``hall web``: the citizen's live queue page and the hall manager's console.

``hall web [--listen HOST:PORT] [--device ID] [--https] [broker options]`` serves the
app (uvicorn) as the hall device ``web-1``; ``hall web hash-password`` prints the
hash of a manager's console password for the hall config (``managers[].password_hash``).
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys

from hall.core.net import hostport_arg, parse_hostport
from sync.connect import add_broker_args, link_from_args

log = logging.getLogger(__name__)

DEFAULT_LISTEN = "0.0.0.0:8080"
EXIT_LINK = 3


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "web", help="the citizen's queue page (ticket QR) and the hall manager's console"
    )
    p.add_argument(
        "--listen",
        default=os.environ.get("HALL_WEB_LISTEN", DEFAULT_LISTEN),
        type=hostport_arg,
        help=f"HOST:PORT to serve on (default {DEFAULT_LISTEN}, env HALL_WEB_LISTEN)",
    )
    p.add_argument(
        "--device",
        default=os.environ.get("HALL_DEVICE", "web-1"),
        help="this device's id on the hall broker (env HALL_DEVICE, default web-1)",
    )
    p.add_argument(
        "--https",
        action="store_true",
        default=os.environ.get("HALL_WEB_HTTPS") == "1",
        help="the pages are reached over HTTPS (a TLS proxy in front): Secure cookies, HSTS",
    )
    p.add_argument(
        "--password-file",
        default=os.environ.get("HALL_MQTT_PASSWORD_FILE"),
        help="the broker password in a file (wins over --password; env HALL_MQTT_PASSWORD_FILE)",
    )
    add_broker_args(p)
    p.set_defaults(func=run_web)
    actions = p.add_subparsers(dest="web_action", metavar="ACTION")
    h = actions.add_parser(
        "hash-password",
        help="print the hash of a manager's console password (managers[].password_hash)",
    )
    h.add_argument(
        "--stdin", action="store_true", help="read the password once from stdin (no prompt)"
    )
    h.set_defaults(func=hash_password)


def hash_password(args: argparse.Namespace) -> int:
    from hall.core.pins import check_password
    from hall.core.pins import hash_password as make_hash

    if args.stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        prompt = sys.stdin.isatty()
        first = _read(prompt, "Manager password: ")
        second = _read(prompt, "Again: ")
        if first != second:
            print("hall web hash-password: the two passwords differ", file=sys.stderr)
            return 2
        password = first
    try:
        check_password(password)
    except ValueError as exc:
        print(f"hall web hash-password: {exc}", file=sys.stderr)
        return 2
    print(make_hash(password))
    return 0


def _read(prompt: bool, text: str) -> str:
    if prompt:
        return getpass.getpass(text)
    return sys.stdin.readline().rstrip("\r\n")


def run_web(args: argparse.Namespace) -> int:
    import asyncio

    from hall.core.appliance import run_stops
    from hall.web.app import WebSettings
    from hall.web.gateway import Gateway
    from hall.web.server import WebServer
    from sync.client import read_password_file

    host, port = parse_hostport(args.listen, default_port=8080)
    if args.password_file:
        try:
            args.password = read_password_file(args.password_file)
        except OSError as exc:
            log.error("cannot read the broker password file %s: %s", args.password_file, exc)
            return 2
    link = link_from_args(args, device_id=args.device, role="web")
    link.start(wait=None)  # the pages say "reconnecting" while the broker is away
    stops = [link.stop]
    try:
        server = WebServer(
            Gateway(link), host=host, port=port, settings=WebSettings(https=args.https)
        )
        log.info(
            "hall web for %s as %s on %s (broker %s)",
            args.hall,
            args.device,
            args.listen,
            args.broker,
        )
        asyncio.run(server.serve())
    except OSError as exc:  # the port is taken, or not ours to bind
        log.error("cannot serve on %s: %s", args.listen, exc)
        return 2
    finally:
        run_stops(stops, what="hall web")
    return 0

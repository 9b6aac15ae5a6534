"""``hall citizencard``: read a card, list readers, run the virtual card.

    hall citizencard read [--reader NAME] [--timeout S] [--json] [--unmasked]
    hall citizencard readers [--json]
    hall citizencard vcard [--host H] [--port P] [--name N] [--ssn S] [--mode M]

``read`` prints the card masked (through :func:`hall.core.privacy.redact`);
``--unmasked`` prints it in full for a technician at the device, with a
warning on stderr.  ``--mask`` is accepted and changes nothing (it was the
opt-in before).  Exit codes: 0 read, 2 no card, 3 no reader / pcscd down, 4 PIN required,
5 not a social-security card, 6 read failed.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from types import FrameType
from typing import TYPE_CHECKING

from hall.core.privacy import personal_output, redact

if TYPE_CHECKING:
    from drivers.citizencard.vcard import VirtualCard

EXIT_OK = 0
EXIT_NO_CARD = 2
EXIT_NO_READER = 3
EXIT_PIN_REQUIRED = 4
EXIT_WRONG_CARD = 5
EXIT_READ_FAILED = 6


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "citizencard",
        help="citizen / social-security card reader (PC/SC)",
        description="Citizen / social-security card (社会保障卡/市民卡) over PC/SC.",
    )
    actions = parser.add_subparsers(dest="citizencard_command", metavar="ACTION")
    actions.required = True

    read = actions.add_parser(
        "read",
        help="read the card in the reader",
        description="Read the card and print card number, region, social-security number and "
        "name, masked (--unmasked: in full, for a technician at the device). Exit codes: "
        "2 no card, 3 no reader, 4 PIN required, 5 not a social-security card, 6 read failed.",
    )
    read.add_argument("--reader", help="reader name (exact, or a case-insensitive part of it)")
    read.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for a card")
    read.add_argument("--json", action="store_true", help="print one JSON object")
    masking = read.add_mutually_exclusive_group()
    masking.add_argument(
        "--unmasked",
        action="store_true",
        help="print the numbers and the name in full (a technician at the device only)",
    )
    masking.add_argument("--mask", action="store_true", help=argparse.SUPPRESS)  # the default now
    read.set_defaults(func=cmd_read)

    readers = actions.add_parser("readers", help="list PC/SC readers and whether a card is in")
    readers.add_argument("--json", action="store_true", help="print JSON")
    readers.set_defaults(func=cmd_readers)

    from drivers.citizencard.vcard import VPCD_HOST, VPCD_PORT, CardContents, Mode

    default = CardContents()
    vcard = actions.add_parser(
        "vcard",
        help="run the virtual card in the vpcd reader (demo / tests)",
        description="Connect a virtual social-security card to vsmartcard's vpcd "
        "(needs pcscd running with /etc/reader.conf.d/vpcd). On a terminal, Enter "
        "pulls the card out or puts it back; Ctrl-C stops.",
    )
    vcard.add_argument("--host", default=VPCD_HOST)
    vcard.add_argument("--port", type=int, default=VPCD_PORT)
    vcard.add_argument("--name", default=default.name, help="holder's name (invented)")
    vcard.add_argument("--ssn", default=default.ssn, help="social-security number (invented)")
    vcard.add_argument("--card-number", default=default.card_number)
    vcard.add_argument("--region", default=default.region, help="6-digit region code")
    vcard.add_argument("--mode", choices=[m.value for m in Mode], default=Mode.NORMAL.value)
    vcard.set_defaults(func=cmd_vcard)


def _exit_code(exc: Exception) -> int:
    from drivers.citizencard.errors import NoCard, NoReader, PinRequired, WrongCard

    for kind, code in (
        (NoCard, EXIT_NO_CARD),
        (NoReader, EXIT_NO_READER),
        (PinRequired, EXIT_PIN_REQUIRED),
        (WrongCard, EXIT_WRONG_CARD),
    ):
        if isinstance(exc, kind):
            return code
    return EXIT_READ_FAILED


def cmd_read(args: argparse.Namespace) -> int:
    from drivers.citizencard.errors import CitizenCardError
    from drivers.citizencard.reader import CitizenCardReader

    reader = CitizenCardReader(args.reader, timeout=args.timeout)
    try:
        card = reader.read()
    except CitizenCardError as exc:
        code = _exit_code(exc)
        if args.json:
            error = {
                "error": type(exc).__name__,
                "exit_code": code,
                "message": str(exc),
                "user_message": exc.user_message,
            }
            print(json.dumps(redact(error), ensure_ascii=False))
        print(redact(f"hall citizencard read: {exc.user_message}: {exc}"), file=sys.stderr)
        return code
    data = card.to_json_dict(mask=False)
    data, out = personal_output(data, unmasked=args.unmasked)
    if args.json:
        print(json.dumps(data, ensure_ascii=False), file=out)
    else:
        print(f"card number: {data['card_number']}", file=out)
        print(f"region:      {data['region']}", file=out)
        print(f"SSN:         {data['ssn']}", file=out)
        print(f"name:        {data['name']}", file=out)
    out.flush()
    return EXIT_OK


def cmd_readers(args: argparse.Namespace) -> int:
    from smartcard import scard

    from drivers.citizencard.errors import NoReader
    from drivers.citizencard.pcsc import Context

    try:
        with Context() as ctx:
            names = ctx.readers()
            states = ctx.status_change([(r, scard.SCARD_STATE_UNAWARE) for r in names], 0) or []
    except NoReader as exc:
        print(f"hall citizencard readers: {exc}", file=sys.stderr)
        return EXIT_NO_READER
    rows = [{"reader": s.reader, "card": s.inserted, "atr": s.atr.hex().upper()} for s in states]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
    elif not rows:
        print("pcscd runs but no reader is attached")
    else:
        for row in rows:
            card = f"card present (ATR {row['atr']})" if row["card"] else "no card"
            print(f"{row['reader']}: {card}")
    return EXIT_OK if rows else EXIT_NO_READER


class _Terminated(Exception):
    """SIGTERM arrived: leave the wait and pull the card out cleanly."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise _Terminated


def cmd_vcard(args: argparse.Namespace) -> int:
    from drivers.citizencard.vcard import CardContents, VirtualCard

    contents = CardContents(
        name=args.name, ssn=args.ssn, card_number=args.card_number, region=args.region
    )
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    card = VirtualCard(contents, mode=args.mode, host=args.host, port=args.port).start()
    try:
        if card.wait_connected(3.0):
            print(f"virtual card ({args.mode}) in the vpcd reader at {args.host}:{args.port}")
        else:
            print(
                f"vpcd not reachable at {args.host}:{args.port} yet (is pcscd running with "
                "vsmartcard-vpcd?); retrying",
                file=sys.stderr,
            )
        sys.stdout.flush()
        if sys.stdin.isatty():
            _toggle_loop(card)
        else:
            forever = threading.Event()
            while not forever.wait(3600):
                pass
    except _Terminated:
        pass
    finally:
        card.stop()
        signal.signal(signal.SIGTERM, previous)
    return EXIT_OK


def _toggle_loop(card: VirtualCard) -> None:
    print("Enter: pull the card out / put it back; Ctrl-C or Ctrl-D: stop")
    inserted = True
    while True:
        try:
            input()
        except EOFError:
            return
        if inserted:
            card.remove()
            print("card removed")
        else:
            card.insert()
            print("card inserted")
        inserted = not inserted

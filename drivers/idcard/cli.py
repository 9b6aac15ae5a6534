"""``hall idcard read|status|sim``: the technician's tools for the ID card reader.

Exit codes: 0 ok, 1 other reader error, 2 no card, 3 port missing / no
permission, 4 reader not answering or disconnected.  Errors go to stderr in
Chinese and English.  ``read`` prints the card masked (name, numbers, address
and birth day, through :func:`hall.core.privacy.redact`); ``--unmasked``
prints it in full for a technician at the device, with a warning on stderr.
``--mask`` is accepted and changes nothing (it was the opt-in before).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from typing import TYPE_CHECKING

from hall.core.privacy import personal_output, redact

if TYPE_CHECKING:
    from drivers.idcard.card import IdCard
    from drivers.idcard.errors import IdCardError
    from drivers.idcard.reader import SamReader
    from drivers.idcard.sim import SamSimulator

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_NO_CARD = 2
EXIT_NO_PORT = 3
EXIT_NO_REPLY = 4

LABELS = {
    "card_type": "证件类型",
    "name": "姓名",
    "english_name": "英文姓名",
    "sex": "性别",
    "nation": "民族",
    "nationality": "国籍",
    "birth": "出生",
    "address": "住址",
    "id_number": "证件号码",
    "authority": "签发机关",
    "valid_from": "有效期起",
    "valid_to": "有效期止",
    "pass_number": "通行证号码",
    "issue_count": "签发次数",
    "photo_wlt_bytes": "照片数据",
    "photo_decoded": "照片已解码",
}


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from drivers.idcard.reader import DEFAULT_BAUD, DEFAULT_PORT
    from drivers.idcard.sim import CARD_KINDS

    parser = sub.add_parser("idcard", help="resident ID card reader (GA 467 SAM, serial)")
    actions = parser.add_subparsers(dest="idcard_action", metavar="ACTION")
    actions.required = True

    def port_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--port", default=DEFAULT_PORT, help=f"serial port (default {DEFAULT_PORT})")
        p.add_argument("--baud", type=int, default=DEFAULT_BAUD, help="baud rate (default 115200)")
        p.add_argument(
            "--timeout", type=float, default=1.0, help="seconds to wait for each reply (default 1)"
        )

    read = actions.add_parser("read", help="read the card on the reader")
    port_args(read)
    read.add_argument("--json", action="store_true", help="print one JSON object")
    masking = read.add_mutually_exclusive_group()
    masking.add_argument(
        "--unmasked",
        action="store_true",
        help="print name, numbers and address in full (a technician at the device only)",
    )
    masking.add_argument("--mask", action="store_true", help=argparse.SUPPRESS)  # the default now
    read.add_argument(
        "--wait", type=float, default=0.0, metavar="S", help="keep looking for a card for S seconds"
    )
    read.add_argument("--wlt-lib", help="vendor WLT photo decoder library (or $HALL_WLT_LIB)")
    read.set_defaults(func=cmd_read)

    status = actions.add_parser("status", help="check the reader and print its SAM id")
    port_args(status)
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.set_defaults(func=cmd_status)

    sim = actions.add_parser(
        "sim",
        help="simulate a reader on a pty (prints the port path first)",
        description="Serve a simulated SAM reader.  Commands on stdin: "
        "insert [resident|permit|foreign], remove, pull, plug, quit.",
    )
    sim.add_argument("--link", help="keep a symlink to the pty here (like /dev/hall-idcard)")
    sim.add_argument("--card", choices=CARD_KINDS, default="resident", help="demo card kind")
    sim.add_argument("--insert", action="store_true", help="start with the card on the reader")
    sim.add_argument(
        "--card-every", type=float, metavar="S", help="place the demo card every S seconds"
    )
    sim.add_argument(
        "--hold", type=float, default=2.0, metavar="S", help="with --card-every: leave it S seconds"
    )
    sim.add_argument(
        "--halt-after-read", action="store_true", help="find says 'no card' once a card was read"
    )
    sim.set_defaults(func=cmd_sim)


# --------------------------------------------------------------------------- read / status


def _reader(args: argparse.Namespace) -> SamReader:
    from drivers.idcard.reader import SamReader

    return SamReader(
        args.port,
        args.baud,
        args.timeout,
        read_timeout=max(3.0, args.timeout),
        wlt_lib=getattr(args, "wlt_lib", None),
    )


def _fail(exc: IdCardError) -> int:
    from drivers.idcard.errors import (
        NoCard,
        ReaderDisconnected,
        ReaderNotFound,
        ReaderTimeout,
    )

    print(redact(f"{exc.user_message}\n{exc}"), file=sys.stderr)
    if isinstance(exc, NoCard):
        return EXIT_NO_CARD
    if isinstance(exc, ReaderNotFound):
        return EXIT_NO_PORT
    if isinstance(exc, ReaderTimeout | ReaderDisconnected):
        return EXIT_NO_REPLY
    return EXIT_ERROR


def cmd_read(args: argparse.Namespace) -> int:
    from drivers.idcard.errors import IdCardError

    try:
        with _reader(args) as reader:
            card = _read_waiting(reader, args.wait)
    except IdCardError as exc:
        return _fail(exc)
    fields = card.to_json_dict(mask=False)
    fields, out = personal_output(fields, unmasked=args.unmasked)
    if args.json:
        print(json.dumps(fields, ensure_ascii=False), file=out)
    else:
        for key, value in fields.items():
            print(f"{LABELS.get(key, key)} {key}: {value}", file=out)
    out.flush()
    return EXIT_OK


def _read_waiting(reader: SamReader, wait: float) -> IdCard:
    from drivers.idcard.errors import NoCard

    deadline = time.monotonic() + wait
    while True:
        try:
            return reader.read_card()
        except NoCard:
            if time.monotonic() >= deadline:
                raise
        time.sleep(0.2)  # a person is putting the card down; ask again


def cmd_status(args: argparse.Namespace) -> int:
    from drivers.idcard.errors import IdCardError

    try:
        with _reader(args) as reader:
            status = reader.status()
            sam_id = reader.sam_id()
    except IdCardError as exc:
        return _fail(exc)
    if args.json:
        print(json.dumps({"port": args.port, "status": status.name, "sam_id": sam_id}))
    else:
        print(f"port: {args.port}\nstatus: {status.name}\nsam_id: {sam_id}")
    return EXIT_OK


# --------------------------------------------------------------------------- sim


def cmd_sim(args: argparse.Namespace) -> int:
    import signal

    from drivers.idcard.sim import SamSimulator, make_card

    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    sim = SamSimulator(link_path=args.link, halt_after_read=args.halt_after_read)
    sim.start()
    try:
        print(sim.port, flush=True)
        if args.link:
            print(f"link: {args.link}", file=sys.stderr, flush=True)
        if args.insert:
            sim.insert(make_card(args.card))
        threading.Thread(
            target=_stdin_commands, args=(sim, args.card, stop), name="sim-stdin", daemon=True
        ).start()
        if args.card_every:
            while not stop.wait(max(0.0, args.card_every - args.hold)):
                sim.insert(make_card(args.card))
                if stop.wait(args.hold):
                    break
                sim.remove()
        else:
            stop.wait()
    finally:
        sim.stop()
    return EXIT_OK


def _stdin_commands(sim: SamSimulator, kind: str, stop: threading.Event) -> None:
    from drivers.idcard.sim import CARD_KINDS, make_card

    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        verb, rest = words[0], words[1:]
        if verb == "insert":
            chosen = rest[0] if rest else kind
            if chosen not in CARD_KINDS:
                print(f"error: card kind must be one of {', '.join(CARD_KINDS)}", flush=True)
                continue
            sim.insert(make_card(chosen))
            print(f"ok: {chosen} card on the reader", flush=True)
        elif verb == "remove":
            sim.remove()
            print("ok: card removed", flush=True)
        elif verb == "pull":
            sim.pull_cable()
            print("ok: cable pulled", flush=True)
        elif verb == "plug":
            sim.plug_back()
            print(f"ok: plugged in at {sim.port}", flush=True)
        elif verb in ("quit", "exit"):
            stop.set()
            return
        else:
            print("error: commands are insert [kind], remove, pull, plug, quit", flush=True)
    # stdin closed (e.g. started by the demo with no terminal): keep serving until a signal

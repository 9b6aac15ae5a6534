"""``hall``: the single console script.

Each subcommand lives next to the code it drives; this module only knows
where.  A subcommand module exposes ``register(subparsers)`` which adds its
parser and sets ``func`` (a callable taking the parsed namespace and returning
an exit code).  Subcommand modules import heavy libraries (Qt, pyscard, evdev)
inside their functions so that ``hall --help`` stays fast.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import sys
from collections.abc import Iterator, Sequence

from hall.core.logs import setup_logging
from hall.core.privacy import RedactingStream, redact
from hall.core.version import __version__

# name -> module providing register(); order is the order shown in --help.
SUBCOMMANDS: dict[str, str] = {
    "engine": "kiosk.engine.cli",
    "kiosk": "kiosk.cli",
    "caller": "counter.cli",
    "display": "counter.cli",
    "board": "counter.cli",
    "evaluator": "counter.cli",
    "demo": "hall.demo",
    "idcard": "drivers.idcard.cli",
    "citizencard": "drivers.citizencard.cli",
    "printer": "drivers.printer.cli",
    "ticket": "kiosk.cli",  # the configured hall's ticket
    "keys": "drivers.keys.cli",
    "sync": "sync.cli",
    "monitor": "sync.cli",
    "center": "sync.center_service",
    "provision": "hall.provision",
    "rollback": "hall.release",
    "doctor": "hall.doctor",
    "bench": "hall.bench",
    "web": "hall.web.cli",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hall", description="hall-edge: government service hall devices"
    )
    parser.add_argument("--version", action="version", version=f"hall-edge {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module_name in dict.fromkeys(SUBCOMMANDS.values()):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            # A role not built yet must not break the others.
            if exc.name and module_name.startswith(exc.name):
                continue
            raise
        module.register(sub)
    # What the top floor hands down to the floors below, which may not import upward:
    parser.set_defaults(hall_check=check_hall_config)
    return parser


def check_hall_config(data: object) -> str:
    """The engine's hall-config check, for the sync agent's config applier (sync may
    not import the engine): the config's hall id, or ValueError with every problem."""
    from kiosk.engine.config import check_hall_document

    return check_hall_document(data)


@contextlib.contextmanager
def _redacted_output() -> Iterator[None]:
    """Everything printed on stdout and stderr meanwhile goes through ``redact``."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = (
        s if s is None or isinstance(s, RedactingStream) else RedactingStream(s) for s in saved
    )
    try:
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):  # None, or a closed pipe: not the real error
                stream.flush()
        sys.stdout, sys.stderr = saved


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand.  What it prints (stdout, stderr, logging, argparse's
    errors, the last-resort error line) has ID numbers, phones and names masked."""
    with _redacted_output():
        parser = build_parser()
        args = parser.parse_args(argv)
        setup_logging(verbose=args.verbose)
        try:
            return int(args.func(args) or 0)
        except KeyboardInterrupt:
            return 130
        except SystemExit as exc:  # SystemExit("message") prints the message: mask it
            if isinstance(exc.code, str):
                raise SystemExit(redact(exc.code)) from None
            raise
        except Exception as exc:  # last line of defence: one clear line, not a trace
            logging.getLogger("hall").debug("unhandled error", exc_info=True)
            print(redact(f"hall {args.command}: error: {exc}"), file=sys.stderr)
            return 1


if __name__ == "__main__":
    sys.exit(main())

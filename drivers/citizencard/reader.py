"""``CitizenCardReader``: read a social-security card from a PC/SC reader.

    reader = CitizenCardReader()            # any reader; or reader_name="ACS ACR39U"
    card = reader.read(timeout=5)           # waits up to 5 s for a card
    card.name, card.ssn                     # full data: mask before showing

Raises ``NoReader`` (pcscd down / reader unplugged), ``NoCard``,
``PinRequired``, ``WrongCard`` or ``CardReadFailed``; each has a Chinese
``user_message`` for the screen.
"""

from __future__ import annotations

import logging
import time

from smartcard import scard

from drivers.citizencard.apdu import CitizenCard
from drivers.citizencard.errors import CitizenCardError, NoCard, NoReader
from drivers.citizencard.pcsc import CHECK_PCSCD, Context
from drivers.citizencard.session import read_card

log = logging.getLogger(__name__)


def list_readers() -> list[str]:
    """Names of the PC/SC readers; raises ``NoReader`` when pcscd is not running."""
    with Context() as ctx:
        return ctx.readers()


def match_readers(readers: list[str], reader_name: str | None) -> list[str]:
    """Readers matching ``reader_name``: exact name first, else case-insensitive substring."""
    if reader_name is None:
        return list(readers)
    if reader_name in readers:
        return [reader_name]
    wanted = reader_name.casefold()
    return [r for r in readers if wanted in r.casefold()]


def select_readers(ctx: Context, reader_name: str | None) -> list[str]:
    readers = ctx.readers()
    if not readers:
        raise NoReader(f"pcscd runs but no card reader is attached; {CHECK_PCSCD}")
    chosen = match_readers(readers, reader_name)
    if not chosen:
        raise NoReader(
            f"no reader matches {reader_name!r} (readers: {', '.join(readers)}); {CHECK_PCSCD}",
            reader=reader_name,
        )
    return chosen


def wait_for_state(
    ctx: Context, readers: list[str], *, present: bool, timeout: float
) -> str | None:
    """Wait until one of ``readers`` has (``present``) or lacks a card; its name, or None.

    A mute card counts as present: connecting to it reports what is wrong.
    """
    deadline = time.monotonic() + max(0.0, timeout)
    states = [(r, scard.SCARD_STATE_UNAWARE) for r in readers]
    while True:
        remaining = max(0.0, deadline - time.monotonic())
        new = ctx.status_change(states, remaining)
        if new is None:  # timed out (or cancelled)
            return None
        for state in new:
            if state.inserted == present:
                return state.reader
        if remaining <= 0:
            return None
        states = [(s.reader, s.event_state) for s in new]


def wait_for_card(
    reader_name: str | None = None, *, present: bool = True, timeout: float = 5.0
) -> bool:
    """True once a card is in (``present=True``) or out of the reader, within ``timeout``.

    The kiosk uses ``present=False`` to wait for "请取走卡片" to be obeyed.
    """
    with Context() as ctx:
        readers = select_readers(ctx, reader_name)
        return wait_for_state(ctx, readers, present=present, timeout=timeout) is not None


def read_from(ctx: Context, reader: str) -> CitizenCard:
    """Connect to the card in ``reader`` and run the SSSE read sequence."""
    started = time.monotonic()
    try:
        with ctx.connect(reader) as card:
            result = read_card(card.transmit)
    except CitizenCardError as exc:
        if exc.reader is None:
            exc.reader = reader
        raise
    log.info("read citizen card in %r in %.0f ms", reader, (time.monotonic() - started) * 1000)
    return result


class CitizenCardReader:
    """Reads citizen / social-security cards through pcscd."""

    def __init__(self, reader_name: str | None = None, timeout: float = 5.0) -> None:
        self.reader_name = reader_name
        self.timeout = timeout

    def readers(self) -> list[str]:
        """The readers this object would use (all, or those matching ``reader_name``)."""
        with Context() as ctx:
            return match_readers(ctx.readers(), self.reader_name)

    def read(self, timeout: float | None = None) -> CitizenCard:
        """Wait up to ``timeout`` s (default: the constructor's) for a card and read it."""
        wait = self.timeout if timeout is None else timeout
        with Context() as ctx:
            readers = select_readers(ctx, self.reader_name)
            reader = wait_for_state(ctx, readers, present=True, timeout=wait)
            if reader is None:
                where = readers[0] if len(readers) == 1 else ", ".join(readers)
                raise NoCard(f"no card in {where} after {wait:g}s", reader=readers[0])
            return read_from(ctx, reader)

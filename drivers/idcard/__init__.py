"""Resident ID card reader: GA 467 SAM module on a serial port.

Public API (the kiosk uses these)::

    from drivers.idcard import CardPoller, IdCard, SamReader, IdCardError

    poller = CardPoller(SamReader("/dev/hall-idcard"), on_card=..., on_error=...)
    poller.start(); ...; poller.stop()

Layers: ``codec`` (frames, pure) -> ``reader`` (serial session) -> ``poller``
(one swipe, one read).  ``card`` parses what a card holds; ``wlt`` is the
optional photo decoder; ``sim`` is a reader on a pty for tests and the demo.
"""

from drivers.idcard.card import (
    NATIONS,
    IdCard,
    id_check_digit,
    id_check_digit_ok,
    parse_read_data,
    parse_text_block,
)
from drivers.idcard.errors import (
    CardReadFailed,
    ChecksumError,
    FrameError,
    IdCardError,
    InvalidCard,
    LengthError,
    NoCard,
    ProtocolError,
    ReaderDisconnected,
    ReaderNotFound,
    ReaderTimeout,
)
from drivers.idcard.poller import CardPoller
from drivers.idcard.reader import DEFAULT_PORT, SamReader
from drivers.idcard.sim import SamSimulator, fake_id_number, make_card

__all__ = [
    "DEFAULT_PORT",
    "NATIONS",
    "CardPoller",
    "CardReadFailed",
    "ChecksumError",
    "FrameError",
    "IdCard",
    "IdCardError",
    "InvalidCard",
    "LengthError",
    "NoCard",
    "ProtocolError",
    "ReaderDisconnected",
    "ReaderNotFound",
    "ReaderTimeout",
    "SamReader",
    "SamSimulator",
    "fake_id_number",
    "id_check_digit",
    "id_check_digit_ok",
    "make_card",
    "parse_read_data",
    "parse_text_block",
]

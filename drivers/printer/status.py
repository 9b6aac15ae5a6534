"""Real-time status: ``DLE EOT n`` queries and their one-byte replies.  Pure.

Every reply byte has the fixed pattern ``0xx1 xx10`` (bits 1 and 4 set, bits
0 and 7 clear); anything else is not a status reply.  Bits used (Epson ESC/POS
reference, followed by the common Chinese kiosk printers):

====================  =====  ============================================
query                 bit    meaning when set
====================  =====  ============================================
``10 04 01`` printer  3      offline
``10 04 02`` offline  2      cover open
                      3      paper being fed by the FEED button
                      5      printing stopped: paper end
                      6      error (cutter jam, head overheat ...)
``10 04 04`` paper    2,3    roll paper near end
                      5,6    roll paper end (out)
====================  =====  ============================================

Printers differ in whether they set one or both bits of a pair, so either bit
counts.  All-clear replies are ``0x12`` for each query.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Paper = Literal["ok", "near_end", "out", "unknown"]

QUERY_PRINTER = b"\x10\x04\x01"
QUERY_OFFLINE = b"\x10\x04\x02"
QUERY_ERROR = b"\x10\x04\x03"
QUERY_PAPER = b"\x10\x04\x04"
QUERIES = (QUERY_PRINTER, QUERY_OFFLINE, QUERY_PAPER)

_FIXED_MASK, _FIXED_BITS = 0x93, 0x12
_OFFLINE = 0x08
_COVER, _FEED_BUTTON, _PAPER_STOP, _ERROR = 0x04, 0x08, 0x20, 0x40
_NEAR_END, _PAPER_END = 0x0C, 0x60


class BadStatusReply(ValueError):
    """A byte that is not a DLE EOT reply (line noise, wrong baud rate, echo)."""

    def __init__(self, query: int, reply: bytes) -> None:
        super().__init__(f"not a DLE EOT {query} reply: {reply.hex(' ') or '(nothing)'}")
        self.query = query
        self.reply = reply


@dataclass(frozen=True)
class PrinterStatus:
    """What the printer says about itself.

    ``verified`` is False when the link cannot carry replies (a plain file,
    a one-way device); the other fields are then assumptions, not readings.
    """

    online: bool
    paper: Paper
    cover_open: bool
    error: bool
    verified: bool = True

    @property
    def printable(self) -> bool:
        return self.online and self.paper != "out" and not self.cover_open and not self.error

    @classmethod
    def unknown(cls) -> PrinterStatus:
        return cls(online=True, paper="unknown", cover_open=False, error=False, verified=False)

    def describe(self) -> str:
        """One English phrase for logs: ``paper out``, ``near end``, ``ok`` ..."""
        if not self.verified:
            return "status unknown"
        parts = []
        if self.paper == "out":
            parts.append("paper out")
        if self.cover_open:
            parts.append("cover open")
        if self.error:
            parts.append("error")
        if not self.online and not parts:
            parts.append("offline")
        if self.paper == "near_end":
            parts.append("paper near end")
        return ", ".join(parts) or "ok"


def is_reply(data: bytes) -> bool:
    """Whether ``data`` is one byte with the fixed pattern of a DLE EOT reply."""
    return len(data) == 1 and (data[0] & _FIXED_MASK) == _FIXED_BITS


def _byte(query: int, reply: bytes) -> int:
    if not is_reply(reply):
        raise BadStatusReply(query, reply)
    return reply[0]


def parse_status(printer: bytes, offline: bytes, paper: bytes) -> PrinterStatus:
    """Replies to DLE EOT 1, 2 and 4 (one byte each) -> :class:`PrinterStatus`."""
    p, o, r = _byte(1, printer), _byte(2, offline), _byte(4, paper)
    if r & _PAPER_END or o & _PAPER_STOP:
        paper_state: Paper = "out"
    elif r & _NEAR_END:
        paper_state = "near_end"
    else:
        paper_state = "ok"
    return PrinterStatus(
        online=not p & _OFFLINE,
        paper=paper_state,
        cover_open=bool(o & _COVER),
        error=bool(o & _ERROR),
    )


def status_reply(
    query: int, *, paper: Paper, cover_open: bool, offline: bool, error: bool
) -> bytes:
    """The byte a printer in this state sends for ``DLE EOT query`` (simulator side).

    A printer with the cover open, out of paper or in error is offline too.
    """
    value = _FIXED_BITS
    if query == 1:
        if offline or cover_open or error or paper == "out":
            value |= _OFFLINE
    elif query == 2:
        value |= (_COVER if cover_open else 0) | (_ERROR if error else 0)
        value |= _PAPER_STOP if paper == "out" else 0
    elif query == 4:
        value |= {"ok": 0, "unknown": 0, "near_end": _NEAR_END, "out": _NEAR_END | _PAPER_END}[
            paper
        ]
    return bytes([value])

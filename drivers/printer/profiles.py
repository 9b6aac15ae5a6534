"""Printer capabilities as data: paper width, cutter, native QR, Chinese font.

The codec asks the profile, never the hardware.  python-escpos's own
``cut()`` silently sends nothing when *its* profile lacks cutter support; we
do not call it.  Whether a ticket ends in ``GS V`` is decided here, in
``supports_cut``, and tests check both ways.  A printer without a cutter gets
``cut_feed_lines`` blank lines instead so the ticket clears the tear bar.

``charset`` names the Chinese font the printer carries: ``gb2312`` (6763
common hanzi and the punctuation of Chinese typography, the safe default for
unknown printers; mapped through cp936 as printers do, see
:mod:`drivers.printer.charset`), ``gbk`` or ``gb18030`` (Python's codecs).  A
line containing anything outside it is printed as a raster image instead of
text, so no character ever comes out as ``?``.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, replace

CHARSETS = ("gb2312", "gbk", "gb18030")


@dataclass(frozen=True)
class PrinterProfile:
    name: str
    paper_mm: int
    dots: int  # printable width in dots (8 dots/mm at 203 dpi)
    columns: int  # ASCII columns per line at 1x (Font A, 12 dots)
    supports_cut: bool
    supports_qr: bool  # native GS ( k QR; else the QR is sent as a raster image
    charset: str = "gb2312"
    qr_module: int = 6  # QR module size in dots
    cut_feed_lines: int = 4  # lines fed before cutting (head-to-cutter distance)
    tear_feed_lines: int = 6  # lines fed when there is no cutter (to the tear bar)

    def __post_init__(self) -> None:
        if self.charset not in CHARSETS:
            raise ValueError(f"charset {self.charset!r} not one of {', '.join(CHARSETS)}")
        codecs.lookup(self.charset)
        if self.dots % 8:
            raise ValueError(f"dots must be a multiple of 8, got {self.dots}")
        if not 1 <= self.qr_module <= 16:
            raise ValueError(f"qr_module must be 1..16, got {self.qr_module}")

    def with_(self, **changes: object) -> PrinterProfile:
        """A copy with some capabilities changed (e.g. ``charset="gb18030"``)."""
        return replace(self, **changes)  # type: ignore[arg-type]


PROFILES: dict[str, PrinterProfile] = {
    p.name: p
    for p in (
        PrinterProfile("58mm", 58, 384, 32, supports_cut=True, supports_qr=True, qr_module=6),
        PrinterProfile("58mm-nocut", 58, 384, 32, supports_cut=False, supports_qr=True),
        PrinterProfile("80mm", 80, 576, 48, supports_cut=True, supports_qr=True, qr_module=8),
        PrinterProfile(
            "80mm-nocut", 80, 576, 48, supports_cut=False, supports_qr=True, qr_module=8
        ),
    )
}


def get_profile(name: str) -> PrinterProfile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(
            f"unknown printer profile {name!r}; known: {', '.join(PROFILES)}"
        ) from None

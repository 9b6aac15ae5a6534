"""Ticket -> exact ESC/POS bytes.  Pure: data in, bytes out.

We own the Chinese path because python-escpos gets it wrong for tickets: it
never sends ``FS &`` and sends CJK punctuation and rare characters as ``?``.
So the stream is::

    ESC @                      initialise
    FS &                       Chinese (two-byte) character mode
    [ESC a n] [GS ! n] [ESC E n] <text in the printer's charset> LF   per line
    GS v 0 ...                 a line the printer's font cannot print, as pixels
    GS ( k ...                 the QR code, drawn by the printer (python-escpos)
    ESC d n  GS V 0            feed to the cutter and cut (profile.supports_cut)
    ESC d n                    or feed to the tear bar (no cutter)

Each text line is checked against ``profile.charset``: if every character
is ASCII or in that printer font, it goes as text (a few bytes); otherwise the
whole line is drawn with the CJK font and sent as a raster image (about 1.4 KB
per line on 58 mm).  A GB2312 font is reached through the cp936 table, as
printers do, so ``—`` ``·`` ``“”`` ``、`` ``《》`` print as text
(:mod:`drivers.printer.charset`).  A native ticket is a few hundred bytes.
"""

from __future__ import annotations

import math

from drivers.printer import escpos_cache  # noqa: F401  (before python-escpos loads)

# isort: split
import qrcode
from escpos.constants import QR_ECLEVEL_M
from escpos.printer import Dummy
from PIL import Image

from drivers.printer.charset import encode_text
from drivers.printer.glyphs import aligned_x, line_image
from drivers.printer.profiles import PROFILES, PrinterProfile, get_profile
from drivers.printer.ticket import Line, TicketData, layout_for, layout_lines

ESC, FS, GS = b"\x1b", b"\x1c", b"\x1d"
LF = b"\n"
INIT = ESC + b"@"  # 1B 40
CJK_ON = FS + b"&"  # 1C 26
CJK_OFF = FS + b"."  # 1C 2E
CUT_FULL = GS + b"V\x00"  # 1D 56 00
CUT_PARTIAL = GS + b"V\x01"  # 1D 56 01
_ALIGN = {"left": 0, "center": 1, "right": 2}
RASTER_CHUNK_ROWS = 256  # rows per GS v 0 command: keeps each within small printer buffers


def align(where: str) -> bytes:
    """``ESC a n``: 0 left, 1 centre, 2 right."""
    return ESC + b"a" + bytes([_ALIGN[where]])


def char_size(width: int, height: int) -> bytes:
    """``GS ! n``: width and height multiples 1..8."""
    if not (1 <= width <= 8 and 1 <= height <= 8):
        raise ValueError(f"character size must be 1..8, got {width}x{height}")
    return GS + b"!" + bytes([((width - 1) << 4) | (height - 1)])


def bold(on: bool) -> bytes:
    """``ESC E n``: emphasized on/off."""
    return ESC + b"E" + (b"\x01" if on else b"\x00")


def feed(lines: int) -> bytes:
    """``ESC d n``: print the buffer and feed ``n`` lines."""
    return ESC + b"d" + bytes([max(0, min(lines, 255))])


def raster(img: Image.Image) -> bytes:
    """``GS v 0``: an image as raster bit data (dark pixels print), in chunks."""
    bits = img.convert("L").point(lambda v: 255 if v < 128 else 0, mode="1")
    width_bytes = math.ceil(bits.width / 8)
    out = bytearray()
    for top in range(0, bits.height, RASTER_CHUNK_ROWS):
        part = bits.crop((0, top, bits.width, min(top + RASTER_CHUNK_ROWS, bits.height)))
        out += GS + b"v0\x00"
        out += width_bytes.to_bytes(2, "little") + part.height.to_bytes(2, "little")
        out += part.tobytes()
    return bytes(out)


def qr_native(payload: str, module: int) -> bytes:
    """``GS ( k``: model 2, module size, error level M, store, print (python-escpos)."""
    dummy = Dummy()
    dummy.qr(payload, ec=QR_ECLEVEL_M, size=module, native=True)
    return bytes(dummy.output)


def qr_image(
    payload: str | bytes,
    module: int,
    dots: int,
    where: str = "center",
    ec: int = qrcode.constants.ERROR_CORRECT_M,
) -> Image.Image:
    """The QR code as the printer would draw it, placed on a ``dots``-wide strip.

    Raises ``qrcode.exceptions.DataOverflowError`` if the payload cannot fit a QR code.
    """
    code = qrcode.QRCode(error_correction=ec, box_size=1, border=0)
    code.add_data(payload)
    code.make(fit=True)
    matrix = code.get_matrix()
    if len(matrix) * module > dots:  # too dense for this paper: shrink the modules
        module = max(1, dots // len(matrix))
    small = Image.new("L", (len(matrix), len(matrix)), 255)
    small.putdata([0 if dark else 255 for row in matrix for dark in row])
    side = min(len(matrix) * module, dots)
    big = small.resize((len(matrix) * module,) * 2, Image.Resampling.NEAREST)
    img = Image.new("L", (dots, side), 255)
    img.paste(big, (aligned_x(side, dots, where), 0))
    return img


class _Mode:
    """The printer's current text mode, so each change is sent once."""

    def __init__(self) -> None:
        self.align = "left"
        self.size = (1, 1)
        self.bold = False

    def set(self, *, where: str, size: tuple[int, int], emphasis: bool) -> bytes:
        out = b""
        if where != self.align:
            out += align(where)
            self.align = where
        if size != self.size:
            out += char_size(*size)
            self.size = size
        if emphasis != self.bold:
            out += bold(emphasis)
            self.bold = emphasis
        return out


def encode_line(line: Line, profile: PrinterProfile, mode: _Mode, *, force_raster: bool) -> bytes:
    if line.kind == "feed":
        return LF
    if line.kind == "qr":
        if profile.supports_qr and not force_raster:
            head = mode.set(where=line.align, size=(1, 1), emphasis=False)
            # LF after the symbol: some printers only flush the QR at end of line
            return head + qr_native(line.text, profile.qr_module) + LF
        return raster(qr_image(line.text, profile.qr_module, profile.dots, line.align)) + LF
    text = None if force_raster else encode_text(line.text, profile.charset)
    if text is None:
        img = line_image(
            line.text, size=line.size, bold=line.bold, align=line.align, dots=profile.dots
        )
        return raster(img)
    return mode.set(where=line.align, size=line.size, emphasis=line.bold) + text + LF


def build_lines(lines: list[Line], profile: PrinterProfile, *, force_raster: bool = False) -> bytes:
    """Encode already laid-out lines as one complete ticket (init ... cut)."""
    mode = _Mode()
    out = bytearray(INIT + CJK_ON)
    for line in lines:
        out += encode_line(line, profile, mode, force_raster=force_raster)
    out += mode.set(where="left", size=(1, 1), emphasis=False)
    if profile.supports_cut:
        out += feed(profile.cut_feed_lines) + CUT_FULL
    else:
        out += feed(profile.tear_feed_lines)
    return bytes(out)


def build_ticket(
    ticket: TicketData,
    profile: PrinterProfile | str,
    *,
    force_raster: bool = False,
) -> bytes:
    """The exact bytes that print ``ticket`` on a printer described by ``profile``.

    ``force_raster`` sends every line (and the QR) as pixels: the fallback for
    a printer with no Chinese font at all, and the size comparison in the bench.
    """
    if isinstance(profile, str):
        profile = get_profile(profile)
    lines = layout_lines(ticket, layout_for(profile.paper_mm), profile.columns)
    return build_lines(lines, profile, force_raster=force_raster)


__all__ = [
    "CJK_OFF",
    "CJK_ON",
    "CUT_FULL",
    "CUT_PARTIAL",
    "INIT",
    "PROFILES",
    "PrinterProfile",
    "align",
    "bold",
    "build_lines",
    "build_ticket",
    "char_size",
    "encode_text",
    "feed",
    "get_profile",
    "qr_image",
    "qr_native",
    "raster",
]

"""ESC/POS bytes -> the paper a thermal printer would produce, as an image.

A test tool (look at a ticket; assert on pixels) and a feature (ticket
preview in ``hall ticket preview`` and on the kiosk's maintenance screen).
It interprets the subset the codec emits - ``ESC @``, ``FS &``/``FS .``,
``ESC a``, ``GS !``, ``ESC !``, ``ESC E``, ``LF``, ``ESC d``, ``ESC J``,
``GS v 0`` raster, ``GS ( k`` QR (model/size/level/store/print, drawn with
the qrcode package from the stored data) and ``GS V`` (drawn as a dashed cut
line) - and skips every other command by its length.  Garbage never raises.

Text in Chinese mode is decoded as GB18030 (``charset.decode_text``: on the
GB2312 cells it is the cp936 mapping the codec encodes with, so ``A1AA`` is
``—`` and ``A1A4`` is ``·``) and drawn with the same glyphs the raster
fallback uses; outside it, as code page 437 (the power-on table).
"""

from __future__ import annotations

from pathlib import Path

import qrcode
from PIL import Image, ImageOps
from qrcode.exceptions import DataOverflowError

from drivers.printer.charset import decode_text
from drivers.printer.escpos_codec import qr_image
from drivers.printer.glyphs import CELL, LINE_SPACING, aligned_x, line_height, text_image
from drivers.printer.stream import Op, iter_ops

MAX_HEIGHT = 30_000  # dots (3.75 m of paper): stop drawing beyond this
_QR_LEVELS = {
    0: qrcode.constants.ERROR_CORRECT_L,
    1: qrcode.constants.ERROR_CORRECT_M,
    2: qrcode.constants.ERROR_CORRECT_Q,
    3: qrcode.constants.ERROR_CORRECT_H,
}
_ALIGNS = {0: "left", 1: "center", 2: "right", 48: "left", 49: "center", 50: "right"}


class _Paper:
    def __init__(self, dots: int, max_height: int) -> None:
        self.dots = dots
        self.max_height = max_height
        self.blocks: list[Image.Image] = []
        self.height = 0
        self.line: list[Image.Image] = []
        self.line_width = 0
        self.reset()

    def reset(self) -> None:
        self.cjk = False
        self.align = "left"
        self.size = (1, 1)
        self.bold = False
        self.qr_module = 3
        self.qr_level = 0
        self.qr_data = b""

    # -- output ---------------------------------------------------------------
    def add_block(self, img: Image.Image) -> None:
        room = self.max_height - self.height
        if room <= 0:
            return
        if img.height > room:
            img = img.crop((0, 0, img.width, room))
        self.blocks.append(img)
        self.height += img.height

    def blank(self, rows: int) -> None:
        if rows > 0:
            self.add_block(Image.new("L", (self.dots, min(rows, self.max_height)), 255))

    def place(self, img: Image.Image) -> None:
        """A full-line object (raster, QR): aligned, on its own rows."""
        self.flush(force=False)
        strip = Image.new("L", (self.dots, img.height), 255)
        strip.paste(img.crop((0, 0, min(img.width, self.dots), img.height)),
                    (aligned_x(img.width, self.dots, self.align), 0))  # fmt: skip
        self.add_block(strip)

    def flush(self, *, force: bool = True) -> None:
        """Print the line buffer (LF); ``force`` feeds a blank line if it is empty."""
        if not self.line:
            if force:
                self.blank(LINE_SPACING)
            return
        tallest = max(p.height for p in self.line)
        row = Image.new("L", (self.dots, line_height(tallest)), 255)
        x = aligned_x(self.line_width, self.dots, self.align)
        for piece in self.line:
            row.paste(piece, (x, tallest - piece.height))  # characters share a baseline
            x += piece.width
        self.line, self.line_width = [], 0
        self.add_block(row)

    # -- commands -------------------------------------------------------------
    def text(self, raw: bytes) -> None:
        decoded = decode_text(raw) if self.cjk else raw.decode("cp437")
        for ch in decoded:
            piece = text_image(ch, self.size, self.bold)
            if piece.width > self.dots:
                continue
            if self.line_width + piece.width > self.dots:  # the printer wraps
                self.flush()
            self.line.append(piece)
            self.line_width += piece.width

    def tab(self) -> None:
        step = 8 * CELL // 2
        target = (self.line_width // step + 1) * step
        if target < self.dots:
            self.line.append(Image.new("L", (target - self.line_width, 1), 255))
            self.line_width = target

    def raster(self, width_bytes: int, data: bytes) -> None:
        if width_bytes == 0 or len(data) < width_bytes:
            return
        rows = len(data) // width_bytes
        bits = Image.frombytes("1", (width_bytes * 8, rows), data[: width_bytes * rows])
        self.place(ImageOps.invert(bits.convert("L")))  # ESC/POS: 1 = black dot

    def qr(self, data: bytes) -> None:
        if len(data) < 2 or data[0] != 49:  # cn 49 = QR code
            return
        fn, args = data[1], data[2:]
        if fn == 67 and args:
            self.qr_module = args[0] if 1 <= args[0] <= 16 else self.qr_module
        elif fn == 69 and args:
            self.qr_level = (args[0] - 48) if 48 <= args[0] <= 51 else self.qr_level
        elif fn == 80 and args:
            self.qr_data = bytes(args[1:])
        elif fn == 81 and self.qr_data:
            try:
                img = qr_image(
                    self.qr_data, self.qr_module, self.dots, "left", _QR_LEVELS[self.qr_level]
                )
            except (DataOverflowError, ValueError):
                return  # a printer prints nothing for data it cannot encode
            side = img.height
            self.place(img.crop((0, 0, side, side)))

    def cut(self) -> None:
        self.flush(force=False)
        row = Image.new("L", (self.dots, 12), 255)
        for x in range(0, self.dots, 12):
            row.paste(128, (x, 5, min(x + 6, self.dots), 7))
        self.add_block(row)

    def apply(self, op: Op) -> None:
        name = op.name
        if name == "text":
            self.text(op.raw)
        elif name == "lf":
            self.flush()
        elif name == "ht":
            self.tab()
        elif name == "init":
            self.flush(force=False)
            self.reset()
        elif name == "cjk_on":
            self.cjk = True
        elif name == "cjk_off":
            self.cjk = False
        elif name == "align":
            self.align = _ALIGNS.get(op.n, self.align)
        elif name == "size":
            self.size = (((op.n >> 4) & 7) + 1, (op.n & 7) + 1)
        elif name == "bold":
            self.bold = bool(op.n & 1)
        elif name == "print_mode":
            self.bold = bool(op.n & 0x08)
            self.size = (2 if op.n & 0x20 else 1, 2 if op.n & 0x10 else 1)
        elif name == "feed_lines":
            self.flush(force=False)
            self.blank(op.n * LINE_SPACING)
        elif name == "feed_dots":
            self.flush(force=False)
            self.blank(op.n)
        elif name == "raster":
            self.raster(op.n, op.data)
        elif name == "qr":
            self.qr(op.data)
        elif name == "cut":
            self.cut()
        # everything else (status queries, unknown commands, truncated tails) prints nothing

    def image(self) -> Image.Image:
        self.flush(force=False)
        out = Image.new("L", (self.dots, max(self.height, 1)), 255)
        y = 0
        for block in self.blocks:
            out.paste(block, (0, y))
            y += block.height
        return out


def render(data: bytes, dots: int = 576, *, max_height: int = MAX_HEIGHT) -> Image.Image:
    """The paper printed from ``data`` on a ``dots``-wide head (384 = 58 mm, 576 = 80 mm)."""
    if dots <= 0 or dots % 8:
        raise ValueError(f"dots must be a positive multiple of 8, got {dots}")
    paper = _Paper(dots, max_height)
    for op in iter_ops(bytes(data)):
        if paper.height >= max_height:
            break
        paper.apply(op)
    return paper.image()


def render_png(data: bytes, path: str | Path, dots: int = 576) -> Path:
    """Render and save as PNG (grey-scale); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    render(data, dots).save(path, format="PNG")
    return path

"""Drawing printer text as pixels, the way a thermal head would print it.

Shared by the raster fallback (lines the printer's own font cannot print are
sent as ``GS v 0`` images) and by the renderer (previews and tests), so a
raster line and a native line look the same on paper.

Geometry follows ESC/POS Font A in Chinese mode: an ASCII character is a
12x24-dot cell, any other character a 24x24-dot cell; ``GS !`` multiplies
width and height by 1..8 the way the printer does (pixel doubling).  The
default line spacing is 30 dots, or the character height when larger.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFont

log = logging.getLogger(__name__)

#: Fonts tried in order for each character.  WenQuanYi Micro Hei covers
#: GB18030's two-byte part (GBK); HanaMin A/B (Debian ``fonts-hanazono``), if
#: installed, add CJK Extension A/B for rare characters in names.
FONT_PATHS: tuple[str, ...] = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/hanazono/HanaMinA.ttf",
    "/usr/share/fonts/truetype/hanazono/HanaMinB.ttf",
)
CELL = 24  # dots: height of a character, width of a Chinese one
LINE_SPACING = 30  # dots: ESC/POS default line feed
_NOTDEF_PROBE = "\U0010fffd"  # a private-use code point no font draws
_FontT = ImageFont.FreeTypeFont


@lru_cache(maxsize=1)
def fonts() -> tuple[_FontT, ...]:
    found = tuple(ImageFont.truetype(p, CELL) for p in FONT_PATHS if Path(p).exists())
    if not found:
        raise FileNotFoundError(
            f"no CJK font for ticket raster: install fonts-wqy-microhei ({FONT_PATHS[0]})"
        )
    return found


def _draw_cell(font: _FontT, ch: str, width: int) -> Image.Image:
    img = Image.new("L", (width, CELL), 255)
    ImageDraw.Draw(img).text((width / 2, CELL / 2), ch, font=font, fill=0, anchor="mm")
    return img.point(lambda v: 0 if v < 140 else 255)


@lru_cache(maxsize=8)
def _notdef(font_index: int) -> bytes:
    return _draw_cell(fonts()[font_index], _NOTDEF_PROBE, CELL).tobytes()


def has_glyph(ch: str) -> bool:
    """Whether any configured font can draw ``ch`` (else it prints as a box)."""
    return _font_index(ch) is not None


@lru_cache(maxsize=8192)
def _font_index(ch: str) -> int | None:
    if ch == " " or ord(ch) < 0x80:
        return 0
    for i, font in enumerate(fonts()):
        if _draw_cell(font, ch, CELL).tobytes() != _notdef(i):
            return i
    return None


@lru_cache(maxsize=8192)
def glyph(ch: str, bold: bool = False) -> Image.Image:
    """One character cell at 1x: 12x24 (ASCII) or 24x24 dots, black on white."""
    width = CELL // 2 if ord(ch) < 0x80 else CELL
    index = _font_index(ch)
    if index is None:
        log.warning("no font draws U+%04X; it prints as a box", ord(ch))
        index = 0
    img = _draw_cell(fonts()[index], ch, width)
    if bold:  # emphasized mode: the head strikes each dot twice, one dot apart
        img = ImageChops.darker(img, ImageChops.offset(img, 1, 0))
    return img


def text_image(text: str, size: tuple[int, int] = (1, 1), bold: bool = False) -> Image.Image:
    """``text`` as the printer draws it at ``GS !`` size (w, h): grey-scale L image."""
    cells = [glyph(c, bold) for c in text]
    width = sum(c.width for c in cells)
    img = Image.new("L", (max(width, 1), CELL), 255)
    x = 0
    for cell in cells:
        img.paste(cell, (x, 0))
        x += cell.width
    w, h = size
    if (w, h) != (1, 1):
        img = img.resize((img.width * w, CELL * h), Image.Resampling.NEAREST)
    return img


def line_height(char_height: int) -> int:
    """Paper advanced by one printed line whose tallest character is ``char_height``."""
    return max(LINE_SPACING, char_height)


def line_image(
    text: str, *, size: tuple[int, int] = (1, 1), bold: bool = False, align: str, dots: int
) -> Image.Image:
    """A whole printed line (text plus its line spacing) ``dots`` wide."""
    strip = text_image(text, size, bold)
    img = Image.new("L", (dots, line_height(strip.height)), 255)
    img.paste(strip, (aligned_x(strip.width, dots, align), 0))
    return img


def aligned_x(width: int, dots: int, align: str) -> int:
    if align == "center":
        return max((dots - width) // 2, 0)
    if align == "right":
        return max(dots - width, 0)
    return 0

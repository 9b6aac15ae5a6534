"""Drawing helpers shared by the painted screens: fonts that fit, colours, avatars.

Screens seen from across a hall are painted, not laid out with labels: each
text gets a box and the largest font that fits it, so nothing is clipped on
a 1920×1080 TV, a 1280×720 one or a 640×64 LED strip.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path

from counter import palette
from counter.texts import StaffCard
from hall.core.contrast import contrast_ratio
from hall.ui.app import CJK_FONT
from hall.ui.qt import QColor, QFont, QPainter, QPixmap, QRect, Qt, QtGui

log = logging.getLogger(__name__)

FONT_FAMILY = CJK_FONT  # one name for every screen (hall.ui.app)

# The colours of counter.palette (each text/ground pair checked at >= 7:1 there).
BG = QColor(palette.BG)
BG_DARK = QColor(palette.BG_DARK)
PANEL = QColor(palette.PANEL)
TEXT = QColor(palette.TEXT)
MUTED = QColor(palette.MUTED)
NUMBER = QColor(palette.NUMBER)
NOTICE_BG = QColor(palette.NOTICE_BG)
NOTICE_TEXT = QColor(palette.NOTICE_TEXT)
ALERT_BG = QColor(palette.ALERT_BG)
ALERT_TEXT = TEXT
LED_RED = QColor(palette.LED_RED)
LED_DIM = QColor(palette.LED_DIM)
STATUS_COLOURS = {name: QColor(c) for name, c in palette.STATUS_COLOURS.items()}
STAFF_COLOURS = {name: QColor(c) for name, c in palette.STAFF_COLOURS.items()}
NOBODY_COLOUR = QColor(palette.NOBODY_COLOUR)
SILHOUETTE_BG = QColor(palette.SILHOUETTE_BG)
SILHOUETTE_FG = QColor(palette.SILHOUETTE_FG)
AVATAR_COLOURS = palette.AVATAR_COLOURS

ALIGN_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
ALIGN_CENTER = Qt.AlignmentFlag.AlignCenter
ALIGN_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


def font(px: int, *, bold: bool = False) -> QFont:
    f = QFont(FONT_FAMILY)
    f.setPixelSize(max(1, int(px)))
    f.setBold(bold)
    return f


def fitting_font(
    text: str, rect: QRect, *, max_px: int, min_px: int = 8, bold: bool = False, wrap: bool = False
) -> QFont:
    """The largest font (≤ ``max_px``) in which ``text`` fits ``rect``."""
    px = _fitting_px(FONT_FAMILY, text, rect.width(), rect.height(), max_px, min_px, bold, wrap)
    return font(px, bold=bold)


@functools.lru_cache(maxsize=2048)
def _fitting_px(
    family: str,
    text: str,
    width: int,
    height: int,
    max_px: int,
    min_px: int,
    bold: bool,
    wrap: bool,
) -> int:
    """The search behind :func:`fitting_font`, once per text and box: a display repaints
    the same texts in the same boxes at every call and every flash.

    The sizes that fit are all below those that do not, so a size that fits with the one
    above it not fitting is the answer.  Two such guesses come first, each depending on
    the text and the box alone: the largest size asked for (a short text), and the
    largest whose line fits the box's height (a number: the next one is as tall).  Only
    when neither holds, a binary search (about seven measurements; the search was a
    third of the frame a new state draws)."""
    flags = int(Qt.TextFlag.TextWordWrap) if wrap else 0
    rect = QRect(0, 0, width, height)
    lo, hi = max(1, min_px), max(min_px, int(max_px))

    def fits(px: int) -> bool:
        box = QtGui.QFontMetrics(font(px, bold=bold)).boundingRect(rect, flags, text)
        return box.width() <= width and box.height() <= height

    if fits(hi):
        return hi
    if not wrap:
        tall = _tallest_line_px(family, height, lo, hi, bold)
        if lo <= tall < hi and fits(tall) and not fits(tall + 1):
            return tall
    return _largest(lo, hi, fits)


def _largest(lo: int, hi: int, ok: Callable[[int], bool]) -> int:
    """The largest size in ``lo``..``hi`` for which ``ok`` holds (it holds for all sizes
    below one that it holds for), or ``lo``: a binary search."""
    best = lo
    while lo <= hi:
        mid = (lo + hi) // 2
        if ok(mid):
            best, lo = mid, mid + 1
        else:
            hi = mid - 1
    return best


@functools.lru_cache(maxsize=256)
def _tallest_line_px(family: str, height: int, lo: int, hi: int, bold: bool) -> int:
    """The largest size in ``lo``..``hi`` whose line is at most ``height`` pixels high (the
    font's, whatever the text), or ``lo``: once per box."""
    return _largest(lo, hi, lambda px: QtGui.QFontMetrics(font(px, bold=bold)).height() <= height)


#: The text images kept (:func:`_text_image`), in KiB: a display's dozen texts at 1080p
#: are about 2 MB; the bench's ten displays in one process share it.
TEXT_CACHE_KIB = 32 * 1024


def _text_image(
    f: QFont, colour: QColor, flags: int, w: int, h: int, text: str, dpr: float
) -> tuple[QPixmap, tuple[int, int]]:
    """``text`` as :meth:`QPainter.drawText` draws it in a ``w`` x ``h`` box, drawn once
    into a transparent image cropped to its glyphs: (image, its offset in the box).

    A screen draws the same texts again at every change of another (a window's name,
    its clerk, the labels): drawing a glyph above Qt's glyph cache size (64 px) fills
    its outline again every time, and the window's name and the number were two thirds
    of a display's frame.  Kept in Qt's pixmap cache (a byte budget, least recently
    used out first); painting happens on the GUI thread only, as that cache asks."""
    cache = QtGui.QPixmapCache
    if cache.cacheLimit() < TEXT_CACHE_KIB:
        cache.setCacheLimit(TEXT_CACHE_KIB)
    key = f"hall-text|{f.key()}|{colour.rgba()}|{flags}|{w}x{h}|{dpr}|{text}"
    kept = _TEXT_OFFSETS.get(key)
    if kept is not None:
        found = QPixmap()
        if cache.find(key, found):
            return found, kept
    margin = text_margin(f.pixelSize())
    box = QtGui.QFontMetrics(f).boundingRect(QRect(0, 0, w, h), flags, text)
    # drawText cuts a text too long for its box near the box: so does the image (its size
    # bounded by the box however long the text), the margin kept for the edges' smoothing
    near = QRect(-margin, -margin, w + 2 * margin, h + 2 * margin)
    box = box.adjusted(-margin, -margin, margin, margin).intersected(near)
    if box.isEmpty():
        box = QRect(0, 0, 1, 1)
    image = QPixmap(max(1, round(box.width() * dpr)), max(1, round(box.height() * dpr)))
    image.setDevicePixelRatio(dpr)
    image.fill(Qt.GlobalColor.transparent)
    q = QPainter(image)
    try:
        q.setRenderHint(QPainter.RenderHint.Antialiasing)
        q.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        q.setFont(f)
        q.setPen(colour)
        q.translate(-box.x(), -box.y())
        q.drawText(QRect(0, 0, w, h), flags, text)
    finally:
        q.end()
    offset = (box.x(), box.y())
    if cache.insert(key, image):
        if len(_TEXT_OFFSETS) > 4096:  # the offsets of images the cache let go
            _TEXT_OFFSETS.clear()
        _TEXT_OFFSETS[key] = offset
    return image, offset


_TEXT_OFFSETS: dict[str, tuple[int, int]] = {}


def text_margin(px: int) -> int:
    """How far a text of ``px`` pixels may draw outside its box: the glyphs' overhang and
    their smoothing (a kept image's margin; a text up to ``px`` stays within it)."""
    return max(2, int(px) // 6)


def _draw_text_in(
    p: QPainter, rect: QRect, flags: int, text: str, f: QFont, colour: QColor
) -> None:
    """``p.drawText(rect, flags, text)`` in ``f`` and ``colour``, from the kept image."""
    device = p.device()
    dpr = device.devicePixelRatioF() if device is not None else 1.0
    image, (dx, dy) = _text_image(f, colour, flags, rect.width(), rect.height(), text, dpr)
    p.drawPixmap(rect.x() + dx, rect.y() + dy, image)


def draw_text(
    p: QPainter,
    rect: QRect,
    text: str,
    *,
    colour: QColor = TEXT,
    max_px: int,
    min_px: int = 8,
    bold: bool = False,
    align: Qt.AlignmentFlag = ALIGN_CENTER,
    wrap: bool = False,
) -> None:
    if not text or rect.width() <= 0 or rect.height() <= 0:
        return
    f = fitting_font(text, rect, max_px=max_px, min_px=min_px, bold=bold, wrap=wrap)
    flags = int(align) | (int(Qt.TextFlag.TextWordWrap) if wrap else 0)
    _draw_text_in(p, rect, flags, text, f, colour)


def draw_paragraph(
    p: QPainter,
    rect: QRect,
    text: str,
    *,
    colour: QColor = TEXT,
    max_px: int,
    min_px: int = 8,
    align: Qt.AlignmentFlag = ALIGN_LEFT,
) -> None:
    """One line when it fits at a good size, else wrapped: no lone character on a last line."""
    if not text or rect.width() <= 0 or rect.height() <= 0:
        return
    single = fitting_font(text, rect, max_px=max_px, min_px=min_px)
    if single.pixelSize() >= 0.7 * max_px:
        _draw_text_in(p, rect, int(align), text, single, colour)
        return
    draw_text(
        p,
        rect,
        text,
        colour=colour,
        max_px=int(0.8 * max_px),
        min_px=min_px,
        align=align,
        wrap=True,
    )


def contrast(a: QColor, b: QColor) -> float:
    """The WCAG contrast ratio of two colours (1 to 21): hall.core.contrast's."""
    return contrast_ratio(a.name(), b.name())


def banner(
    p: QPainter,
    rect: QRect,
    label: str,
    text: str,
    *,
    bg: QColor,
    fg: QColor,
    max_px: int,
    pad: int,
) -> int:
    """A band across the screen: a label in a box, then the text, as large as fits, wrapped
    when one line would make it too small.  Returns the text's pixel size."""
    if rect.width() <= 0 or rect.height() <= 0:
        return 0
    p.fillRect(rect, bg)
    inner = rect.adjusted(pad, pad // 3, -pad, -(pad // 3))
    label_px = min(max_px, int(inner.height() * 0.6))
    label_w = QtGui.QFontMetrics(font(label_px, bold=True)).horizontalAdvance(label) + pad
    tag = QRect(inner.x(), inner.y() + (inner.height() - int(label_px * 1.5)) // 2, label_w,
                int(label_px * 1.5))  # fmt: skip
    p.fillRect(tag, fg)
    draw_text(p, tag, label, colour=bg, max_px=label_px, bold=True)
    body = inner.adjusted(label_w + pad, 0, 0, 0)
    wrap = fitting_font(text, body, max_px=max_px, bold=True).pixelSize() < 0.75 * max_px
    f = fitting_font(text, body, max_px=max_px, bold=True, wrap=wrap)
    draw_text(p, body, text, colour=fg, max_px=max_px, bold=True, align=ALIGN_LEFT, wrap=wrap)
    return f.pixelSize()


def pill(p: QPainter, rect: QRect, text: str, colour: QColor, *, max_px: int) -> None:
    """A rounded label: a status, a 去向."""
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(colour)
    radius = rect.height() / 2
    p.drawRoundedRect(rect, radius, radius)
    inner = rect.adjusted(int(radius * 0.6), 0, -int(radius * 0.6), 0)
    draw_text(p, inner, text, max_px=max_px, bold=True)


def avatar(name: str, size: int) -> QPixmap:
    """A placeholder photo: the surname on a coloured disc."""
    size = max(8, size)
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    colour = QColor(AVATAR_COLOURS[sum(map(ord, name or "?")) % len(AVATAR_COLOURS)])
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(colour)
    p.drawEllipse(0, 0, size, size)
    draw_text(p, QRect(0, 0, size, size), (name or "?")[0], max_px=int(size * 0.55), bold=True)
    p.end()
    return pix


def silhouette(size: int) -> QPixmap:
    """A placeholder photo: a grey head and shoulders (a clerk without a photo)."""
    size = max(8, size)
    pix = QPixmap(size, size)
    pix.fill(SILHOUETTE_BG)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(SILHOUETTE_FG)
    head = int(size * 0.36)
    p.drawEllipse((size - head) // 2, int(size * 0.16), head, head)
    shoulders = int(size * 0.76)
    p.drawEllipse((size - shoulders) // 2, int(size * 0.58), shoulders, int(size * 0.7))
    p.end()
    return pix


def photo(
    path: str, name: str, size: int, photo_dir: str = "", *, placeholder: str = "initial"
) -> QPixmap:
    """The clerk's photo scaled to ``size``, or the placeholder when there is none: the
    surname on a disc (``initial``) or a silhouette (``silhouette``, the 去向牌)."""
    if path:
        candidate = Path(path)
        if not candidate.is_absolute() and photo_dir:
            candidate = Path(photo_dir) / candidate
        if candidate.is_file():
            pix = QPixmap(str(candidate))
            if not pix.isNull():
                return pix.scaled(
                    size,
                    size,
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
        log.warning("staff photo %s not found or unreadable; showing a placeholder", candidate)
    return silhouette(size) if placeholder == "silhouette" else avatar(name, size)


def staff_card(
    p: QPainter,
    rect: QRect,
    card: StaffCard,
    picture: QPixmap | None,
    *,
    max_px: int,
    bg: QColor = PANEL,
) -> None:
    """A 去向牌: the photo on the left; the name and the status pill, the window and the
    department, the 工号 and the office phone on the right, each as large as fits."""
    if rect.width() <= 0 or rect.height() <= 0:
        return
    p.fillRect(rect, bg)
    pad = max(4, rect.height() // 14)
    side = min(rect.height() - 2 * pad, rect.width() // 3)
    if picture is not None and side > 0:
        x = rect.x() + pad + (side - picture.width()) // 2
        y = rect.y() + (rect.height() - picture.height()) // 2
        p.drawPixmap(x, y, picture)
    text_x = rect.x() + 2 * pad + side
    text = QRect(text_x, rect.y() + pad, rect.right() - text_x - pad, rect.height() - 2 * pad)
    top_h = int(text.height() * 0.34)
    pill_w = int(text.width() * 0.42)
    name_rect = QRect(text.x(), text.y(), text.width() - pill_w - pad, top_h)
    draw_text(p, name_rect, card.title, max_px=max_px, bold=True, align=ALIGN_LEFT)
    colour = STAFF_COLOURS.get(card.status, NOBODY_COLOUR)
    pill_h = int(top_h * 0.8)
    pill(
        p,
        QRect(text.right() - pill_w, text.y() + (top_h - pill_h) // 2, pill_w, pill_h),
        card.status_text,
        colour,
        max_px=int(max_px * 0.8),
    )
    lines = (card.where, f"工号 {card.staff_no}" if card.staff_no else "", card.phone_text)
    line_h = (text.height() - top_h) // len(lines)
    for i, line in enumerate(lines):
        draw_text(
            p,
            QRect(text.x(), text.y() + top_h + i * line_h, text.width(), line_h),
            line,
            max_px=int(max_px * 0.6),
            align=ALIGN_LEFT,
        )

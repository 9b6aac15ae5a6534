"""The screens' texts: drawn once into a kept image, then copied, exactly as Qt draws them."""

from __future__ import annotations

import pytest
from PIL import Image, ImageChops

from counter import paint
from hall.ui.qt import QImage, QPainter, QRect, QtGui

CASES = [
    # text, box (apart, as on a screen), max_px, bold, align, wrap
    ("A012", QRect(40, 130, 886, 245), 220, True, paint.ALIGN_CENTER, False),  # the number
    ("3号窗口", QRect(20, 0, 460, 113), 80, True, paint.ALIGN_LEFT, False),  # a window's name
    ("等候 7 人", QRect(700, 500, 338, 121), 56, False, paint.ALIGN_RIGHT, False),
    (
        "办理事项：住房公积金个人账户查询、社保卡补办、个体工商户设立登记",
        QRect(10, 600, 600, 110),
        52,
        False,
        paint.ALIGN_LEFT,
        True,
    ),
    # too long for its box at the smallest size: cut at the box, as Qt cuts it
    ("请 A012 号到3号窗口办理业务，谢谢配合", QRect(100, 400, 120, 20), 40, True,
     paint.ALIGN_LEFT, False),
]  # fmt: skip


def _frame(dpr: float = 1.0) -> QImage:
    image = QImage(round(1280 * dpr), round(720 * dpr), QImage.Format.Format_RGB32)
    image.setDevicePixelRatio(dpr)
    image.fill(paint.BG)
    return image


def _draw(dpr: float, direct: bool) -> QImage:
    image = _frame(dpr)
    p = QPainter(image)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setRenderHint(QPainter.RenderHint.TextAntialiasing)
    try:
        for text, box, max_px, bold, align, wrap in CASES:
            colour = paint.NUMBER if bold else paint.TEXT
            if direct:  # what Qt draws itself, in the font draw_text picks
                p.setFont(paint.fitting_font(text, box, max_px=max_px, bold=bold, wrap=wrap))
                p.setPen(colour)
                flags = int(align) | (int(QtGui.Qt.TextFlag.TextWordWrap) if wrap else 0)
                p.drawText(box, flags, text)
            else:
                paint.draw_text(
                    p, box, text, colour=colour, max_px=max_px, bold=bold, align=align, wrap=wrap
                )
    finally:
        p.end()
    return image


def _pil(image: QImage) -> Image.Image:
    size = (image.width(), image.height())
    return Image.frombuffer("RGBA", size, bytes(image.constBits()), "raw", "BGRA", 0, 1)


def difference(a: QImage, b: QImage) -> tuple[int, int]:
    """The largest difference of a colour channel between two pictures (0-255), and how
    many pixels differ by more than a rounding's (2)."""
    diff = ImageChops.difference(_pil(a).convert("RGB"), _pil(b).convert("RGB"))
    largest = max(high for _low, high in diff.getextrema())
    grey = diff.convert("L").point(lambda v: 255 if v > 2 else 0)
    return largest, grey.histogram()[255]


@pytest.mark.parametrize("dpr", [1.0, 2.0])
def test_a_kept_text_looks_like_the_text_qt_draws(qapp, dpr):
    """Pixel for pixel but the rounding of a premultiplied blend (at most 2 of 255 on a
    glyph's smoothed edge): a glyph cut by the kept image's edge would differ by far more."""
    QtGui.QPixmapCache.clear()
    _draw(dpr, direct=True)  # Qt's first drawing of a glyph differs a little from its later
    expected = _draw(dpr, direct=True)
    for why in ("drawn into the kept images", "copied from them"):
        largest, off = difference(_draw(dpr, direct=False), expected)
        assert largest <= 2 and off == 0, (why, largest, off)
    QtGui.QPixmapCache.clear()  # the cache let them go: drawn again, the same
    largest, off = difference(_draw(dpr, direct=False), expected)
    assert largest <= 2 and off == 0, ("drawn again", largest, off)


def test_a_text_shown_again_is_copied_not_drawn_again(qapp, monkeypatch):
    QtGui.QPixmapCache.clear()
    drawn: list[object] = []

    class Counting(QPainter):  # the painter of a kept image: one per text drawn
        def __init__(self, device):
            drawn.append(device)
            super().__init__(device)

    monkeypatch.setattr(paint, "QPainter", Counting)
    _draw(1.0, direct=False)
    assert len(drawn) == len(CASES)
    _draw(1.0, direct=False)  # the same texts: a display's next frame
    assert len(drawn) == len(CASES)
    image = _frame()
    p = QPainter(image)
    try:  # the number in another colour (the flash's other phase) is another image
        text, box, max_px, *_ = CASES[0]
        paint.draw_text(p, box, text, colour=paint.TEXT, max_px=max_px, bold=True)
        paint.draw_text(p, box, "A013", colour=paint.NUMBER, max_px=max_px, bold=True)
    finally:
        p.end()
    assert len(drawn) == len(CASES) + 2


def test_a_text_far_too_long_for_its_box_keeps_an_image_the_size_of_the_box(qapp):
    """A hostile notice or name of any length costs no more memory than its box."""
    f = paint.font(8, bold=True)
    image, _offset = paint._text_image(f, paint.TEXT, int(paint.ALIGN_LEFT), 120, 20,
                                       "长" * 200_000, 1.0)  # fmt: skip
    assert 0 < image.width() <= 120 + 2 * 2 and image.height() <= 20 + 2 * 2


def _searched_px(text: str, box: QRect, max_px: int, min_px: int, bold: bool, wrap: bool) -> int:
    """The largest size in which ``text`` fits ``box``, by a plain binary search."""
    flags = int(QtGui.Qt.TextFlag.TextWordWrap) if wrap else 0
    rect = QRect(0, 0, box.width(), box.height())
    lo, hi, best = min_px, max_px, min_px
    while lo <= hi:
        mid = (lo + hi) // 2
        got = QtGui.QFontMetrics(paint.font(mid, bold=bold)).boundingRect(rect, flags, text)
        if got.width() <= box.width() and got.height() <= box.height():
            best, lo = mid, mid + 1
        else:
            hi = mid - 1
    return best


@pytest.mark.parametrize(
    ("texts", "box", "max_px", "bold", "wrap"),
    [
        (["A012", "A013", "W1234", "B7"], QRect(0, 0, 886, 245), 220, True, False),  # numbers
        (["A012", "A0123456", "WWWW9999"], QRect(0, 0, 300, 245), 220, True, False),  # narrow
        (["等候 7 人", "等候 1234 人"], QRect(0, 0, 338, 121), 56, False, False),
        (["请 A012 号到3号窗口办理", "请 W1234 号到12号窗口办理"],
         QRect(0, 0, 886, 155), 64, True, False),
        (["办理事项：住房公积金个人账户查询、社保卡补办、个体工商户设立登记"] * 2 + ["—"],
         QRect(0, 0, 600, 110), 52, False, True),
        (["长" * 300], QRect(0, 0, 120, 20), 40, True, False),  # fits at no size: the least
    ],
)  # fmt: skip
def test_each_text_gets_the_largest_size_that_fits_its_box(qapp, texts, box, max_px, bold, wrap):
    """A screen's texts as large as their boxes allow, whatever was shown in the box
    before (the size search's shortcuts give what the full search gives)."""
    paint._fitting_px.cache_clear()
    for text in texts:
        got = paint.fitting_font(text, box, max_px=max_px, bold=bold, wrap=wrap).pixelSize()
        assert got == _searched_px(text, box, max_px, 8, bold, wrap), text

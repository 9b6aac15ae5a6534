"""Small widgets the screens are built from: labels with a role, tiles, icons, QR."""

from __future__ import annotations

import functools
from collections.abc import Callable

from hall.ui.qt import (
    QColor,
    QImage,
    QLabel,
    QPainter,
    QPixmap,
    QPushButton,
    QSize,
    Qt,
    QtCore,
    QtWidgets,
    QVBoxLayout,
    QWidget,
)


def label(
    text: str, role: str, *, wrap: bool = True, center: bool = False, name: str = ""
) -> QLabel:
    w = QLabel(text)
    w.setProperty("role", role)
    w.setWordWrap(wrap)
    if center:
        w.setAlignment(Qt.AlignmentFlag.AlignCenter)
    if name:
        w.setObjectName(name)
    return w


def button(text: str, role: str, on_click: Callable[[], object], *, name: str = "") -> QPushButton:
    b = QPushButton(text)
    b.setProperty("role", role)
    b.setCursor(Qt.CursorShape.PointingHandCursor)
    b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    b.clicked.connect(lambda _checked=False: on_click())
    if name:
        b.setObjectName(name)
    return b


def panel(role: str = "panel") -> tuple[QtWidgets.QFrame, QVBoxLayout]:
    frame = QtWidgets.QFrame()
    frame.setProperty("role", role)
    layout = QVBoxLayout(frame)
    layout.setContentsMargins(28, 22, 28, 22)
    layout.setSpacing(10)
    return frame, layout


class Tile(QPushButton):
    """A big touch target: a title, a line below, and an optional live count."""

    def __init__(self, title: str, sub: str = "", count: str = "", *, name: str = "") -> None:
        super().__init__()
        self.setProperty("role", "tile")
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        policy = QtWidgets.QSizePolicy(
            QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Minimum
        )
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        if name:
            self.setObjectName(name)
        layout = self._box = QVBoxLayout(self)
        layout.setContentsMargins(26, 16, 26, 16)
        layout.setSpacing(6)
        self.title = self._add(layout, title, "tiletitle")
        self.sub = self._add(layout, sub, "tilesub") if sub else None
        self.count = self._add(layout, count, "tilecount")
        self.count.setVisible(bool(count))

    def _add(self, layout: QVBoxLayout, text: str, role: str) -> QLabel:
        w = label(text, role)
        w.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        layout.addWidget(w)
        return w

    def set_count(self, text: str) -> None:
        self.count.setText(text)
        self.count.setVisible(bool(text))

    def sizeHint(self) -> QSize:
        return self._box.sizeHint()

    def minimumSizeHint(self) -> QSize:
        return self._box.minimumSize()

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._box.totalHeightForWidth(width)


class CardIcon(QWidget):
    """A simple drawing of what to present: "idcard", "citizencard" or "qr"."""

    def __init__(self, kind: str, color: str, size: int = 160) -> None:
        super().__init__()
        self.kind = kind
        self.color = QColor(color)
        self.setFixedSize(int(size * 1.5), size)

    def paintEvent(self, _event: QtCore.QEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        w, h = self.width(), self.height()
        pen = p.pen()
        pen.setColor(self.color)
        pen.setWidth(max(3, h // 30))
        p.setPen(pen)
        if self.kind == "qr":
            side = h - 8
            x0 = (w - side) // 2
            p.drawRect(x0, 4, side, side)
            cell = side // 7
            for cx, cy in ((0, 0), (4, 0), (0, 4)):
                p.fillRect(
                    x0 + cx * cell + cell // 2,
                    4 + cy * cell + cell // 2,
                    cell * 2,
                    cell * 2,
                    self.color,
                )
            p.fillRect(x0 + 4 * cell + cell // 2, 4 + 4 * cell + cell // 2, cell, cell, self.color)
        else:
            card = QtCore.QRectF(6, h * 0.12, w - 12, h * 0.76)
            p.drawRoundedRect(card, 14, 14)
            if self.kind == "idcard":
                p.drawRect(
                    QtCore.QRectF(
                        card.right() - card.width() * 0.32,
                        card.top() + card.height() * 0.18,
                        card.width() * 0.24,
                        card.height() * 0.6,
                    )
                )
                for i in range(3):
                    y = card.top() + card.height() * (0.28 + 0.2 * i)
                    p.drawLine(
                        QtCore.QPointF(card.left() + 18, y),
                        QtCore.QPointF(card.left() + card.width() * 0.55, y),
                    )
            else:
                chip = QtCore.QRectF(
                    card.left() + card.width() * 0.12,
                    card.top() + card.height() * 0.3,
                    card.width() * 0.22,
                    card.height() * 0.36,
                )
                p.fillRect(chip, self.color)
                y = card.top() + card.height() * 0.8
                p.drawLine(
                    QtCore.QPointF(card.left() + 18, y), QtCore.QPointF(card.right() - 18, y)
                )
        p.end()


#: The screen's QR codes use one mask: searching the best of the eight (the encoder's
#: default) took 14 ms of the GUI thread per ticket, while the printer's thread waits to
#: send it; any mask is valid and a phone reads it off a screen at this size.
SCREEN_QR_MASK = 0


@functools.lru_cache(maxsize=1)
def qr_matrix(payload: str) -> tuple[tuple[bool, ...], ...]:
    """The modules of ``payload``'s QR code (border 2, level M); the last one is kept: the
    ticket screen is drawn again, with the same code, when its ticket has printed."""
    import qrcode

    qr = qrcode.QRCode(
        border=2, error_correction=qrcode.constants.ERROR_CORRECT_M, mask_pattern=SCREEN_QR_MASK
    )
    qr.add_data(payload)
    qr.make(fit=True)
    return tuple(tuple(bool(on) for on in row) for row in qr.get_matrix())


def qr_pixmap(payload: str, size: int, dark: str = "#000000", light: str = "#FFFFFF") -> QPixmap:
    """A QR code drawn with Qt (the same payload the paper ticket carries)."""
    matrix = qr_matrix(payload)
    n = len(matrix)
    cell = max(1, size // n)
    image = QImage(n * cell, n * cell, QImage.Format.Format_RGB32)
    image.fill(QColor(light))
    p = QPainter(image)
    ink = QColor(dark)
    for y, row in enumerate(matrix):
        for x, on in enumerate(row):
            if on:
                p.fillRect(x * cell, y * cell, cell, cell, ink)
    p.end()
    return QPixmap.fromImage(image)


def spacer(vertical: bool = True) -> QtWidgets.QSpacerItem:
    if vertical:
        return QtWidgets.QSpacerItem(
            0, 0, QtWidgets.QSizePolicy.Policy.Minimum, QtWidgets.QSizePolicy.Policy.Expanding
        )
    return QtWidgets.QSpacerItem(
        0, 0, QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Minimum
    )


def scroll_area(content: QWidget) -> QtWidgets.QScrollArea:
    """A frameless vertical scroll area that a finger can drag on a touch screen."""
    area = QtWidgets.QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.setWidget(content)
    QtWidgets.QScroller.grabGesture(
        area.viewport(), QtWidgets.QScroller.ScrollerGestureType.TouchGesture
    )
    return area

"""A refusal, kindly: what happened and what to do next, with the next step's button."""

from __future__ import annotations

from hall.ui.qt import QColor, QHBoxLayout, QPainter, Qt, QtCore, QVBoxLayout, QWidget
from kiosk.refusals import describe
from kiosk.screens.base import Screen
from kiosk.screens.widgets import button, label, panel, spacer

ACTION_LABELS = {"identify": "swipe_now", "back": "choose_again", "normal": "take_normal"}


class Mark(QWidget):
    """A round "!" sign, drawn (no emoji font on the kiosk)."""

    def __init__(self, color: str, size: int) -> None:
        super().__init__()
        self.color = QColor(color)
        self.setFixedSize(size, size)

    def paintEvent(self, _event: QtCore.QEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = p.pen()
        pen.setColor(self.color)
        pen.setWidth(max(4, self.width() // 14))
        p.setPen(pen)
        m = pen.width()
        p.drawEllipse(m, m, self.width() - 2 * m, self.height() - 2 * m)
        w = self.width()
        p.fillRect(QtCore.QRectF(w * 0.45, w * 0.22, w * 0.1, w * 0.38), self.color)
        p.fillRect(QtCore.QRectF(w * 0.45, w * 0.66, w * 0.1, w * 0.1), self.color)
        p.end()


class MessageScreen(Screen):
    name = "message"

    def build(self, layout: QVBoxLayout) -> None:
        ctx = self.ctx
        refused = ctx.session.refusal
        if refused is None:
            return
        hours = ctx.catalog.hours_text(ctx.lang) if ctx.catalog else ""
        refusal, title, next_step = describe(
            refused.code,
            refused.data,
            lang=ctx.lang,
            hours=hours,
            engine_message_zh=refused.message_zh,
            now=ctx.now(),
        )
        layout.addItem(spacer())
        box, b = panel()
        b.setSpacing(24)
        b.addWidget(
            Mark(ctx.theme.palette.warn_fg, ctx.theme.px(150)), 0, Qt.AlignmentFlag.AlignHCenter
        )
        b.addWidget(label(title, "h1", center=True, name="refusal-title"))
        b.addWidget(label(next_step, "body", center=True, name="refusal-next"))
        b.addSpacing(10)
        row = QHBoxLayout()
        row.setSpacing(18)
        if refusal.action in ACTION_LABELS:
            row.addWidget(
                button(
                    self.t(ACTION_LABELS[refusal.action]),
                    "secondary",
                    lambda: ctx.refusal_action(refusal.action),
                    name="refusal-main",
                )
            )
        row.addWidget(
            button(
                self.t("ok" if refusal.action == "home" else "home"),
                "secondary",
                ctx.go_home,
                name="refusal-home",
            )
        )
        b.addLayout(row)
        layout.addWidget(box)
        layout.addItem(spacer())

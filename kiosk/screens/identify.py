"""Asking for identification: swipe the ID, tap the citizen card, or scan the code."""

from __future__ import annotations

from hall.ui.qt import QGridLayout, QHBoxLayout, Qt, QVBoxLayout
from kiosk.screens.base import Screen
from kiosk.screens.widgets import CardIcon, button, label, panel, spacer


class IdentifyScreen(Screen):
    name = "identify"

    def build(self, layout: QVBoxLayout) -> None:
        ctx, theme = self.ctx, self.ctx.theme
        layout.addWidget(label(self.t("identify_title"), "h1", name="identify-title"))
        if ctx.catalog is not None and ctx.session.pending_item:
            item = ctx.catalog.item(ctx.session.pending_item)
            layout.addWidget(label(item.title(ctx.lang), "h2"))
        layout.addWidget(label(self.t("identify_body"), "body"))
        ways = QGridLayout()
        ways.setSpacing(22)
        entries = (
            ("idcard", "way_idcard", "way_idcard_hint"),
            ("citizencard", "way_citizen", "way_citizen_hint"),
            ("qr", "way_qr", "way_qr_hint"),
        )
        for n, (kind, title, hint) in enumerate(entries):
            box, b = panel()
            row = QHBoxLayout()
            row.setSpacing(24)
            row.addWidget(
                CardIcon(kind, theme.palette.accent, theme.px(110 if theme.portrait else 72)),
                0,
                Qt.AlignmentFlag.AlignVCenter,
            )
            text = QVBoxLayout()
            text.addWidget(label(self.t(title), "h2"))
            text.addWidget(label(self.t(hint), "body"))
            row.addLayout(text, 1)
            b.addLayout(row)
            if theme.portrait:
                ways.addWidget(box, n, 0)
            else:
                ways.addWidget(box, 0, n)
        layout.addLayout(ways)
        layout.addItem(spacer())
        if theme.portrait:  # landscape: the footer's 返回 does it, the height is needed
            layout.addWidget(button(self.t("cancel"), "secondary", ctx.go_back, name="cancel"))

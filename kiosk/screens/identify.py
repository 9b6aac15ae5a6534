"""Asking for identification: swipe the ID, tap the citizen card, or scan the code.

Each way is a button: a tap says (on screen, and by voice for the cards) exactly how to
present that card.  Without a card (forgotten, or acting for someone: 代办) staff
confirm with the staff PIN and the ticket is issued without ID.
"""

from __future__ import annotations

from hall.ui.qt import QGridLayout, QHBoxLayout, QPushButton, Qt, QtWidgets, QVBoxLayout
from kiosk.screens.base import Screen
from kiosk.screens.widgets import CardIcon, button, label, spacer

WAYS = (
    ("idcard", "way_idcard", "way_idcard_hint"),
    ("citizencard", "way_citizen", "way_citizen_hint"),
    ("qr", "way_qr", "way_qr_hint"),
)


class WayButton(QPushButton):
    """One way to identify: its drawing, its name, a hint; the steps once tapped."""

    def __init__(self, icon: CardIcon, title: str, hint: str, steps: str, name: str) -> None:
        super().__init__()
        self.setProperty("role", "tile")
        self.setObjectName(name)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        policy = QtWidgets.QSizePolicy(
            QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Minimum
        )
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self._box = QVBoxLayout(self)
        self._box.setContentsMargins(26, 18, 26, 18)
        row = QHBoxLayout()
        row.setSpacing(24)
        row.addWidget(icon, 0, Qt.AlignmentFlag.AlignVCenter)
        text = QVBoxLayout()
        text.addWidget(label(title, "tiletitle"))
        text.addWidget(label(hint, "tilesub"))
        row.addLayout(text, 1)
        self._box.addLayout(row)
        if steps:
            self._box.addWidget(label(steps, "chip", name=f"{name}-steps"))
        for child in self.findChildren(QtWidgets.QWidget):
            child.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)

    def sizeHint(self):  # type: ignore[no-untyped-def]
        return self._box.sizeHint()

    def minimumSizeHint(self):  # type: ignore[no-untyped-def]
        return self._box.minimumSize()

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._box.totalHeightForWidth(width)


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
        chosen = ctx.session.identify_way
        for n, (kind, title, hint) in enumerate(WAYS):
            icon = CardIcon(kind, theme.palette.accent, theme.px(110 if theme.portrait else 72))
            steps = self.t(f"way_{'citizen' if kind == 'citizencard' else kind}_do")
            way = WayButton(
                icon, self.t(title), self.t(hint), steps if chosen == kind else "", f"way-{kind}"
            )
            way.clicked.connect(lambda _c=False, k=kind: ctx.identify_way(k))
            if theme.portrait:
                ways.addWidget(way, n, 0)
            else:
                ways.addWidget(way, 0, n)
                ways.setColumnStretch(n, 1)
        layout.addLayout(ways)
        layout.addItem(spacer())
        row = QHBoxLayout()
        row.setSpacing(18)
        row.addWidget(button(self.t("no_card"), "secondary", ctx.open_assisted, name="no-card"))
        if theme.portrait:  # landscape: the footer's 返回 does it, the height is needed
            row.addWidget(button(self.t("cancel"), "secondary", ctx.go_back, name="cancel"))
        layout.addLayout(row)

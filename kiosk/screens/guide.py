"""The guide of one item (一次性告知), shown before the ticket, with the big 取号 button."""

from __future__ import annotations

from hall.ui.qt import QGridLayout, QHBoxLayout, QPushButton, QVBoxLayout, QWidget
from kiosk.catalog import fee_text, promised_text
from kiosk.screens.base import Screen
from kiosk.screens.widgets import button, label, panel, scroll_area, spacer
from kiosk.texts import PRIORITY_KEYS


class GuideScreen(Screen):
    name = "guide"

    def build(self, layout: QVBoxLayout) -> None:
        ctx, s = self.ctx, self.ctx.session
        if ctx.catalog is None or s.item is None:
            return
        item = ctx.catalog.item(s.item)
        theme = ctx.theme
        head = QVBoxLayout()
        head.setSpacing(14 if theme.portrait else 8)
        head.addWidget(label(self.t("guide_title"), "h2"))
        head.addWidget(label(item.title(ctx.lang), "h1", name="item-title"))

        chips = QHBoxLayout()
        chips.setSpacing(14)
        if item.requires_id and s.identity is None:
            chips.addWidget(label(self.t("needs_id"), "chip", wrap=False))
        if s.identity is not None and s.identity.masked_name:
            chips.addWidget(
                label(
                    self.t("identified_as", name=s.identity.masked_name),
                    "chip",
                    wrap=False,
                    name="identity",
                )
            )
        reason = s.staff_reason or (
            "elderly" if s.identity and s.identity.elderly(ctx.settings.elderly_age) else None
        )
        if s.appointment is not None:
            chips.addWidget(
                label(
                    self.t("appointment_label", time=f"{s.appointment.start:%H:%M}"),
                    "chip",
                    wrap=False,
                )
            )
        elif reason:
            chips.addWidget(label(self.t(PRIORITY_KEYS[reason]), "chip", wrap=False, name="green"))
        chips.addItem(spacer(vertical=False))
        head.addLayout(chips)

        guide, g = panel()
        g.addWidget(label(self.t("materials"), "label"))
        materials = item.material_list(ctx.lang) or (self.t("ask_window"),)
        for n, material in enumerate(materials, 1):
            g.addWidget(label(f"{n}. {material}", "value"))
        # landscape: the key facts (time, fee, where) go in their own panel in the right
        # column under the buttons, so that nothing of the guide hides behind a scroll bar
        facts_box, f = (guide, g) if theme.portrait else panel()
        key_rows = [("promised", promised_text(item, ctx.lang)), ("fee", fee_text(item, ctx.lang))]
        if item.location:
            key_rows.append(("location", item.where(ctx.lang)))
        more_rows = []
        if item.department:
            more_rows.append(("department", item.department))
        if item.legal_basis:
            # landscape: beside the key facts (the left column holds the materials)
            (more_rows if theme.portrait else key_rows).append(("legal_basis", item.legal_basis))
        if theme.portrait:
            g.addSpacing(10)
            g.addLayout(self._facts(key_rows + more_rows))
        else:
            f.addLayout(self._facts(key_rows))
            if more_rows:
                g.addSpacing(10)
                g.addLayout(self._facts(more_rows))
        # the note says in full what the 需刷证 chip says (landscape: the chip alone);
        # once the card is read, neither
        if item.requires_id and theme.portrait and s.identity is None:
            g.addSpacing(6)
            g.addWidget(label(self.t("requires_id_note"), "muted"))
        holder = QWidget()
        hold = QVBoxLayout(holder)
        hold.setContentsMargins(0, 0, 0, 0)
        hold.addWidget(guide)
        hold.addItem(spacer())
        scroll = scroll_area(holder)

        actions = QVBoxLayout()
        actions.setSpacing(18)
        if not ctx.printer_usable():
            actions.addWidget(label(self.t("printer_warning"), "warn", name="printer-warning"))
        if s.guide_printed is not None:
            text = self.t("guide_printed") if s.guide_printed else s.print_message
            actions.addWidget(label(text, "ok" if s.guide_printed else "warn", name="guide-note"))
        take = button(self.t("take_ticket"), "primary", ctx.take_ticket, name="take")
        self._show_issuing(take)
        actions.addWidget(take)
        row = QHBoxLayout()
        row.setSpacing(18)
        row.addWidget(
            button(self.t("print_guide"), "secondary", ctx.print_guide, name="print-guide")
        )
        if reason is None and s.appointment is None:
            row.addWidget(
                button(
                    self.t("green_button"),
                    "secondary",
                    ctx.open_green_channel,
                    name="green-channel",
                )
            )
        actions.addLayout(row)

        if theme.portrait:
            layout.addLayout(head)
            layout.addWidget(scroll, 1)
            layout.addLayout(actions)
        else:
            body = QHBoxLayout()
            body.setSpacing(36)
            left = QVBoxLayout()
            left.setSpacing(10)
            left.addLayout(head)
            left.addWidget(scroll, 1)
            body.addLayout(left, 1)
            side = QWidget()
            actions.setContentsMargins(0, 0, 0, 0)
            actions.addWidget(facts_box)
            actions.addItem(spacer())
            side.setLayout(actions)
            body.addWidget(side, 1)
            layout.addLayout(body, 1)

    def issuing_changed(self) -> None:
        # the 取号 button alone: a rebuilt guide would keep the GUI thread from the
        # engine's answer and the printer's job for as long as it takes
        take = self._content.findChild(QPushButton, "take") if self._content else None
        if take is None:
            self.refresh()
        else:
            self._show_issuing(take)

    def _show_issuing(self, take: QPushButton) -> None:
        take.setText(self.t("working" if self.ctx.issuing else "take_ticket"))
        take.setEnabled(not self.ctx.issuing)

    def _facts(self, rows: list[tuple[str, str]]) -> QGridLayout:
        facts = QGridLayout()
        facts.setHorizontalSpacing(28)
        facts.setVerticalSpacing(8)
        for r, (key, value) in enumerate(rows):
            facts.addWidget(label(self.t(key), "label", wrap=False), r, 0)
            facts.addWidget(label(value, "value", name=f"fact-{key}"), r, 1)
        facts.setColumnStretch(1, 1)
        return facts

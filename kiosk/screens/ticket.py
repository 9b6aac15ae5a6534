"""The issued ticket on screen: the number stays here big, printed or not."""

from __future__ import annotations

from hall.ui.qt import QHBoxLayout, Qt, QVBoxLayout
from kiosk.screens.base import Screen
from kiosk.screens.widgets import button, label, panel, qr_pixmap, spacer


class TicketScreen(Screen):
    name = "ticket"

    def build(self, layout: QVBoxLayout) -> None:
        ctx, s = self.ctx, self.ctx.session
        ticket = s.ticket
        if ticket is None:
            return
        theme, lang = ctx.theme, ctx.lang
        if s.print_state == "ok":
            status = label(self.t("ticket_ok"), "ok", center=True, name="print-status")
        elif s.print_state == "failed":
            status = label(
                self.t("print_failed", reason=s.print_message), "warn", name="print-status"
            )
        else:
            status = label(self.t("ticket_printing"), "h2", center=True, name="print-status")

        portrait = theme.portrait
        card, c = panel("ticket")
        c.setSpacing(6)
        c.addWidget(label(ticket.hall_name, "muted", center=True))
        item_name = (
            ticket.item_name_en if lang == "en" and ticket.item_name_en else ticket.item_name
        )
        c.addWidget(label(self.t("ticket_title"), "h2", center=True))
        c.addWidget(label(ticket.code, "number", wrap=False, center=True, name="number"))
        if ticket.calls_from is not None:  # a lunch ticket: when the calling starts again
            c.addWidget(
                label(
                    self.t("calls_from", t=f"{ticket.calls_from:%H:%M}"),
                    "chip",
                    center=True,
                    name="calls-from",
                ),
                0,
                Qt.AlignmentFlag.AlignHCenter,
            )
        if ticket.priority_label:
            c.addWidget(
                label(ticket.priority_label, "chip", center=True, name="priority"),
                0,
                Qt.AlignmentFlag.AlignHCenter,
            )
        c.addWidget(label(item_name, "h2", center=True, name="ticket-item"))

        facts = QVBoxLayout()
        facts.setSpacing(6)
        wait = (
            self.t("est_wait", m=ticket.est_wait_min) if ticket.est_wait_min else self.t("est_soon")
        )
        facts.addWidget(label(self.t("ahead", n=ticket.ahead), "h1", center=True, name="ahead"))
        facts.addWidget(label(wait, "value", center=True, name="wait"))
        # landscape: when and where go on the ticket card, the right column is full
        more = facts if portrait else c
        line = self.t("issued_at", t=f"{ticket.issued_at:%H:%M}")
        if ticket.assisted:
            more.addWidget(
                label(line + "    " + self.t("assisted_label"), "value", center=True, name="holder")
            )
        elif ticket.masked_name:
            more.addWidget(
                label(
                    line + "    " + self.t("holder", name=ticket.masked_name),
                    "value",
                    center=True,
                    name="holder",
                )
            )
        else:
            more.addWidget(label(line, "value", center=True))
        if ticket.location:
            where = ticket.where(lang)
            more.addWidget(label(self.t("go_to", where=where), "value", center=True, name="go-to"))

        qr_box = QVBoxLayout()
        qr_box.setSpacing(4)
        if ticket.qr_url:  # none when the engine gave no follow page: no code to nowhere
            qr_size = 280 if portrait else (200 if theme.elderly else 260)
            qr = label("", "body", wrap=False, center=True, name="qr")
            qr.setPixmap(qr_pixmap(ticket.qr_url, qr_size))
            qr_box.addWidget(qr, 0, Qt.AlignmentFlag.AlignHCenter)
            qr_box.addWidget(label(self.t("follow_qr"), "muted", center=True))

        buttons = QHBoxLayout()
        buttons.setSpacing(18)
        if s.print_state == "failed":
            buttons.addWidget(
                button(self.t("retry_print"), "secondary", ctx.retry_print, name="retry-print")
            )
        buttons.addWidget(button(self.t("done"), "secondary", ctx.go_home, name="done"))

        if portrait:
            layout.addWidget(status)
            c.addSpacing(8)
            c.addLayout(facts)
            c.addSpacing(8)
            c.addLayout(qr_box)
            layout.addWidget(card)
            layout.addItem(spacer())
            layout.addLayout(buttons)
        else:
            c.addItem(spacer())
            row = QHBoxLayout()
            row.setSpacing(36)
            row.addWidget(card, 1)
            right = QVBoxLayout()
            right.setSpacing(14)
            right.addWidget(status)
            right.addLayout(facts)
            right.addLayout(qr_box)
            right.addItem(spacer())
            right.addLayout(buttons)
            row.addLayout(right, 1)
            layout.addLayout(row, 1)

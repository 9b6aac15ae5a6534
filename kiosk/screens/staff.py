"""Staff confirmation: the green channel for the disabled, pregnant and military,
and (service mode) reprinting tickets the printer could not print."""

from __future__ import annotations

from hall.ui.qt import QGridLayout, QHBoxLayout, QVBoxLayout, QWidget
from kiosk.screens.base import Screen
from kiosk.screens.widgets import button, label, panel, spacer

STAFF_REASONS = ("disabled", "pregnant", "military")


class StaffScreen(Screen):
    name = "staff"

    def build(self, layout: QVBoxLayout) -> None:
        entry = self.ctx.staff  # the keypad's state lives in the flow (kiosk.flow.StaffEntry)
        mode = self.ctx.session.staff_mode
        service = mode == "service"
        portrait = self.ctx.theme.portrait
        title = self.t(
            {"service": "staff_menu_title", "assisted": "assisted_title"}.get(mode, "staff_title")
        )
        layout.addWidget(label(title, "h1", name="staff-title"))
        if service and entry.unlocked:
            self._service(layout)
            return
        if not self.ctx.staff_pin_set:  # nothing to type a PIN against: say who sets it
            layout.addWidget(label(self.t("no_staff_pin"), "warn", name="staff-no-pin"))
            layout.addItem(spacer())
            return
        left = QVBoxLayout()
        left.setSpacing(18)
        body = "assisted_body" if mode == "assisted" else "staff_body"
        left.addWidget(label(self.t(body), "body", name="staff-body"))
        if mode == "green":
            row = QHBoxLayout() if portrait else QVBoxLayout()
            row.setSpacing(18)
            for reason in STAFF_REASONS:
                b = button(
                    self.t(f"reason_{reason}"),
                    "secondary",
                    lambda r=reason: self.ctx.staff_choose(r),
                    name=f"reason-{reason}",
                )
                b.setCheckable(True)
                b.setChecked(entry.reason == reason)
                row.addWidget(b)
            left.addLayout(row)
        if entry.error:
            left.addWidget(label(entry.error, "warn", name="staff-error"))
        if portrait:
            layout.addLayout(left)
            layout.addWidget(self._keypad())
            layout.addItem(spacer())
        else:
            left.addItem(spacer())
            row = QHBoxLayout()
            row.setSpacing(36)
            row.addLayout(left, 1)
            row.addWidget(self._keypad(), 1)
            layout.addLayout(row, 1)

    def _keypad(self) -> QWidget:
        box, b = panel()
        pin = self.ctx.staff.pin
        shown = "●" * len(pin) if pin else self.t("pin")
        b.addWidget(label(shown, "h1", center=True, name="pin-display"))
        keys = QGridLayout()
        keys.setSpacing(14)
        labels = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "clear", "0", "confirm"]
        for n, key in enumerate(labels):
            text = self.t(key) if key in ("clear", "confirm") else key
            keys.addWidget(
                button(text, "key", lambda k=key: self.ctx.staff_key(k), name=f"key-{key}"),
                n // 3,
                n % 3,
            )
        b.addLayout(keys)
        return box

    def _service(self, layout: QVBoxLayout) -> None:
        ctx = self.ctx
        layout.addWidget(
            label(self.t("printer_state", state=ctx.printer_state()), "body", name="printer-state")
        )
        layout.addWidget(label(self.t("reprint_list"), "h2"))
        pending = ctx.unprinted()
        if not pending:
            layout.addWidget(label(self.t("no_reprints"), "body", name="no-reprints"))
        for ticket in pending:
            row = QHBoxLayout()
            row.addWidget(label(f"{ticket.code}  {ticket.item_name}", "value"), 1)
            row.addWidget(
                button(
                    self.t("reprint"),
                    "secondary",
                    lambda t=ticket.ticket_id: ctx.reprint(t),
                    name=f"reprint-{ticket.code}",
                )
            )
            layout.addLayout(row)
        layout.addItem(spacer())

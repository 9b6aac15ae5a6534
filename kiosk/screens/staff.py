"""Staff confirmation: the green channel for the disabled, pregnant and military,
and (service mode) reprinting tickets the printer could not print."""

from __future__ import annotations

from hall.ui.qt import QGridLayout, QHBoxLayout, QVBoxLayout, QWidget
from kiosk.screens.base import Screen
from kiosk.screens.widgets import button, label, panel, spacer

STAFF_REASONS = ("disabled", "pregnant", "military")


class StaffScreen(Screen):
    name = "staff"

    def __init__(self, ctx):  # type: ignore[no-untyped-def]
        super().__init__(ctx)
        self.reason: str | None = None
        self.pin = ""
        self.error = ""
        self.unlocked = False

    def reset(self) -> None:
        self.reason, self.pin, self.error, self.unlocked = None, "", "", False

    def clear(self) -> None:
        self.reset()
        super().clear()

    def build(self, layout: QVBoxLayout) -> None:
        service = self.ctx.session.staff_mode == "service"
        portrait = self.ctx.theme.portrait
        title = self.t("staff_menu_title") if service else self.t("staff_title")
        layout.addWidget(label(title, "h1", name="staff-title"))
        if service and self.unlocked:
            self._service(layout)
            return
        if not self.ctx.staff_pin_set:  # nothing to type a PIN against: say who sets it
            layout.addWidget(label(self.t("no_staff_pin"), "warn", name="staff-no-pin"))
            layout.addItem(spacer())
            return
        left = QVBoxLayout()
        left.setSpacing(18)
        left.addWidget(label(self.t("staff_body"), "body"))
        if not service:
            row = QHBoxLayout() if portrait else QVBoxLayout()
            row.setSpacing(18)
            for reason in STAFF_REASONS:
                b = button(
                    self.t(f"reason_{reason}"),
                    "secondary",
                    lambda r=reason: self._choose(r),
                    name=f"reason-{reason}",
                )
                b.setCheckable(True)
                b.setChecked(self.reason == reason)
                row.addWidget(b)
            left.addLayout(row)
        if self.error:
            left.addWidget(label(self.error, "warn", name="staff-error"))
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
        shown = "●" * len(self.pin) if self.pin else self.t("pin")
        b.addWidget(label(shown, "h1", center=True, name="pin-display"))
        keys = QGridLayout()
        keys.setSpacing(14)
        labels = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "clear", "0", "confirm"]
        for n, key in enumerate(labels):
            text = self.t(key) if key in ("clear", "confirm") else key
            keys.addWidget(
                button(text, "key", lambda k=key: self._key(k), name=f"key-{key}"), n // 3, n % 3
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

    def _choose(self, reason: str) -> None:
        self.reason = reason
        self.error = ""
        self.refresh()

    def _key(self, key: str) -> None:
        if key == "clear":
            self.pin, self.error = "", ""
        elif key == "confirm":
            error = self.ctx.confirm_staff(self.reason, self.pin)
            self.pin = ""
            if error is None:
                self.error = ""
                if self.ctx.session.staff_mode == "service":
                    self.unlocked = True
                    self.refresh()
                return  # the window moved on
            self.error = error
        elif len(self.pin) < 8:
            self.pin += key
        self.refresh()

"""The kiosk's rules, in plain Python: what a tap, a card, a scan or an engine answer
does to the visit, and which screen shows next.  No Qt.

:class:`KioskFlow` holds everything the screens draw (the screen, language, 大字模式,
the visit in :attr:`KioskFlow.session`, the staff keypad, the PIN lockout, the idle
deadline) and tells a :class:`View` when to draw it; side effects go through injected
ports (``send_issue``, the printer, ``say``, ``report``).  Time comes from an injected
:class:`hall.core.clock.Clock`::

    flow = KioskFlow(settings, clock=FakeClock(start), view=view, printer=printer,
                     send_issue=send)
    flow.open_item("gjj-query"); flow.take_ticket()   # -> send({"cmd": "issue", ...})

``kiosk.app.KioskWindow`` draws the state and forwards Qt events to it.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from hall.core import pins
from hall.core.clock import CHINA, Clock
from kiosk import appointment as appt
from kiosk.catalog import Catalog, Item, QueueLoad, parse_board, parse_catalog
from kiosk.identify import IdentityError, ephemeral_salt, from_citizen_card, from_id_card
from kiosk.refusals import REFUSALS
from kiosk.session import Refused, Session
from kiosk.settings import KioskSettings
from kiosk.texts import ASSISTED_HOLDER, tr
from kiosk.ticketing import IssuedTicket, IssueRequest, green_reason, issued_from_result

log = logging.getLogger("kiosk.app")  # the kiosk's log lines keep their logger name

# Staff PIN guessing: this many wrong PINs within the window lock it for a while.
PIN_MAX_FAILURES = 5
PIN_WINDOW_S = 600.0
PIN_LOCK_S = 300.0

STAFF_HOLD_S = 2.0  # press and hold the hall name this long for the staff panel
PIN_MAX_DIGITS = 8
BACK_TARGETS = {"items": "home", "message": "home", "ticket": "home"}
SCREENS = ("home", "items", "guide", "identify", "staff", "ticket", "message")


#: A start without the hall server this long says so (the header, the first screen).
CONNECT_PATIENCE_S = 15


class View(Protocol):
    """What the flow asks of whoever draws it (the Qt window, or a test's recorder)."""

    def draw_screen(self, screen: str) -> None:
        """Switch to ``screen``, built fresh from the state; drop the previous one's content."""

    def redraw(self) -> None:
        """Build the current screen again from the state."""

    def issuing_changed(self) -> None:
        """A 取号 request went out (``issuing``): show it on the screen in place (the
        engine and the printer wait for the GUI thread while it rebuilds a screen)."""

    def restyle(self) -> None:
        """Language or 大字模式 changed: restyle the frame (header, footer)."""

    def relabel(self) -> None:
        """The frame's texts changed (hall name, link state)."""

    def loads_changed(self) -> None:
        """The live waiting counts changed (update them in place)."""

    def forget(self) -> None:
        """Drop every screen's content (nothing personal stays in a hidden widget)."""

    def arm_idle(self, seconds: float | None) -> None:
        """Call :meth:`KioskFlow.go_idle` after ``seconds`` without a touch; None: never."""


class PrintResult(Protocol):
    """A print job's or status poll's outcome (``kiosk.printing.PrintOutcome``)."""

    @property
    def ok(self) -> bool: ...
    @property
    def state(self) -> str: ...
    @property
    def user_message(self) -> str: ...


class Printer(Protocol):
    """The printing port (``kiosk.printing.PrintService``): jobs run elsewhere; their
    outcomes come back through :meth:`KioskFlow.ticket_printed`,
    :meth:`KioskFlow.guide_printed` and :meth:`KioskFlow.printer_changed`."""

    @property
    def usable(self) -> bool: ...
    @property
    def last(self) -> PrintResult: ...
    @property
    def unprinted(self) -> dict[str, IssuedTicket]: ...
    def print_ticket(self, ticket: IssuedTicket) -> None: ...
    def reprint(self, ticket_id: str) -> bool: ...
    def print_guide(self, item: Item, hall_name: str) -> None: ...


# send_issue(command, answer): send the engine's ``issue`` command; answer(ok, result) later.
SendIssue = Callable[[dict[str, Any], Callable[[bool, Any], None]], None]


@dataclass
class StaffEntry:
    """The staff panel's keypad: the reason chosen, digits typed, the last message."""

    reason: str | None = None
    pin: str = ""
    error: str = ""
    unlocked: bool = False  # service mode: the re-print panel is open


def _silent(*_args: Any) -> None:
    return None


class KioskFlow:
    """The kiosk's rules and the state the screens draw.

    ``settings``: :class:`KioskSettings`.  ``clock``: wall time (what screens show,
    appointment windows, ages) and monotonic time (idle, PIN lockout).  ``view``:
    :class:`View`.  ``printer``: :class:`Printer`.  ``send_issue``: the engine's
    ``issue`` command, or None without a hall link (every ticket is refused as
    ``link_down``).  ``say``: a voice prompt by key.  ``report(part, state, detail)``:
    the staff health board.  ``person_salt``: the hall's salt (default:
    ``settings.salt``, else a random one, reported).
    """

    def __init__(
        self,
        settings: KioskSettings,
        *,
        clock: Clock,
        view: View,
        printer: Printer,
        send_issue: SendIssue | None = None,
        say: Callable[[str], None] = _silent,
        report: Callable[[str, str, str], None] = _silent,
        catalog: Catalog | None = None,
        on_issued: Callable[[IssuedTicket], None] = _silent,
        on_finished: Callable[[IssuedTicket, PrintResult], None] = _silent,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.view = view
        self.printer = printer
        self.send_issue = send_issue
        self.say = say
        self.report = report
        self.on_issued = on_issued
        self.on_finished = on_finished
        self.person_salt = settings.salt or self._ephemeral_salt()
        self.catalog = catalog
        self.loads: dict[str, QueueLoad] = {}
        self.session = Session()
        self.lang: str = settings.language
        self.elderly = settings.elderly_mode
        # 大字模式 switched on by the card of an older citizen: it ends with the visit
        self.elderly_auto = False
        self.started = clock.monotonic()  # the connecting screen counts from here
        self.screen = ""
        self.staff = StaffEntry()
        self.issuing = False
        self.link_up = False
        self.link_was_up = False  # a loss is news only once the link had been up
        self.greeted = False
        self.idle_deadline: float | None = None  # monotonic; None: nothing to forget
        self.pin_failures: list[float] = []
        self.pin_locked_until = 0.0
        self._hold_started: float | None = None
        self._printer_usable_shown = True

    # ------------------------------------------------------------------ screens

    def show(self, name: str) -> None:
        if name not in SCREENS:
            raise ValueError(f"no screen {name!r}")
        self.screen = name
        if name != "staff":
            self.staff = StaffEntry()  # typed digits never outlive the staff panel
        self.view.draw_screen(name)
        self._restart_idle()

    def _redraw(self) -> None:
        self.view.redraw()

    def idle_timeout(self) -> float | None:
        """Seconds without a touch before the visit is forgotten; None: already idle."""
        s = self.settings
        name = self.screen
        if name == "ticket":
            return (
                s.problem_timeout_s if self.session.print_state == "failed" else s.ticket_timeout_s
            )
        if name == "message":
            return s.message_timeout_s
        if name == "home" and self.at_rest():
            return None
        return s.idle_timeout_s

    def at_rest(self) -> bool:
        """Nobody's visit to forget: no person known, default language and mode."""
        s = self.settings
        return (
            self.session.identity is None
            and self.lang == s.language
            and self.elderly == s.elderly_mode
        )

    def _restart_idle(self) -> None:
        timeout = self.idle_timeout()
        self.idle_deadline = None if timeout is None else self.clock.monotonic() + timeout
        self.view.arm_idle(timeout)

    def tick(self) -> None:
        """Time passed: forget the visit once the idle deadline is reached."""
        if self.idle_deadline is not None and self.clock.monotonic() >= self.idle_deadline:
            self.go_idle()

    def touched(self) -> None:
        """Any touch or key on the kiosk: greet on the first screen, keep the visit alive."""
        if not self.greeted and self.screen == "home":
            self.greeted = True
            self.say("welcome")
        self._restart_idle()

    # ------------------------------------------------------------------ navigation

    def open_category(self, queue_id: str) -> None:
        self.session.category = queue_id
        self.session.item = None
        self.show("items")
        self.say("choose_item")

    def open_item(self, item_id: str) -> None:
        if self.catalog is None:
            return
        item = self.catalog.item(item_id)
        self.session.item = item_id
        self.session.category = item.queue
        self.session.guide_printed = None
        self.show("guide")

    def go_back(self) -> None:
        name = self.screen
        s = self.session
        if name == "identify":
            s.pending_item = None
            s.appointment = None
        target = BACK_TARGETS.get(name)
        if target is None:  # guide, identify, staff
            if name == "guide":
                target = "items" if s.category else "home"
            else:
                target = "guide" if s.item else "home"
        if target == "home":
            self.go_home()
        else:
            self.show(target)

    def go_home(self) -> None:
        """End the visit: forget the person, back to the first screen."""
        self.session.clear()
        self._end_auto_elderly()
        self.show("home")

    def _end_auto_elderly(self) -> None:
        """The visit that turned 大字模式 on by card is over: back to the kiosk's mode."""
        if self.elderly_auto:
            self.elderly_auto = False
            if self.elderly != self.settings.elderly_mode:
                self.elderly = self.settings.elderly_mode
                self.view.restyle()

    def go_idle(self) -> None:
        """Nobody touched the kiosk for a while: forget everything, reset language and mode."""
        log.info("kiosk idle: back to the first screen, visit data cleared")
        self.session.clear()
        self.staff = StaffEntry()
        self.view.forget()
        self.lang = self.settings.language
        self.elderly = self.settings.elderly_mode
        self.elderly_auto = False
        self.view.restyle()
        self.greeted = False
        self.show("home")
        self.idle_deadline = None
        self.view.arm_idle(None)

    def set_language(self, lang: str) -> None:
        self.lang = lang
        self.view.relabel()
        self._redraw()
        self._restart_idle()

    def toggle_language(self) -> None:
        self.set_language("en" if self.lang == "zh" else "zh")

    def set_elderly(self, on: bool) -> None:
        self.elderly = on
        self.elderly_auto = False  # chosen by hand: it stays until idle
        self.view.restyle()
        self._redraw()
        self._restart_idle()

    def toggle_elderly(self) -> None:
        self.set_elderly(not self.elderly)

    # ------------------------------------------------------------------ the hall

    def link_changed(self, up: bool) -> None:
        self.link_up = up
        self.link_was_up = self.link_was_up or up
        self.report("link", "ok" if up else "offline", "" if up else "hall broker unreachable")
        self.view.relabel()

    def link_down_shown(self) -> bool:
        """网络中断 in the header: the link was lost, or never came up in
        ``CONNECT_PATIENCE_S``; not while a start is still connecting."""
        if self.link_up:
            return False
        waited = self.clock.monotonic() - self.started
        return self.link_was_up or waited >= CONNECT_PATIENCE_S

    def catalog_received(self, payload: Any) -> None:
        if not isinstance(payload, dict):
            return
        try:
            catalog = parse_catalog(payload)
        except (KeyError, TypeError, ValueError) as exc:
            log.error("catalogue from the engine unusable: %s", exc)
            return
        changed = catalog != self.catalog
        self.catalog = catalog
        if changed:
            log.info("catalogue version %s: %d items", catalog.version, len(catalog.items))
            self.view.relabel()
            if self.screen == "home":
                self._redraw()

    def board_received(self, payload: Any) -> None:
        if not isinstance(payload, dict):
            return
        self.loads = parse_board(payload)
        if self.screen == "home":
            self.view.loads_changed()

    # ------------------------------------------------------------------ taking a ticket

    def take_ticket(self, item_id: str | None = None) -> None:
        """Take a ticket for ``item_id`` (default: the item on screen): the 取号 tap."""
        if self.issuing:
            return
        if self.catalog is None:
            self.refuse("no_catalog")
            return
        item_id = item_id or self.session.item or self.session.pending_item
        if item_id is None:
            return
        try:
            item = self.catalog.item(item_id)
        except KeyError:
            self.refuse("unknown_item")
            return
        self.session.item = item_id
        self.session.category = item.queue
        if item.requires_id and self.session.identity is None and not self.session.assisted:
            self.ask_identity(item_id)
            return
        self._issue(item_id)

    def ask_identity(self, item_id: str) -> None:
        self.session.pending_item = item_id
        self.show("identify")
        self.say("swipe_id")

    def _issue(self, item_id: str) -> None:
        s = self.session
        request = IssueRequest(
            item=item_id,
            identity=s.identity,
            priority_reason=green_reason(s.identity, s.staff_reason, self.settings.elderly_age),
            appointment=s.appointment,
            assisted_key=secrets.token_hex(16) if s.assisted and s.identity is None else None,
            assisted_holder=ASSISTED_HOLDER,
        )
        if self.send_issue is None or not self.link_up:
            self.refuse("link_down")
            return
        self.issuing = True
        log.info(
            "issuing a ticket for %s%s",
            item_id,
            f" ({request.priority_reason})" if request.priority_reason else "",
        )
        # the request first, then the guide's 正在取号 state: the engine works meanwhile
        # (its answer comes through the event loop, after this)
        self.send_issue(request.command(), self.issued)
        if self.screen == "guide":
            self.view.issuing_changed()

    def issued(self, ok: bool, result: Any) -> None:
        """The engine's answer to ``issue``: the ticket (printed at once), or why not."""
        self.issuing = False
        if not ok:
            error = result if isinstance(result, dict) else {}
            code = str(error.get("code", "internal"))
            log.info("ticket refused: %s (%s)", code, error.get("message", ""))
            if code == "id_required" and self.session.item:
                self.ask_identity(self.session.item)
                return
            self.refuse(code, error.get("data") or {}, str(error.get("message_zh", "")))
            return
        assert self.catalog is not None
        ticket = issued_from_result(result, self.catalog, now=self.clock.now())
        s = self.session
        s.ticket = ticket
        s.print_state, s.print_message = "printing", ""
        s.pending_item = None
        s.appointment = None
        log.info("ticket %s issued (%d ahead)", ticket.code, ticket.ahead)
        self.printer.print_ticket(ticket)
        self.show("ticket")
        self.on_issued(ticket)

    # ------------------------------------------------------------------ printing

    def ticket_printed(self, ticket_id: str, outcome: PrintResult) -> None:
        s = self.session
        ticket = s.ticket
        if ticket is not None and ticket.ticket_id == ticket_id:
            s.print_state = "ok" if outcome.ok else "failed"
            s.print_message = outcome.user_message
            self.say("take_ticket" if outcome.ok else "paper_out")
            if self.screen == "ticket":
                self._redraw()
                self._restart_idle()
            self.on_finished(ticket, outcome)
        if self.screen == "staff":
            self._redraw()

    def retry_print(self) -> None:
        """Print the ticket on screen again (after staff fixed the printer)."""
        ticket = self.session.ticket
        if ticket is None:
            return
        if not self.printer.reprint(ticket.ticket_id):
            self.printer.print_ticket(ticket)
        self.session.print_state = "printing"
        self._redraw()

    def reprint(self, ticket_id: str) -> None:
        """Staff panel: reprint an unprinted ticket."""
        self.printer.reprint(ticket_id)

    def printer_changed(self, outcome: PrintResult) -> None:
        """A print or status poll told the printer's state."""
        was_usable = self._printer_usable_shown
        self._printer_usable_shown = outcome.ok
        if outcome.ok != was_usable and self.screen == "guide":
            self._redraw()
        # Paper is back while the citizen still looks at an unprinted ticket: print it.
        ticket = self.session.ticket
        if (
            outcome.ok
            and ticket is not None
            and self.screen == "ticket"
            and self.session.print_state == "failed"
            and ticket.ticket_id in self.printer.unprinted
        ):
            self.retry_print()

    def print_guide(self) -> None:
        if self.catalog is None or self.session.item is None:
            return
        self.printer.print_guide(self.catalog.item(self.session.item), self.catalog.hall_name)

    def guide_printed(self, outcome: PrintResult) -> None:
        self.session.guide_printed = outcome.ok
        self.session.print_message = outcome.user_message
        if self.screen == "guide":
            self._redraw()

    def printer_usable(self) -> bool:
        return self.printer.usable

    def printer_state(self) -> str:
        last = self.printer.last
        return "正常" if last.ok else (last.user_message or last.state)

    def unprinted(self) -> list[IssuedTicket]:
        return list(self.printer.unprinted.values())

    # ------------------------------------------------------------------ refusals

    def refuse(self, code: str, data: dict[str, Any] | None = None, message_zh: str = "") -> None:
        self.session.refusal = Refused(code, dict(data or {}), message_zh)
        self.show("message")
        refusal = REFUSALS.get(code)
        self.say(refusal.voice if refusal else "sorry")

    def refusal_action(self, action: str) -> None:
        s = self.session
        if action == "identify":
            item = s.pending_item or s.item
            if item:
                self.ask_identity(item)
            else:
                self.go_home()
        elif action == "normal":
            s.appointment = None
            if s.item:
                self.open_item(s.item)
            else:
                self.go_home()
        elif action == "back":
            self.show("guide" if s.item else "home")
        else:
            self.go_home()

    # ------------------------------------------------------------------ identification

    def _identified(self, make: Callable[[], Any]) -> None:
        try:
            identity = make()
        except IdentityError as exc:
            log.info("card not usable: %s", exc)
            self.refuse("card_invalid")
            return
        if self.screen in ("ticket", "message") and self.session.pending_item is None:
            self.session.clear()  # a new person at the kiosk
            self.view.forget()
        self.session.identity = identity
        self.session.assisted = False
        log.info("citizen identified by %s", identity.source)
        if identity.elderly(self.settings.elderly_age):
            self.say("green_channel")
        self._auto_elderly(identity.elderly(self.settings.large_text_age))
        name = self.screen
        if self.session.pending_item and name in ("identify", "message"):
            self._issue(self.session.pending_item)
        elif name in ("ticket", "message"):
            self.show("home")
        elif name != "staff":
            self._redraw()
            self._restart_idle()

    def _auto_elderly(self, older: bool) -> None:
        """An older citizen's card turns 大字模式 on for the visit; a younger one's card
        after them turns the automatic mode off again (a mode chosen by hand stays)."""
        if older and not self.elderly:
            log.info(
                "large-text mode on for this visit (card holder aged %d or over)",
                self.settings.large_text_age,
            )
            self.elderly = True
            self.elderly_auto = True
            self.view.restyle()
        elif not older and self.elderly_auto:
            self._end_auto_elderly()

    def identify_way(self, kind: str) -> None:
        """A tap on one of the identify screen's ways: say how to present that card."""
        if kind not in ("idcard", "citizencard", "qr"):
            return
        self.session.identify_way = kind
        if kind != "qr":
            self.say("swipe_id")
        self._redraw()
        self._restart_idle()

    def id_card(self, card: Any) -> None:
        """A resident ID card on the reader (``drivers.idcard.IdCard``)."""
        today = self.clock.now().date()
        self._identified(lambda: from_id_card(card, self.person_salt, today))

    def citizen_card(self, card: Any) -> None:
        """A citizen / social-security card (``drivers.citizencard.CitizenCard``)."""
        today = self.clock.now().date()
        self._identified(lambda: from_citizen_card(card, self.person_salt, today))

    def card_error(self, code: str, detail: str) -> None:
        log.info("card problem at the kiosk: %s (%s)", code, detail)
        if self.screen in ("home", "items", "guide", "identify", "message"):
            self.refuse(code)

    def scanned(self, text: str) -> None:
        """A code from the scanner: an appointment check-in."""
        s = self.session
        if not appt.is_appointment_code(text):
            self.refuse("appointment_invalid")
            return
        now = self.clock.now()
        try:
            booking = appt.parse_code(text, now.tzinfo or CHINA)
            item_id = booking.item or s.item or s.pending_item
            if item_id is None:
                raise appt.AppointmentError("appointment_item", "no item chosen")
            if self.catalog is None:
                raise appt.AppointmentError("no_catalog", "catalogue not loaded")
            try:
                self.catalog.item(item_id)
            except KeyError:
                raise appt.AppointmentError(
                    "appointment_invalid", f"unknown item {item_id!r}"
                ) from None
            s.item = item_id
            appt.check_in(
                booking,
                now,
                early_min=self.settings.appointment_early_min,
                late_min=self.settings.appointment_late_min,
            )
        except appt.AppointmentError as exc:
            log.info("appointment code refused: %s", exc)
            self.refuse(exc.code, dict(exc.data))
            return
        log.info("appointment %s checks in", booking.ref)
        s.appointment = dataclasses.replace(booking, item=item_id)
        self.take_ticket(item_id)

    def _ephemeral_salt(self) -> bytes:
        """No hall salt configured: a random one, and everyone is told (see kiosk.identify)."""
        log.error(
            "kiosk %s: no person salt configured (HALL_SALT_FILE / salt_file): per-person "
            "limits count only this kiosk's tickets until it restarts; copy the hall's salt "
            "from the queue host with `hall provision --person-salt-file FILE`",
            self.settings.device_id,
        )
        self.report(
            "person_salt",
            "missing",
            "no hall salt: per-person limits hold only on this kiosk until it restarts",
        )
        return ephemeral_salt()

    # ------------------------------------------------------------------ staff

    @property
    def staff_pin_set(self) -> bool:
        """False when this kiosk has no staff PIN: the staff panel is refused."""
        return self.settings.staff_pin_hash is not None

    @property
    def pin_locked(self) -> bool:
        return self.clock.monotonic() < self.pin_locked_until

    def _no_staff_pin(self) -> None:
        log.warning(
            "kiosk %s: the staff panel was asked for but no staff PIN is configured; "
            "set one with `hall provision` (see docs/technician.md)",
            self.settings.device_id,
        )

    def _open_staff(self, mode: str) -> None:
        if not self.staff_pin_set:
            self._no_staff_pin()
        self.session.staff_mode = mode
        self.staff = StaffEntry()
        self.show("staff")

    def open_green_channel(self) -> None:
        """The guide's 绿色通道: staff confirm a reason with the staff PIN."""
        self._open_staff("green")

    def open_assisted(self) -> None:
        """没带证件 / 代办: staff confirm with the staff PIN, then a ticket without ID."""
        self._open_staff("assisted")

    def open_staff_panel(self) -> None:
        """Staff service (reprints, printer state): press and hold the hall name."""
        self._open_staff("service")

    def hall_name_pressed(self) -> None:
        self._hold_started = self.clock.monotonic()

    def hall_name_released(self, hold_s: float = STAFF_HOLD_S) -> None:
        """The hall name let go: held for ``hold_s`` or longer opens the staff panel."""
        if self._hold_started is None:
            return
        held = self.clock.monotonic() - self._hold_started
        self._hold_started = None
        if held >= hold_s:
            self.open_staff_panel()

    def staff_choose(self, reason: str) -> None:
        """A green-channel reason tapped on the staff panel."""
        self.staff.reason = reason
        self.staff.error = ""
        self._redraw()

    def staff_key(self, key: str) -> None:
        """A key of the staff keypad: a digit, ``clear`` or ``confirm``."""
        entry = self.staff
        if key == "clear":
            entry.pin, entry.error = "", ""
        elif key == "confirm":
            pin, entry.pin = entry.pin, ""
            error = self.confirm_staff(entry.reason, pin)
            if error is None:
                if self.screen != "staff":
                    return  # the green channel moved on to the guide
                self.staff.error = ""
                if self.session.staff_mode == "service":
                    self.staff.unlocked = True
            else:
                entry.error = error
        elif len(entry.pin) < PIN_MAX_DIGITS:
            entry.pin += key
        self._redraw()

    def confirm_staff(self, reason: str | None, pin: str) -> str | None:
        """Check the staff PIN; None when accepted, else the message to show.

        The PIN is compared with its stored hash (``hall.core.pins``: scrypt, constant-time
        compare); a kiosk without one refuses.  Never logged."""
        stored = self.settings.staff_pin_hash
        if stored is None:
            self._no_staff_pin()
            return tr("no_staff_pin", self.lang)
        green = self.session.staff_mode == "green"
        if green and reason is None:
            return tr("choose_reason", self.lang)
        now = self.clock.monotonic()
        if now < self.pin_locked_until:
            return tr("pin_locked", self.lang)
        if not pins.verify_pin(pin, stored):
            log.warning("wrong staff PIN entered at kiosk %s", self.settings.device_id)
            self.pin_failures = [t for t in self.pin_failures if now - t < PIN_WINDOW_S]
            self.pin_failures.append(now)
            if len(self.pin_failures) >= PIN_MAX_FAILURES:
                # A citizen guessing the PIN for the green channel: stop and tell staff.
                self.pin_locked_until = now + PIN_LOCK_S
                self.pin_failures.clear()
                self.report(
                    "staff_pin",
                    "locked",
                    f"{PIN_MAX_FAILURES} wrong staff PINs; locked for "
                    f"{PIN_LOCK_S // 60:.0f} minutes",
                )
                return tr("pin_locked", self.lang)
            return tr("pin_wrong", self.lang)
        self.pin_failures.clear()
        if green:
            self.session.staff_reason = reason
            log.info("green channel (%s) confirmed by staff", reason)
            self.say("green_channel")
            self.show("guide" if self.session.item else "home")
        elif self.session.staff_mode == "assisted":
            s = self.session
            s.assisted = True
            item = s.pending_item or s.item
            log.info("a ticket without a card (staff assisted) for %s", item)
            if item:
                self._issue(item)
            else:
                self.show("home")
        return None

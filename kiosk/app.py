"""The queue-ticket kiosk (取号机): one full-screen window from idle to printed ticket.

``KioskWindow`` wires the screens (``kiosk.screens``) to the hall plane (the
engine's retained catalogue and board, the ``issue`` command), the printer
(``kiosk.printing``), the card readers and scanner (signals of
``window.bridge``, fed by ``kiosk.devices``), voice prompts and the staff
health board.  Taps and programmatic calls take the same path::

    window = KioskWindow(qtlink, settings, printer=open_printer("serial:...?profile=80mm"))
    window.resize(1080, 1920); window.show()
    window.take_ticket("gjj-query")          # == tapping the item, then 取号

Personal data lives only in ``window.session`` and is forgotten when the
visit ends (ticket done, 首页, or ``idle_timeout_s`` without a touch).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hall.core import pins
from hall.core.clock import CHINA
from hall.ui.qt import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QObject,
    QPushButton,
    QStackedWidget,
    QtCore,
    QTimer,
    QVBoxLayout,
    QWidget,
    Signal,
    Slot,
)
from kiosk import appointment as appt
from kiosk.catalog import Catalog, QueueLoad, parse_board, parse_catalog
from kiosk.health import HealthBoard
from kiosk.identify import IdentityError, ephemeral_salt, from_citizen_card, from_id_card
from kiosk.printing import NO_PRINTER_ZH, PrintOutcome, PrintService
from kiosk.refusals import REFUSALS
from kiosk.screens import SCREENS, Screen
from kiosk.screens.home import HomeScreen
from kiosk.screens.staff import StaffScreen
from kiosk.screens.widgets import button, label
from kiosk.session import Refused, Session
from kiosk.settings import KioskSettings
from kiosk.texts import tr
from kiosk.theme import Theme
from kiosk.ticketing import IssuedTicket, IssueRequest, green_reason, issued_from_result
from kiosk.voice import VoicePrompts

if TYPE_CHECKING:
    from drivers.printer import TicketPrinter
    from hall.ui.qtlink import QtLink
    from sync.mqtt import Message

from kiosk.devices import DeviceBridge

log = logging.getLogger(__name__)

# Staff PIN guessing: this many wrong PINs within the window lock it for a while.
PIN_MAX_FAILURES = 5
PIN_WINDOW_S = 600.0
PIN_LOCK_S = 300.0

ISSUE_TIMEOUT_S = 5.0
STAFF_HOLD_MS = 2000  # press and hold the hall name this long for the staff panel
BACK_TARGETS = {"items": "home", "message": "home", "ticket": "home"}
ACTIVITY_EVENTS = frozenset(
    {
        QtCore.QEvent.Type.MouseButtonPress,
        QtCore.QEvent.Type.TouchBegin,
        QtCore.QEvent.Type.KeyPress,
    }
)


class KioskWindow(QWidget):
    """The kiosk UI.

    ``link``: a :class:`hall.ui.qtlink.QtLink` to the hall broker (device role
    ``kiosk``), or None to run without the engine (previews; every ticket
    attempt then says the link is down).  ``settings``: :class:`KioskSettings`.
    ``printer``: a :class:`drivers.printer.TicketPrinter` or None (tickets are
    then shown on screen only and staff are alarmed).  ``voice``: prompts
    (default: silent).  ``health``: the staff health board (default: one
    writing ``settings.status_file``).  ``clock``: aware "now" (tests).
    ``catalog``: a catalogue payload to start with (previews, no link).
    """

    screen_changed = Signal(str)
    ticket_issued = Signal(object)  # IssuedTicket, as soon as the engine answered
    ticket_finished = Signal(object, object)  # (IssuedTicket, PrintOutcome)

    def __init__(
        self,
        link: QtLink | None,
        settings: KioskSettings | None = None,
        *,
        printer: TicketPrinter | None = None,
        voice: VoicePrompts | None = None,
        health: HealthBoard | None = None,
        clock: Callable[[], datetime] | None = None,
        catalog: dict[str, Any] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("kiosk")
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setWindowTitle("取号机")
        self.settings = settings or KioskSettings()
        self.link = link
        self._clock = clock or (lambda: datetime.now(CHINA))
        self.voice = voice or VoicePrompts(enabled=False)
        self.health = health or HealthBoard(
            self.settings.device_id, self.settings.status_file, now=self._clock
        )
        self.person_salt = self.settings.salt or self._ephemeral_salt()
        self.lang = self.settings.language
        self.theme = Theme(elderly=self.settings.elderly_mode, portrait=True)
        self.catalog: Catalog | None = parse_catalog(catalog) if catalog else None
        self.loads: dict[str, QueueLoad] = {}
        self.session = Session()
        self.issuing = False
        self.link_up = False
        self._greeted = False
        self._hold_started: float | None = None

        self.bridge = DeviceBridge(self)
        self.bridge.id_card.connect(self._on_id_card)
        self.bridge.citizen_card.connect(self._on_citizen_card)
        self.bridge.card_error.connect(self._on_card_error)
        self.bridge.scanned.connect(self._on_scanned)

        self.printing = PrintService(printer, self.health, self)
        self.monotonic: Callable[[], float] = time.monotonic  # tests move it
        self._pin_failures: list[float] = []
        self._pin_locked_until = 0.0
        self.printing.ticket_printed.connect(self._on_ticket_printed)
        self.printing.guide_printed.connect(self._on_guide_printed)
        self.printing.state_changed.connect(self._on_printer_state)

        self._build_frame()
        self.idle_timer = QTimer(self)
        self.idle_timer.setSingleShot(True)
        self.idle_timer.timeout.connect(self.go_idle)
        self.clock_timer = QTimer(self)
        self.clock_timer.timeout.connect(self._tick_clock)
        self.clock_timer.start(20_000)
        self.poll_timer = QTimer(self)
        self.poll_timer.timeout.connect(self.printing.poll)
        if printer is not None and self.settings.printer_poll_s > 0:
            self.poll_timer.start(int(self.settings.printer_poll_s * 1000))

        self._apply_theme()
        self.show_screen("home")
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)
        if link is not None:
            self._attach_link(link)

    # ------------------------------------------------------------------ frame

    def _build_frame(self) -> None:
        outer = QVBoxLayout(self)
        # A full-screen window: its size comes from the screen, never from the content
        # (and the platform is not asked to change size hints on every screen change).
        outer.setSizeConstraint(QVBoxLayout.SizeConstraint.SetNoConstraint)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        self.header = QWidget()
        self.header.setProperty("role", "header")
        self.header.setAttribute(QtCore.Qt.WidgetAttribute.WA_StyledBackground, True)
        row = QHBoxLayout(self.header)
        row.setContentsMargins(32, 14, 32, 14)
        row.setSpacing(18)
        self.hall_label = label("", "hall", wrap=False, name="hall-name")
        self.hall_label.installEventFilter(self)  # press and hold: staff panel
        row.addWidget(self.hall_label, 1)
        self.link_label = label("", "link", wrap=False, name="link-state")
        self.link_label.hide()
        row.addWidget(self.link_label)
        self.clock_label = label("", "clock", wrap=False, name="clock")
        row.addWidget(self.clock_label)
        self.lang_button = button("", "headerbtn", self.toggle_language, name="lang")
        row.addWidget(self.lang_button)
        self.elderly_button = button("", "headerbtn", self.toggle_elderly, name="elderly")
        row.addWidget(self.elderly_button)
        outer.addWidget(self.header)

        self.stack = QStackedWidget()
        self.screens: dict[str, Screen] = {}
        for cls in SCREENS:
            screen = cls(self)
            self.screens[screen.name] = screen
            self.stack.addWidget(screen)
        outer.addWidget(self.stack, 1)

        self.footer = QWidget()
        self.footer.setProperty("role", "footer")
        self.footer.setAttribute(QtCore.Qt.WidgetAttribute.WA_StyledBackground, True)
        frow = QHBoxLayout(self.footer)
        frow.setContentsMargins(32, 14, 32, 18)
        frow.setSpacing(18)
        self.back_button = button("", "footerbtn", self.go_back, name="back")
        self.home_button = button("", "footerbtn", self.go_home, name="home")
        self.idle_label = label("", "hint", wrap=True, name="idle-hint")
        frow.addWidget(self.back_button)
        frow.addWidget(self.home_button)
        frow.addWidget(self.idle_label, 1)
        outer.addWidget(self.footer)

    def _apply_theme(self) -> None:
        self.setStyleSheet(self.theme.stylesheet())
        self._update_chrome()

    def _update_chrome(self) -> None:
        hall_name = self.catalog.hall_name if self.catalog else ""
        self.hall_label.setText(hall_name or tr("welcome", self.lang).split("，")[0])
        self.lang_button.setText(tr("lang_toggle", self.lang))
        self.elderly_button.setText(
            tr("elderly_off" if self.theme.elderly else "elderly_on", self.lang)
        )
        self.back_button.setText(tr("back", self.lang))
        self.home_button.setText(tr("home", self.lang))
        self.idle_label.setText(tr("idle_hint", self.lang, s=int(self.settings.idle_timeout_s)))
        self.link_label.setText(tr("link_down", self.lang))
        self.link_label.setVisible(self.link is not None and not self.link_up)
        self._tick_clock()

    def _tick_clock(self) -> None:
        now = self.now()
        if self.theme.portrait:  # narrow header: the time only
            self.clock_label.setText(f"{now:%H:%M}")
        elif self.lang == "en":
            self.clock_label.setText(f"{now:%a %d %b %H:%M}")
        else:
            week = "一二三四五六日"[now.weekday()]
            self.clock_label.setText(f"{now.month}月{now.day}日 周{week} {now:%H:%M}")

    # ------------------------------------------------------------------ context for screens

    def now(self) -> datetime:
        return self._clock()

    def printer_usable(self) -> bool:
        return self.printing.usable

    def printer_state(self) -> str:
        last = self.printing.last
        return "正常" if last.ok else (last.user_message or last.state)

    def unprinted(self) -> list[IssuedTicket]:
        return list(self.printing.unprinted.values())

    @property
    def screen_name(self) -> str:
        current = self.stack.currentWidget()
        return current.name if isinstance(current, Screen) else ""

    def screen_widget(self, name: str | None = None) -> Screen:
        return self.screens[name or self.screen_name]

    # ------------------------------------------------------------------ navigation

    def show_screen(self, name: str) -> None:
        previous = self.stack.currentWidget()
        screen = self.screens[name]
        screen.refresh()
        self.stack.setCurrentWidget(screen)
        if isinstance(previous, Screen) and previous is not screen:
            previous.clear()  # nothing personal stays in a hidden screen
        self.footer.setVisible(name != "home")
        self.back_button.setVisible(name not in ("ticket", "message"))
        self.home_button.setVisible(name not in ("ticket", "message"))
        self._restart_idle()
        self.screen_changed.emit(name)

    def rerender(self) -> None:
        self.screen_widget().refresh()

    def open_category(self, queue_id: str) -> None:
        self.session.category = queue_id
        self.session.item = None
        self.show_screen("items")
        self.voice.say("choose_item")

    def open_item(self, item_id: str) -> None:
        if self.catalog is None:
            return
        item = self.catalog.item(item_id)
        self.session.item = item_id
        self.session.category = item.queue
        self.session.guide_printed = None
        self.show_screen("guide")

    def go_back(self) -> None:
        name = self.screen_name
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
            self.show_screen(target)

    def go_home(self) -> None:
        """End the visit: forget the person, back to the first screen."""
        self.session.clear()
        self.show_screen("home")

    @Slot()
    def go_idle(self) -> None:
        """Nobody touched the kiosk for a while: forget everything, reset language and mode."""
        log.info("kiosk idle: back to the first screen, visit data cleared")
        self.session.clear()
        for screen in self.screens.values():
            screen.clear()
        if isinstance(self.screens["staff"], StaffScreen):
            self.screens["staff"].reset()
        self.lang = self.settings.language
        theme = dataclasses.replace(self.theme, elderly=self.settings.elderly_mode)
        if theme != self.theme:
            self.theme = theme
        self._apply_theme()
        self._greeted = False
        self.show_screen("home")
        self.idle_timer.stop()

    def _restart_idle(self) -> None:
        name = self.screen_name
        s = self.settings
        if name == "ticket":
            timeout = (
                s.problem_timeout_s
                if self.session.print_state == "failed"
                else (s.ticket_timeout_s)
            )
        elif name == "message":
            timeout = s.message_timeout_s
        elif (
            name == "home"
            and self.session.identity is None
            and self.lang == s.language
            and self.theme.elderly == s.elderly_mode
        ):
            self.idle_timer.stop()  # already idle: nothing to forget
            return
        else:
            timeout = s.idle_timeout_s
        self.idle_timer.start(int(timeout * 1000))

    # ------------------------------------------------------------------ toggles

    def toggle_language(self) -> None:
        self.set_language("en" if self.lang == "zh" else "zh")

    def set_language(self, lang: str) -> None:
        self.lang = lang
        self._update_chrome()
        self.rerender()
        self._restart_idle()

    def toggle_elderly(self) -> None:
        self.set_elderly(not self.theme.elderly)

    def set_elderly(self, on: bool) -> None:
        self.theme = dataclasses.replace(self.theme, elderly=on)
        self._apply_theme()
        self.rerender()
        self._restart_idle()

    def resizeEvent(self, event: QtCore.QEvent) -> None:
        super().resizeEvent(event)  # type: ignore[arg-type]
        portrait = self.height() >= self.width()
        if portrait != self.theme.portrait:
            self.theme = dataclasses.replace(self.theme, portrait=portrait)
            self._apply_theme()
            self.rerender()

    def eventFilter(self, watched: QObject, event: QtCore.QEvent) -> bool:
        kind = event.type()
        if watched is self.hall_label:
            if kind == QtCore.QEvent.Type.MouseButtonPress:
                self._hold_started = self._mono()
            elif kind == QtCore.QEvent.Type.MouseButtonRelease and self._hold_started is not None:
                held = self._mono() - self._hold_started
                self._hold_started = None
                if held * 1000 >= STAFF_HOLD_MS:
                    self.open_staff_panel()
        if (
            kind in ACTIVITY_EVENTS
            and isinstance(watched, QWidget)
            and (watched is self or self.isAncestorOf(watched))
        ):
            self._activity()
        return False

    @staticmethod
    def _mono() -> float:
        import time

        return time.monotonic()

    def _activity(self) -> None:
        if not self._greeted and self.screen_name == "home":
            self._greeted = True
            self.voice.say("welcome")
        self._restart_idle()

    # ------------------------------------------------------------------ hall link

    def _attach_link(self, link: QtLink) -> None:
        from sync import topics

        hall = link.hall_id
        link.connection_changed.connect(self._on_link_changed)
        link.subscribe(topics.catalog(hall), self._on_catalog)
        link.subscribe(topics.board(hall), self._on_board)
        # Commands from the center, relayed by this device's sync agent.
        link.serve_control({"reprint": self.reprint_command})
        self._on_link_changed(link.link.connected.is_set())

    @Slot(bool)
    def _on_link_changed(self, up: bool) -> None:
        self.link_up = up
        self.health.report(
            "link", "ok" if up else "offline", "" if up else "hall broker unreachable"
        )
        self.link_label.setVisible(not up)

    def _on_catalog(self, message: Message) -> None:
        if not isinstance(message.payload, dict):
            return
        try:
            catalog = parse_catalog(message.payload)
        except (KeyError, TypeError, ValueError) as exc:
            log.error("catalogue from the engine unusable: %s", exc)
            return
        changed = catalog != self.catalog
        self.catalog = catalog
        if changed:
            log.info("catalogue version %s: %d items", catalog.version, len(catalog.items))
            self._update_chrome()
            if self.screen_name == "home":
                self.rerender()

    def _on_board(self, message: Message) -> None:
        if not isinstance(message.payload, dict):
            return
        self.loads = parse_board(message.payload)
        home = self.screens["home"]
        if isinstance(home, HomeScreen) and self.screen_name == "home":
            home.update_loads()

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
        if item.requires_id and self.session.identity is None:
            self.ask_identity(item_id)
            return
        self._issue(item_id)

    def ask_identity(self, item_id: str) -> None:
        self.session.pending_item = item_id
        self.show_screen("identify")
        self.voice.say("swipe_id")

    def _issue(self, item_id: str) -> None:
        from sync import topics

        s = self.session
        request = IssueRequest(
            item=item_id,
            identity=s.identity,
            priority_reason=green_reason(s.identity, s.staff_reason, self.settings.elderly_age),
            appointment=s.appointment,
        )
        if self.link is None or not self.link_up:
            self.refuse("link_down")
            return
        self.issuing = True
        if self.screen_name == "guide":
            self.rerender()
        log.info(
            "issuing a ticket for %s%s",
            item_id,
            f" ({request.priority_reason})" if request.priority_reason else "",
        )
        self.link.request(
            topics.command(self.link.hall_id, self.link.device_id),
            request.command(),
            self._on_issued,
            timeout=ISSUE_TIMEOUT_S,
        )

    def _on_issued(self, ok: bool, result: Any) -> None:
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
        ticket = issued_from_result(
            result, self.catalog, qr_base=self.settings.qr_base_url, now=self.now()
        )
        s = self.session
        s.ticket = ticket
        s.print_state, s.print_message = "printing", ""
        s.pending_item = None
        s.appointment = None
        log.info("ticket %s issued (%d ahead)", ticket.code, ticket.ahead)
        self.printing.print_ticket(ticket)
        self.show_screen("ticket")
        self.ticket_issued.emit(ticket)

    @Slot(str, object, object)
    def _on_ticket_printed(self, ticket_id: str, outcome: PrintOutcome, _t: object) -> None:
        s = self.session
        ticket = s.ticket
        if ticket is not None and ticket.ticket_id == ticket_id:
            s.print_state = "ok" if outcome.ok else "failed"
            s.print_message = outcome.user_message
            self.voice.say("take_ticket" if outcome.ok else "paper_out")
            if self.screen_name == "ticket":
                self.rerender()
                self._restart_idle()
            self.ticket_finished.emit(ticket, outcome)
        if self.screen_name == "staff":
            self.rerender()

    def retry_print(self) -> None:
        """Print the ticket on screen again (after staff fixed the printer)."""
        ticket = self.session.ticket
        if ticket is None:
            return
        if not self.printing.reprint(ticket.ticket_id):
            self.printing.print_ticket(ticket)
        self.session.print_state = "printing"
        self.rerender()

    def reprint(self, ticket_id: str) -> None:
        """Staff panel: reprint an unprinted ticket."""
        self.printing.reprint(ticket_id)

    @Slot(object)
    def reprint_command(self, args: dict[str, Any]) -> Future[Any]:
        """The center's ``reprint`` ({"ticket_id"} or {"code"}) of a ticket this kiosk
        holds unprinted.  Runs on the GUI thread; the future answers when the printer has."""
        from sync.commands import CommandError

        ticket_id, code = args.get("ticket_id"), args.get("code")
        if not (isinstance(ticket_id, str) and ticket_id) and not (isinstance(code, str) and code):
            raise CommandError(
                "bad_request", "reprint needs 'ticket_id' or 'code'", "请提供票号或号码"
            )
        held = [
            t
            for t in self.printing.unprinted.values()
            if t.ticket_id == ticket_id or (code and t.code == code)
        ]
        if not held:
            raise CommandError(
                "not_held",
                f"{self.settings.device_id} holds no unprinted ticket {ticket_id or code!s}"
                f" (it holds {', '.join(t.code for t in self.unprinted()) or 'none'})",
                "本机没有该号票的待补打记录",
            )
        if self.printing.printer is None:
            raise CommandError(
                "no_printer", f"{self.settings.device_id} has no printer", NO_PRINTER_ZH
            )
        ticket = held[-1]
        job = self.printing.reprint_job(ticket.ticket_id)
        if job is None:
            raise CommandError("closing", "the kiosk is shutting down", "设备正在关闭")
        answer: Future[Any] = Future()

        def finished(done: Future[PrintOutcome | None]) -> None:
            outcome = None if done.cancelled() else done.result()
            if outcome is not None and outcome.ok:
                answer.set_result(
                    {"ticket_id": ticket.ticket_id, "code": ticket.code, "printed": True}
                )
            elif outcome is not None:
                answer.set_exception(
                    CommandError(
                        f"printer_{outcome.state}",
                        f"ticket {ticket.code} not printed: {outcome.detail}",
                        outcome.user_message,
                    )
                )
            else:
                answer.set_exception(
                    CommandError("print_failed", f"ticket {ticket.code} not printed", "补打失败")
                )

        job.add_done_callback(finished)
        return answer

    def _on_printer_state(self, outcome: PrintOutcome) -> None:
        was_usable = getattr(self, "_printer_usable_shown", True)
        self._printer_usable_shown = outcome.ok
        if outcome.ok != was_usable and self.screen_name == "guide":
            self.rerender()
        # Paper is back while the citizen still looks at an unprinted ticket: print it.
        ticket = self.session.ticket
        if (
            outcome.ok
            and ticket is not None
            and self.screen_name == "ticket"
            and self.session.print_state == "failed"
            and ticket.ticket_id in self.printing.unprinted
        ):
            self.retry_print()

    def print_guide(self) -> None:
        if self.catalog is None or self.session.item is None:
            return
        self.printing.print_guide(self.catalog.item(self.session.item), self.catalog.hall_name)

    @Slot(object)
    def _on_guide_printed(self, outcome: PrintOutcome) -> None:
        self.session.guide_printed = outcome.ok
        self.session.print_message = outcome.user_message
        if self.screen_name == "guide":
            self.rerender()

    # ------------------------------------------------------------------ refusals

    def refuse(self, code: str, data: dict[str, Any] | None = None, message_zh: str = "") -> None:
        self.session.refusal = Refused(code, dict(data or {}), message_zh)
        self.show_screen("message")
        refusal = REFUSALS.get(code)
        self.voice.say(refusal.voice if refusal else "sorry")

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
            self.show_screen("guide" if s.item else "home")
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
        if self.screen_name in ("ticket", "message") and self.session.pending_item is None:
            self.session.clear()  # a new person at the kiosk
            self.screen_widget().clear()
        self.session.identity = identity
        log.info("citizen identified by %s", identity.source)
        if identity.elderly(self.settings.elderly_age):
            self.voice.say("green_channel")
        name = self.screen_name
        if self.session.pending_item and name in ("identify", "message"):
            self._issue(self.session.pending_item)
        elif name in ("ticket", "message"):
            self.show_screen("home")
        elif name != "staff":
            self.rerender()
            self._restart_idle()

    @Slot(object)
    def _on_id_card(self, card: Any) -> None:
        today = self.now().date()
        self._identified(lambda: from_id_card(card, self.person_salt, today))

    @Slot(object)
    def _on_citizen_card(self, card: Any) -> None:
        today = self.now().date()
        self._identified(lambda: from_citizen_card(card, self.person_salt, today))

    @Slot(str, str)
    def _on_card_error(self, code: str, detail: str) -> None:
        log.info("card problem at the kiosk: %s (%s)", code, detail)
        if self.screen_name in ("home", "items", "guide", "identify", "message"):
            self.refuse(code)

    @Slot(str)
    def _on_scanned(self, text: str) -> None:
        """A code from the scanner: an appointment check-in."""
        s = self.session
        if not appt.is_appointment_code(text):
            self.refuse("appointment_invalid")
            return
        now = self.now()
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

    # ------------------------------------------------------------------ staff

    def _ephemeral_salt(self) -> bytes:
        """No hall salt configured: a random one, and everyone is told (see kiosk.identify)."""
        log.error(
            "kiosk %s: no person salt configured (HALL_SALT_FILE / salt_file): per-person "
            "limits count only this kiosk's tickets until it restarts; copy the hall's salt "
            "from the queue host with `hall provision --person-salt-file FILE`",
            self.settings.device_id,
        )
        self.health.report(
            "person_salt",
            "missing",
            "no hall salt: per-person limits hold only on this kiosk until it restarts",
        )
        return ephemeral_salt()

    @property
    def staff_pin_set(self) -> bool:
        """False when this kiosk has no staff PIN: the staff panel is refused."""
        return self.settings.staff_pin_hash is not None

    def _no_staff_pin(self) -> None:
        log.warning(
            "kiosk %s: the staff panel was asked for but no staff PIN is configured; "
            "set one with `hall provision` (see docs/technician.md)",
            self.settings.device_id,
        )

    def open_green_channel(self) -> None:
        if not self.staff_pin_set:
            self._no_staff_pin()
        self.session.staff_mode = "green"
        staff = self.screens["staff"]
        if isinstance(staff, StaffScreen):
            staff.reset()
        self.show_screen("staff")

    def open_staff_panel(self) -> None:
        """Staff service (reprints, printer state): press and hold the hall name."""
        if not self.staff_pin_set:
            self._no_staff_pin()
        self.session.staff_mode = "service"
        staff = self.screens["staff"]
        if isinstance(staff, StaffScreen):
            staff.reset()
        self.show_screen("staff")

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
        now = self.monotonic()
        if now < self._pin_locked_until:
            return tr("pin_locked", self.lang)
        if not pins.verify_pin(pin, stored):
            log.warning("wrong staff PIN entered at kiosk %s", self.settings.device_id)
            self._pin_failures = [t for t in self._pin_failures if now - t < PIN_WINDOW_S]
            self._pin_failures.append(now)
            if len(self._pin_failures) >= PIN_MAX_FAILURES:
                # A citizen guessing the PIN for the green channel: stop and tell staff.
                self._pin_locked_until = now + PIN_LOCK_S
                self._pin_failures.clear()
                self.health.report(
                    "staff_pin",
                    "locked",
                    f"{PIN_MAX_FAILURES} wrong staff PINs; locked for "
                    f"{PIN_LOCK_S // 60:.0f} minutes",
                )
                return tr("pin_locked", self.lang)
            return tr("pin_wrong", self.lang)
        self._pin_failures.clear()
        if green:
            self.session.staff_reason = reason
            log.info("green channel (%s) confirmed by staff", reason)
            self.voice.say("green_channel")
            self.show_screen("guide" if self.session.item else "home")
        return None

    # ------------------------------------------------------------------ lifecycle

    def close_down(self) -> None:
        """Stop timers and the printer worker (devices and the link belong to the caller)."""
        for timer in (self.idle_timer, self.clock_timer, self.poll_timer):
            timer.stop()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        self.printing.close()
        self.voice.close()


def find_button(root: QWidget, name: str) -> QPushButton | None:
    """The visible button named ``name`` (tests, the demo driver)."""
    return root.findChild(QPushButton, name)


def find_label(root: QWidget, name: str) -> QLabel | None:
    return root.findChild(QLabel, name)

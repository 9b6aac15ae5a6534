"""The queue-ticket kiosk (取号机): one full-screen window from idle to printed ticket.

``KioskWindow`` draws the state of a :class:`kiosk.flow.KioskFlow` (the kiosk's rules,
plain Python) in the screens (``kiosk.screens``) and forwards to it what happens: taps,
the hall plane (the engine's retained catalogue and board, the answer to ``issue``),
the printer (``kiosk.printing``), the card readers and scanner (signals of
``window.bridge``, fed by ``kiosk.devices``).  Taps and programmatic calls take the
same path::

    window = KioskWindow(qtlink, settings, printer=open_printer("serial:...?profile=80mm"))
    window.resize(1080, 1920); window.show()
    window.take_ticket("gjj-query")          # == tapping the item, then 取号

Personal data lives only in ``window.session`` (the flow's) and is forgotten when the
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

from hall.core.clock import CHINA
from hall.ui.app import after_first_frame
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
from kiosk.catalog import Catalog, QueueLoad, parse_catalog
from kiosk.flow import PIN_LOCK_S, PIN_MAX_FAILURES, PIN_WINDOW_S, KioskFlow, StaffEntry
from kiosk.health import HealthBoard
from kiosk.printing import NO_PRINTER_ZH, PrintOutcome, PrintService
from kiosk.screens import SCREENS, Screen
from kiosk.screens.home import HomeScreen
from kiosk.screens.widgets import button, label
from kiosk.session import Session
from kiosk.settings import KioskSettings
from kiosk.texts import tr
from kiosk.theme import Theme
from kiosk.ticketing import IssuedTicket
from kiosk.voice import VoicePrompts

if TYPE_CHECKING:
    from drivers.printer import TicketPrinter
    from hall.ui.qtlink import QtLink
    from sync.mqtt import Message

from kiosk.devices import DeviceBridge

log = logging.getLogger(__name__)

__all__ = ["PIN_LOCK_S", "PIN_MAX_FAILURES", "PIN_WINDOW_S", "KioskWindow"]

ISSUE_TIMEOUT_S = 5.0
STAFF_HOLD_MS = 2000  # press and hold the hall name this long for the staff panel
ACTIVITY_EVENTS = frozenset(
    {
        QtCore.QEvent.Type.MouseButtonPress,
        QtCore.QEvent.Type.TouchBegin,
        QtCore.QEvent.Type.KeyPress,
    }
)


class _WindowClock:
    """The flow's clock: the window's wall clock and its (replaceable) monotonic time."""

    def __init__(self, window: KioskWindow) -> None:
        self._window = window

    def now(self) -> datetime:
        return self._window._clock()

    def monotonic(self) -> float:
        return self._window.monotonic()


class KioskWindow(QWidget):
    """The kiosk UI.

    ``link``: a :class:`hall.ui.qtlink.QtLink` to the hall broker (device role
    ``kiosk``), or None to run without the engine (previews; every ticket
    attempt then says the link is down).  ``settings``: :class:`KioskSettings`.
    ``printer``: a :class:`drivers.printer.TicketPrinter` or None (tickets are
    then shown on screen only and staff are alarmed); ``printer_coming``: one is
    configured and given a moment later (:meth:`attach_printer`).  ``voice``: prompts
    (default: silent).  ``health``: the staff health board (default: one
    writing ``settings.status_file``).  ``clock``: aware "now" (tests).
    ``catalog``: a catalogue payload to start with (previews, no link).

    The rules live in ``window.flow`` (:class:`kiosk.flow.KioskFlow`); the public
    methods here forward to it.
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
        printer_coming: bool = False,
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
        self.monotonic: Callable[[], float] = time.monotonic  # tests move it
        self.voice = voice or VoicePrompts(enabled=False)
        self.health = health or HealthBoard(
            self.settings.device_id, self.settings.status_file, now=self._clock
        )
        self.theme = Theme(elderly=self.settings.elderly_mode, portrait=True)

        self.bridge = DeviceBridge(self)
        self.printing = PrintService(printer, self.health, self, coming=printer_coming)
        self.flow = KioskFlow(
            self.settings,
            clock=_WindowClock(self),
            view=self,
            printer=self.printing,
            send_issue=self._send_issue if link is not None else None,
            say=self.voice.say,
            report=self.health.report,
            catalog=parse_catalog(catalog) if catalog else None,
            on_issued=self.ticket_issued.emit,
            on_finished=self.ticket_finished.emit,
        )
        # Devices and the printer worker signal from their threads: the window's slots
        # bring each signal to the GUI thread before the flow hears it.
        self.bridge.id_card.connect(self._on_id_card)
        self.bridge.citizen_card.connect(self._on_citizen_card)
        self.bridge.card_error.connect(self._on_card_error)
        self.bridge.scanned.connect(self._on_scanned)
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
        # while no catalogue came: the connecting screen counts the seconds
        self.connecting_timer = QTimer(self)
        self.connecting_timer.timeout.connect(self._tick_connecting)
        self.connecting_timer.start(1000)
        self.poll_timer = QTimer(self)
        self.poll_timer.timeout.connect(self.printing.poll)
        if printer is not None:
            self._poll_printer()

        self._apply_theme()
        self.show_screen("home")
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)
        if link is not None:
            self._attach_link(link)
        # what the first frame does not need waits for it: the printer's codec
        after_first_frame(self, self.printing.warm)

    # ------------------------------------------------------------------ the flow's state

    @property
    def session(self) -> Session:
        return self.flow.session

    @property
    def lang(self) -> str:
        return self.flow.lang

    @property
    def catalog(self) -> Catalog | None:
        return self.flow.catalog

    @property
    def loads(self) -> dict[str, QueueLoad]:
        return self.flow.loads

    @property
    def issuing(self) -> bool:
        return self.flow.issuing

    @property
    def link_up(self) -> bool:
        return self.flow.link_up

    @property
    def person_salt(self) -> bytes:
        return self.flow.person_salt

    @property
    def staff(self) -> StaffEntry:
        return self.flow.staff

    @property
    def staff_pin_set(self) -> bool:
        """False when this kiosk has no staff PIN: the staff panel is refused."""
        return self.flow.staff_pin_set

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
        self.hall_label = label("", "hall", wrap=True, name="hall-name")
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
        hall_name = ""
        if self.catalog:
            english = self.lang == "en" and self.catalog.hall_name_en
            hall_name = self.catalog.hall_name_en if english else self.catalog.hall_name
        self.hall_label.setText(hall_name or tr("welcome", self.lang).split("，")[0])
        self.lang_button.setText(tr("lang_toggle", self.lang))
        self.elderly_button.setText(
            tr("elderly_off" if self.theme.elderly else "elderly_on", self.lang)
        )
        self.back_button.setText(tr("back", self.lang))
        self.home_button.setText(tr("home", self.lang))
        self.idle_label.setText(tr("idle_hint", self.lang, s=int(self.settings.idle_timeout_s)))
        self.link_label.setText(tr("link_down", self.lang))
        self._show_link_state()
        self._show_elderly_button()
        self._tick_clock()

    def _show_link_state(self) -> None:
        self.link_label.setVisible(self.link is not None and self.flow.link_down_shown())

    def _show_elderly_button(self) -> None:
        # the first screen has its own, large 大字模式 button (once it has a catalogue)
        home = self.flow.screen in ("", "home") and self.catalog is not None
        self.elderly_button.setVisible(not home)

    def _poll_printer(self) -> None:
        if self.settings.printer_poll_s > 0:
            self.poll_timer.start(int(self.settings.printer_poll_s * 1000))

    def attach_printer(self, printer: TicketPrinter) -> None:
        """The printer of a window made ``printer_coming``; its codec loads at once (on
        the printer's thread)."""
        self.printing.attach(printer)
        self._poll_printer()
        self.printing.warm()

    def _tick_connecting(self) -> None:
        self._show_link_state()  # a start that never connects says so in time
        if self.catalog is not None:
            if self.link is None or self.flow.link_was_up:  # else: until the link came
                self.connecting_timer.stop()
        elif self.screen_name == "home":
            self.redraw()

    def connecting_s(self) -> float:
        """Seconds since the kiosk started waiting for the hall's catalogue."""
        return max(0.0, self.monotonic() - self.flow.started)

    def _tick_clock(self) -> None:
        now = self.now()
        if self.theme.portrait:  # narrow header: the time only
            self.clock_label.setText(f"{now:%H:%M}")
        elif self.lang == "en":
            self.clock_label.setText(f"{now:%a %d %b %H:%M}")
        else:
            week = "一二三四五六日"[now.weekday()]
            self.clock_label.setText(f"{now.month}月{now.day}日 周{week} {now:%H:%M}")

    # ------------------------------------------------------------------ View (for the flow)

    def draw_screen(self, name: str) -> None:
        previous = self.stack.currentWidget()
        screen = self.screens[name]
        screen.refresh()
        self.stack.setCurrentWidget(screen)
        if isinstance(previous, Screen) and previous is not screen:
            previous.clear()  # nothing personal stays in a hidden screen
        self.footer.setVisible(name != "home")
        self._show_elderly_button()
        self.back_button.setVisible(name not in ("ticket", "message"))
        self.home_button.setVisible(name not in ("ticket", "message"))
        self.screen_changed.emit(name)

    def redraw(self) -> None:
        self.screen_widget().refresh()

    def issuing_changed(self) -> None:
        self.screen_widget().issuing_changed()

    def restyle(self) -> None:
        theme = dataclasses.replace(self.theme, elderly=self.flow.elderly)
        if theme != self.theme:
            self.theme = theme
        self._apply_theme()

    def relabel(self) -> None:
        self._update_chrome()

    def loads_changed(self) -> None:
        home = self.screens["home"]
        if isinstance(home, HomeScreen):
            home.update_loads()

    def forget(self) -> None:
        for screen in self.screens.values():
            screen.clear()

    def arm_idle(self, seconds: float | None) -> None:
        if seconds is None:
            self.idle_timer.stop()  # already idle: nothing to forget
        else:
            self.idle_timer.start(int(seconds * 1000))

    # ------------------------------------------------------------------ context for screens

    def now(self) -> datetime:
        return self._clock()

    def printer_usable(self) -> bool:
        return self.flow.printer_usable()

    def printer_state(self) -> str:
        return self.flow.printer_state()

    def unprinted(self) -> list[IssuedTicket]:
        return self.flow.unprinted()

    @property
    def screen_name(self) -> str:
        current = self.stack.currentWidget()
        return current.name if isinstance(current, Screen) else ""

    def screen_widget(self, name: str | None = None) -> Screen:
        return self.screens[name or self.screen_name]

    # ------------------------------------------------------------------ navigation

    def show_screen(self, name: str) -> None:
        self.flow.show(name)

    def rerender(self) -> None:
        self.redraw()

    def open_category(self, queue_id: str) -> None:
        self.flow.open_category(queue_id)

    def open_item(self, item_id: str) -> None:
        self.flow.open_item(item_id)

    def go_back(self) -> None:
        self.flow.go_back()

    def go_home(self) -> None:
        """End the visit: forget the person, back to the first screen."""
        self.flow.go_home()

    @Slot()
    def go_idle(self) -> None:
        """Nobody touched the kiosk for a while: forget everything, reset language and mode."""
        self.flow.go_idle()

    # ------------------------------------------------------------------ toggles

    def toggle_language(self) -> None:
        self.flow.toggle_language()

    def set_language(self, lang: str) -> None:
        self.flow.set_language(lang)

    def toggle_elderly(self) -> None:
        self.flow.toggle_elderly()

    def set_elderly(self, on: bool) -> None:
        self.flow.set_elderly(on)

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
                self.flow.hall_name_pressed()
            elif kind == QtCore.QEvent.Type.MouseButtonRelease:
                self.flow.hall_name_released(STAFF_HOLD_MS / 1000)
        if (
            kind in ACTIVITY_EVENTS
            and isinstance(watched, QWidget)
            and (watched is self or self.isAncestorOf(watched))
        ):
            self.flow.touched()
        return False

    # ------------------------------------------------------------------ hall link

    def _attach_link(self, link: QtLink) -> None:
        from sync import topics

        hall = link.hall_id
        link.connection_changed.connect(self._on_link_changed)
        link.subscribe(topics.catalog(hall), self._on_catalog)
        link.subscribe(topics.board(hall), self._on_board)
        # Commands from the center, relayed by this device's sync agent.
        link.serve_control({"reprint": self.reprint_command})
        self._on_link_changed(link.connected)

    @Slot(bool)
    def _on_link_changed(self, up: bool) -> None:
        self.flow.link_changed(up)

    def _on_catalog(self, message: Message) -> None:
        self.flow.catalog_received(message.payload)

    def _on_board(self, message: Message) -> None:
        self.flow.board_received(message.payload)

    def _send_issue(self, command: dict[str, Any], answer: Callable[[bool, Any], None]) -> None:
        from sync import topics

        assert self.link is not None
        self.link.request(
            topics.command(self.link.hall_id, self.link.device_id),
            command,
            answer,
            timeout=ISSUE_TIMEOUT_S,
        )

    # ------------------------------------------------------------------ taking a ticket

    def take_ticket(self, item_id: str | None = None) -> None:
        """Take a ticket for ``item_id`` (default: the item on screen): the 取号 tap."""
        self.flow.take_ticket(item_id)

    def ask_identity(self, item_id: str) -> None:
        self.flow.ask_identity(item_id)

    @Slot(str, object, object)
    def _on_ticket_printed(self, ticket_id: str, outcome: PrintOutcome, _t: object) -> None:
        self.flow.ticket_printed(ticket_id, outcome)

    @Slot(object)
    def _on_guide_printed(self, outcome: PrintOutcome) -> None:
        self.flow.guide_printed(outcome)

    @Slot(object)
    def _on_printer_state(self, outcome: PrintOutcome) -> None:
        self.flow.printer_changed(outcome)

    def retry_print(self) -> None:
        """Print the ticket on screen again (after staff fixed the printer)."""
        self.flow.retry_print()

    def reprint(self, ticket_id: str) -> None:
        """Staff panel: reprint an unprinted ticket."""
        self.flow.reprint(ticket_id)

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

    def print_guide(self) -> None:
        self.flow.print_guide()

    # ------------------------------------------------------------------ refusals

    def refuse(self, code: str, data: dict[str, Any] | None = None, message_zh: str = "") -> None:
        self.flow.refuse(code, data, message_zh)

    def refusal_action(self, action: str) -> None:
        self.flow.refusal_action(action)

    # ------------------------------------------------------------------ identification

    @Slot(object)
    def _on_id_card(self, card: Any) -> None:
        self.flow.id_card(card)

    @Slot(object)
    def _on_citizen_card(self, card: Any) -> None:
        self.flow.citizen_card(card)

    @Slot(str, str)
    def _on_card_error(self, code: str, detail: str) -> None:
        self.flow.card_error(code, detail)

    @Slot(str)
    def _on_scanned(self, text: str) -> None:
        self.flow.scanned(text)

    # ------------------------------------------------------------------ staff

    def open_green_channel(self) -> None:
        self.flow.open_green_channel()

    def open_assisted(self) -> None:
        self.flow.open_assisted()

    def identify_way(self, kind: str) -> None:
        self.flow.identify_way(kind)

    def open_staff_panel(self) -> None:
        """Staff service (reprints, printer state): press and hold the hall name."""
        self.flow.open_staff_panel()

    def staff_choose(self, reason: str) -> None:
        self.flow.staff_choose(reason)

    def staff_key(self, key: str) -> None:
        self.flow.staff_key(key)

    def confirm_staff(self, reason: str | None, pin: str) -> str | None:
        """Check the staff PIN; None when accepted, else the message to show
        (see :meth:`kiosk.flow.KioskFlow.confirm_staff`)."""
        return self.flow.confirm_staff(reason, pin)

    # ------------------------------------------------------------------ lifecycle

    def close_down(self) -> None:
        """Stop timers and the printer worker (devices and the link belong to the caller)."""
        for timer in (self.idle_timer, self.clock_timer, self.poll_timer, self.connecting_timer):
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

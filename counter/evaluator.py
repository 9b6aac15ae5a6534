"""``EvaluatorWindow``: the five-level evaluator (评价器) at the window, touch and USB buttons.

Idle, it shows the clerk (photo, name, 工号) and today's ratings on this
device.  When the window's retained state shows a newly finished ticket that
this device has not rated, it asks "请对本次服务进行评价" with the five
standard levels (1 非常满意 … 5 非常不满意), as big buttons and from the USB
five-button device.  One press per prompt: further presses are ignored.  On
不满意 / 非常不满意 it may ask for reasons and a phone number for 回访
(masked on screen).  There is no default rating: when nobody presses, the
ticket is recorded as unrated.

Every rating is committed to the evaluator's own SQLite store before "谢谢"
shows, and a ``RatingSender`` delivers it to the engine until acknowledged.
With an engine that has cases (#14), each finished case is rated on its own
(channel ``evaluator``, its ``case_id``).  ``counter.tablet.TabletWindow`` is the
same app in touch mode (``hall evaluator --mode tablet``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from counter import fanout, paint, palette
from counter.evaluator_flow import PAGES, PHONE_MAX, EvaluatorFlow
from counter.keys import KeyBridge
from counter.rating_sender import RatingSender
from counter.ratings_store import Rating, RatingsStore
from counter.settings import CounterSettings
from counter.texts import RATING_ZH, WindowSide
from drivers.keys import Opener, open_input_device, rating_level
from hall.core.clock import Clock, SystemClock
from hall.ui.qt import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QObject,
    QPushButton,
    QStackedWidget,
    Qt,
    QTimer,
    QVBoxLayout,
    QWidget,
    Signal,
)
from hall.ui.qtlink import QtLink
from hall.ui.voice.announcer import Announcer
from sync import topics
from sync.mqtt import Message

log = logging.getLogger(__name__)

__all__ = ["PAGES", "PHONE_MAX", "EvaluatorWindow"]
LEVEL_COLOURS = palette.LEVEL_COLOURS
_E = palette.EVALUATOR

STYLE = f"""
QWidget {{ font-family: "WenQuanYi Micro Hei"; color: {_E["text"].text}; }}
EvaluatorWindow, QStackedWidget > QWidget {{ background: {_E["text"].ground}; }}
QLabel {{ font-size: 34px; }}
QLabel#big {{ font-size: 64px; font-weight: bold; }}
QLabel#name {{ font-size: 76px; font-weight: bold; }}
QLabel#muted {{ font-size: 34px; color: {_E["muted"].text}; }}
QLabel#summary {{ font-size: 40px; color: {_E["summary"].text}; }}
QLabel#error {{ font-size: 30px; color: {_E["error"].text}; }}
QLabel#phone {{ font-size: 44px; font-weight: bold; color: {_E["phone"].text};
               background: {_E["phone"].ground}; border-radius: 8px; padding: 6px; }}
QPushButton {{ font-size: 32px; border-radius: 12px; background: {_E["button"].ground};
              color: {_E["button"].text}; border: 2px solid {palette.EVAL_BORDER}; padding: 8px; }}
QPushButton:checked {{ background: {_E["button checked"].ground};
                      color: {_E["button checked"].text}; font-weight: bold; }}
QPushButton#submit {{ background: {_E["submit"].ground}; color: {_E["submit"].text};
                     font-weight: bold; border: none; }}
QPushButton#skip {{ background: {_E["skip"].ground}; color: {_E["skip"].text}; border: none; }}
"""


class _LoopClock:
    """The flow's clock in the app: wall time from the injected clock (ratings, stale
    finishes), monotonic time from the event loop's, which the page timer runs on."""

    def __init__(self, wall: Clock) -> None:
        self.wall = wall

    def now(self) -> datetime:
        return self.wall.now()

    def monotonic(self) -> float:
        return time.monotonic()


class _Relay(QObject):
    """Brings the sender thread's acknowledgements to the GUI thread."""

    acked = Signal(object, bool)


class EvaluatorWindow(WindowSide, QWidget):
    """Signals: ``page_changed(name)``, ``rating_recorded(Rating)`` (after the durable
    commit, before 谢谢), ``rating_acked(Rating, duplicate)``, ``state_applied(state)``."""

    page_changed = Signal(str)
    rating_recorded = Signal(object)
    rating_acked = Signal(object, bool)
    state_applied = Signal(object)

    def __init__(
        self,
        qtlink: QtLink | None,
        window_id: str,
        db_path: str | Path,
        *,
        settings: CounterSettings | None = None,
        clock: Clock | None = None,
        voice: Announcer | None = None,
        parent: QWidget | None = None,
        mode: str = "buttons",
    ) -> None:
        super().__init__(parent)
        self._attach(qtlink, window_id, settings)
        self.clock: Clock = clock or SystemClock()
        self.voice = voice
        self.store = RatingsStore(db_path)
        self.closed = False
        self.flow = EvaluatorFlow(
            window_id,
            self.store,
            settings=self.settings.evaluator,
            clock=_LoopClock(self.clock),
            mode=mode,
            send=self._notify_sender,
            speak=self._speak
            if voice is not None and self.settings.voice.evaluator_prompts
            else None,
            on_page=self._on_page,
            on_recorded=self.rating_recorded.emit,
        )
        self.keys = KeyBridge(self.settings.evaluator_keys, self)
        self.keys.action.connect(self._on_key_action)
        self._page_timer = QTimer(self)
        self._page_timer.setSingleShot(True)
        self._page_timer.timeout.connect(self._tick)
        self._relay = _Relay(self)
        self._relay.acked.connect(self._on_acked)
        self._build()
        self.setWindowTitle(f"{window_id}号窗口 评价器")
        self.sender: RatingSender | None = None
        self._unsubscribe: list[Callable[[], None]] = []
        if qtlink is not None:
            self.sender = RatingSender(
                self.store, qtlink.link, now=self._now_iso, on_acked=self._relay.acked.emit
            ).start()
            self._unsubscribe.append(
                fanout.subscribe(
                    qtlink, topics.window_state(qtlink.hall_id, window_id), self._on_state_message
                )
            )
        self._render_idle()

    def _now_iso(self) -> str:
        return self.clock.now().isoformat(timespec="seconds")

    # What the flow keeps, as the screen shows it.
    page = property(lambda self: self.flow.page)
    prompt_ticket = property(lambda self: self.flow.prompt_ticket)
    prompt_clerk = property(lambda self: self.flow.prompt_clerk)
    draft = property(lambda self: self.flow.draft)
    answered = property(lambda self: self.flow.answered)
    ignored_presses = property(lambda self: self.flow.ignored_presses)
    phone_digits = property(lambda self: self.flow.phone_digits)
    chosen_reasons = property(lambda self: list(self.flow.chosen_reasons))

    def _notify_sender(self) -> None:
        if self.sender is not None:
            self.sender.notify()

    def _speak(self, clip: str, text: str) -> None:
        assert self.voice is not None
        self.voice.say([clip], text=text)

    def _arm_timer(self) -> None:
        """The page timer, at the flow's time limit (restarted by typing a phone)."""
        left = self.flow.time_left()
        if left is None:
            self._page_timer.stop()
        else:
            self._page_timer.start(max(1, int(left * 1000 + 0.999)))

    def _tick(self) -> None:
        self.flow.tick()
        self._arm_timer()

    # ------------------------------------------------------------------ building

    def _build(self) -> None:
        self.setStyleSheet(STYLE)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.stack = QStackedWidget()
        outer.addWidget(self.stack)
        self.pages: dict[str, QWidget] = {}

        # idle: the clerk
        idle = QWidget()
        lay = QHBoxLayout(idle)
        lay.setContentsMargins(60, 40, 60, 40)
        lay.setSpacing(50)
        self.photo_label = QLabel()
        self.photo_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.photo_label.setFixedSize(300, 300)
        lay.addWidget(self.photo_label)
        col = QVBoxLayout()
        col.setSpacing(18)
        col.addStretch(1)
        self.idle_window = QLabel("")
        self.idle_window.setObjectName("muted")
        self.idle_name = QLabel("")
        self.idle_name.setObjectName("name")
        self.idle_staff = QLabel("")
        self.idle_staff.setObjectName("muted")
        self.idle_summary = QLabel("")
        self.idle_summary.setObjectName("summary")
        self.idle_hint = QLabel("欢迎您对我们的服务进行评价")
        for w in (
            self.idle_window,
            self.idle_name,
            self.idle_staff,
            self.idle_summary,
            self.idle_hint,
        ):
            w.setWordWrap(True)
            col.addWidget(w)
        col.addStretch(1)
        lay.addLayout(col, 1)
        self._add_page("idle", idle)

        # prompt: five levels
        prompt = QWidget()
        lay = QVBoxLayout(prompt)
        lay.setContentsMargins(40, 30, 40, 30)
        lay.setSpacing(20)
        self.prompt_title = QLabel("请对本次服务进行评价")
        self.prompt_title.setObjectName("big")
        self.prompt_title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.prompt_info = QLabel("")
        self.prompt_info.setObjectName("muted")
        self.prompt_info.setAlignment(Qt.AlignmentFlag.AlignCenter)
        lay.addWidget(self.prompt_title)
        lay.addWidget(self.prompt_info)
        row = QHBoxLayout()
        row.setSpacing(16)
        self.level_buttons: dict[int, QPushButton] = {}
        for level in range(1, 6):
            b = QPushButton(f"{level}\n{RATING_ZH[level]}")
            b.setObjectName(f"rate_{level}")
            b.setMinimumHeight(300)
            b.setStyleSheet(
                f"QPushButton {{ background: {_E[f'level {level}'].ground}; "
                f"color: {_E[f'level {level}'].text}; font-size: 40px; font-weight: bold; "
                "border: none; }"
            )
            b.clicked.connect(lambda _c=False, lv=level: self.rate(lv))
            self.level_buttons[level] = b
            row.addWidget(b)
        lay.addLayout(row, 1)
        self.prompt_note = QLabel("评价自愿，不评价将记为“未评价”")
        self.prompt_note.setObjectName("muted")
        self.prompt_note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        lay.addWidget(self.prompt_note)
        self._add_page("prompt", prompt)

        # reasons and phone for 回访
        reasons = QWidget()
        lay = QVBoxLayout(reasons)
        lay.setContentsMargins(30, 20, 30, 20)
        lay.setSpacing(12)
        head = QLabel("很抱歉！请告诉我们原因（可多选）")
        head.setStyleSheet("font-size: 40px; font-weight: bold;")
        lay.addWidget(head)
        body = QHBoxLayout()
        body.setSpacing(30)
        grid = self.reasons_grid = QGridLayout()
        grid.setSpacing(12)
        self.reason_buttons: list[QPushButton] = []
        for i, text in enumerate(self.settings.evaluator.reasons):
            b = QPushButton(text)
            b.setCheckable(True)
            b.setMinimumHeight(80)
            b.toggled.connect(lambda on, t=text: self.flow.choose_reason(t, on))
            grid.addWidget(b, i // 2, i % 2)
            self.reason_buttons.append(b)
        body.addLayout(grid, 11)
        phone = QVBoxLayout()
        phone.setSpacing(8)
        self.phone_title = QLabel("留下手机号，便于回访（可不填）")
        self.phone_title.setWordWrap(True)
        self.phone_label = QLabel("")
        self.phone_label.setObjectName("phone")
        self.phone_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.phone_label.setMinimumHeight(70)
        phone.addWidget(self.phone_title)
        phone.addWidget(self.phone_label)
        pad = QGridLayout()
        pad.setSpacing(8)
        keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "删除", "0", "清空"]
        for i, key in enumerate(keys):
            b = QPushButton(key)
            b.setObjectName(f"pad_{key}")
            b.setMinimumHeight(64)
            b.clicked.connect(lambda _c=False, k=key: self.phone_key(k))
            pad.addWidget(b, i // 3, i % 3)
        phone.addLayout(pad)
        self.phone_box = QWidget()
        self.phone_box.setLayout(phone)
        body.addWidget(self.phone_box, 9)
        lay.addLayout(body, 1)
        self.reasons_error = QLabel("")
        self.reasons_error.setObjectName("error")
        lay.addWidget(self.reasons_error)
        buttons = QHBoxLayout()
        self.skip_button = QPushButton("跳过")
        self.skip_button.setObjectName("skip")
        self.skip_button.setMinimumHeight(80)
        self.skip_button.clicked.connect(self.skip_reasons)
        self.submit_button = QPushButton("提交")
        self.submit_button.setObjectName("submit")
        self.submit_button.setMinimumHeight(80)
        self.submit_button.clicked.connect(self.submit_reasons)
        buttons.addWidget(self.skip_button, 1)
        buttons.addWidget(self.submit_button, 2)
        lay.addLayout(buttons)
        self._add_page("reasons", reasons)

        # thanks
        thanks = QWidget()
        lay = QVBoxLayout(thanks)
        self.thanks_title = QLabel("谢谢您的评价！")
        self.thanks_title.setStyleSheet(
            f"font-size: 96px; font-weight: bold; color: {_E['thanks'].text};"
        )
        self.thanks_title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thanks_info = QLabel("")
        self.thanks_info.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thanks_info.setStyleSheet("font-size: 40px;")
        self.thanks_info.setWordWrap(True)
        lay.addStretch(1)
        lay.addWidget(self.thanks_title)
        lay.addWidget(self.thanks_info)
        lay.addStretch(1)
        self._add_page("thanks", thanks)

    def _add_page(self, name: str, widget: QWidget) -> None:
        self.pages[name] = widget
        self.stack.addWidget(widget)

    def _on_page(self, page: str) -> None:
        """The flow entered ``page``: draw it, then tell (``page_changed``)."""
        self._arm_timer()
        if page == "reasons":
            ev = self.settings.evaluator
            for b in self.reason_buttons:
                b.setVisible(ev.ask_reasons)
            self.phone_box.setVisible(ev.ask_contact)
        self._draw()
        self.stack.setCurrentWidget(self.pages[page])
        self.page_changed.emit(page)

    def _draw(self) -> None:
        """The current page from the flow's state."""
        f = self.flow
        if f.page == "idle":
            self._render_idle()
        elif f.page == "prompt":
            self.prompt_info.setText(f.prompt_info)
        elif f.page == "reasons":
            for b in self.reason_buttons:
                b.setChecked(b.text() in f.chosen_reasons)
            self.phone_label.setText(f.phone_text)
            self.reasons_error.setText(f.reasons_error)
        elif f.page == "thanks":
            self.thanks_title.setText(f.thanks_title)
            self.thanks_info.setText(f.thanks_info)

    def _render_idle(self) -> None:
        view = self.flow.idle_view()
        m = self.flow.model
        self.idle_window.setText(view.window)
        self.idle_name.setText(view.name)
        self.idle_staff.setText(view.staff)
        self.idle_summary.setText(view.summary)
        if view.clerk:
            self.photo_label.setPixmap(
                paint.photo(m.photo, m.clerk_name, 280, self.settings.display.photo_dir)
            )
        else:
            self.photo_label.setPixmap(paint.avatar("评", 280))

    # ------------------------------------------------------------------ window state

    def _on_state_message(self, message: Message) -> None:
        if isinstance(message.payload, dict) and not self.closed:
            # A finish is news only to an evaluator that already had the window's
            # state: the first state it gets is judged like a retained one (stale or
            # not) also when it arrives live, as when the engine republishes its state
            # to a broker that lost it while this evaluator was starting.
            live = not message.retain and self.state is not None
            self.apply_state(message.payload, live=live)

    def apply_state(self, state: Mapping[str, Any], *, live: bool = True) -> None:
        was_idle = self.flow.page == "idle"  # the clerk shows also under a new prompt
        self.flow.apply_state(state, live=live)
        self.state, self.model = self.flow.state, self.flow.model
        if was_idle:
            self._render_idle()
        self.state_applied.emit(self.state)

    # ------------------------------------------------------------------ presses

    def prompt(self, finished: Mapping[str, Any]) -> None:
        """Ask for a rating of ``finished`` (a window state's ``last_finished``)."""
        self.flow.prompt(finished)

    def _on_key_action(self, action: str) -> None:
        level = rating_level(action)
        if level is not None:
            self.rate(level)

    def rate(self, level: int) -> None:
        """A press of level 1..5 (button or USB key); only the first per prompt counts."""
        self.flow.rate(level)

    def phone_key(self, key: str) -> None:
        self.flow.phone_key(key)
        self._arm_timer()  # still typing: keep the page
        self._draw()

    def submit_reasons(self, *, show_thanks: bool = True) -> None:
        """Keep the reasons and the phone (the level stays as pressed)."""
        self.flow.submit_reasons(show_thanks=show_thanks)
        self._draw()

    def skip_reasons(self) -> None:
        self.flow.skip_reasons()

    # ------------------------------------------------------------------ delivery, keys

    def _on_acked(self, rating: Rating, duplicate: bool) -> None:
        if self.closed:
            return
        self.rating_acked.emit(rating, duplicate)
        if self.flow.page == "idle":
            self._render_idle()

    def keys_from(self, spec: str, *, opener: Opener = open_input_device) -> None:
        """Read the USB five-button device (``/dev/input/by-id/...``)."""
        self.keys.open(spec, opener=opener)

    def shutdown(self) -> None:
        """Stop keys and delivery; a draft stays in the store and is sent at next start."""
        if self.closed:
            return
        self.closed = True
        for stop in self._unsubscribe:
            stop()
        self.keys.close()
        self._page_timer.stop()
        if self.sender is not None:
            self.sender.stop()
        self.store.close()

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
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from counter import fanout, paint
from counter.keys import KeyBridge
from counter.rating_sender import RatingSender
from counter.ratings_store import AlreadyRated, Rating, RatingsStore, RatingsStoreError
from counter.settings import CounterSettings
from counter.texts import RATING_ZH, WindowModel, empty_model, window_model
from drivers.keys import Opener, open_input_device, rating_level
from hall.core.clock import Clock, SystemClock
from hall.core.privacy import mask_phone
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

PAGES = ("idle", "prompt", "reasons", "thanks")
LEVEL_COLOURS = {1: "#15803d", 2: "#4d7c0f", 3: "#a16207", 4: "#c2410c", 5: "#b91c1c"}
PHONE_MAX = 12

STYLE = """
QWidget { font-family: "WenQuanYi Micro Hei"; color: #ffffff; }
EvaluatorWindow, QStackedWidget > QWidget { background: #0a2a5c; }
QLabel { font-size: 34px; }
QLabel#big { font-size: 64px; font-weight: bold; }
QLabel#name { font-size: 76px; font-weight: bold; }
QLabel#muted { font-size: 34px; color: #b8c7e6; }
QLabel#summary { font-size: 40px; color: #ffd21f; }
QLabel#error { font-size: 30px; color: #fecaca; }
QLabel#phone { font-size: 44px; font-weight: bold; color: #ffd21f; background: #061b3d;
               border-radius: 8px; padding: 6px; }
QPushButton { font-size: 32px; border-radius: 12px; background: #123a75; color: white;
              border: 2px solid #3b6bb5; padding: 8px; }
QPushButton:checked { background: #ffd21f; color: #0a2a5c; font-weight: bold; }
QPushButton#submit { background: #1f9d55; font-weight: bold; border: none; }
QPushButton#skip { background: #475569; border: none; }
"""


class _Relay(QObject):
    """Brings the sender thread's acknowledgements to the GUI thread."""

    acked = Signal(object, bool)


class EvaluatorWindow(QWidget):
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
    ) -> None:
        super().__init__(parent)
        self.qtlink = qtlink
        self.window_id = window_id
        self.settings = settings or CounterSettings()
        self.clock: Clock = clock or SystemClock()
        self.voice = voice
        self.store = RatingsStore(db_path)
        self.model: WindowModel = empty_model(window_id)
        self.state: dict[str, Any] | None = None
        self.closed = False
        self.page = "idle"
        self.prompt_ticket: dict[str, Any] | None = None
        self.prompt_clerk: str | None = None
        self.draft: Rating | None = None
        self.answered = False  # one rating per prompt (key storms, double taps)
        self.ignored_presses = 0
        self.phone_digits = ""
        self._skipped: set[str] = set()
        self.keys = KeyBridge(self.settings.evaluator_keys, self)
        self.keys.action.connect(self._on_key_action)
        ev = self.settings.evaluator
        self._prompt_timer = self._timer(ev.prompt_timeout_s, self._prompt_timed_out)
        self._reasons_timer = self._timer(ev.reasons_timeout_s, self.submit_reasons)
        self._thanks_timer = self._timer(ev.thanks_s, lambda: self._go("idle"))
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

    def _timer(self, seconds: float, slot: Any) -> QTimer:
        t = QTimer(self)
        t.setSingleShot(True)
        t.setInterval(max(1, int(seconds * 1000)))
        t.timeout.connect(slot)
        return t

    def _now_iso(self) -> str:
        return self.clock.now().isoformat(timespec="seconds")

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
                f"QPushButton {{ background: {LEVEL_COLOURS[level]}; "
                "font-size: 40px; font-weight: bold; border: none; }"
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
        grid = QGridLayout()
        grid.setSpacing(12)
        self.reason_buttons: list[QPushButton] = []
        for i, text in enumerate(self.settings.evaluator.reasons):
            b = QPushButton(text)
            b.setCheckable(True)
            b.setMinimumHeight(80)
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
        self.thanks_title.setStyleSheet("font-size: 96px; font-weight: bold; color: #ffd21f;")
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

    def _go(self, page: str) -> None:
        assert page in PAGES
        for t in (self._prompt_timer, self._reasons_timer, self._thanks_timer):
            t.stop()
        self.page = page
        if page == "idle":
            self.prompt_ticket = None
            self.draft = None
            self._render_idle()
        elif page == "prompt":
            self._prompt_timer.start()
        elif page == "reasons":
            self._reasons_timer.start()
        elif page == "thanks":
            self._thanks_timer.start()
        self.stack.setCurrentWidget(self.pages[page])
        self.page_changed.emit(page)

    def _render_idle(self) -> None:
        m = self.model
        self.idle_window.setText(f"{m.name}  {m.department}".strip())
        if m.clerk_name or m.staff_no:
            self.idle_name.setText(m.clerk_name)
            self.idle_staff.setText(f"工号 {m.staff_no}")
            self.photo_label.setPixmap(
                paint.photo(m.photo, m.clerk_name, 280, self.settings.display.photo_dir)
            )
            s = self.store.summary(self._clerk_id(), self.clock.now().date().isoformat())
            if s["count"]:
                pct = f" · 满意率 {s['satisfied_pct']}%" if s["satisfied_pct"] is not None else ""
                self.idle_summary.setText(f"今日评价 {s['count']} 次{pct}")
            else:
                self.idle_summary.setText("今日暂无评价")
        else:
            self.idle_name.setText("窗口暂未开放" if m.status == "closed" else "")
            self.idle_staff.setText("")
            self.idle_summary.setText("")
            self.photo_label.setPixmap(paint.avatar("评", 280))

    def _clerk_id(self) -> str | None:
        clerk = (self.state or {}).get("clerk")
        return str(clerk["id"]) if isinstance(clerk, dict) and clerk.get("id") else None

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
        self.state = dict(state)
        self.model = window_model(state)
        if self.page == "idle":
            self._render_idle()
        finished = state.get("last_finished")
        if isinstance(finished, dict) and finished.get("ticket_id"):
            self._consider(finished, live=live)
        self.state_applied.emit(self.state)

    def _consider(self, finished: Mapping[str, Any], *, live: bool) -> None:
        ticket_id = str(finished["ticket_id"])
        if self.prompt_ticket and self.prompt_ticket["ticket_id"] == ticket_id:
            return
        if ticket_id in self._skipped or self.store.has_ticket(ticket_id):
            return
        if not live and self._stale(finished):
            self._skipped.add(ticket_id)  # finished long before this evaluator started
            return
        self._close_current_prompt()
        self.prompt(finished)

    def _stale(self, finished: Mapping[str, Any]) -> bool:
        try:
            at = datetime.fromisoformat(str(finished.get("finished_at")))
            now = self.clock.now()
            if at.tzinfo is None:
                at = at.replace(tzinfo=now.tzinfo)
            return (now - at).total_seconds() > self.settings.evaluator.stale_after_s
        except (TypeError, ValueError):
            return True

    def _close_current_prompt(self) -> None:
        """A new citizen finished before the last one answered."""
        if self.page == "prompt" and not self.answered:
            self._record_unrated()
        elif self.page == "reasons":
            self.submit_reasons(show_thanks=False)

    # ------------------------------------------------------------------ rating

    def prompt(self, finished: Mapping[str, Any]) -> None:
        """Ask for a rating of ``finished`` (a window state's ``last_finished``)."""
        self.prompt_ticket = dict(finished)
        self.prompt_clerk = finished.get("clerk") or self._clerk_id()
        self.answered = False
        self.ignored_presses = 0
        m = self.model
        who = f"{m.clerk_name}（工号 {m.staff_no}）" if m.clerk_name else m.name
        self.prompt_info.setText(f"{finished.get('code', '')} 号 · {m.name} · {who}")
        self._go("prompt")
        if self.voice is not None and self.settings.voice.evaluator_prompts:
            self.voice.say(["please_rate"], text="请对本次服务进行评价")

    def _on_key_action(self, action: str) -> None:
        level = rating_level(action)
        if level is not None:
            self.rate(level)

    def rate(self, level: int) -> None:
        """A press of level 1..5 (button or USB key); only the first per prompt counts."""
        if self.page != "prompt" or self.answered or self.prompt_ticket is None:
            self.ignored_presses += 1
            log.debug("rating press %d ignored on page %s", level, self.page)
            return
        self.answered = True
        rating = self._rating(level)
        ask = level >= 4 and (
            self.settings.evaluator.ask_reasons or self.settings.evaluator.ask_contact
        )
        if not self._commit(rating, draft=ask):
            return
        if ask:
            self.draft = rating
            self._open_reasons()
        else:
            self._thanks(level)

    def _rating(self, level: int | None) -> Rating:
        assert self.prompt_ticket is not None
        return Rating(
            rating_id=str(uuid.uuid4()),
            ticket_id=str(self.prompt_ticket["ticket_id"]),
            window_id=self.window_id,
            level=level,
            rated_at=self._now_iso(),
            code=self.prompt_ticket.get("code"),
            clerk_id=self.prompt_clerk,
        )

    def _commit(self, rating: Rating, *, draft: bool = False) -> bool:
        """Durably store the rating; False (and an error on screen) if that failed."""
        try:
            self.store.record(rating, draft=draft)
        except AlreadyRated:
            log.info("ticket %s was rated on this device already", rating.ticket_id)
            self._go("idle")
            return False
        except RatingsStoreError as exc:
            log.error("%s", exc)
            self.thanks_title.setText("评价未能保存")
            self.thanks_info.setText(exc.user_message)
            self._go("thanks")
            return False
        log.info(
            "rating %s recorded: ticket %s level %s", rating.rating_id, rating.code, rating.level
        )
        self.rating_recorded.emit(rating)
        if not draft and self.sender is not None:
            self.sender.notify()
        return True

    def _record_unrated(self) -> None:
        if self.prompt_ticket is None:
            return
        self.answered = True
        self._commit(self._rating(None))

    def _prompt_timed_out(self) -> None:
        """Nobody pressed: recorded as unrated (never as a default level)."""
        if self.page == "prompt" and not self.answered:
            self._record_unrated()
            self._go("idle")

    def _thanks(self, level: int | None) -> None:
        self.thanks_title.setText("谢谢您的评价！")
        self.thanks_info.setText(f"您的评价：{RATING_ZH[level]}" if level else "")
        self._go("thanks")
        if self.voice is not None and self.settings.voice.evaluator_prompts:
            self.voice.say(["thanks"], text="谢谢您的评价")

    # ------------------------------------------------------------------ reasons, phone

    def _open_reasons(self) -> None:
        for b in self.reason_buttons:
            b.setChecked(False)
            b.setVisible(self.settings.evaluator.ask_reasons)
        self.phone_box.setVisible(self.settings.evaluator.ask_contact)
        self.phone_digits = ""
        self.reasons_error.setText("")
        self._render_phone()
        self._go("reasons")

    def phone_key(self, key: str) -> None:
        if key == "删除":
            self.phone_digits = self.phone_digits[:-1]
        elif key == "清空":
            self.phone_digits = ""
        elif key.isdigit() and len(self.phone_digits) < PHONE_MAX:
            self.phone_digits += key
        self.reasons_error.setText("")
        self._render_phone()
        if self.page == "reasons":
            self._reasons_timer.start()  # still typing: keep the page

    def _render_phone(self) -> None:
        d = self.phone_digits
        self.phone_label.setText(f"{mask_phone(d)}（{len(d)}位）" if d else "未填写")

    @property
    def chosen_reasons(self) -> list[str]:
        return [b.text() for b in self.reason_buttons if b.isChecked()]

    def submit_reasons(self, *, show_thanks: bool = True) -> None:
        """Keep the reasons and the phone (also on timeout: the level stays as pressed)."""
        if self.page != "reasons" or self.draft is None:
            return
        contact: str | None = self.phone_digits or None
        if contact and not 7 <= len(contact) <= PHONE_MAX:
            if show_thanks and self._reasons_timer.isActive():
                self.reasons_error.setText("号码位数不对，请检查或清空后提交")
                return
            contact = None  # timed out with half a number: keep the rating, drop the number
        self._finish_draft(self.chosen_reasons, contact, show_thanks=show_thanks)

    def skip_reasons(self) -> None:
        if self.page == "reasons" and self.draft is not None:
            self._finish_draft([], None, show_thanks=True)

    def _finish_draft(self, reasons: list[str], contact: str | None, *, show_thanks: bool) -> None:
        draft = self.draft
        assert draft is not None
        try:
            self.store.complete(draft.rating_id, reasons=reasons, contact=contact)
        except RatingsStoreError as exc:
            log.error("%s", exc)
        self.draft = None
        if self.sender is not None:
            self.sender.notify()
        log.info(
            "rating %s: %d reasons, contact %s",
            draft.rating_id,
            len(reasons),
            "given" if contact else "none",
        )
        if show_thanks:
            self._thanks(draft.level)

    # ------------------------------------------------------------------ delivery, keys

    def _on_acked(self, rating: Rating, duplicate: bool) -> None:
        if self.closed:
            return
        self.rating_acked.emit(rating, duplicate)
        if self.page == "idle":
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
        for t in (self._prompt_timer, self._reasons_timer, self._thanks_timer):
            t.stop()
        if self.sender is not None:
            self.sender.stop()
        self.store.close()

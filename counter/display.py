"""``WindowDisplay``: the screen above a window (a TV, or an LED strip).

It renders only from the engine's retained window state and the call
announcements, so a display that restarts shows the truth at once.  A new
call makes the number flash for a few seconds (a ``QTimer``).  Two layouts:

* ``tv`` (1920×1080, 1280×720 …): window, department, items, the clerk's
  photo, name, 工号 and 去向, status, the current number, waiting count.
* ``led`` (1280×160, 640×64 …): one or two lines of big red-on-black text.

``auto`` picks ``led`` for a strip wider than 4:1, else ``tv``.

The hall manager's notice (the window state's ``notice``, posted on hall web's
console) is shown until its ``until`` and goes when the field is null: on a TV
as an amber band under the window's name (the number stays in sight: a notice
lasts up to 8 hours), on a strip in place of the name line (one line: while no
number is called), scrolling when it does not fit at a readable size.  The
center's ``message`` (seconds to minutes) takes the whole body on a TV (nothing of
the clerk or the number peeks out round it), the last line on a strip.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from counter import fanout, paint
from counter.settings import CounterSettings
from counter.texts import (
    NOTICE_LABEL,
    Notice,
    StaffCard,
    WindowModel,
    comparable_now,
    empty_model,
    notice_of,
    staff_card,
    staff_directory,
    window_model,
)
from hall.ui.qt import QPainter, QPixmap, QRect, Qt, QtGui, QTimer, QWidget, Signal
from hall.ui.qtlink import QtLink
from hall.ui.voice.announcer import Announcer
from sync import topics
from sync.mqtt import Message

log = logging.getLogger(__name__)

FLASH_PERIOD_MS = 400
LAYOUTS = ("auto", "tv", "led")
MESSAGE_MAX_CHARS = 60
MESSAGE_DEFAULT_S = 30
MESSAGE_MAX_S = 600
SCROLL_PERIOD_MS = 40  # a notice too long for a strip moves by this often
MAX_TIMER_MS = 2**31 - 1


def message_args(args: Mapping[str, Any]) -> tuple[str, int]:
    """Check the center's ``message`` arguments: ``(text, seconds)`` or CommandError."""
    from sync.commands import CommandError

    text = args.get("text")
    if not isinstance(text, str) or not text.strip():
        raise CommandError("bad_request", "message needs a non-empty 'text'", "消息内容不能为空")
    text = " ".join(text.split())
    if len(text) > MESSAGE_MAX_CHARS:
        raise CommandError(
            "bad_request",
            f"message text has {len(text)} characters, at most {MESSAGE_MAX_CHARS}",
            f"消息内容不能超过{MESSAGE_MAX_CHARS}个字",
        )
    seconds = args.get("seconds", MESSAGE_DEFAULT_S)
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, int)
        or not 1 <= seconds <= MESSAGE_MAX_S
    ):
        raise CommandError(
            "bad_request",
            f"'seconds' must be an integer from 1 to {MESSAGE_MAX_S}, not {seconds!r:.20}",
            f"显示时长应为1至{MESSAGE_MAX_S}秒",
        )
    return text, seconds


def layout_for(width: int, height: int) -> str:
    return "led" if height > 0 and width / height > 4.0 else "tv"


class WindowDisplay(QWidget):
    """``state_applied(state)`` fires after a new window state is on screen."""

    state_applied = Signal(object)

    def __init__(
        self,
        qtlink: QtLink | None,
        window_id: str,
        layout: str = "auto",
        *,
        settings: CounterSettings | None = None,
        announcer: Announcer | None = None,
        now: Callable[[], datetime] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._now = now or (lambda: datetime.now().astimezone())
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, not {layout!r}")
        self.settings = settings or CounterSettings()
        self.window_id = window_id
        self.requested_layout = layout
        self.announcer = announcer
        self.model: WindowModel = empty_model(window_id)
        self.state: dict[str, Any] | None = None
        self.catalog: dict[str, Any] = {}  # the staff list: the 去向牌's office phone
        self.connected = False
        self._unsubscribe: list[Callable[[], None]] = []
        self._flash_on = True
        self._flash_ticks = 0
        self._frames: dict[tuple[int, bool, int, int], QPixmap] = {}  # see paintEvent
        self._frames_version = 0
        # Where the two frames of a flash differ (the number, or the LED's last line),
        # found while drawing them: a flash step repaints only that (see _flash_step).
        self._flash_area: QRect | None = None
        # Where the waiting count is drawn (the TV layout), found the same way: a state
        # that changes only the count (each call in a queue, for its other windows)
        # redraws only that into the frame on screen (see _show_waiting).
        self._waiting_area: QRect | None = None
        self._partial: QRect | None = None  # to redraw into the frame on screen
        self._flash = QTimer(self)
        self._flash.setInterval(FLASH_PERIOD_MS)
        self._flash.timeout.connect(self._flash_step)
        self._photo_cache: dict[tuple[str, int], QPixmap] = {}
        self.message: str | None = None  # a notice from the center, shown over the layout
        self._message_timer = QTimer(self)
        self._message_timer.setSingleShot(True)
        self._message_timer.timeout.connect(self.clear_message)
        self.notice: Notice | None = None  # the hall manager's, from the window state
        self.notice_px = 0  # the size its text was last drawn at
        self._notice_timer = QTimer(self)
        self._notice_timer.setSingleShot(True)
        self._notice_timer.timeout.connect(self._expire_notice)
        self.scroll_offset = 0  # px: a strip's notice line that does not fit moves left
        self._scroll = QTimer(self)
        self._scroll.setInterval(SCROLL_PERIOD_MS)
        self._scroll.timeout.connect(self._scroll_step)
        self.setWindowTitle(f"{window_id}号窗口 显示屏")
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.qtlink = qtlink
        if qtlink is not None:
            hall = qtlink.hall_id
            self._unsubscribe = [
                fanout.subscribe(
                    qtlink, topics.window_state(hall, window_id), self._on_state_message
                ),
                fanout.subscribe(
                    qtlink, topics.call(hall, window_id), self._on_call_message, replay=False
                ),
                fanout.subscribe(qtlink, topics.catalog(hall), self._on_catalog_message),
            ]
            qtlink.connection_changed.connect(self._on_connection)
            self.connected = qtlink.link.connected.is_set()
            # Commands from the center, relayed by this device's sync agent.
            qtlink.serve_control({"message": self.message_command})

    # ------------------------------------------------------------------ data in

    @property
    def layout_name(self) -> str:
        if self.requested_layout != "auto":
            return self.requested_layout
        if self.settings.display.layout != "auto":
            return self.settings.display.layout
        return layout_for(self.width(), self.height())

    @property
    def flashing(self) -> bool:
        return self._flash.isActive()

    def _on_state_message(self, message: Message) -> None:
        if isinstance(message.payload, dict):
            self.apply_state(message.payload, live=not message.retain)

    def _on_call_message(self, message: Message) -> None:
        call = message.payload
        if isinstance(call, dict) and str(call.get("window")) == self.window_id:
            self.on_call(call)

    def _on_catalog_message(self, message: Message) -> None:
        if isinstance(message.payload, dict):
            self.apply_catalog(message.payload)

    def apply_catalog(self, catalog: Mapping[str, Any]) -> None:
        """The hall's catalogue (its staff list gives the 去向牌 the office phone)."""
        self.catalog = dict(catalog)
        self.update()

    def _on_connection(self, up: bool) -> None:
        self.connected = up
        self.update()

    def apply_state(self, state: Mapping[str, Any], *, live: bool = True) -> None:
        """Show a window state (the engine's retained message)."""
        before = self.model
        only_waiting = _only_waiting_differs(self.state, state)
        self.state = dict(state)
        self.model = window_model(state)
        self._set_notice(notice_of(state, self._now()))
        m = self.model
        new_call = (
            live
            and m.code
            and m.called
            and ((m.code, m.call_count) != (before.code, before.call_count))
        )
        if new_call:
            self.start_flash()
        elif not m.called:
            self._stop_flash()
        if only_waiting:
            self._show_waiting()
        else:
            self.update()
        self.state_applied.emit(self.state)

    def _show_waiting(self) -> None:
        """Only the waiting count changed: redraw it into the frame on screen, not the
        whole frame (a 720p frame 1.2 ms of drawing and copying; the count a tenth)."""
        key = self._frame_key()
        area = self._waiting_area
        if area is None or key not in self._frames:
            self.update()
            return
        for other in [k for k in self._frames if k != key]:  # the flash's other phase
            del self._frames[other]
        self._partial = area if self._partial is None else self._partial.united(area)
        QWidget.update(self, area)

    def on_call(self, call: Mapping[str, Any]) -> None:
        """A call or recall for this window: flash, and say it if this display is the speaker."""
        self.start_flash()
        if self.announcer is not None:
            self.announcer.announce_call(
                str(call["code"]),
                self.window_id,
                recall=bool(call.get("recall")),
                key=(call.get("code"), call.get("window"), call.get("call_count"), call.get("at")),
                at=call.get("at"),
            )

    def message_command(self, args: dict[str, Any]) -> dict[str, Any]:
        """The center's ``message`` ({"text", "seconds"}); runs on the GUI thread."""
        text, seconds = message_args(args)
        self.show_message(text, seconds)
        return {"shown": True, "seconds": seconds}

    def show_message(self, text: str, seconds: float) -> None:
        """Show ``text`` prominently for ``seconds``, then the normal layout again."""
        self.message = text
        self._message_timer.start(int(seconds * 1000))
        self.update()

    def clear_message(self) -> None:
        self._message_timer.stop()
        self.message = None
        self.update()

    @property
    def notice_text(self) -> str | None:
        """The manager's notice on screen now, or None."""
        return self.notice.text if self.notice else None

    def _set_notice(self, notice: Notice | None) -> None:
        if notice == self.notice:
            return
        self.notice = notice
        self.scroll_offset = 0
        self._notice_timer.stop()
        if notice is not None:
            left = (notice.until - comparable_now(self._now(), notice.until)).total_seconds()
            self._notice_timer.start(min(MAX_TIMER_MS, max(0, int(left * 1000)) + 50))
        self.update()

    def _expire_notice(self) -> None:
        if self.notice is not None and self.notice.expired(self._now()):
            self._set_notice(None)
        elif self.notice is not None:  # the clock said otherwise: look again later
            notice, self.notice = self.notice, None
            self._set_notice(notice)

    def _scroll_step(self) -> None:
        self.scroll_offset += max(2, self.height() // 24)
        self.update()

    def start_flash(self) -> None:
        self._flash_ticks = max(1, int(self.settings.display.flash_s * 1000 / FLASH_PERIOD_MS))
        self._flash_on = False
        self._flash.start()
        self.update()

    def _flash_step(self) -> None:
        self._flash_ticks -= 1
        self._flash_on = not self._flash_on
        if self._flash_ticks <= 0:
            self._stop_flash()
        # The same two frames again, which differ only in the flashing area: the rest
        # of the screen is neither copied again nor sent to the screen (a flash step
        # copied 1280x720 pixels for a number a third of it).
        if self._flash_area is not None:  # with a margin for the text's smoothing
            QWidget.update(self, self._flash_area.adjusted(-2, -2, 2, 2))
        else:
            QWidget.update(self)

    def _stop_flash(self) -> None:
        self._flash.stop()
        self._flash_on = True

    def shutdown(self) -> None:
        for stop in self._unsubscribe:
            stop()
        self._flash.stop()
        self._message_timer.stop()
        self._notice_timer.stop()
        self._scroll.stop()
        if self.announcer is not None:
            self.announcer.clear()

    # ------------------------------------------------------------------ drawing

    def update(self, *area: Any) -> None:  # type: ignore[override]  # any of Qt's forms
        """Something shown changed: the frames drawn so far are stale."""
        self._frames_version += 1
        super().update(*area)

    def _frame_key(self) -> tuple[int, bool, int, int]:
        return (self._frames_version, self._flash_on, self.width(), self.height())

    def paintEvent(self, _event: object) -> None:
        # A frame is drawn once per change and flash phase (12 flash steps of a call show
        # two frames); each paint after that copies it.  A new waiting count is drawn
        # into the frame on screen, in its area only (_show_waiting).
        key = self._frame_key()
        frame = self._frames.get(key)
        partial, self._partial = self._partial, None
        if frame is not None and partial is not None:
            self._draw(frame, clip=partial)
        if frame is None:
            if partial is not None or any(k[0] != key[0] or k[2:] != key[2:] for k in self._frames):
                self._frames.clear()
            ratio = self.devicePixelRatioF()
            frame = QPixmap(
                max(1, round(self.width() * ratio)), max(1, round(self.height() * ratio))
            )
            frame.setDevicePixelRatio(ratio)
            self._draw(frame)
            self._frames[key] = frame
        p = QPainter(self)
        try:
            p.drawPixmap(0, 0, frame)
        finally:
            p.end()

    def _draw(self, device: QPixmap, clip: QRect | None = None) -> None:
        """Draw the layout into ``device``; with ``clip``, only what lies in it changes."""
        self._flash_area = None  # set by the layout when it draws a flashing area
        self._waiting_area = None  # set by the TV layout
        p = QPainter(device)
        if clip is not None:
            p.setClipRect(clip)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        try:
            if self.layout_name == "led":
                self._paint_led(p)
            else:
                self._paint_tv(p)
        finally:
            p.end()

    def _photo(self, size: int) -> QPixmap:
        m = self.model
        key = (f"{m.photo}|{m.clerk_name}", size)
        if key not in self._photo_cache:
            if len(self._photo_cache) > 8:
                self._photo_cache.clear()
            self._photo_cache[key] = paint.photo(
                m.photo, m.clerk_name, size, self.settings.display.photo_dir
            )
        return self._photo_cache[key]

    def _paint_tv(self, p: QPainter) -> None:
        m = self.model
        w, h = self.width(), self.height()
        s = h / 1080
        pad = int(32 * s)
        p.fillRect(self.rect(), paint.BG)

        # Top band: window name, department, status.
        top = QRect(0, 0, w, int(170 * s))
        p.fillRect(top, paint.BG_DARK)
        name_w = int(w * 0.36)
        paint.draw_text(
            p,
            QRect(pad, 0, name_w, top.height()),
            m.name,
            max_px=int(120 * s),
            bold=True,
            align=paint.ALIGN_LEFT,
        )
        paint.draw_text(
            p,
            QRect(pad + name_w, 0, int(w * 0.34), top.height()),
            m.department,
            colour=paint.NUMBER,
            max_px=int(84 * s),
            bold=True,
            align=paint.ALIGN_LEFT,
        )
        status_rect = QRect(int(w * 0.72), int(40 * s), w - int(w * 0.72) - pad, int(90 * s))
        paint.pill(
            p,
            status_rect,
            m.status_line,
            paint.STATUS_COLOURS.get(m.status, paint.PANEL),
            max_px=int(60 * s),
        )

        # The hall manager's notice: an amber band under it, the body a little lower.
        notice_h = int(150 * s) if self.notice else 0
        if self.notice:
            self.notice_px = paint.banner(
                p,
                QRect(0, top.bottom() + 1, w, notice_h),
                NOTICE_LABEL,
                self.notice.text,
                bg=paint.NOTICE_BG,
                fg=paint.NOTICE_TEXT,
                max_px=int(64 * s),
                pad=pad,
            )

        # The body: the clerk and the number; with no ticket, the window's 去向牌.
        body_top = top.bottom() + notice_h + pad
        body_h = int(h * 0.62) - notice_h
        body = QRect(pad, body_top, w - 2 * pad, body_h)
        if self.message:  # in place of the body, edge to edge: nothing of it peeks out
            top_y = top.bottom() + notice_h + 1
            self._paint_banner(p, QRect(0, top_y, w, body.bottom() + pad - top_y), s)
        elif self.shows_staff_card:
            self._paint_staff(p, body, s)
        else:
            self._paint_serving(p, body, s)

        # Bottom: items, waiting count.
        bottom = QRect(0, body.bottom() + pad, w, h - body.bottom() - pad)
        p.fillRect(bottom, paint.BG_DARK)
        items = "、".join(m.items) if m.items else "—"
        paint.draw_paragraph(
            p,
            QRect(pad, bottom.y(), int(w * 0.7) - pad, bottom.height()),
            f"办理事项：{items}",
            max_px=int(52 * s),
            min_px=max(8, int(20 * s)),
        )
        waiting = QRect(int(w * 0.72), bottom.y(), w - int(w * 0.72) - pad, bottom.height())
        paint.draw_text(
            p,
            waiting,
            f"等候 {m.waiting} 人",
            colour=paint.NUMBER,
            max_px=int(84 * s),
            bold=True,
            align=paint.ALIGN_RIGHT,
        )
        if not self.message:  # with the glyphs' overhang and smoothing (paint's margin)
            edge = paint.text_margin(int(84 * s))
            self._waiting_area = waiting.adjusted(-edge, -edge, edge, edge)
        if not self.connected and self.qtlink is not None:
            paint.draw_text(
                p,
                QRect(0, top.bottom() - int(40 * s), w, int(36 * s)),
                "网络连接中断，显示内容可能不是最新",
                colour=paint.NUMBER,
                max_px=int(30 * s),
            )

    def _paint_serving(self, p: QPainter, body: QRect, s: float) -> None:
        """Left: the clerk (photo, name, 工号, 去向); right: the number."""
        m = self.model
        pad = int(32 * s)
        w, body_top, body_h = self.width(), body.y(), body.height()
        left = QRect(body.x(), body_top, int(self.width() * 0.26), body_h)
        p.fillRect(left, paint.PANEL)
        photo_size = min(left.width() - 2 * pad, int(body_h * 0.5))
        photo_x = left.x() + (left.width() - photo_size) // 2
        if m.clerk_name or m.staff_no:
            pix = self._photo(photo_size)
            p.drawPixmap(photo_x + (photo_size - pix.width()) // 2, body_top + pad, pix)
            y = body_top + pad + photo_size + int(12 * s)
            line_h = int(76 * s)
            paint.draw_text(
                p,
                QRect(left.x(), y, left.width(), line_h),
                m.clerk_name,
                max_px=int(64 * s),
                bold=True,
            )
            paint.draw_text(
                p,
                QRect(left.x(), y + line_h, left.width(), int(56 * s)),
                m.staff_line,
                colour=paint.MUTED,
                max_px=int(46 * s),
            )
            if m.staff_status:
                pill_w = int(left.width() * 0.5)
                paint.pill(
                    p,
                    QRect(
                        left.x() + (left.width() - pill_w) // 2,
                        y + line_h + int(70 * s),
                        pill_w,
                        int(62 * s),
                    ),
                    m.staff_status,
                    paint.STAFF_COLOURS.get(m.staff_status, paint.PANEL),
                    max_px=int(44 * s),
                )
        else:
            paint.draw_text(
                p,
                left.adjusted(pad, pad, -pad, -pad),
                "暂无工作人员",
                colour=paint.MUTED,
                max_px=int(56 * s),
            )

        # Right: the number (flashing on a new call) and the sentence under it.
        right = QRect(left.right() + pad, body_top, w - left.right() - 2 * pad, body_h)
        if m.code and m.status != "closed":
            paint.draw_text(
                p,
                QRect(right.x(), right.y(), right.width(), int(70 * s)),
                m.number_label,
                colour=paint.TEXT if m.recalled else paint.MUTED,
                max_px=int(56 * s),
            )
            number_rect = QRect(
                right.x(), right.y() + int(70 * s), right.width(), int(body_h * 0.55)
            )
            self._flash_area = number_rect
            if self._flash_on:
                paint.draw_text(
                    p, number_rect, m.code, colour=paint.NUMBER, max_px=int(330 * s), bold=True
                )
            headline_rect = QRect(
                right.x(),
                number_rect.bottom(),
                right.width(),
                right.bottom() - number_rect.bottom(),
            )
        else:
            headline_rect = right
        paint.draw_text(p, headline_rect, m.headline, max_px=int(96 * s), bold=True, wrap=True)

    @property
    def staff_card(self) -> StaffCard:
        """This window's 去向牌 (the clerk, the department, the office phone, the status)."""
        return staff_card(self.state or {"window": self.window_id}, staff_directory(self.catalog))

    @property
    def shows_staff_card(self) -> bool:
        """With no ticket at the window and a clerk logged in, the screen is its 去向牌."""
        m = self.model
        return not m.code and m.status != "closed" and self.staff_card.present

    def _paint_staff(self, p: QPainter, body: QRect, s: float) -> None:
        """The 去向牌 across the body (photo, name, status, department, 工号, phone), the
        window's headline (空闲，请取号等候叫号 / 暂停服务：…) under it."""
        card = self.staff_card
        card_rect = QRect(body.x(), body.y(), body.width(), int(body.height() * 0.76))
        side = min(
            card_rect.height() - 2 * max(4, card_rect.height() // 14), card_rect.width() // 3
        )
        key = (f"silhouette|{card.photo}|{card.name}", side)
        if key not in self._photo_cache:
            if len(self._photo_cache) > 8:
                self._photo_cache.clear()
            self._photo_cache[key] = paint.photo(
                card.photo, card.name, side, self.settings.display.photo_dir,
                placeholder="silhouette",
            )  # fmt: skip
        paint.staff_card(p, card_rect, card, self._photo_cache[key], max_px=int(130 * s))
        paint.draw_text(
            p,
            QRect(
                body.x(), card_rect.bottom() + 1, body.width(), body.bottom() - card_rect.bottom()
            ),
            self.model.headline,
            max_px=int(80 * s),
            bold=True,
        )

    def _paint_banner(self, p: QPainter, band: QRect, s: float) -> None:
        """The center's message: a bright band over the whole body (the window's name and
        status above it, its items and waiting count below), dark edges against the
        notice's amber."""
        w = self.width()
        edge = max(2, int(10 * s))
        p.fillRect(band, paint.NUMBER)
        p.fillRect(QRect(0, band.y(), w, edge), paint.BG_DARK)
        p.fillRect(QRect(0, band.y() + band.height() - edge, w, edge), paint.BG_DARK)
        pad = int(48 * s)
        paint.draw_text(
            p,
            band.adjusted(pad, pad // 2, -pad, -pad // 2),
            self.message or "",
            colour=paint.BG_DARK,
            max_px=int(130 * s),
            bold=True,
            wrap=True,
        )

    def _paint_led(self, p: QPainter) -> None:
        w, h = self.width(), self.height()
        p.fillRect(self.rect(), Qt.GlobalColor.black)
        lines = self.led_lines()
        band = h // len(lines)
        margin = max(2, int(h * 0.04))
        scrolling = False
        for i, text in enumerate(lines):
            rect = QRect(margin, i * band + margin // 2, w - 2 * margin, band - margin)
            flashing_line = i == len(lines) - 1 and self.model.called and not self.message
            colour = paint.LED_RED if (self._flash_on or not flashing_line) else paint.LED_DIM
            if flashing_line:
                self._flash_area = rect
            if self.notice and text == self.notice.text and self._led_scrolls(text, rect):
                scrolling = True
                self._paint_scrolling(p, rect, text, colour)
                continue
            paint.draw_text(
                p, rect, text, colour=colour, max_px=int(band * 0.9), min_px=6, bold=True
            )
        if scrolling and not self._scroll.isActive():
            self._scroll.start()
        elif not scrolling and self._scroll.isActive():
            self._scroll.stop()

    def _led_scrolls(self, text: str, rect: QRect) -> bool:
        """Would ``text`` shrink below a readable size (¾ of the line) to fit the strip?"""
        fitted = paint.fitting_font(text, rect, max_px=int(rect.height() * 0.95), bold=True)
        return fitted.pixelSize() < 0.75 * rect.height()

    def _paint_scrolling(self, p: QPainter, rect: QRect, text: str, colour: Any) -> None:
        """A line too long for the strip, at full height, moving left and coming round."""
        f = paint.font(int(rect.height() * 0.9), bold=True)
        gap = rect.height() * 2
        span = QtGui.QFontMetrics(f).horizontalAdvance(text) + gap
        x = rect.x() + rect.width() // 3 - self.scroll_offset % span  # starts in sight
        p.save()
        p.setClipRect(rect)
        p.setFont(f)
        p.setPen(colour)
        flags = int(paint.ALIGN_LEFT)
        while x < rect.right():
            p.drawText(QRect(x, rect.y(), span, rect.height()), flags, text)
            x += span
        p.restore()

    def led_lines(self) -> tuple[str, ...]:
        count = 2 if self.height() >= 96 else 1
        lines = self.model.led_lines(count)
        if self.message:  # the center's message takes the last line
            return (*lines[:-1], self.message)
        if self.notice:  # the manager's notice: the name line; on one line, while no call
            if count == 2:
                return (self.notice.text, lines[1])
            if not self.model.called:
                return (self.notice.text,)
        return lines


# The parts of a window state a display does not draw, or draws as the waiting count.
_WAITING_KEYS = frozenset({"waiting", "waiting_codes", "updated_at"})


def _only_waiting_differs(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> bool:
    """Whether ``after`` changes nothing of ``before`` a display draws but the waiting
    count (a call at another window of the queue)."""
    if before is None or before.get("waiting") == after.get("waiting"):
        return False
    keys = (before.keys() | after.keys()) - _WAITING_KEYS
    return all(before.get(k) == after.get(k) for k in keys)

"""``HallBoard``: the big screen of the waiting area (大屏).

Shows the hall name and the clock, the latest call in big letters (flashing
when new) with the calls before it, the waiting per queue with an estimated
wait, the 去向牌 of the windows (clerk and where they are), and the hall's
notices one after another.  The right-hand panel takes turns: the waiting per
queue (``QUEUES_PAGE_S``), then the full 去向牌 (``STAFF_PAGE_S`` per page of six
windows: department, name, photo — a silhouette when the config's path has none —,
工号, office phone and 在岗 / 暂离 / 外出 / 学习 / 休假), so the calls on the left
stay where they are and as large.  The hall manager's notice (the board's ``notice``,
posted on hall web's console) is an amber banner under the header until its
``until``; the console's alerts (``alerts``, when the hall config shows them
on the board) a red line above the notices, one after another, and in turn with
them each device gone offline (its retained presence, the Last Will's
``offline``): 设备离线：3号窗口叫号器.  It renders
from the retained board, catalogue and window states plus the call
announcements, and, when the hall makes the board its speaker, says each call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from counter import fanout, paint
from counter.settings import CounterSettings
from counter.texts import (
    ALERTS_LABEL,
    NOTICE_LABEL,
    OFFLINE_LABEL,
    Notice,
    StaffCard,
    alerts_of,
    call_sentence,
    clock_text,
    device_name,
    device_window,
    notice_of,
    presence_of,
    staff_cards,
    wait_text,
    window_model,
)
from hall.ui.qt import QPainter, QPixmap, QRect, Qt, QTimer, QWidget, Signal
from hall.ui.qtlink import QtLink
from hall.ui.voice.announcer import Announcer
from sync import topics
from sync.mqtt import Message

log = logging.getLogger(__name__)

FLASH_PERIOD_MS = 400
QUEUES_PAGE_S = 12.0  # the right-hand panel: the waiting per queue this long ...
STAFF_PAGE_S = 8.0  # ... then each page of the 去向牌 this long
STAFF_PER_PAGE = 6  # 去向牌 cards on one page (2 columns, 3 rows)
MAX_OFFLINE = 64  # offline devices remembered (a hall has a few dozen)


class HallBoard(QWidget):
    """``board_applied(board)`` fires after a new board is on screen."""

    board_applied = Signal(object)
    call_shown = Signal(object)

    def __init__(
        self,
        qtlink: QtLink | None,
        *,
        settings: CounterSettings | None = None,
        announcer: Announcer | None = None,
        now: Callable[[], datetime] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings or CounterSettings()
        self.announcer = announcer
        self._now = now or (lambda: datetime.now().astimezone())
        self.hall_name = ""
        self.board: dict[str, Any] = {}
        self.window_names: dict[str, str] = {}
        self.windows: dict[str, dict[str, Any]] = {}
        self.notices: list[str] = []
        self.notice_index = 0
        self.manager_notice: Notice | None = None  # the board's "notice" (hall web)
        self.notice_px = 0  # the size its text was last drawn at
        self.alerts: tuple[str, ...] = ()  # the board's "alerts" (alerts.show_on_board)
        self.alert_index = 0
        self.latest: dict[str, Any] | None = None  # the last call (from the event or the board)
        self.catalog: dict[str, Any] = {}
        self.page = "queues"  # the right-hand panel: "queues" or "staff:N" (去向牌 page N)
        self._photos: dict[tuple[str, str, int], QPixmap] = {}
        self._pager = QTimer(self)
        self._pager.setSingleShot(True)
        self._pager.timeout.connect(self.next_page)
        self._pager.start(int(QUEUES_PAGE_S * 1000))
        self._unsubscribe: list[Callable[[], None]] = []
        self.offline: dict[str, str] = {}  # device -> role, of the devices gone offline
        self.connected = False
        self._flash_on = True
        self._flash_ticks = 0
        self._flash = QTimer(self)
        self._flash.setInterval(FLASH_PERIOD_MS)
        self._flash.timeout.connect(self._flash_step)
        self._clock = QTimer(self)
        self._clock.setInterval(1000)
        self._clock.timeout.connect(self.update)
        self._clock.start()
        self._rotate = QTimer(self)
        self._rotate.setInterval(max(1000, int(self.settings.board.notice_s * 1000)))
        self._rotate.timeout.connect(self.next_notice)
        self._rotate.start()
        self.setWindowTitle("大厅叫号大屏")
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.qtlink = qtlink
        if qtlink is not None:
            hall = qtlink.hall_id
            self._unsubscribe = [
                fanout.subscribe(qtlink, topics.board(hall), self._on_board_message),
                fanout.subscribe(qtlink, topics.catalog(hall), self._on_catalog_message),
                fanout.subscribe(
                    qtlink, topics.window_states_filter(hall), self._on_window_message
                ),
                fanout.subscribe(qtlink, topics.calls(hall), self._on_call_message, replay=False),
                fanout.subscribe(qtlink, topics.presence(hall, "+"), self._on_presence_message),
            ]
            qtlink.connection_changed.connect(self._on_connection)
            self.connected = qtlink.link.connected.is_set()

    # ------------------------------------------------------------------ data in

    def _on_connection(self, up: bool) -> None:
        self.connected = up
        self.update()

    def _on_board_message(self, message: Message) -> None:
        if isinstance(message.payload, dict):
            self.apply_board(message.payload)

    def _on_catalog_message(self, message: Message) -> None:
        if isinstance(message.payload, dict):
            self.apply_catalog(message.payload)

    def _on_window_message(self, message: Message) -> None:
        if isinstance(message.payload, dict):
            self.apply_window(message.payload)

    def _on_call_message(self, message: Message) -> None:
        if isinstance(message.payload, dict):
            self.on_call(message.payload)

    def _on_presence_message(self, message: Message) -> None:
        presence = presence_of(message.payload)
        if presence is None:
            log.warning("dropped a malformed presence message on %s", message.topic)
            return
        if self.qtlink is not None and presence[0] == self.qtlink.link.device_id:
            return  # this board itself: its own link line says so
        self.apply_presence(*presence)

    def apply_presence(self, device: str, role: str, online: bool) -> None:
        """A device's presence (retained; its Last Will says offline): the board names the
        offline ones on its red line, in turn with the console's alerts."""
        if online:
            self.offline.pop(device, None)
        elif device in self.offline or len(self.offline) < MAX_OFFLINE:
            self.offline[device] = role
        self.update()

    @property
    def offline_lines(self) -> tuple[str, ...]:
        """设备离线：3号窗口叫号器 — one line per offline device, in device order."""
        return tuple(
            f"{OFFLINE_LABEL}：{device_name(device, role, self.window_names)}"
            for device, role in sorted(self.offline.items())
        )

    @property
    def offline_windows(self) -> set[str]:
        """Windows with a device offline (its caller, display or evaluator)."""
        return {
            window
            for device, role in self.offline.items()
            if (window := device_window(device, role)) and window in self.windows
        }

    @property
    def shown_alerts(self) -> tuple[str, ...]:
        """The red line's turns: the console's alerts, then the offline devices."""
        return self.alerts + self.offline_lines

    def apply_catalog(self, catalog: Mapping[str, Any]) -> None:
        self.catalog = dict(catalog)
        self.hall_name = str(catalog.get("hall_name") or self.hall_name)
        for w in catalog.get("windows") or ():
            if isinstance(w, dict) and "id" in w:
                self.window_names[str(w["id"])] = str(w.get("name") or f"{w['id']}号窗口")
        if not self.notices:
            self._set_notices(catalog.get("notices") or [])
        self.update()

    def apply_board(self, board: Mapping[str, Any]) -> None:
        self.board = dict(board)
        self.hall_name = str(board.get("hall_name") or self.hall_name)
        self._set_notices(board.get("notices") or [])
        self.manager_notice = notice_of(board, self._now())
        alerts = alerts_of(board)
        if alerts != self.alerts:
            self.alerts, self.alert_index = alerts, 0
        recent = board.get("recent_calls") or []
        if self.latest is None and recent:
            self.latest = dict(recent[0])
        self.update()
        self.board_applied.emit(self.board)

    def apply_window(self, state: Mapping[str, Any]) -> None:
        window = str(state.get("window", ""))
        if window:
            self.windows[window] = dict(state)
            if state.get("name"):
                self.window_names.setdefault(window, str(state["name"]))
            self.update()

    def _set_notices(self, notices: list[Any]) -> None:
        fresh = [str(n) for n in notices if str(n).strip()]
        if fresh != self.notices:
            self.notices = fresh
            self.notice_index = 0

    def on_call(self, call: Mapping[str, Any]) -> None:
        self.latest = dict(call)
        if call.get("window_name"):
            self.window_names[str(call["window"])] = str(call["window_name"])
        self._flash_ticks = max(1, int(self.settings.display.flash_s * 1000 / FLASH_PERIOD_MS))
        self._flash_on = False
        self._flash.start()
        if self.announcer is not None:
            self.announcer.announce_call(
                str(call["code"]),
                str(call["window"]),
                recall=bool(call.get("recall")),
                key=(call.get("code"), call.get("window"), call.get("call_count"), call.get("at")),
                at=call.get("at"),
            )
        self.update()
        self.call_shown.emit(self.latest)

    @property
    def staff_cards(self) -> list[StaffCard]:
        """The 去向牌 of every window the board knows, in window order."""
        return staff_cards(self.windows, self.catalog, self.settings.board.windows_shown)

    @property
    def staff_pages(self) -> int:
        return (len(self.staff_cards) + STAFF_PER_PAGE - 1) // STAFF_PER_PAGE

    def next_page(self) -> None:
        """The right-hand panel's next page: queues, 去向牌 1, 去向牌 2 …, queues."""
        pages = ["queues", *(f"staff:{i}" for i in range(self.staff_pages))]
        index = pages.index(self.page) if self.page in pages else 0
        self.show_page(pages[(index + 1) % len(pages)])

    def show_page(self, page: str) -> None:
        self.page = page
        self._pager.start(int((QUEUES_PAGE_S if page == "queues" else STAFF_PAGE_S) * 1000))
        self.update()

    def next_notice(self) -> None:
        if self.notices:
            self.notice_index = (self.notice_index + 1) % len(self.notices)
        if self.shown_alerts:
            self.alert_index = (self.alert_index + 1) % len(self.shown_alerts)
        self.update()

    @property
    def notice_text(self) -> str | None:
        """The manager's notice on screen now (None: none, or it expired)."""
        n = self.manager_notice
        return n.text if n is not None and not n.expired(self._now()) else None

    @property
    def alert_line(self) -> str:
        """The alert on screen now: 提醒 (2/3)：… (one at a time, like the notices)."""
        alerts = self.shown_alerts
        if not alerts:
            return ""
        text = alerts[self.alert_index % len(alerts)]
        if len(alerts) == 1:
            return text
        return f"({self.alert_index % len(alerts) + 1}/{len(alerts)}) {text}"

    def _flash_step(self) -> None:
        self._flash_ticks -= 1
        self._flash_on = not self._flash_on
        if self._flash_ticks <= 0:
            self._flash.stop()
            self._flash_on = True
        self.update()

    @property
    def flashing(self) -> bool:
        return self._flash.isActive()

    def shutdown(self) -> None:
        for stop in self._unsubscribe:
            stop()
        for timer in (self._flash, self._clock, self._rotate, self._pager):
            timer.stop()
        if self.announcer is not None:
            self.announcer.clear()

    def window_name(self, window: str) -> str:
        return self.window_names.get(window) or f"{window}号窗口"

    @property
    def latest_sentence(self) -> str:
        if not self.latest:
            return ""
        return call_sentence(str(self.latest["code"]), self.window_name(str(self.latest["window"])))

    # ------------------------------------------------------------------ drawing

    def paintEvent(self, _event: object) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        try:
            self._paint(p)
        finally:
            p.end()

    def _paint(self, p: QPainter) -> None:
        w, h = self.width(), self.height()
        s = h / 1080
        pad = int(28 * s)
        p.fillRect(self.rect(), paint.BG)

        # Header: hall name, date and clock.
        header = QRect(0, 0, w, int(130 * s))
        p.fillRect(header, paint.BG_DARK)
        paint.draw_text(
            p,
            QRect(pad, 0, int(w * 0.6), header.height()),
            self.hall_name or "政务服务中心",
            max_px=int(76 * s),
            bold=True,
            align=paint.ALIGN_LEFT,
        )
        day, clock = clock_text(self._now())
        paint.draw_text(
            p,
            QRect(int(w * 0.62), int(8 * s), w - int(w * 0.62) - pad, int(52 * s)),
            day,
            colour=paint.MUTED,
            max_px=int(38 * s),
            align=paint.ALIGN_RIGHT,
        )
        paint.draw_text(
            p,
            QRect(int(w * 0.62), int(58 * s), w - int(w * 0.62) - pad, int(66 * s)),
            clock,
            max_px=int(60 * s),
            bold=True,
            align=paint.ALIGN_RIGHT,
        )

        # The hall manager's notice: an amber banner right under the header.
        manager_notice = self.notice_text
        banner_h = int(130 * s) if manager_notice else 0
        if manager_notice:
            self.notice_px = paint.banner(
                p,
                QRect(0, header.bottom() + 1, w, banner_h),
                NOTICE_LABEL,
                manager_notice,
                bg=paint.NOTICE_BG,
                fg=paint.NOTICE_TEXT,
                max_px=int(68 * s),
                pad=pad,
            )
        body_top = header.bottom() + banner_h + pad
        strip_h = int(150 * s)
        notice_h = int(96 * s)
        alert_h = int(84 * s) if self.shown_alerts else 0
        body_h = h - body_top - strip_h - notice_h - alert_h - 2 * pad
        left = QRect(pad, body_top, int(w * 0.55) - pad, body_h)
        right = QRect(left.right() + pad, body_top, w - left.right() - 2 * pad, body_h)
        self._paint_calls(p, left, s)
        page = int(self.page.partition(":")[2] or 0) if self.page.startswith("staff") else -1
        cards = self.staff_cards[page * STAFF_PER_PAGE : (page + 1) * STAFF_PER_PAGE]
        if page >= 0 and cards:
            self._paint_staff(p, right, s, cards, page)
        else:
            self._paint_queues(p, right, s)
        self._paint_windows(p, QRect(pad, left.bottom() + pad, w - 2 * pad, strip_h), s)
        if alert_h:
            paint.banner(
                p,
                QRect(0, h - notice_h - alert_h, w, alert_h),
                ALERTS_LABEL,
                self.alert_line,
                bg=paint.ALERT_BG,
                fg=paint.ALERT_TEXT,
                max_px=int(46 * s),
                pad=pad,
            )
        notice = QRect(0, h - notice_h, w, notice_h)
        p.fillRect(notice, paint.BG_DARK)
        text = self.notices[self.notice_index] if self.notices else ""
        if text:
            paint.draw_text(
                p,
                notice.adjusted(pad, 0, -pad, 0),
                f"通知：{text}",
                colour=paint.NUMBER,
                max_px=int(50 * s),
                align=paint.ALIGN_LEFT,
            )
        if not self.connected and self.qtlink is not None:
            paint.draw_text(
                p,
                QRect(0, header.bottom() - int(34 * s), w, int(30 * s)),
                "网络连接中断，显示内容可能不是最新",
                colour=paint.NUMBER,
                max_px=int(26 * s),
            )

    def _paint_calls(self, p: QPainter, r: QRect, s: float) -> None:
        p.fillRect(r, paint.PANEL)
        pad = int(20 * s)
        title = QRect(r.x() + pad, r.y(), r.width() - 2 * pad, int(80 * s))
        paint.draw_text(
            p,
            title,
            "正在呼叫",
            colour=paint.MUTED,
            max_px=int(50 * s),
            bold=True,
            align=paint.ALIGN_LEFT,
        )
        big = QRect(r.x() + pad, title.bottom(), r.width() - 2 * pad, int(r.height() * 0.34))
        sentence = QRect(r.x() + pad, big.bottom(), r.width() - 2 * pad, int(r.height() * 0.14))
        if self.latest:
            if self._flash_on:
                paint.draw_text(
                    p,
                    big,
                    str(self.latest["code"]),
                    colour=paint.NUMBER,
                    max_px=int(300 * s),
                    bold=True,
                )
            paint.draw_text(p, sentence, self.latest_sentence, max_px=int(72 * s), bold=True)
        else:
            paint.draw_text(p, big, "请留意叫号", colour=paint.MUTED, max_px=int(110 * s))
        # The calls before the latest one: code → window, two columns.
        calls = [
            c
            for c in (self.board.get("recent_calls") or [])
            if not self.latest
            or (c.get("code"), str(c.get("window")))
            != (self.latest.get("code"), str(self.latest.get("window")))
        ]
        list_top = sentence.bottom() + pad
        # rows of a readable height only (a notice banner leaves less room): fewer calls
        rows = max(0, min(3, (r.bottom() - list_top - pad) // max(1, int(64 * s))))
        calls = calls[: 2 * rows]
        row_h = int((r.bottom() - list_top - pad) / 3) if rows == 3 else int(64 * s)
        col_w = (r.width() - 3 * pad) // 2
        for i, c in enumerate(calls):
            col, row = divmod(i, max(1, rows))
            cell = QRect(
                r.x() + pad + col * (col_w + pad), list_top + row * row_h, col_w, row_h - int(8 * s)
            )
            p.fillRect(cell, paint.BG_DARK)
            half = int(cell.width() * 0.42)
            paint.draw_text(
                p,
                QRect(cell.x() + pad, cell.y(), half, cell.height()),
                str(c.get("code", "")),
                colour=paint.NUMBER,
                max_px=int(60 * s),
                bold=True,
                align=paint.ALIGN_LEFT,
            )
            paint.draw_text(
                p,
                QRect(cell.x() + half, cell.y(), cell.width() - half - pad, cell.height()),
                self.window_name(str(c.get("window", ""))),
                max_px=int(52 * s),
                align=paint.ALIGN_RIGHT,
            )

    def _paint_queues(self, p: QPainter, r: QRect, s: float) -> None:
        p.fillRect(r, paint.PANEL)
        pad = int(20 * s)
        title = QRect(r.x() + pad, r.y(), r.width() - 2 * pad, int(80 * s))
        paint.draw_text(
            p,
            title,
            "等候情况",
            colour=paint.MUTED,
            max_px=int(50 * s),
            bold=True,
            align=paint.ALIGN_LEFT,
        )
        queues = list(self.board.get("queues") or [])
        head_h = int(60 * s)
        cols = (0.40, 0.25, 0.35)  # 业务 | 等候 | 预计等候
        x0, width = r.x() + pad, r.width() - 2 * pad
        xs = [x0, x0 + int(width * cols[0]), x0 + int(width * (cols[0] + cols[1]))]
        ws = [int(width * c) for c in cols]
        for x, cw, label in zip(xs, ws, ("业务", "等候人数", "预计等候"), strict=True):
            paint.draw_text(
                p,
                QRect(x, title.bottom(), cw, head_h),
                label,
                colour=paint.MUTED,
                max_px=int(40 * s),
                align=paint.ALIGN_LEFT,
            )
        rows_top = title.bottom() + head_h
        n = max(4, len(queues))
        row_h = min(int(110 * s), (r.bottom() - rows_top - pad) // n)
        for i, q in enumerate(queues):
            y = rows_top + i * row_h
            if i % 2 == 0:
                p.fillRect(QRect(r.x() + pad // 2, y, r.width() - pad, row_h), paint.BG_DARK)
            name = f"{q.get('prefix', '')} {q.get('name', '')}".strip()
            cells = (name, f"{q.get('waiting', 0)} 人", wait_text(q.get("est_wait_min")))
            colours = (paint.TEXT, paint.NUMBER, paint.TEXT)
            for x, cw, text, colour in zip(xs, ws, cells, colours, strict=True):
                paint.draw_text(
                    p,
                    QRect(x, y, cw - int(10 * s), row_h),
                    text,
                    colour=colour,
                    max_px=int(54 * s),
                    bold=colour is paint.NUMBER,
                    align=paint.ALIGN_LEFT,
                )

    def _photo(self, card: StaffCard, size: int) -> QPixmap:
        key = (card.photo, card.name, size)
        if key not in self._photos:
            if len(self._photos) > 4 * STAFF_PER_PAGE:
                self._photos.clear()
            path = card.photo if card.present else ""
            self._photos[key] = paint.photo(
                path, card.name, size, self.settings.display.photo_dir, placeholder="silhouette"
            )
        return self._photos[key]

    def _paint_staff(
        self, p: QPainter, r: QRect, s: float, cards: list[StaffCard], page: int
    ) -> None:
        """去向牌: six windows a page, two columns of cards."""
        p.fillRect(r, paint.PANEL)
        pad = int(20 * s)
        pages = self.staff_pages
        title = "工作人员去向" + (f"（{page + 1}/{pages}）" if pages > 1 else "")
        title_rect = QRect(r.x() + pad, r.y(), r.width() - 2 * pad, int(80 * s))
        paint.draw_text(
            p, title_rect, title, colour=paint.MUTED, max_px=int(50 * s), bold=True,
            align=paint.ALIGN_LEFT,
        )  # fmt: skip
        grid = QRect(
            r.x() + pad,
            title_rect.bottom(),
            r.width() - 2 * pad,
            r.bottom() - title_rect.bottom() - pad,
        )
        cols = 2 if len(cards) > 1 else 1
        rows = max(1, (len(cards) + cols - 1) // cols)
        rows_shown = max(rows, 3)  # cards keep their size on a page with fewer
        gap = int(14 * s)
        cell_w = (grid.width() - gap * (cols - 1)) // cols
        cell_h = min(int(200 * s), (grid.height() - gap * (rows_shown - 1)) // rows_shown)
        for i, card in enumerate(cards):
            row, col = divmod(i, cols)
            cell = QRect(grid.x() + col * (cell_w + gap), grid.y() + row * (cell_h + gap), cell_w,
                         cell_h)  # fmt: skip
            p.fillRect(cell, paint.BG_DARK)
            side = min(cell.height() - 2 * max(4, cell.height() // 14), cell.width() // 3)
            paint.staff_card(
                p, cell, card, self._photo(card, side), max_px=int(52 * s), bg=paint.BG_DARK
            )

    def _paint_windows(self, p: QPainter, r: QRect, s: float) -> None:
        """去向牌: each window's clerk and where they are."""
        ids = sorted(self.windows, key=lambda k: (len(k), k))[: self.settings.board.windows_shown]
        if not ids:
            return
        gap = int(14 * s)
        per_row = min(len(ids), 6)
        rows = (len(ids) + per_row - 1) // per_row
        cell_w = (r.width() - gap * (per_row - 1)) // per_row
        cell_h = (r.height() - gap * (rows - 1)) // rows
        offline = self.offline_windows
        for i, window in enumerate(ids):
            m = window_model(self.windows[window])
            row, col = divmod(i, per_row)
            cell = QRect(r.x() + col * (cell_w + gap), r.y() + row * (cell_h + gap), cell_w, cell_h)
            p.fillRect(cell, paint.PANEL)
            half = cell.height() // 2
            paint.draw_text(
                p,
                QRect(cell.x() + gap, cell.y(), cell.width() - 2 * gap, half),
                f"{m.name} {m.clerk_name}".strip(),
                max_px=int(40 * s),
                bold=True,
                align=paint.ALIGN_LEFT,
            )
            status = m.staff_status or m.status_text
            colour = paint.STAFF_COLOURS.get(
                m.staff_status, paint.STATUS_COLOURS.get(m.status, paint.PANEL)
            )
            if window in offline:  # its caller or screen is down: say so, not 在岗
                status, colour = "离线", paint.ALERT_BG
            pill_w = int(cell.width() * 0.42)
            paint.pill(
                p,
                QRect(cell.x() + gap, cell.y() + half + int(4 * s), pill_w, half - int(12 * s)),
                status,
                colour,
                max_px=int(32 * s),
            )
            if m.code and m.status != "closed":
                paint.draw_text(
                    p,
                    QRect(
                        cell.x() + pill_w + 2 * gap,
                        cell.y() + half,
                        cell.width() - pill_w - 3 * gap,
                        half,
                    ),
                    m.code,
                    colour=paint.NUMBER,
                    max_px=int(40 * s),
                    bold=True,
                    align=paint.ALIGN_RIGHT,
                )

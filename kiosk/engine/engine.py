"""The hall queue engine: the one authority on tickets, windows and calls.

Plain Python over SQLite, with an injected clock and no Qt or network.  Every
public method is one ``BEGIN IMMEDIATE`` transaction that changes state and
writes its outbox event together, under a lock: "call next" is atomic, a
number is never handed out twice, and a refused command (``EngineError``)
changes nothing.
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
import threading
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from hall.core import pins
from hall.core.clock import Clock, SystemClock
from hall.core.db import from_row, transaction
from kiosk.engine.config import HallConfig, Queue, Window
from kiosk.engine.errors import EngineError
from kiosk.engine.hours import issue_window
from kiosk.engine.store import Checkpointer, open_db
from sync import health as sync_health
from sync import outbox

log = logging.getLogger(__name__)

PRIORITY_REASONS = {
    "elderly": "老年人",
    "disabled": "残疾人",
    "pregnant": "孕妇",
    "military": "军人",
    "appointment": "预约",
}
GREEN_REASONS = frozenset({"elderly", "disabled", "pregnant", "military"})
OPEN_STATUSES = ("waiting", "called", "serving")
STAFF_STATUSES = ("在岗", "暂离", "外出", "学习", "休假")  # 工作人员去向牌


@dataclass(frozen=True)
class Ticket:
    id: str
    code: str
    queue_id: str
    item_id: str | None
    status: str
    priority: str
    priority_reason: str | None
    issued_at: str
    business_date: str
    window_id: str | None
    clerk_id: str | None
    call_count: int
    called_at: str | None
    started_at: str | None
    finished_at: str | None
    masked_name: str | None
    target_window: str | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Ticket:
        return from_row(cls, row)

    def public(self) -> dict[str, Any]:
        """What may leave the engine: no person key, the name only masked."""
        return {
            "id": self.id,
            "code": self.code,
            "queue": self.queue_id,
            "item": self.item_id,
            "status": self.status,
            "priority": self.priority,
            "priority_reason": self.priority_reason,
            "issued_at": self.issued_at,
            "window": self.window_id,
            "call_count": self.call_count,
            "masked_name": self.masked_name,
        }


@dataclass(frozen=True)
class Issued:
    ticket: Ticket
    ahead: int
    est_wait_min: int


@dataclass(frozen=True)
class CallResult:
    ticket: Ticket | None
    window_id: str
    recall: bool = False
    auto_no_show: bool = False
    finished: Ticket | None = None  # a serving ticket closed by "call next"


@dataclass
class _WindowMemo:
    last_call_mono: float | None = None
    last_active_mono: float | None = None  # the clerk's last command (idle logout)
    extra: dict[str, Any] = field(default_factory=dict)


class QueueEngine:
    def __init__(
        self,
        config: HallConfig,
        db_path: str | Path,
        *,
        clock: Clock | None = None,
    ) -> None:
        self.config = config
        self.clock: Clock = clock or SystemClock()
        self.conn = open_db(db_path)
        self._checkpointer = Checkpointer(db_path).start()
        self._lock = threading.RLock()
        self._memo: dict[str, _WindowMemo] = {}
        with transaction(self.conn):
            for w in config.windows:
                self.conn.execute(
                    "INSERT OR IGNORE INTO windows (window_id, status, priority_streak) "
                    "VALUES (?, 'closed', 0)",
                    (w.id,),
                )

    # ------------------------------------------------------------------ helpers

    @property
    def lock(self) -> threading.RLock:
        """Held during every change: a reader holding it sees only committed state."""
        return self._lock

    def close(self) -> None:
        self._checkpointer.stop()
        try:
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as exc:  # another process holds the database; WAL stays valid
            log.info("final checkpoint skipped: %s", exc)
        self.conn.close()

    def reconfigure(self, config: HallConfig) -> None:
        """Apply a new hall config atomically (between two commands)."""
        with self._lock, transaction(self.conn):
            for w in config.windows:
                self.conn.execute(
                    "INSERT OR IGNORE INTO windows (window_id, status, priority_streak) "
                    "VALUES (?, 'closed', 0)",
                    (w.id,),
                )
            self.config = config

    def _now(self) -> datetime:
        return self.clock.now()

    def business_date(self) -> str:
        """Today's business date; never goes backwards, even if the clock does."""
        today = self._now().date().isoformat()
        row = self.conn.execute("SELECT value FROM meta WHERE key='business_date'").fetchone()
        if row and row[0] > today:
            return str(row[0])
        return today

    def _set_business_date(self, day: str) -> None:
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES ('business_date', ?) "
            "ON CONFLICT(key) DO UPDATE SET value=excluded.value WHERE excluded.value > value",
            (day,),
        )

    def _queue(self, queue_id: str) -> Queue:
        try:
            return self.config.queue(queue_id)
        except KeyError:
            raise EngineError("unknown_queue", f"no queue {queue_id!r}", queue=queue_id) from None

    def _window(self, window_id: str) -> Window:
        try:
            return self.config.window(window_id)
        except KeyError:
            raise EngineError(
                "unknown_window", f"no window {window_id!r}", window=window_id
            ) from None

    def _ticket_by_id(self, ticket_id: str) -> sqlite3.Row | None:
        return self.conn.execute(  # type: ignore[no-any-return]
            "SELECT * FROM tickets WHERE id=?", (ticket_id,)
        ).fetchone()

    def _window_row(self, window_id: str) -> sqlite3.Row:
        self._window(window_id)
        row = self.conn.execute("SELECT * FROM windows WHERE window_id=?", (window_id,)).fetchone()
        assert row is not None
        return row  # type: ignore[no-any-return]

    def _event(self, kind: str, payload: dict[str, Any]) -> None:
        outbox.put(self.conn, kind, self._now().isoformat(timespec="seconds"), payload)

    def _next_sort_key(self) -> float:
        row = self.conn.execute("SELECT max(sort_key) FROM tickets").fetchone()
        return float(row[0] or 0) + 1.0

    # ------------------------------------------------------------------ issuing

    def issue(
        self,
        *,
        queue_id: str | None = None,
        item_id: str | None = None,
        person_key: str | None = None,
        masked_name: str | None = None,
        priority_reason: str | None = None,
        appointment_start: datetime | None = None,
        appointment_end: datetime | None = None,
    ) -> Issued:
        """Issue a ticket for an item (or a whole queue).  Durable before it returns."""
        item = None
        if item_id is not None:
            try:
                item = self.config.item(item_id)
            except KeyError:
                raise EngineError("unknown_item", f"no item {item_id!r}", item=item_id) from None
            queue_id = item.queue
        if queue_id is None:
            raise EngineError("bad_request", "issue needs an item or a queue")
        queue = self._queue(queue_id)
        if priority_reason is not None and priority_reason not in PRIORITY_REASONS:
            raise EngineError(
                "bad_request",
                f"unknown priority reason {priority_reason!r}",
                reason=priority_reason,
            )
        requires_id = self.config.limits.id_required_for_all or (
            item is not None and item.requires_id
        )
        if requires_id and not person_key:
            raise EngineError("id_required", "this item requires an identity card", item=item_id)
        now = self._now()
        window = issue_window(self.config.hours, now)
        if not window.allowed:
            code = (
                window.reason if window.reason in ("holiday", "closing_soon") else "outside_hours"
            )
            raise EngineError(
                code,
                f"tickets are not issued now ({window.reason})",
                reason=window.reason,
                next_open=window.next_open.isoformat() if window.next_open else None,
            )
        priority = "normal"
        if priority_reason in GREEN_REASONS:
            priority = "green"
        if appointment_start is not None:
            priority, priority_reason = "appointment", "appointment"
            if appointment_end is None:
                appointment_end = appointment_start + timedelta(minutes=30)

        with self._lock, transaction(self.conn):
            day = self.business_date()
            self._set_business_date(day)
            if person_key:
                self._check_person(day, queue.id, person_key)
            row = self.conn.execute(
                "SELECT last_number FROM counters WHERE business_date=? AND queue_id=?",
                (day, queue.id),
            ).fetchone()
            last = row[0] if row else queue.first_number - 1
            issued_today = last - queue.first_number + 1
            if queue.daily_cap is not None and issued_today >= queue.daily_cap:
                raise EngineError(
                    "daily_cap",
                    f"queue {queue.id} reached its daily cap of {queue.daily_cap}",
                    queue=queue.id,
                    cap=queue.daily_cap,
                )
            number = last + 1
            if number > queue.last_number:
                raise EngineError(
                    "numbers_exhausted",
                    f"queue {queue.id} used all numbers up to {queue.last_number} today",
                    queue=queue.id,
                )
            self.conn.execute(
                "INSERT INTO counters (business_date, queue_id, last_number) VALUES (?, ?, ?) "
                "ON CONFLICT(business_date, queue_id) "
                "DO UPDATE SET last_number=excluded.last_number",
                (day, queue.id, number),
            )
            width = max(3, len(str(queue.last_number)))
            ticket_id = str(uuid.uuid4())
            code = f"{queue.prefix}{number:0{width}d}"
            self.conn.execute(
                "INSERT INTO tickets (id, business_date, queue_id, number, code, item_id, status,"
                " priority, priority_reason, appointment_start, appointment_end, person_key,"
                " masked_name, issued_at, sort_key) "
                "VALUES (?, ?, ?, ?, ?, ?, 'waiting', ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    ticket_id,
                    day,
                    queue.id,
                    number,
                    code,
                    item_id,
                    priority,
                    priority_reason,
                    appointment_start.isoformat() if appointment_start else None,
                    appointment_end.isoformat() if appointment_end else None,
                    person_key,
                    masked_name,
                    now.isoformat(timespec="seconds"),
                    self._next_sort_key(),
                ),
            )
            ticket = self._ticket(ticket_id)
            ahead = self._ahead(ticket)
            est = self._estimate_minutes(queue, ahead)
            self._event(
                "ticket_issued",
                {**self._event_ticket(ticket), "ahead": ahead, "est_wait_min": est},
            )
        return Issued(ticket=ticket, ahead=ahead, est_wait_min=est)

    def _check_person(self, day: str, queue_id: str, person_key: str) -> None:
        limits = self.config.limits
        rows = self.conn.execute(
            "SELECT queue_id, status FROM tickets WHERE business_date=? AND person_key=?",
            (day, person_key),
        ).fetchall()
        active_here = sum(1 for r in rows if r[0] == queue_id and r[1] in OPEN_STATUSES)
        if active_here >= limits.per_person_active_per_queue:
            raise EngineError(
                "person_active",
                "this person already holds an active ticket in this queue",
                queue=queue_id,
            )
        if len(rows) >= limits.per_person_daily:
            raise EngineError(
                "person_daily",
                f"this person reached the daily maximum of {limits.per_person_daily} tickets",
                limit=limits.per_person_daily,
            )

    def _ticket(self, ticket_id: str) -> Ticket:
        row = self._ticket_by_id(ticket_id)
        assert row is not None
        return Ticket.from_row(row)

    @staticmethod
    def _event_ticket(t: Ticket) -> dict[str, Any]:
        return {
            "ticket_id": t.id,
            "code": t.code,
            "queue": t.queue_id,
            "item": t.item_id,
            "priority": t.priority,
            "priority_reason": t.priority_reason,
            "business_date": t.business_date,
            "issued_at": t.issued_at,
        }

    # ------------------------------------------------------------------ estimates

    def _ahead(self, t: Ticket) -> int:
        row = self._ticket_by_id(t.id)
        assert row is not None
        if t.priority == "normal":
            sql = (
                "SELECT count(*) FROM tickets WHERE status='waiting' AND business_date=? "
                "AND queue_id=? AND id<>? AND (sort_key<? OR priority<>'normal')"
            )
        else:
            sql = (
                "SELECT count(*) FROM tickets WHERE status='waiting' AND business_date=? "
                "AND queue_id=? AND id<>? AND sort_key<? AND priority<>'normal'"
            )
        return int(
            self.conn.execute(sql, (t.business_date, t.queue_id, t.id, row["sort_key"])).fetchone()[
                0
            ]
        )

    def average_service_min(self, queue: Queue) -> float:
        rows = self.conn.execute(
            "SELECT started_at, finished_at FROM tickets WHERE queue_id=? AND status='done' "
            "AND started_at IS NOT NULL ORDER BY finished_at DESC LIMIT 20",
            (queue.id,),
        ).fetchall()
        durations = [
            (datetime.fromisoformat(r[1]) - datetime.fromisoformat(r[0])).total_seconds() / 60
            for r in rows
        ]
        durations = [d for d in durations if 0 <= d < 240]
        if len(durations) < 3:
            return queue.avg_service_min
        return sum(durations) / len(durations)

    def open_windows_for(self, queue_id: str) -> int:
        open_ids = {
            r[0] for r in self.conn.execute("SELECT window_id FROM windows WHERE status='open'")
        }
        return sum(1 for w in self.config.windows if queue_id in w.queues and w.id in open_ids)

    def _estimate_minutes(self, queue: Queue, ahead: int) -> int:
        windows = self.open_windows_for(queue.id) or sum(
            1 for w in self.config.windows if queue.id in w.queues
        )
        return math.ceil(ahead * self.average_service_min(queue) / max(1, windows))

    def estimate(self, queue_id: str) -> dict[str, int]:
        """People waiting and the wait a new ticket would have, for the kiosk."""
        queue = self._queue(queue_id)
        waiting = self.waiting_count(queue_id)
        return {"waiting": waiting, "est_wait_min": self._estimate_minutes(queue, waiting)}

    def waiting_count(self, queue_id: str) -> int:
        return int(
            self.conn.execute(
                "SELECT count(*) FROM tickets WHERE status='waiting' AND business_date=? "
                "AND queue_id=?",
                (self.business_date(), queue_id),
            ).fetchone()[0]
        )

    # ------------------------------------------------------------------ windows

    def login(self, window_id: str, clerk: str, pin: Any = None) -> str | None:
        """Log ``clerk`` (the 工号, or the staff id) in at a window with their PIN.

        The PIN is checked against the staff list's ``pin_hash`` (``hall.core.pins``:
        scrypt, constant-time compare) outside the engine's lock, and never logged or put
        into an error.  ``staff_login.max_failures`` wrong PINs in a row lock the 工号 for
        ``lockout_min`` and raise an alarm (an ``alarm`` event to the center and the
        ``clerk_login`` health component).  A clerk is logged in at one window at a time:
        logging in here logs them out of the other window, unless a citizen is called or
        served there (then it is refused).  Returns that other window's id, or None.
        """
        self._window(window_id)
        staff = self.config.clerk(clerk)
        if staff is None:
            raise EngineError("unknown_clerk", f"no staff member {clerk!r}", clerk=clerk)
        if staff.pin_hash is None:
            raise EngineError(
                "no_pin",
                f"staff member {staff.staff_no} has no pin_hash in the hall config",
                clerk=staff.staff_no,
            )
        if pin is None or pin == "":
            raise EngineError("pin_required", "login needs the clerk's PIN", clerk=staff.staff_no)
        self._refuse_if_locked(staff.id, staff.staff_no)
        if not pins.verify_pin(pin, staff.pin_hash):
            self._login_failed(window_id, staff.id, staff.staff_no)
        with self._lock, transaction(self.conn):
            left = self._login_locked(window_id, staff.id)
        return left

    def _login_locked(self, window_id: str, clerk_id: str) -> str | None:
        w = self._window_row(window_id)
        now = self._now().isoformat(timespec="seconds")
        auth = self.conn.execute(
            "SELECT alarmed FROM clerk_auth WHERE clerk_id=?", (clerk_id,)
        ).fetchone()
        if auth is not None:
            self.conn.execute("DELETE FROM clerk_auth WHERE clerk_id=?", (clerk_id,))
            if auth["alarmed"]:
                self._clear_lock_alarm(clerk_id)
        left = None
        other = self.conn.execute(
            "SELECT * FROM windows WHERE clerk_id=? AND window_id<>? AND status<>'closed'",
            (clerk_id, window_id),
        ).fetchone()
        if other is not None:
            busy = self._open_ticket(other)
            if busy is not None:
                raise EngineError(
                    "clerk_elsewhere",
                    f"clerk {clerk_id} is logged in at window {other['window_id']} with "
                    f"{busy.code} open",
                    window=other["window_id"],
                    ticket=busy.code,
                )
            self._close_window_locked(other["window_id"], clerk_id, now, reason="moved")
            left = str(other["window_id"])
        if w["clerk_id"] and w["clerk_id"] != clerk_id:
            self._logout_locked(window_id, w["clerk_id"], now, reason="replaced")
        self.conn.execute(
            "UPDATE windows SET status='open', clerk_id=?, pause_reason=NULL, "
            "staff_status=NULL, updated_at=? WHERE window_id=?",
            (clerk_id, now, window_id),
        )
        if w["clerk_id"] != clerk_id:
            self.conn.execute(
                "INSERT INTO attendance (clerk_id, window_id, login_at) VALUES (?, ?, ?)",
                (clerk_id, window_id, now),
            )
            self._event("clerk_login", {"window": window_id, "clerk": clerk_id, "at": now})
        self._touch(window_id)
        return left

    def _refuse_if_locked(self, clerk_id: str, staff_no: str) -> None:
        row = self.conn.execute(
            "SELECT locked_until FROM clerk_auth WHERE clerk_id=?", (clerk_id,)
        ).fetchone()
        if row is None or not row["locked_until"]:
            return
        left = (datetime.fromisoformat(row["locked_until"]) - self._now()).total_seconds()
        if left > 0:
            raise EngineError(
                "clerk_locked",
                f"staff {staff_no} is locked after wrong PINs for {left:.0f}s more",
                clerk=staff_no,
                retry_after_s=round(left),
            )

    def _login_failed(self, window_id: str, clerk_id: str, staff_no: str) -> None:
        """Count a wrong PIN (committed: the refusal must not undo it), lock at the limit."""
        policy = self.config.staff_login
        now = self._now()
        with self._lock, transaction(self.conn):
            row = self.conn.execute(
                "SELECT failures, locked_until, alarmed FROM clerk_auth WHERE clerk_id=?",
                (clerk_id,),
            ).fetchone()
            failures = (row["failures"] if row else 0) + 1
            locked = failures >= policy.max_failures
            until = (now + timedelta(minutes=policy.lockout_min)) if locked else None
            self.conn.execute(
                "INSERT INTO clerk_auth (clerk_id, failures, locked_until, alarmed) "
                "VALUES (?, ?, ?, ?) ON CONFLICT(clerk_id) DO UPDATE SET "
                "failures=excluded.failures, locked_until=excluded.locked_until, "
                "alarmed=excluded.alarmed",
                (
                    clerk_id,
                    0 if locked else failures,
                    until.isoformat(timespec="seconds") if until else None,
                    1 if locked or (row and row["alarmed"]) else 0,
                ),
            )
            if locked:
                message = (
                    f"{policy.max_failures} wrong PINs in a row for staff {staff_no} at window "
                    f"{window_id}: locked for {policy.lockout_min:g} minutes"
                )
                self._event(
                    "alarm",
                    {
                        "code": "clerk_locked",
                        "state": "raised",
                        "message": message,
                        "clerk": clerk_id,
                        "window": window_id,
                        "until": until.isoformat(timespec="seconds") if until else None,
                    },
                )
                sync_health.set_status(self.conn, "clerk_login", "locked", message)
        if locked:
            log.error("ALARM clerk_locked: %s", message)
            raise EngineError(
                "clerk_locked",
                f"staff {staff_no} locked after {policy.max_failures} wrong PINs",
                clerk=staff_no,
                retry_after_s=round(policy.lockout_min * 60),
            )
        log.warning(
            "wrong PIN for staff %s at window %s (%d of %d before the lock)",
            staff_no,
            window_id,
            failures,
            policy.max_failures,
        )
        raise EngineError(
            "wrong_pin",
            f"wrong PIN for staff {staff_no}",
            clerk=staff_no,
            attempts_left=policy.max_failures - failures,
        )

    def _clear_lock_alarm(self, clerk_id: str) -> None:
        """The locked clerk logged in again: the alarm is over (inside a transaction)."""
        self._event("alarm", {"code": "clerk_locked", "state": "cleared", "clerk": clerk_id})
        still = self.conn.execute(
            "SELECT count(*) FROM clerk_auth WHERE alarmed=1 AND clerk_id<>?", (clerk_id,)
        ).fetchone()[0]
        if not still:
            sync_health.set_status(self.conn, "clerk_login", "ok", "")

    def _logout_locked(
        self, window_id: str, clerk_id: str, now: str, reason: str = "clerk"
    ) -> None:
        self.conn.execute(
            "UPDATE attendance SET logout_at=? WHERE clerk_id=? AND window_id=? "
            "AND logout_at IS NULL",
            (now, clerk_id, window_id),
        )
        self._event(
            "clerk_logout", {"window": window_id, "clerk": clerk_id, "at": now, "reason": reason}
        )

    def _close_window_locked(self, window_id: str, clerk_id: str, now: str, reason: str) -> None:
        self._logout_locked(window_id, clerk_id, now, reason=reason)
        self.conn.execute(
            "UPDATE windows SET status='closed', clerk_id=NULL, pause_reason=NULL, "
            "current_ticket=NULL, staff_status=NULL, updated_at=? WHERE window_id=?",
            (now, window_id),
        )
        self._memo.setdefault(window_id, _WindowMemo()).last_active_mono = None

    def _open_ticket(self, w: sqlite3.Row) -> Ticket | None:
        """The citizen called to or served at window row ``w``, if any."""
        if not w["current_ticket"]:
            return None
        cur = self._ticket(w["current_ticket"])
        return cur if cur.status in ("called", "serving") else None

    def logout(self, window_id: str) -> None:
        with self._lock, transaction(self.conn):
            w = self._window_row(window_id)
            if w["status"] == "closed":
                raise EngineError("window_closed", f"window {window_id} is not logged in")
            cur = self._open_ticket(w)
            if cur is not None:
                raise EngineError(
                    "window_busy",
                    f"window {window_id} still has {cur.code} open",
                    ticket=cur.code,
                )
            now = self._now().isoformat(timespec="seconds")
            self._close_window_locked(window_id, w["clerk_id"], now, reason="clerk")

    # ------------------------------------------------------------------ idle logout

    def _touch(self, window_id: str) -> None:
        """The window's clerk did something: the idle time starts again."""
        self._memo.setdefault(window_id, _WindowMemo()).last_active_mono = self.clock.monotonic()

    def _idle(self, w: sqlite3.Row) -> bool:
        minutes = self.config.staff_login.idle_logout_min
        if minutes <= 0 or w["status"] == "closed" or not w["clerk_id"]:
            return False
        memo = self._memo.setdefault(w["window_id"], _WindowMemo())
        if memo.last_active_mono is None:  # logged in before this engine started
            memo.last_active_mono = self.clock.monotonic()
            return False
        if self.clock.monotonic() - memo.last_active_mono < minutes * 60:
            return False
        return self._open_ticket(w) is None  # a citizen at the window: the clerk is there

    def logout_idle(self, window_id: str | None = None) -> list[str]:
        """Log out the clerk of every window (or of ``window_id``) idle longer than
        ``staff_login.idle_logout_min``; the windows logged out."""
        out: list[str] = []
        with self._lock:
            ids = [window_id] if window_id else [w.id for w in self.config.windows]
            rows = [self._window_row(i) for i in ids]
            idle = [w for w in rows if self._idle(w)]
            if not idle:
                return out
            with transaction(self.conn):
                now = self._now().isoformat(timespec="seconds")
                for w in idle:
                    self._close_window_locked(w["window_id"], w["clerk_id"], now, reason="idle")
                    out.append(str(w["window_id"]))
        for window in out:
            log.info("window %s: the clerk was logged out after being idle", window)
        return out

    def require_clerk(self, window_id: str) -> None:
        """Refuse (``window_closed``: 请先登录) unless a clerk is logged in at the window."""
        self.logout_idle(window_id)
        with self._lock:
            self._open_window(window_id, allow_paused=True)

    def pause(self, window_id: str, reason: str) -> None:
        reason = (reason or "").strip()
        if not reason:
            raise EngineError("bad_request", "a pause needs a reason")
        self.logout_idle(window_id)  # an idle clerk is gone: 请先登录
        with self._lock, transaction(self.conn):
            w = self._open_window(window_id, allow_paused=True)
            now = self._now().isoformat(timespec="seconds")
            self.conn.execute(
                "UPDATE windows SET status='paused', pause_reason=?, updated_at=? "
                "WHERE window_id=?",
                (reason[:40], now, window_id),
            )
            self._event(
                "window_paused",
                {"window": window_id, "clerk": w["clerk_id"], "reason": reason[:40], "at": now},
            )

    def resume(self, window_id: str) -> None:
        self.logout_idle(window_id)  # an idle clerk is gone: 请先登录
        with self._lock, transaction(self.conn):
            w = self._open_window(window_id, allow_paused=True)  # 请先登录 when closed
            if w["status"] != "paused":
                raise EngineError("invalid_state", f"window {window_id} is not paused")
            now = self._now().isoformat(timespec="seconds")
            self.conn.execute(
                "UPDATE windows SET status='open', pause_reason=NULL, staff_status=NULL, "
                "updated_at=? WHERE window_id=?",
                (now, window_id),
            )
            self._event("window_resumed", {"window": window_id, "clerk": w["clerk_id"], "at": now})

    def set_staff_status(self, window_id: str, status: str) -> None:
        """去向牌: the logged-in clerk says where they are; login/resume/logout reset it."""
        if status not in STAFF_STATUSES:
            raise EngineError("bad_request", f"unknown staff status {status!r}", status=status)
        self.logout_idle(window_id)  # an idle clerk is gone: 请先登录
        with self._lock, transaction(self.conn):
            w = self._open_window(window_id, allow_paused=True)
            now = self._now().isoformat(timespec="seconds")
            self.conn.execute(
                "UPDATE windows SET staff_status=?, updated_at=? WHERE window_id=?",
                (status, now, window_id),
            )
            self._event(
                "staff_status",
                {"window": window_id, "clerk": w["clerk_id"], "status": status, "at": now},
            )

    def _open_window(self, window_id: str, *, allow_paused: bool = False) -> sqlite3.Row:
        """The window's row if a clerk is logged in there (else 请先登录); the clerk's
        command counts as activity (idle logout)."""
        w = self._window_row(window_id)
        if w["status"] == "closed" or not w["clerk_id"]:
            raise EngineError(
                "window_closed", f"window {window_id} has no clerk logged in", window=window_id
            )
        if w["status"] == "paused" and not allow_paused:
            raise EngineError(
                "window_paused",
                f"window {window_id} is paused",
                window=window_id,
                reason=w["pause_reason"],
            )
        self._touch(window_id)
        return w

    # ------------------------------------------------------------------ calling

    def call_next(self, window_id: str) -> CallResult:
        """Atomically pick the next ticket for a window by its policy and call it."""
        self.logout_idle(window_id)  # an idle clerk is gone: 请先登录
        with self._lock, transaction(self.conn):
            w = self._open_window(window_id)
            finished = None
            if w["current_ticket"]:
                cur = self._ticket(w["current_ticket"])
                if cur.status == "called":
                    raise EngineError(
                        "window_busy",
                        f"{cur.code} was called and not yet started or no-show",
                        ticket=cur.code,
                    )
                if cur.status == "serving":
                    finished = self._finish_locked(window_id, cur, w["clerk_id"])
            window = self._window(window_id)
            picked = self._pick(window, int(w["priority_streak"]))
            if picked is None:
                self.conn.execute(
                    "UPDATE windows SET current_ticket=NULL, updated_at=? WHERE window_id=?",
                    (self._now().isoformat(timespec="seconds"), window_id),
                )
                return CallResult(ticket=None, window_id=window_id, finished=finished)
            row, streak = picked
            now = self._now().isoformat(timespec="seconds")
            updated = self.conn.execute(
                "UPDATE tickets SET status='called', window_id=?, clerk_id=?, called_at=?, "
                "first_called_at=coalesce(first_called_at, ?), call_count=1, target_window=NULL "
                "WHERE id=? AND status='waiting'",
                (window_id, w["clerk_id"], now, now, row["id"]),
            ).rowcount
            if updated != 1:  # cannot happen under BEGIN IMMEDIATE; fail loudly if it does
                raise EngineError("internal", "ticket taken concurrently", ticket=row["code"])
            self.conn.execute(
                "UPDATE windows SET current_ticket=?, priority_streak=?, updated_at=? "
                "WHERE window_id=?",
                (row["id"], streak, now, window_id),
            )
            ticket = self._ticket(row["id"])
            self._event(
                "ticket_called",
                {
                    **self._event_ticket(ticket),
                    "window": window_id,
                    "clerk": w["clerk_id"],
                    "called_at": now,
                },
            )
            self._memo.setdefault(window_id, _WindowMemo()).last_call_mono = self.clock.monotonic()
        return CallResult(ticket=ticket, window_id=window_id, finished=finished)

    def _head(self, window: Window, where: str, params: tuple[Any, ...]) -> sqlite3.Row | None:
        """The oldest waiting ticket for the window that matches ``where``.

        One indexed ``LIMIT 1`` query per queue (an ``IN`` over queues would
        sort every waiting ticket), plus the tickets transferred to this window.
        """
        day = self.business_date()
        candidates = []
        for q in window.queues:
            row = self.conn.execute(
                "SELECT * FROM tickets WHERE status='waiting' AND business_date=? "
                f"AND queue_id=? AND target_window IS NULL AND {where} "
                "ORDER BY sort_key LIMIT 1",
                (day, q, *params),
            ).fetchone()
            if row is not None:
                candidates.append(row)
                if self.config.policy.queue_preference == "queue_order":
                    break
        row = self.conn.execute(
            "SELECT * FROM tickets WHERE status='waiting' AND target_window=? "
            f"AND business_date=? AND {where} ORDER BY sort_key LIMIT 1",
            (window.id, day, *params),
        ).fetchone()
        if row is not None:
            candidates.append(row)
        return min(candidates, key=lambda r: r["sort_key"]) if candidates else None

    def _pick(self, window: Window, streak: int) -> tuple[sqlite3.Row, int] | None:
        policy = self.config.policy
        now = self._now()
        early = (now + timedelta(minutes=policy.appointment_early_min)).isoformat()
        late = (now - timedelta(minutes=policy.appointment_late_min)).isoformat()
        normal_head = self._head(window, "priority='normal'", ())
        capped = streak >= policy.max_priority_in_row and normal_head is not None
        for step in policy.order:
            if step == "green" and not capped:
                row = self._head(window, "priority='green'", ())
            elif step == "appointment" and not capped:
                row = self._head(
                    window,
                    "priority='appointment' AND appointment_start<=? AND appointment_end>=?",
                    (early, late),
                )
            elif step == "longest_wait":
                row = normal_head if capped else self._head(window, "1=1", ())
            else:
                continue
            if row is not None:
                return row, 0 if row["priority"] == "normal" else streak + 1
        return None

    def recall(self, window_id: str) -> CallResult:
        """Call the current ticket again; after N unanswered calls it becomes a no-show."""
        policy = self.config.policy
        self.logout_idle(window_id)  # an idle clerk is gone: 请先登录
        with self._lock, transaction(self.conn):
            w = self._open_window(window_id)
            cur = self._current(w, ("called",))
            memo = self._memo.setdefault(window_id, _WindowMemo())
            mono = self.clock.monotonic()
            if memo.last_call_mono is not None:
                wait = policy.recall_cooldown_s - (mono - memo.last_call_mono)
                if wait > 0:
                    raise EngineError(
                        "recall_cooldown",
                        f"recall again in {wait:.0f}s",
                        retry_after_s=round(wait, 1),
                    )
            if cur.call_count >= policy.no_show_after_calls:
                ticket = self._no_show_locked(window_id, cur)
                return CallResult(ticket=ticket, window_id=window_id, auto_no_show=True)
            now = self._now().isoformat(timespec="seconds")
            self.conn.execute(
                "UPDATE tickets SET call_count=call_count+1, called_at=? WHERE id=?",
                (now, cur.id),
            )
            ticket = self._ticket(cur.id)
            self._event(
                "ticket_recalled",
                {
                    **self._event_ticket(ticket),
                    "window": window_id,
                    "call_count": ticket.call_count,
                },
            )
            memo.last_call_mono = mono
        return CallResult(ticket=ticket, window_id=window_id, recall=True)

    def _current(self, w: sqlite3.Row, statuses: tuple[str, ...]) -> Ticket:
        if not w["current_ticket"]:
            raise EngineError("no_current", f"window {w['window_id']} has no current ticket")
        cur = self._ticket(w["current_ticket"])
        if cur.status not in statuses:
            raise EngineError(
                "invalid_state",
                f"{cur.code} is {cur.status}, expected {'/'.join(statuses)}",
                ticket=cur.code,
                status=cur.status,
            )
        return cur

    def start(self, window_id: str) -> Ticket:
        self.logout_idle(window_id)  # an idle clerk is gone: 请先登录
        with self._lock, transaction(self.conn):
            w = self._open_window(window_id)
            cur = self._current(w, ("called",))
            now = self._now().isoformat(timespec="seconds")
            self.conn.execute(
                "UPDATE tickets SET status='serving', started_at=? WHERE id=?", (now, cur.id)
            )
            ticket = self._ticket(cur.id)
            self._event(
                "service_started",
                {
                    **self._event_ticket(ticket),
                    "window": window_id,
                    "clerk": w["clerk_id"],
                    "started_at": now,
                    "wait_s": self._seconds(ticket.issued_at, now),
                },
            )
        return ticket

    def finish(self, window_id: str) -> Ticket:
        self.logout_idle(window_id)  # an idle clerk is gone: 请先登录
        with self._lock, transaction(self.conn):
            w = self._open_window(window_id, allow_paused=True)
            cur = self._current(w, ("serving",))
            ticket = self._finish_locked(window_id, cur, w["clerk_id"])
            self.conn.execute(
                "UPDATE windows SET current_ticket=NULL, updated_at=? WHERE window_id=?",
                (ticket.finished_at, window_id),
            )
        return ticket

    @staticmethod
    def _seconds(start: str | None, end: str | None) -> int | None:
        if not start or not end:
            return None
        return int((datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds())

    def _finish_locked(self, window_id: str, cur: Ticket, clerk_id: str | None) -> Ticket:
        now = self._now().isoformat(timespec="seconds")
        self.conn.execute(
            "UPDATE tickets SET status='done', finished_at=? WHERE id=?", (now, cur.id)
        )
        ticket = self._ticket(cur.id)
        service_s = self._seconds(ticket.started_at, now)
        item = self.config.item(ticket.item_id) if ticket.item_id else None
        limit_s = self.config.policy.on_the_spot_limit_min * 60
        overdue = bool(
            item and item.kind == "即办件" and service_s is not None and service_s > limit_s
        )
        self._event(
            "service_finished",
            {
                **self._event_ticket(ticket),
                "window": window_id,
                "clerk": clerk_id,
                "finished_at": now,
                "service_s": service_s,
                "wait_s": self._seconds(ticket.issued_at, ticket.started_at),
                "on_the_spot_overdue": overdue,
            },
        )
        return ticket

    def no_show(self, window_id: str) -> Ticket:
        self.logout_idle(window_id)  # an idle clerk is gone: 请先登录
        with self._lock, transaction(self.conn):
            w = self._open_window(window_id, allow_paused=True)
            cur = self._current(w, ("called",))
            return self._no_show_locked(window_id, cur)

    def _no_show_locked(self, window_id: str, cur: Ticket) -> Ticket:
        now = self._now().isoformat(timespec="seconds")
        self.conn.execute(
            "UPDATE tickets SET status='no_show', no_show_at=? WHERE id=?", (now, cur.id)
        )
        self.conn.execute(
            "UPDATE windows SET current_ticket=NULL, updated_at=? WHERE window_id=?",
            (now, window_id),
        )
        ticket = self._ticket(cur.id)
        self._event(
            "ticket_no_show",
            {**self._event_ticket(ticket), "window": window_id, "call_count": ticket.call_count},
        )
        return ticket

    def requeue(self, code: str) -> Issued:
        """A late citizen whose number passed returns to the line at a set position."""
        position = self.config.policy.late_requeue_position
        with self._lock, transaction(self.conn):
            day = self.business_date()
            row = self.conn.execute(
                "SELECT * FROM tickets WHERE business_date=? AND code=?", (day, code.upper())
            ).fetchone()
            if row is None:
                raise EngineError("not_found", f"no ticket {code!r} today", ticket=code)
            if row["status"] != "no_show":
                raise EngineError(
                    "invalid_state",
                    f"{row['code']} is {row['status']}, not a no-show",
                    ticket=row["code"],
                    status=row["status"],
                )
            if row["requeues"] >= 1:
                raise EngineError("requeue_limit", f"{row['code']} was re-queued once already")
            keys = [
                r[0]
                for r in self.conn.execute(
                    "SELECT sort_key FROM tickets WHERE status='waiting' AND business_date=? "
                    "AND queue_id=? ORDER BY sort_key LIMIT ?",
                    (day, row["queue_id"], position),
                )
            ]
            if len(keys) < position:
                sort_key = self._next_sort_key()
            else:
                before = keys[position - 2] if position >= 2 else keys[0] - 1.0
                sort_key = (before + keys[position - 1]) / 2
            self.conn.execute(
                "UPDATE tickets SET status='waiting', sort_key=?, requeues=requeues+1, "
                "window_id=NULL, call_count=0 WHERE id=?",
                (sort_key, row["id"]),
            )
            ticket = self._ticket(row["id"])
            ahead = self._ahead(ticket)
            self._event("ticket_requeued", {**self._event_ticket(ticket), "ahead": ahead})
            est = self._estimate_minutes(self._queue(ticket.queue_id), ahead)
        return Issued(ticket=ticket, ahead=ahead, est_wait_min=est)

    def transfer(
        self, window_id: str, *, to_queue: str | None = None, to_window: str | None = None
    ) -> Ticket:
        """首问负责: hand the current citizen to another queue or window, keeping their place."""
        if (to_queue is None) == (to_window is None):
            raise EngineError("bad_request", "transfer needs exactly one of to_queue, to_window")
        if to_queue is not None:
            self._queue(to_queue)
        if to_window is not None:
            self._window(to_window)
            if to_window == window_id:
                raise EngineError("bad_request", "cannot transfer to the same window")
        self.logout_idle(window_id)  # an idle clerk is gone: 请先登录
        with self._lock, transaction(self.conn):
            w = self._open_window(window_id, allow_paused=True)
            cur = self._current(w, ("called", "serving"))
            now = self._now().isoformat(timespec="seconds")
            self.conn.execute(
                "UPDATE tickets SET status='waiting', queue_id=coalesce(?, queue_id), "
                "target_window=?, window_id=NULL, call_count=0, started_at=NULL, "
                "transfers=transfers+1 WHERE id=?",
                (to_queue, to_window, cur.id),
            )
            self.conn.execute(
                "UPDATE windows SET current_ticket=NULL, updated_at=? WHERE window_id=?",
                (now, window_id),
            )
            ticket = self._ticket(cur.id)
            self._event(
                "ticket_transferred",
                {
                    **self._event_ticket(ticket),
                    "from_window": window_id,
                    "from_queue": cur.queue_id,
                    "to_queue": to_queue,
                    "to_window": to_window,
                    "at": now,
                },
            )
        return ticket

    # ------------------------------------------------------------------ ratings

    def rate(
        self,
        *,
        window: str,
        rating_id: str,
        ticket_id: str,
        level: int | None,
        reasons: list[str] | None = None,
        contact: str | None = None,
        rated_at: str | None = None,
    ) -> dict[str, Any]:
        """Record a satisfaction rating exactly once (idempotent by ``rating_id``).

        ``level`` is 1 非常满意 … 5 非常不满意, or None for "not rated" (there
        is no default rating).  A ticket has at most one rating.
        """
        if level is not None and (not isinstance(level, int) or not 1 <= level <= 5):
            raise EngineError("bad_request", f"rating level must be 1..5 or null, got {level!r}")
        with self._lock, transaction(self.conn):
            existing = self.conn.execute(
                "SELECT rating_id, ticket_id FROM ratings WHERE rating_id=? OR ticket_id=?",
                (rating_id, ticket_id),
            ).fetchone()
            if existing is not None:
                return {"rating_id": existing[0], "ticket_id": existing[1], "duplicate": True}
            row = self._ticket_by_id(ticket_id)
            if row is None:
                raise EngineError("not_found", "no such ticket to rate", ticket_id=ticket_id)
            if row["window_id"] != window:
                raise EngineError(
                    "invalid_state", "the ticket was not served at this window", ticket=row["code"]
                )
            now = self._now().isoformat(timespec="seconds")
            self.conn.execute(
                "INSERT INTO ratings (rating_id, ticket_id, window_id, clerk_id, queue_id, "
                "item_id, level, reasons, contact, rated_at, received_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    rating_id,
                    ticket_id,
                    window,
                    row["clerk_id"],
                    row["queue_id"],
                    row["item_id"],
                    level,
                    json.dumps(reasons or [], ensure_ascii=False),
                    contact,
                    rated_at or now,
                    now,
                ),
            )
            self._event(
                "evaluation",
                {
                    "rating_id": rating_id,
                    "ticket_id": ticket_id,
                    "code": row["code"],
                    "window": window,
                    "clerk": row["clerk_id"],
                    "queue": row["queue_id"],
                    "item": row["item_id"],
                    "level": level,
                    "reasons": reasons or [],
                    "follow_up": level is not None and level >= 4,
                    "contact": contact,
                    "rated_at": rated_at or now,
                },
            )
        return {"rating_id": rating_id, "ticket_id": ticket_id, "duplicate": False}

    # ------------------------------------------------------------------ views

    def window_view(self, window_id: str) -> dict[str, Any]:
        """Everything a window display needs, as plain data."""
        window = self._window(window_id)
        w = self._window_row(window_id)
        current = None
        if w["current_ticket"]:
            t = self._ticket(w["current_ticket"])
            if t.status in ("called", "serving"):
                current = t
        staff = self.config.staff_member(w["clerk_id"]) if w["clerk_id"] else None
        day = self.business_date()
        marks = ",".join("?" * len(window.queues))
        waiting = self.conn.execute(
            "SELECT code FROM tickets WHERE status='waiting' AND business_date=? AND "
            f"((queue_id IN ({marks}) AND target_window IS NULL) OR target_window=?) "
            "ORDER BY priority='normal', sort_key LIMIT 10",
            (day, *window.queues, window_id),
        ).fetchall()
        waiting_count = self.conn.execute(
            "SELECT count(*) FROM tickets WHERE status='waiting' AND business_date=? AND "
            f"((queue_id IN ({marks}) AND target_window IS NULL) OR target_window=?)",
            (day, *window.queues, window_id),
        ).fetchone()[0]
        if w["status"] == "closed":
            status = "closed"
        elif w["status"] == "paused":
            status = "paused"
        else:
            status = "serving" if current else "idle"
        last = self.conn.execute(
            "SELECT * FROM tickets WHERE window_id=? AND status='done' AND business_date=? "
            "ORDER BY finished_at DESC, rowid DESC LIMIT 1",
            (window_id, day),
        ).fetchone()
        items = [i.name for q in window.queues for i in self.config.items_of(q)]
        return {
            "window": window.id,
            "name": window.name,
            "department": window.department,
            "kind": window.kind,
            "queues": list(window.queues),
            "items": items[:12],
            "status": status,
            "pause_reason": w["pause_reason"],
            "clerk": None
            if staff is None and not w["clerk_id"]
            else {
                "id": w["clerk_id"],
                "name": staff.name if staff else "",
                "staff_no": staff.staff_no if staff else w["clerk_id"],
                "photo": staff.photo if staff else "",
                "department": staff.department if staff else "",
            },
            "current": None
            if current is None
            else {
                "ticket_id": current.id,
                "code": current.code,
                "queue": current.queue_id,
                "item": current.item_id,
                "status": current.status,
                "call_count": current.call_count,
                "called_at": current.called_at,
                "priority": current.priority,
            },
            "waiting": int(waiting_count),
            "waiting_codes": [r[0] for r in waiting],
            "staff_status": w["staff_status"]
            or {"open": "在岗", "paused": "暂离"}.get(w["status"]),
            "last_finished": None
            if last is None
            else {
                "ticket_id": last["id"],
                "code": last["code"],
                "queue": last["queue_id"],
                "item": last["item_id"],
                "clerk": last["clerk_id"],
                "finished_at": last["finished_at"],
            },
        }

    def board_view(self, recent: int = 8) -> dict[str, Any]:
        day = self.business_date()
        counts = dict(
            self.conn.execute(
                "SELECT queue_id, count(*) FROM tickets WHERE status='waiting' "
                "AND business_date=? GROUP BY queue_id",
                (day,),
            ).fetchall()
        )
        calls = self.conn.execute(
            "SELECT code, window_id, called_at FROM tickets WHERE business_date=? "
            "AND called_at IS NOT NULL AND window_id IS NOT NULL "
            "ORDER BY called_at DESC, rowid DESC LIMIT ?",
            (day, recent),
        ).fetchall()
        return {
            "hall": self.config.hall_id,
            "hall_name": self.config.hall_name,
            "business_date": day,
            "queues": [
                {
                    "id": q.id,
                    "name": q.name,
                    "prefix": q.prefix,
                    "waiting": int(counts.get(q.id, 0)),
                    "est_wait_min": self._estimate_minutes(q, int(counts.get(q.id, 0))),
                    "open_windows": self.open_windows_for(q.id),
                }
                for q in self.config.queues
            ],
            "recent_calls": [{"code": r[0], "window": r[1], "at": r[2]} for r in calls],
            "notices": list(self.config.notices),
        }

    def statistics(self, day: date | None = None) -> dict[str, Any]:
        """Wait and service times per queue, window and clerk; overdue 即办件."""
        business_date = day.isoformat() if day else self.business_date()
        rows = self.conn.execute(
            "SELECT * FROM tickets WHERE business_date=?", (business_date,)
        ).fetchall()
        groups: dict[str, dict[str, dict[str, list[int]]]] = {
            "queues": {},
            "windows": {},
            "clerks": {},
        }
        overdue = []
        issued = len(rows)
        served = no_show = 0
        limit_s = self.config.policy.on_the_spot_limit_min * 60
        for r in rows:
            wait = self._seconds(r["issued_at"], r["first_called_at"])
            service = self._seconds(r["started_at"], r["finished_at"])
            if r["status"] == "done":
                served += 1
            if r["status"] == "no_show":
                no_show += 1
            for group, key in (
                ("queues", r["queue_id"]),
                ("windows", r["window_id"]),
                ("clerks", r["clerk_id"]),
            ):
                if key is None:
                    continue
                g = groups[group].setdefault(key, {"wait": [], "service": []})
                if wait is not None:
                    g["wait"].append(wait)
                if service is not None and r["status"] == "done":
                    g["service"].append(service)
            if r["item_id"] and service is not None and service > limit_s:
                kind: str
                try:
                    kind = self.config.item(r["item_id"]).kind
                except KeyError:
                    kind = ""
                if kind == "即办件":
                    overdue.append(
                        {
                            "code": r["code"],
                            "item": r["item_id"],
                            "service_s": service,
                            "window": r["window_id"],
                        }
                    )

        def summary(values: list[int]) -> dict[str, Any]:
            if not values:
                return {"count": 0, "avg_s": None, "max_s": None}
            return {
                "count": len(values),
                "avg_s": round(sum(values) / len(values)),
                "max_s": max(values),
            }

        return {
            "business_date": business_date,
            "issued": issued,
            "served": served,
            "no_show": no_show,
            **{
                group: {
                    k: {"wait": summary(v["wait"]), "service": summary(v["service"])}
                    for k, v in sorted(groups[group].items())
                }
                for group in groups
            },
            "on_the_spot_overdue": overdue,
        }

    def ticket_by_code(self, code: str) -> Ticket | None:
        row = self.conn.execute(
            "SELECT * FROM tickets WHERE business_date=? AND code=?",
            (self.business_date(), code.upper()),
        ).fetchone()
        return Ticket.from_row(row) if row else None

    def ticket_status(self, ticket_id: str) -> dict[str, Any] | None:
        """For the queue-follow QR code: where is this ticket now?"""
        row = self._ticket_by_id(ticket_id)
        if row is None:
            return None
        t = Ticket.from_row(row)
        out = t.public()
        out.pop("masked_name", None)
        if t.status == "waiting":
            out["ahead"] = self._ahead(t)
        return out

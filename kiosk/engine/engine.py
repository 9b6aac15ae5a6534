"""The hall queue engine: the one authority on tickets, windows and calls.

Plain Python over SQLite, with an injected clock and no Qt or network.  Every
public method is one ``BEGIN IMMEDIATE`` transaction that changes state and
writes its outbox event together, under a lock: "call next" is atomic, a
number is never handed out twice, and a refused command (``EngineError``)
changes nothing.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import re
import secrets
import sqlite3
import threading
import uuid
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from hall.core import ids, pins, privacy
from hall.core.clock import Clock, SystemClock
from hall.core.db import from_row, reading, rollbacks, snapshot, transaction
from kiosk.engine import manager as rules
from kiosk.engine.config import CASE_NO_FORM, HallConfig, Item, Manager, Queue, Window
from kiosk.engine.errors import EngineError
from kiosk.engine.hours import add_working_days, issue_window, working_days_between
from kiosk.engine.store import Checkpointer, open_db
from sync import health as sync_health
from sync import outbox

log = logging.getLogger(__name__)

_T = TypeVar("_T")

# what the alert rules and the manager's console read of a window's row
_WINDOW_COLUMNS = (
    "window_id, clerk_id, status, current_ticket, staff_status, away_since, updated_at, "
    "pause_reason"
)

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
TOKEN_FORM = re.compile(r"^[A-Za-z0-9_-]{16,64}$")  # a ticket's follow-page token
MAX_PROGRESS_TOKENS = 100
NOTICE_MAX_CHARS = 80
NOTICE_MAX_MIN = 480
CASE_NO = re.compile(CASE_NO_FORM)  # 办件编号
# Rating levels on the wire; the national platform's satisfaction runs the other way.
LEVEL_NAMES = {1: "非常满意", 2: "满意", 3: "基本满意", 4: "不满意", 5: "非常不满意"}
BAD_LEVELS = frozenset({4, 5})  # a bad rating: it opens a follow-up
CHANNELS = ("evaluator", "tablet")  # 评价器, the tablet evaluator
COMMENT_MAX = 200  # the tablet's free text (writingEvaluation)
MAX_REASONS = 20
TO_RATE_MIN = 10  # a window's cases finished this recently and unrated: to_rate
MAX_CASES_SHOWN = 20
# A password never reaches the engine's log or an error; this work is done for an unknown
# account too, so that the time of a refusal does not tell which accounts exist.
_NO_MANAGER: list[str] = []


def _no_manager_hash() -> str:
    if not _NO_MANAGER:
        _NO_MANAGER.append(pins.hash_password("no-such-manager-account"))
    return _NO_MANAGER[0]


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
    # The follow page's secret: never in public(), a view, an announcement or a log line.
    token: str | None = field(default=None, repr=False, compare=False)

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
    # The citizen's page for this ticket (web.ticket_url with its token): the ticket's QR.
    # It carries the secret token: it goes only to the kiosk that prints it.
    follow_url: str = field(default="", repr=False)
    # Issued in the break between two sessions (hours.issue_during_break): when calling
    # resumes.  None when calling is going on now.
    calls_from: datetime | None = None


@dataclass(frozen=True)
class _DayWindow:
    """A manager's changes to one window for today (``window_day``)."""

    queues: tuple[str, ...] | None = None
    closed: bool = False
    closed_by: str | None = None


@dataclass(frozen=True)
class CallResult:
    ticket: Ticket | None
    window_id: str
    recall: bool = False
    auto_no_show: bool = False
    finished: Ticket | None = None  # a serving ticket closed by "call next"


@dataclass
class _IssueMemo:
    """What an issue read that an issue does not change: today's stored business date
    and each queue's estimate inputs (its average service minutes, the windows it is
    served at).  Valid while ``stamp`` holds: the same config, no commit by another
    connection (``PRAGMA data_version``) and no change by this one other than issues
    (``total_changes`` as the last issue left it)."""

    stamp: tuple[Any, ...]
    stored_day: str
    estimates: dict[tuple[str, str], tuple[float, int]] = field(default_factory=dict)


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
        self._lock = threading.RLock()
        self._checkpointer = Checkpointer(db_path, lock=self._lock).start()
        self._memo: dict[str, _WindowMemo] = {}
        self._issue_memo: _IssueMemo | None = None
        # reads repeated while nothing changed (see _read_once)
        self._reads: dict[Hashable, tuple[int | None, Any]] = {}
        self._reads_stamp: tuple[int, int] = (-1, -1)
        self._reads_config: HallConfig | None = None
        self._version_in: tuple[int | None, int] = (None, 0)  # (snapshot, data_version)
        # average_service_min's: queue -> (config, (finished, rollbacks, version), minutes)
        self._finished: dict[str, int] = {}  # queue -> its tickets finished here
        self._service_times: dict[str, tuple[HallConfig, tuple[int, int, int], float]] = {}
        self._windows_of: tuple[HallConfig | None, dict[str, Window]] = (None, {})
        # console logins to accounts that do not exist: name -> (failures, locked until)
        self._unknown_logins: dict[str, tuple[int, datetime | None]] = {}
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

    def _read_once(self, key: Hashable, read: Callable[[], _T], *, others_write: bool = True) -> _T:
        """``read()``, or what it gave before if nothing it reads can have changed since:
        the same config, no row changed through this connection (its ``total_changes``),
        no rollback (:func:`hall.core.db.rollbacks`: a write rolled back does not move
        that count back) and, unless ``others_write`` is False, no commit by another
        connection (``PRAGMA data_version``: an engine process started twice by
        mistake).  A call read the business date eight times, the manager's window
        changes four, and the windows of a queue each read its waiting list (#16)."""
        with self._lock:
            stamp = (self.conn.total_changes, rollbacks())
            if stamp != self._reads_stamp or self._reads_config is not self.config:
                self._reads.clear()
                self._reads_stamp, self._reads_config = stamp, self.config
            version = self._data_version() if others_write else None
            kept = self._reads.get(key)
            if kept is not None and kept[0] == version:
                return kept[1]  # type: ignore[no-any-return]
            value = read()
            self._reads[key] = (version, value)
            return value

    def _data_version(self) -> int:
        """``PRAGMA data_version``, asked once per transaction (:func:`snapshot`): within
        one no other connection's commit is seen.  A call's reads and the states it
        publishes asked it 125 times, a third of their statements (#16)."""
        tx = snapshot(self.conn)
        if tx is not None and self._version_in[0] == tx:
            return self._version_in[1]
        version = int(self.conn.execute("PRAGMA data_version").fetchone()[0])
        self._version_in = (tx, version)
        return version

    def business_date(self) -> str:
        """Today's business date; never goes backwards, even if the clock does."""
        today = self._now().date().isoformat()
        # another connection only ever stores its today too: no need to ask it
        stored = self._read_once("business_date", self._stored_business_date, others_write=False)
        if stored is not None and stored > today:
            return stored
        return today

    def _stored_business_date(self) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key='business_date'").fetchone()
        return None if row is None else str(row[0])

    def _set_business_date(self, day: str) -> None:
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES ('business_date', ?) "
            "ON CONFLICT(key) DO UPDATE SET value=excluded.value WHERE excluded.value > value",
            (day,),
        )

    def follow_url(self, token: str) -> str:
        """The citizen's page of the ticket with ``token`` (``web.ticket_url``)."""
        return self.config.web.ticket_url.format(token=token, hall=self.config.hall_id)

    def _day_windows(self, business_date: str | None = None) -> dict[str, _DayWindow]:
        """The manager changes to the windows for ``business_date`` (default: today's; one
        query; none on a new business day)."""
        day = business_date or self.business_date()
        return dict(self._read_once(("window_day", day), lambda: self._read_day_windows(day)))

    def _read_day_windows(self, day: str) -> dict[str, _DayWindow]:
        known = {q.id for q in self.config.queues}
        out: dict[str, _DayWindow] = {}
        for r in self.conn.execute(
            "SELECT window_id, queues, closed, closed_by FROM window_day WHERE business_date=?",
            (day,),
        ):
            queues = None
            if r["queues"]:
                queues = tuple(q for q in json.loads(r["queues"]) if q in known) or None
            out[r["window_id"]] = _DayWindow(queues, bool(r["closed"]), r["closed_by"])
        return out

    def window_queues(
        self, window_id: str, day: dict[str, _DayWindow] | None = None
    ) -> tuple[str, ...]:
        """The queues ``window_id`` serves today: a manager's choice, else the hall config's."""
        changed = (self._day_windows() if day is None else day).get(window_id)
        if changed is not None and changed.queues:
            return changed.queues
        return self._window(window_id).queues

    def effective_queues(
        self, day: dict[str, _DayWindow] | None = None
    ) -> dict[str, tuple[str, ...]]:
        """Every window's queues today (one query, none given today's ``_day_windows``)."""
        if day is None:  # today's: read once while nothing changed (every command asks)
            today = self.business_date()
            return dict(
                self._read_once(
                    ("queues", today), lambda: self.effective_queues(self._day_windows(today))
                )
            )
        return {w.id: self.window_queues(w.id, day) for w in self.config.windows}

    def closed_by_manager(self, window_id: str) -> bool:
        changed = self._day_windows().get(window_id)
        return bool(changed and changed.closed)

    def _queue(self, queue_id: str) -> Queue:
        try:
            return self.config.queue(queue_id)
        except KeyError:
            raise EngineError("unknown_queue", f"no queue {queue_id!r}", queue=queue_id) from None

    def _window(self, window_id: str) -> Window:
        cfg = self.config
        if self._windows_of[0] is not cfg:  # by id, for the config now in force
            self._windows_of = (cfg, {w.id: w for w in cfg.windows})
        window = self._windows_of[1].get(window_id)
        if window is None:
            raise EngineError("unknown_window", f"no window {window_id!r}", window=window_id)
        return window

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

        with self._lock:
            grouped = self.conn.in_transaction  # a group commit's part: its commit is not ours
            with transaction(self.conn):
                memo = self._issue_memo_now(grouped)
                day = memo.stored_day
                if person_key:
                    self._check_person(day, queue.id, person_key)
                # The next number taken in one statement, and the people ahead: a new
                # ticket sorts after every other (its sort key is the largest), so every
                # ticket waiting in its queue and day of a priority class before its own
                # (a normal one waits behind the priority ones too).  A refusal below
                # rolls the number back.
                number, ahead = self.conn.execute(
                    "INSERT INTO counters (business_date, queue_id, last_number) "
                    "VALUES (?, ?, ?) ON CONFLICT(business_date, queue_id) "
                    "DO UPDATE SET last_number=last_number+1 RETURNING last_number, "
                    "(SELECT coalesce(sum(n), 0) FROM waiting_counts WHERE business_date=? "
                    "AND queue_id=? AND (priority<>'normal' OR ?))",
                    (day, queue.id, queue.first_number, day, queue.id, priority == "normal"),
                ).fetchall()[0]
                issued_today = number - queue.first_number  # before this one
                if queue.daily_cap is not None and issued_today >= queue.daily_cap:
                    raise EngineError(
                        "daily_cap",
                        f"queue {queue.id} reached its daily cap of {queue.daily_cap}",
                        queue=queue.id,
                        cap=queue.daily_cap,
                    )
                if number > queue.last_number:
                    raise EngineError(
                        "numbers_exhausted",
                        f"queue {queue.id} used all numbers up to {queue.last_number} today",
                        queue=queue.id,
                    )
                width = max(3, len(str(queue.last_number)))
                at = now.isoformat(timespec="seconds")
                ticket = Ticket(
                    id=ids.uuid7(),  # in the order issued: the id index is appended to
                    code=f"{queue.prefix}{number:0{width}d}",
                    queue_id=queue.id,
                    item_id=item_id,
                    status="waiting",
                    priority=priority,
                    priority_reason=priority_reason,
                    issued_at=at,
                    business_date=day,
                    window_id=None,
                    clerk_id=None,
                    call_count=0,
                    called_at=None,
                    started_at=None,
                    finished_at=None,
                    masked_name=masked_name,
                    target_window=None,
                    token=secrets.token_urlsafe(16),  # 128 random bits: the follow page's
                )
                # The sort key after every ticket's (_next_sort_key), in the insert itself;
                # a ticket issued already few ahead: its issued event says so, no ``ahead``
                # event for the web.remind_ahead thresholds it is within (reminded_ahead).
                self.conn.execute(
                    "INSERT INTO tickets (id, business_date, queue_id, number, code, item_id,"
                    " status, priority, priority_reason, appointment_start, appointment_end,"
                    " person_key, masked_name, issued_at, sort_key, token, reminded_ahead) "
                    "VALUES (?, ?, ?, ?, ?, ?, 'waiting', ?, ?, ?, ?, ?, ?, ?, "
                    "(SELECT coalesce(max(sort_key), 0) + 1.0 FROM tickets), ?, ?)",
                    (
                        ticket.id,
                        day,
                        queue.id,
                        number,
                        ticket.code,
                        item_id,
                        priority,
                        priority_reason,
                        appointment_start.isoformat() if appointment_start else None,
                        appointment_end.isoformat() if appointment_end else None,
                        person_key,
                        masked_name,
                        at,
                        ticket.token,
                        self._threshold(ahead),
                    ),
                )
                est = self._issue_estimate(memo, queue, ahead)
                if window.calls_from is not None:  # nobody is called before the break ends
                    est += max(0, math.ceil((window.calls_from - now).total_seconds() / 60))
                outbox.put_many(
                    self.conn,
                    at,
                    [
                        (
                            "ticket_issued",
                            {**self._event_ticket(ticket), "ahead": ahead, "est_wait_min": est},
                        ),
                        (
                            "ticket_progress",
                            self._progress_payload(ticket, "issued", at, ahead=ahead),
                        ),
                    ],
                )
            # Committed: what it read holds for the next issue until something else changes.
            self._issue_memo = None if grouped else memo
            if not grouped:
                memo.stamp = (*memo.stamp[:2], self.conn.total_changes)
        assert ticket.token is not None
        return Issued(
            ticket=ticket,
            ahead=ahead,
            est_wait_min=est,
            follow_url=self.follow_url(ticket.token),
            calls_from=window.calls_from,
        )

    def _issue_memo_now(self, grouped: bool) -> _IssueMemo:
        """Inside an issue's transaction: the memo of the issue before, if it still holds,
        else a new one (today's business date read and stored, ``business_date()``)."""
        today = self._now().date().isoformat()
        stamp: tuple[Any, ...] = (
            self.config,
            self.conn.execute("PRAGMA data_version").fetchone()[0],
            self.conn.total_changes,
        )
        memo = self._issue_memo
        if grouped or memo is None or memo.stamp[0] is not stamp[0] or memo.stamp[1:] != stamp[1:]:
            day = self.business_date()
            memo = _IssueMemo(stamp, day)
        elif today <= memo.stored_day:
            return memo  # the business date never goes back: still the stored one
        else:
            memo = _IssueMemo(stamp, today)  # a new day: no estimate of the day before holds
        self._set_business_date(memo.stored_day)
        return memo

    def _issue_estimate(self, memo: _IssueMemo, queue: Queue, ahead: int) -> int:
        """``_estimate_minutes`` with its inputs from ``memo`` (read once while it holds)."""
        key = (memo.stored_day, queue.id)
        inputs = memo.estimates.get(key)
        if inputs is None:
            inputs = self._estimate_inputs(queue, business_date=memo.stored_day)
            memo.estimates[key] = inputs
        avg, windows = inputs
        return math.ceil(ahead * avg / max(1, windows))

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

    def _ahead(self, t: Ticket, sort_key: float | None = None) -> int:
        """The tickets waiting before ``t`` in its queue: the priority ones (a normal
        ticket also waits behind those issued after it) and those sorted before it.

        Two counts on the ``tickets_waiting`` index alone (its columns are all they
        read, no table row): the first walks the queue's priority tickets, the second
        only the normal ones before ``t``.  Both exclude ``t`` itself (its own sort key
        is not before itself; a normal ticket is not a priority one).  ``sort_key``:
        ``t``'s, when the caller has just read or written it.
        """
        if sort_key is None:
            row = self.conn.execute("SELECT sort_key FROM tickets WHERE id=?", (t.id,)).fetchone()
            assert row is not None
            sort_key = row[0]
        # priority<>'normal' as two ranges of the index (an OR in one count reads them all)
        waiting = (
            "SELECT count(*) FROM tickets WHERE status='waiting' AND business_date=? AND queue_id=?"
        )
        if t.priority == "normal":
            sql = (
                f"SELECT ({waiting} AND priority='normal' AND sort_key<?) "
                f"+ ({waiting} AND priority<'normal') + ({waiting} AND priority>'normal')"
            )
        else:
            sql = (
                f"SELECT ({waiting} AND priority<'normal' AND sort_key<?) "
                f"+ ({waiting} AND priority>'normal' AND sort_key<?)"
            )
        key = (t.business_date, t.queue_id)
        args = (*key, sort_key, *key, *key) if t.priority == "normal" else (*key, sort_key) * 2
        return int(self.conn.execute(sql, args).fetchone()[0])

    def average_service_min(self, queue: Queue) -> float:
        """The mean of ``queue``'s last 20 services (its configured minutes until there are
        three).  Kept until a ticket of the queue is finished here (only ``_finish_locked``
        finishes one), a transaction rolls back or another connection commits (``PRAGMA
        data_version``): the board asked it of every queue after every command (#16)."""
        mark = (self._finished.get(queue.id, 0), rollbacks(), self._data_version())
        kept = self._service_times.get(queue.id)
        if kept is not None and kept[0] is self.config and kept[1] == mark:
            return kept[2]
        value = self._read_service_min(queue)
        self._service_times[queue.id] = (self.config, mark, value)
        return value

    def _read_service_min(self, queue: Queue) -> float:
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

    def open_window_counts(self, day: dict[str, _DayWindow] | None = None) -> dict[str, int]:
        """queue id -> the windows open for it now: a clerk logged in and not paused, not
        closed by a manager, serving the queue today (two queries; one given today's
        ``_day_windows``)."""
        open_ids = {
            r[0] for r in self.conn.execute("SELECT window_id FROM windows WHERE status='open'")
        }
        queues_of = self.effective_queues(day)  # today's read once while nothing changed
        if day is None:
            day = self._day_windows()
        counts: dict[str, int] = {}
        for w in self.config.windows:
            changed = day.get(w.id)
            if w.id not in open_ids or (changed is not None and changed.closed):
                continue
            for q in queues_of[w.id]:
                counts[q] = counts.get(q, 0) + 1
        return counts

    def open_windows_for(self, queue_id: str) -> int:
        return self.open_window_counts().get(queue_id, 0)

    def _estimate_minutes(
        self,
        queue: Queue,
        ahead: int,
        open_counts: dict[str, int] | None = None,
        *,
        business_date: str | None = None,
    ) -> int:
        """``ahead`` people's wait at ``queue``'s windows open now (none open: all that serve
        it today).  ``business_date``: today's, already read by the caller."""
        avg, windows = self._estimate_inputs(queue, open_counts, business_date=business_date)
        return math.ceil(ahead * avg / max(1, windows))

    def _estimate_inputs(
        self,
        queue: Queue,
        open_counts: dict[str, int] | None = None,
        *,
        business_date: str | None = None,
    ) -> tuple[float, int]:
        """``queue``'s average service minutes and the windows its wait is shared by."""
        day: dict[str, _DayWindow] | None = None
        if open_counts is None:
            day = self._day_windows(business_date)
            open_counts = self.open_window_counts(day)
        windows = open_counts.get(queue.id, 0)
        if not windows:
            if day is None:
                day = self._day_windows(business_date)
            windows = sum(1 for queues in self.effective_queues(day).values() if queue.id in queues)
        return self.average_service_min(queue), windows

    def estimate(self, queue_id: str) -> dict[str, int]:
        """People waiting and the wait a new ticket would have, for the kiosk."""
        queue = self._queue(queue_id)
        waiting = self.waiting_count(queue_id)
        return {"waiting": waiting, "est_wait_min": self._estimate_minutes(queue, waiting)}

    def waiting_count(self, queue_id: str) -> int:
        return int(
            self.conn.execute(
                "SELECT coalesce(sum(n), 0) FROM waiting_counts WHERE business_date=? "
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
            "staff_status=NULL, away_since=NULL, updated_at=? WHERE window_id=?",
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
            "current_ticket=NULL, staff_status=NULL, away_since=NULL, updated_at=? "
            "WHERE window_id=?",
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
                "UPDATE windows SET status='paused', pause_reason=?, updated_at=?, "
                "away_since=coalesce(away_since, ?) WHERE window_id=?",
                (reason[:40], now, now, window_id),
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
                "away_since=NULL, updated_at=? WHERE window_id=?",
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
            back = status == "在岗" and w["status"] != "paused"
            self.conn.execute(
                "UPDATE windows SET staff_status=?, updated_at=?, "
                "away_since=CASE WHEN ? THEN NULL ELSE coalesce(away_since, ?) END "
                "WHERE window_id=?",
                (status, now, back, now, window_id),
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
            if self.closed_by_manager(window_id):
                raise EngineError(
                    "window_closed",
                    f"window {window_id} was closed by the hall manager: it calls no new "
                    "ticket (its current one can still be finished)",
                    zh="window_closed_by_manager",
                    window=window_id,
                    closed_by_manager=True,
                )
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
            self._progress(ticket, "called", window=window_id)
            self._remind_ahead({ticket.queue_id})
            self._memo.setdefault(window_id, _WindowMemo()).last_call_mono = self.clock.monotonic()
        return CallResult(ticket=ticket, window_id=window_id, finished=finished)

    def _head(
        self, window: Window, queues: tuple[str, ...], where: str, params: tuple[Any, ...]
    ) -> sqlite3.Row | None:
        """The oldest waiting ticket for the window (serving ``queues`` today) that matches
        ``where``.

        One indexed ``LIMIT 1`` query per queue (an ``IN`` over queues would
        sort every waiting ticket), plus the tickets transferred to this window.
        """
        day = self.business_date()
        candidates = []
        for q in queues:
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
        queues = self.window_queues(window.id)  # a manager's choice today, from this call on
        normal_head = self._head(window, queues, "priority='normal'", ())
        capped = streak >= policy.max_priority_in_row and normal_head is not None
        for step in policy.order:
            if step == "green" and not capped:
                row = self._head(window, queues, "priority='green'", ())
            elif step == "appointment" and not capped:
                row = self._head(
                    window,
                    queues,
                    "priority='appointment' AND appointment_start<=? AND appointment_end>=?",
                    (early, late),
                )
            elif step == "longest_wait":
                row = normal_head if capped else self._head(window, queues, "1=1", ())
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

    def finish(self, window_id: str, case_no: Any = None) -> Ticket:
        """Finish the serving ticket.  A ticket none of whose cases was finished yet first
        gets one for its own item (``case_no``: its 办件编号), so every served ticket has at
        least one case to rate."""
        number = _case_no(case_no)
        self.logout_idle(window_id)  # an idle clerk is gone: 请先登录
        with self._lock, transaction(self.conn):
            w = self._open_window(window_id, allow_paused=True)
            cur = self._current(w, ("serving",))
            if number is not None and self._cases_of(cur.id):
                raise EngineError(
                    "bad_request",
                    "finish takes a case number only when no case of the ticket was finished "
                    "yet: finish that case with finish_case first",
                    ticket=cur.code,
                )
            ticket = self._finish_locked(window_id, cur, w["clerk_id"], case_no=number)
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

    # ------------------------------------------------------------------ cases

    def _cases_of(self, ticket_id: str) -> list[sqlite3.Row]:
        return self.conn.execute(
            "SELECT * FROM cases WHERE ticket_id=? ORDER BY finished_at, rowid", (ticket_id,)
        ).fetchall()

    def _item_or_none(self, item_id: str | None) -> Item | None:
        if not item_id:
            return None
        try:
            return self.config.item(item_id)
        except KeyError:
            return None

    def _item_name(self, item_id: str | None, queue_id: str | None = None) -> str:
        item = self._item_or_none(item_id)
        if item is not None:
            return item.name
        if queue_id:
            try:
                return self.config.queue(queue_id).name
            except KeyError:
                return queue_id
        return item_id or ""

    def _insert_case(
        self,
        ticket: Ticket,
        window_id: str,
        clerk_id: str | None,
        item_id: str | None,
        case_no: str | None,
    ) -> sqlite3.Row:
        """One finished case of ``ticket`` (inside the caller's transaction)."""
        if case_no is not None:
            twice = self.conn.execute(
                "SELECT 1 FROM cases WHERE business_date=? AND case_no=?",
                (ticket.business_date, case_no),
            ).fetchone()
            if twice is not None:
                raise EngineError(
                    "invalid_state",
                    f"case number {case_no} was finished already today",
                    zh="case_no_twice",
                    case_no=case_no,
                )
        case_id = str(uuid.uuid4())
        self.conn.execute(
            "INSERT INTO cases (case_id, ticket_id, business_date, window_id, clerk_id, item_id,"
            " case_no, finished_at, rated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)",
            (
                case_id,
                ticket.id,
                ticket.business_date,
                window_id,
                clerk_id,
                item_id,
                case_no,
                self._now().isoformat(timespec="seconds"),
            ),
        )
        row: sqlite3.Row = self.conn.execute(
            "SELECT * FROM cases WHERE case_id=?", (case_id,)
        ).fetchone()
        return row

    def _case_public(self, c: sqlite3.Row, queue_id: str | None = None) -> dict[str, Any]:
        return {
            "case_id": c["case_id"],
            "item": c["item_id"],
            "item_name": self._item_name(c["item_id"], queue_id),
            "case_no": c["case_no"],
            "finished_at": c["finished_at"],
            "rated": bool(c["rated"]),
        }

    def finish_case(
        self, window_id: str, *, item: Any = None, case_no: Any = None
    ) -> dict[str, Any]:
        """一事一评: finish one case of the window's serving ticket (its item: ``item``, by
        default the ticket's; ``case_no``: the 办件编号 from the business system).  The
        ticket stays serving; the case can be rated at once."""
        number = _case_no(case_no)
        if item is not None and (not isinstance(item, str) or self._item_or_none(item) is None):
            raise EngineError("unknown_item", f"no item {item!r}", item=str(item)[:64])
        self.logout_idle(window_id)  # an idle clerk is gone: 请先登录
        with self._lock, transaction(self.conn):
            w = self._open_window(window_id, allow_paused=True)
            cur = self._current(w, ("serving",))
            row = self._insert_case(cur, window_id, w["clerk_id"], item or cur.item_id, number)
            out = {"ticket_id": cur.id, "code": cur.code, **self._case_public(row, cur.queue_id)}
        return out

    def _finish_locked(
        self, window_id: str, cur: Ticket, clerk_id: str | None, case_no: str | None = None
    ) -> Ticket:
        now = self._now().isoformat(timespec="seconds")
        if not self._cases_of(cur.id):
            self._insert_case(cur, window_id, clerk_id, cur.item_id, case_no)
        self.conn.execute(
            "UPDATE tickets SET status='done', finished_at=? WHERE id=?", (now, cur.id)
        )
        self._finished[cur.queue_id] = self._finished.get(cur.queue_id, 0) + 1
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
        self._progress(ticket, "finished", window=window_id)
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
        self._progress(ticket, "no_show", window=window_id)
        return ticket

    def _todays_ticket(self, day: str, code: str) -> sqlite3.Row:
        """Today's ticket numbered ``code`` (inside the caller's transaction), or not_found."""
        row: sqlite3.Row | None = self.conn.execute(
            "SELECT * FROM tickets WHERE business_date=? AND code=?", (day, code.upper())
        ).fetchone()
        if row is None:
            raise EngineError("not_found", f"no ticket {code!r} today", ticket=code)
        return row

    def requeue(self, code: str) -> Issued:
        """A late citizen whose number passed returns to the line at a set position."""
        position = self.config.policy.late_requeue_position
        with self._lock, transaction(self.conn):
            day = self.business_date()
            row = self._todays_ticket(day, code)
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
            self._remind_ahead({ticket.queue_id})
            est = self._estimate_minutes(self._queue(ticket.queue_id), ahead)
        url = self.follow_url(ticket.token) if ticket.token else ""
        return Issued(ticket=ticket, ahead=ahead, est_wait_min=est, follow_url=url)

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
            old = self._ticket_by_id(cur.id)
            log_entries = _json_list(old["transfer_log"] if old is not None else None)
            entry: dict[str, Any] = {"from_queue": cur.queue_id, "from_window": window_id}
            entry.update({"to_queue": to_queue} if to_queue else {"to_window": to_window})
            entry["at"] = now
            log_entries = [*log_entries, entry][-MAX_CASES_SHOWN:]
            self.conn.execute(
                "UPDATE tickets SET status='waiting', queue_id=coalesce(?, queue_id), "
                "target_window=?, window_id=NULL, call_count=0, started_at=NULL, "
                "transfers=transfers+1, transfer_log=? WHERE id=?",
                (to_queue, to_window, json.dumps(log_entries, ensure_ascii=False), cur.id),
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
            self._remind_ahead({ticket.queue_id})
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
        case_id: str | None = None,
        channel: str | None = None,
        comment: str | None = None,
    ) -> dict[str, Any]:
        """Record a satisfaction rating of one finished case exactly once (idempotent by
        ``rating_id``): 一次一评、一事一评.

        ``level`` is 1 非常满意 … 5 非常不满意, or None for "not rated" (there is no
        default rating).  ``case_id`` names the case (required when the ticket has cases:
        an evaluator that sends only ``ticket_id`` rates that ticket's oldest unrated
        case).  Refused ``not_finished`` (no finished case with that id at that window)
        and ``already_rated`` (the case has a rating; the same ``rating_id`` again is
        answered ``duplicate``).  A 不满意/非常不满意 rating opens a follow-up in the
        same transaction.  The outbox ``evaluation`` record (version 2) carries the
        case, the item's codes, the hall's 区划代码 and the clerk's 工号 from the config.
        """
        if level is not None and (
            not isinstance(level, int) or isinstance(level, bool) or not 1 <= level <= 5
        ):
            raise EngineError("bad_request", f"rating level must be 1..5 or null, got {level!r}")
        channel = channel or "evaluator"
        if channel not in CHANNELS:
            raise EngineError("bad_request", f"a rating's channel is one of {CHANNELS}")
        text = _comment(comment, channel)
        reasons = _reasons(reasons)
        if contact is not None and (not isinstance(contact, str) or len(contact) > 40):
            raise EngineError("bad_request", "a rating's contact is a phone number (at most 40)")
        with self._lock, transaction(self.conn):
            existing = self.conn.execute(
                "SELECT rating_id, ticket_id, case_id FROM ratings WHERE rating_id=?",
                (rating_id,),
            ).fetchone()
            if existing is not None:
                return {
                    "rating_id": existing[0],
                    "ticket_id": existing[1],
                    "case_id": existing[2],
                    "duplicate": True,
                }
            row = self._ticket_by_id(ticket_id)
            if row is None:
                raise EngineError("not_found", "no such ticket to rate", ticket_id=ticket_id)
            case = self._case_to_rate(window, row, case_id)
            now = self._now().isoformat(timespec="seconds")
            at = rated_at or now
            clerk = case["clerk_id"] if case is not None else row["clerk_id"]
            item_id = case["item_id"] if case is not None else row["item_id"]
            self.conn.execute(
                "INSERT INTO ratings (rating_id, ticket_id, window_id, clerk_id, queue_id, "
                "item_id, level, reasons, contact, rated_at, received_at, case_id, channel, "
                "comment) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    rating_id,
                    ticket_id,
                    window,
                    clerk,
                    row["queue_id"],
                    item_id,
                    level,
                    json.dumps(reasons, ensure_ascii=False),
                    contact,
                    at,
                    now,
                    case["case_id"] if case is not None else None,
                    channel,
                    text,
                ),
            )
            if case is not None:
                self.conn.execute("UPDATE cases SET rated=1 WHERE case_id=?", (case["case_id"],))
            follow_up = level is not None and level in BAD_LEVELS
            record = self._evaluation_record(
                rating_id, row, case, window, clerk, item_id, channel, level, reasons, text
            )
            self._event(
                "evaluation",
                {**record, "contact": contact, "follow_up": follow_up, "rated_at": at},
            )
            if follow_up:
                self._open_follow_up(rating_id, case["case_id"] if case is not None else None)
        return {
            "rating_id": rating_id,
            "ticket_id": ticket_id,
            "case_id": case["case_id"] if case is not None else None,
            "duplicate": False,
            "follow_up": follow_up,
        }

    def _case_to_rate(
        self, window: str, ticket: sqlite3.Row, case_id: str | None
    ) -> sqlite3.Row | None:
        """The finished case a rating is for (None: a ticket finished before cases)."""
        cases = self._cases_of(ticket["id"])
        if case_id is not None:
            case = next((c for c in cases if c["case_id"] == case_id), None)
            if case is None or case["window_id"] != window:
                raise EngineError(
                    "not_finished",
                    "no finished case with that id at this window",
                    case_id=str(case_id)[:64],
                    ticket=ticket["code"],
                )
        elif cases:
            here = [c for c in cases if c["window_id"] == window]
            if not here:
                raise EngineError(
                    "not_finished",
                    "no case of the ticket was finished at this window",
                    ticket=ticket["code"],
                )
            case = next((c for c in here if not c["rated"]), here[0])
        else:
            if ticket["window_id"] != window:
                raise EngineError(
                    "not_finished",
                    "the ticket was not served at this window",
                    ticket=ticket["code"],
                )
            if ticket["status"] != "done":
                raise EngineError(
                    "not_finished", "the ticket has no finished case yet", ticket=ticket["code"]
                )
            first = self.conn.execute(
                "SELECT rating_id FROM ratings WHERE ticket_id=? LIMIT 1", (ticket["id"],)
            ).fetchone()
            if first is not None:
                raise EngineError(
                    "already_rated",
                    "the ticket was rated already",
                    rating_id=first[0],
                    ticket=ticket["code"],
                )
            return None
        if case["rated"]:
            first = self.conn.execute(
                "SELECT rating_id FROM ratings WHERE case_id=?", (case["case_id"],)
            ).fetchone()
            raise EngineError(
                "already_rated",
                "the case was rated already",
                case_id=case["case_id"],
                rating_id=first[0] if first else None,
            )
        return case

    # ------------------------------------------------------------------ follow-ups

    def _open_follow_up(self, rating_id: str, case_id: str | None) -> None:
        """A bad rating's follow-up (inside the rating's transaction): the deadline is
        ``haochaping.follow_up_days`` working days after today on the hall calendar."""
        now = self._now()
        opened = now.isoformat(timespec="seconds")
        deadline = add_working_days(
            self.config.hours, now.date(), self.config.haochaping.follow_up_days
        ).isoformat()
        self.conn.execute(
            "INSERT INTO follow_ups (rating_id, case_id, opened_at, deadline, status, reminded,"
            " overdue) VALUES (?, ?, ?, ?, 'open', 0, 0)",
            (rating_id, case_id, opened, deadline),
        )
        self._follow_up_event(rating_id, case_id, "opened", deadline)

    def _follow_up_row(self, rating_id: Any) -> sqlite3.Row:
        row: sqlite3.Row | None = (
            self.conn.execute("SELECT * FROM follow_ups WHERE rating_id=?", (rating_id,)).fetchone()
            if isinstance(rating_id, str)
            else None
        )
        if row is None:
            raise EngineError(
                "unknown_follow_up", "no follow-up of that rating", rating_id=str(rating_id)[:64]
            )
        if row["status"] == "closed":
            raise EngineError(
                "follow_up_closed",
                "the follow-up is closed (called back and rectified)",
                rating_id=rating_id,
            )
        return row

    def follow_up_callback(
        self, manager: Any, rating_id: Any, reached: Any, answer: Any = ""
    ) -> dict[str, Any]:
        """回访: the manager called the citizen back (``reached`` or not, their ``answer``).
        Another call may be recorded until the follow-up is closed; with the
        rectification recorded too, it is closed."""
        m = self._manager(manager)
        if not isinstance(reached, bool):
            raise EngineError("bad_request", "a call-back says whether the citizen was reached")
        if answer is None:
            answer = ""
        if not isinstance(answer, str) or len(answer) > 200:
            raise EngineError("bad_request", "the citizen's answer is text of at most 200")
        text = privacy.redact(" ".join(answer.split()))
        with self._lock, transaction(self.conn):
            row = self._follow_up_row(rating_id)
            now = self._now().isoformat(timespec="seconds")
            status = "closed" if row["rectified_at"] else "called"
            self.conn.execute(
                "UPDATE follow_ups SET status=?, callback_reached=?, callback_answer=?, "
                "callback_at=?, callback_by=? WHERE rating_id=?",
                (status, 1 if reached else 0, text, now, m.id, row["rating_id"]),
            )
            self._follow_up_event(
                row["rating_id"],
                row["case_id"],
                "callback",
                row["deadline"],
                manager=m.id,
                reached=reached,
                answer=text,
                status=status,
            )
        log.info("manager %s: follow-up %s called back (%s)", m.id, row["rating_id"], status)
        return {"rating_id": row["rating_id"], "status": status}

    def follow_up_rectify(self, manager: Any, rating_id: Any, action: Any) -> dict[str, Any]:
        """整改: what was done about a bad rating.  With a call-back recorded too, the
        follow-up is closed."""
        m = self._manager(manager)
        if not isinstance(action, str) or not 1 <= len(action.strip()) <= 400:
            raise EngineError("bad_request", "a rectification is text of 1 to 400")
        text = privacy.redact(" ".join(action.split()))
        with self._lock, transaction(self.conn):
            row = self._follow_up_row(rating_id)
            now = self._now().isoformat(timespec="seconds")
            status = "closed" if row["callback_at"] else "rectified"
            self.conn.execute(
                "UPDATE follow_ups SET status=?, rectification=?, rectified_at=?, "
                "rectified_by=? WHERE rating_id=?",
                (status, text, now, m.id, row["rating_id"]),
            )
            self._follow_up_event(
                row["rating_id"],
                row["case_id"],
                "rectified",
                row["deadline"],
                manager=m.id,
                action=text,
                status=status,
            )
        log.info("manager %s: follow-up %s rectified (%s)", m.id, row["rating_id"], status)
        return {"rating_id": row["rating_id"], "status": status}

    def sweep_follow_ups(self) -> list[dict[str, Any]]:
        """The reminder (``haochaping.remind_days_before`` working days before the
        deadline) and the overdue flag (the first working day past it) of every follow-up
        not closed, each once: ``follow_up`` events.  Called by the service's periodic
        sweep; the steps taken."""
        hours = self.config.hours
        remind = self.config.haochaping.remind_days_before
        today = self._now().date()
        steps: list[dict[str, Any]] = []
        with self._lock:
            rows = self.conn.execute(
                "SELECT * FROM follow_ups WHERE status<>'closed' AND (reminded=0 OR overdue=0)"
            ).fetchall()
            due: list[tuple[sqlite3.Row, str]] = []
            for r in rows:
                left = _days_left(hours, today, date.fromisoformat(r["deadline"]))
                if left < 0 and not r["overdue"]:
                    due.append((r, "overdue"))
                elif 0 <= left <= remind and remind > 0 and not r["reminded"]:
                    due.append((r, "reminder"))
            if not due:
                return steps
            with transaction(self.conn):
                for r, step in due:
                    column = "overdue" if step == "overdue" else "reminded"
                    self.conn.execute(
                        f"UPDATE follow_ups SET {column}=1 WHERE rating_id=?", (r["rating_id"],)
                    )
                    self._follow_up_event(r["rating_id"], r["case_id"], step, r["deadline"])
                    steps.append({"rating_id": r["rating_id"], "step": step})
        for s_ in steps:
            log.info("follow-up %s: %s", s_["rating_id"], s_["step"])
        return steps

    def follow_ups(self, manager: Any) -> dict[str, Any]:
        """The console's follow-ups: those not closed (``open``, deadline first), those
        closed today (``recent``) and the rates.  Each with the citizen's phone masked
        (``contact_masked``) and, for the manager who calls back, in full (``contact``):
        this answer goes only to the web role and is never logged."""
        self._manager(manager)
        day = self.business_date()
        with self._lock:
            rows = self.conn.execute(
                "SELECT f.*, r.level, r.reasons, r.comment, r.contact, r.window_id, "
                "r.clerk_id, r.item_id, t.code, t.queue_id FROM follow_ups f "
                "JOIN ratings r ON r.rating_id=f.rating_id JOIN tickets t ON t.id=r.ticket_id "
                "WHERE f.status<>'closed' OR substr(coalesce(f.callback_at, ''), 1, 10)=? "
                "OR substr(coalesce(f.rectified_at, ''), 1, 10)=? "
                "ORDER BY f.deadline, f.opened_at, f.rating_id LIMIT 500",
                (day, day),
            ).fetchall()
            entries = [self._follow_up_view(r) for r in rows]
            return {
                "open": [e for e in entries if e["status"] != "closed"],
                "recent": [e for e in entries if e["status"] == "closed"],
                "rates": self._follow_up_rates(),
            }

    def _follow_up_view(self, r: sqlite3.Row) -> dict[str, Any]:
        staff = self.config.staff_member(r["clerk_id"]) if r["clerk_id"] else None
        today = self._now().date()
        deadline = date.fromisoformat(r["deadline"])
        contact = r["contact"] or None
        try:
            reasons = json.loads(r["reasons"] or "[]")
        except ValueError:
            reasons = []
        return {
            "rating_id": r["rating_id"],
            "case_id": r["case_id"],
            "code": r["code"],
            "item_name": self._item_name(r["item_id"], r["queue_id"]),
            "window": r["window_id"],
            "clerk_name": staff.name if staff else "",
            "staff_no": staff.staff_no if staff else r["clerk_id"],
            "level": r["level"],
            "level_name": LEVEL_NAMES.get(r["level"]),
            "reasons": reasons if isinstance(reasons, list) else [],
            "comment": r["comment"] or "",
            "contact_masked": privacy.mask_phone(contact) if contact else None,
            "contact": contact,
            "opened_at": r["opened_at"],
            "deadline": r["deadline"],
            "days_left": _days_left(self.config.hours, today, deadline),
            "status": r["status"],
            "callback": None
            if not r["callback_at"]
            else {
                "reached": bool(r["callback_reached"]),
                "answer": r["callback_answer"] or "",
                "at": r["callback_at"],
                "by": r["callback_by"],
            },
            "rectification": None
            if not r["rectified_at"]
            else {
                "action": r["rectification"] or "",
                "at": r["rectified_at"],
                "by": r["rectified_by"],
            },
            "overdue": bool(r["overdue"]),
        }

    def _follow_up_rates(self, day: str | None = None) -> dict[str, Any]:
        """回访率 and 整改率 over the follow-ups opened (on ``day``, or all), 0..1 or None
        when none was opened; ``overdue``: follow-ups past their deadline not closed."""
        where, params = ("WHERE substr(opened_at, 1, 10)=?", (day,)) if day else ("", ())
        opened, called, rectified = self.conn.execute(
            "SELECT count(*), count(callback_at), count(rectified_at) FROM follow_ups " + where,
            params,
        ).fetchone()
        overdue = self.conn.execute(
            "SELECT count(*) FROM follow_ups WHERE overdue=1 AND status<>'closed'"
        ).fetchone()[0]
        return {
            "opened": int(opened),
            "called_back": int(called),
            "rectified": int(rectified),
            "overdue": int(overdue),
            "callback_rate": round(called / opened, 4) if opened else None,
            "rectification_rate": round(rectified / opened, 4) if opened else None,
        }

    def _follow_up_event(
        self, rating_id: str, case_id: str | None, step: str, deadline: str, **fields: Any
    ) -> None:
        """A ``follow_up`` outbox event: no phone number, ever."""
        self._event(
            "follow_up",
            {
                "rating_id": rating_id,
                "case_id": case_id,
                "step": step,
                "deadline": deadline,
                **fields,
                "at": self._now().isoformat(timespec="seconds"),
            },
        )

    def _evaluation_record(
        self,
        rating_id: str,
        ticket: sqlite3.Row,
        case: sqlite3.Row | None,
        window: str,
        clerk: str | None,
        item_id: str | None,
        channel: str,
        level: int | None,
        reasons: list[str],
        comment: str,
    ) -> dict[str, Any]:
        """The ``evaluation`` record (version 2): the platform's fields from the config
        and the case (docs/haochaping.md maps them)."""
        item = self._item_or_none(item_id)
        staff = self.config.staff_member(clerk) if clerk else None
        codes = item.codes if item is not None else None
        return {
            "version": 2,
            "rating_id": rating_id,
            "case_id": case["case_id"] if case is not None else None,
            "case_no": case["case_no"] if case is not None else None,
            "ticket_id": ticket["id"],
            "code": ticket["code"],
            "hall": self.config.hall_id,
            "area_code": self.config.area_code,
            "window": window,
            "clerk": clerk,
            "staff_no": staff.staff_no if staff else None,
            "queue": ticket["queue_id"],
            "item": item_id,
            "item_name": self._item_name(item_id, ticket["queue_id"]),
            "item_code": codes.item_code if codes else None,
            "impl_code": codes.impl_code if codes else None,
            "dept_code": codes.dept_code if codes else None,
            "channel": channel,
            "level": level,
            "level_name": LEVEL_NAMES.get(level) if level is not None else None,
            "reasons": reasons,
            "comment": comment,
            "served_at": case["finished_at"] if case is not None else ticket["finished_at"],
        }

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
        changed = self._day_windows().get(window_id)
        queues = changed.queues if changed is not None and changed.queues else window.queues
        waiting, waiting_count = self._waiting_at(window_id, queues, day)
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
        items = [i.name for q in queues for i in self.config.items_of(q)]
        cases = self._cases_of(current.id) if current is not None else []
        return {
            "window": window.id,
            "name": window.name,
            "department": window.department,
            "kind": window.kind,
            "queues": list(queues),  # today's (a manager may have changed them)
            "items": items[:12],
            "status": status,
            # 本窗口已暂停叫号: a manager closed it for today (its current ticket may finish)
            "closed_by_manager": bool(changed is not None and changed.closed),
            "notice": self._notice_public(),
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
            "current": None if current is None else self._current_view(current, cases),
            "cases": [self._case_public(c, current.queue_id) for c in cases][-MAX_CASES_SHOWN:]
            if current is not None
            else [],
            "to_rate": self._to_rate(window_id),
            "waiting": int(waiting_count),
            "waiting_codes": waiting,
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

    def _waiting_at(
        self, window_id: str, queues: tuple[str, ...], day: str, shown: int = 10
    ) -> tuple[list[str], int]:
        """The first ``shown`` codes waiting for a window (priorities first, then by
        ``sort_key``) and how many wait: its queues' tickets not sent to a window,
        and those transferred to it.

        Indexed queries per queue (an ``OR`` over the queues read every waiting
        ticket of the hall, and sorted them, for each window's state).  How many: the
        queues' ``waiting_counts``, less their tickets sent to a window, plus those sent
        to this one (the few transferred, on their own partial index): no count over a
        waiting list that grows with the day (#16).
        """
        mine = set(queues)
        counts = self._waiting_counts(day)
        count = sum(counts.get(q, 0) for q in mine)
        sent_here = 0
        for queue_id, target, n in self._read_once(("sent", day), lambda: self._sent(day)):
            if queue_id in mine:
                count -= n
            if target == window_id:
                sent_here += n
        count += sent_here
        rows: list[tuple[bool, float, str]] = []
        for q in queues:  # the windows of a queue share its list while nothing changes
            rows += self._read_once(
                ("waiting_codes", day, q, shown),
                functools.partial(
                    self._first_waiting, "queue_id=? AND target_window IS NULL", (q,), day, shown
                ),
            )
        if sent_here:
            rows += self._first_waiting("target_window=?", (window_id,), day, shown)
        rows.sort()
        return [r[2] for r in rows[:shown]], int(count)

    def _waiting_counts(self, day: str) -> dict[str, int]:
        """queue id -> its tickets waiting on ``day`` (``waiting_counts``, kept by triggers:
        no count over a waiting list that grows with the day), read once while nothing
        changes."""
        return self._read_once(
            ("waiting_counts", day),
            lambda: {
                r[0]: int(r[1])
                for r in self.conn.execute(
                    "SELECT queue_id, sum(n) FROM waiting_counts WHERE business_date=? "
                    "GROUP BY queue_id",
                    (day,),
                )
            },
        )

    def _oldest_waiting(self, day: str, queue_id: str) -> str | None:
        """When the longest-waiting ticket of ``queue_id`` on ``day`` was issued (one
        look-up in ``tickets_waiting_since``, however long the list)."""
        row = self.conn.execute(
            "SELECT min(issued_at) FROM tickets "
            "WHERE status='waiting' AND business_date=? AND queue_id=?",
            (day, queue_id),
        ).fetchone()
        return None if row is None else row[0]

    def _sent(self, day: str) -> list[tuple[str, str, int]]:
        """(queue, window, how many) of the tickets waiting on ``day`` sent to a window."""
        return [
            (r[0], r[1], int(r[2]))
            for r in self.conn.execute(
                # +status, +business_date: only the partial index of the transferred fits
                "SELECT queue_id, target_window, count(*) FROM tickets "
                "WHERE target_window IS NOT NULL AND +status='waiting' AND +business_date=? "
                "GROUP BY queue_id, target_window",
                (day,),
            )
        ]

    def _first_waiting(
        self, where: str, params: tuple[Any, ...], day: str, shown: int
    ) -> list[tuple[bool, float, str]]:
        """The first ``shown`` priority and the first ``shown`` normal tickets waiting that
        match ``where``: (normal, sort key, code).  The priority ones as two ranges of the
        waiting index (``priority<>'normal'`` walked the whole queue)."""
        rows = [
            (r[0] == "normal", r[1], r[2])
            for r in self.conn.execute(
                f"SELECT priority, sort_key, code FROM tickets WHERE status='waiting' "
                f"AND business_date=? AND {where} AND priority<'normal' "
                f"UNION ALL SELECT priority, sort_key, code FROM tickets "
                f"WHERE status='waiting' AND business_date=? AND {where} "
                f"AND priority>'normal' ORDER BY 2 LIMIT ?",
                (day, *params, day, *params, shown),
            )
        ]
        rows += [
            (r[0] == "normal", r[1], r[2])
            for r in self.conn.execute(
                "SELECT priority, sort_key, code FROM tickets WHERE status='waiting' "
                f"AND business_date=? AND {where} AND priority='normal' "
                "ORDER BY sort_key LIMIT ?",
                (day, *params, shown),
            )
        ]
        return rows

    def _current_view(self, t: Ticket, cases: list[sqlite3.Row]) -> dict[str, Any]:
        """The window's current ticket for the caller: its items, green channel or
        appointment, minutes waited, transfers and (in ``cases``) its finished cases."""
        row = self._ticket_by_id(t.id)
        assert row is not None
        waited_until = row["first_called_at"] or self._now().isoformat(timespec="seconds")
        waited = self._seconds(t.issued_at, waited_until)
        items: list[str] = [t.item_id] if t.item_id else []
        for c in cases:
            if c["item_id"] and c["item_id"] not in items:
                items.append(c["item_id"])
        return {
            "ticket_id": t.id,
            "code": t.code,
            "queue": t.queue_id,
            "item": t.item_id,
            "status": t.status,
            "call_count": t.call_count,
            "called_at": t.called_at,
            "priority": t.priority,
            "priority_reason": t.priority_reason,
            "appointment": row["appointment_start"] is not None,
            "issued_at": t.issued_at,
            "waited_min": None if waited is None else max(0, waited // 60),
            "transfers": _json_list(row["transfer_log"])[-MAX_CASES_SHOWN:],
            "items": items[:MAX_CASES_SHOWN],
        }

    def _to_rate(self, window_id: str) -> list[dict[str, Any]]:
        """The window's cases finished in the last TO_RATE_MIN minutes and not rated yet,
        oldest first (the evaluator prompts for the first)."""
        since = (self._now() - timedelta(minutes=TO_RATE_MIN)).isoformat(timespec="seconds")
        rows = self.conn.execute(
            "SELECT c.*, t.code, t.queue_id FROM cases c JOIN tickets t ON t.id=c.ticket_id "
            "WHERE c.window_id=? AND c.rated=0 AND c.finished_at>=? "
            "ORDER BY c.finished_at, c.rowid LIMIT ?",
            (window_id, since, MAX_CASES_SHOWN),
        ).fetchall()
        return [
            {
                "case_id": r["case_id"],
                "ticket_id": r["ticket_id"],
                "code": r["code"],
                "item": r["item_id"],
                "item_name": self._item_name(r["item_id"], r["queue_id"]),
                "case_no": r["case_no"],
                "finished_at": r["finished_at"],
            }
            for r in rows
        ]

    def board_view(self, recent: int = 8) -> dict[str, Any]:
        day = self.business_date()
        counts = self._waiting_counts(day)
        calls = self.conn.execute(
            "SELECT code, window_id, called_at FROM tickets WHERE business_date=? "
            "AND called_at IS NOT NULL AND window_id IS NOT NULL "
            "ORDER BY called_at DESC, rowid DESC LIMIT ?",
            (day, recent),
        ).fetchall()
        open_counts = self.open_window_counts()
        extra: dict[str, Any] = {"notice": self._notice_public()}
        if self.config.alerts.show_on_board:
            extra["alerts"] = [
                r[0]
                for r in self.conn.execute(
                    "SELECT text_zh FROM alerts WHERE acked_by IS NULL ORDER BY since, key LIMIT 10"
                )
            ]
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
                    "est_wait_min": self._estimate_minutes(
                        q, int(counts.get(q.id, 0)), open_counts
                    ),
                    "open_windows": open_counts.get(q.id, 0),
                }
                for q in self.config.queues
            ],
            "recent_calls": [{"code": r[0], "window": r[1], "at": r[2]} for r in calls],
            "notices": list(self.config.notices),
            **extra,
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
            "follow_ups": self._follow_up_rates(business_date),
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

    # ------------------------------------------------------------------ the citizen's page

    def _progress(self, t: Ticket, milestone: str, **extra: Any) -> None:
        """A ``ticket_progress`` event (inside the caller's transaction): the token and the
        milestone, never personal data (no name, no person key, no ticket id)."""
        if not t.token:  # a ticket issued before tokens existed
            return
        at = self._now().isoformat(timespec="seconds")
        self._event("ticket_progress", self._progress_payload(t, milestone, at, **extra))

    @staticmethod
    def _progress_payload(t: Ticket, milestone: str, at: str, **extra: Any) -> dict[str, Any]:
        return {
            "token": t.token,
            "code": t.code,
            "queue": t.queue_id,
            "business_date": t.business_date,
            "milestone": milestone,
            **extra,
            "at": at,
        }

    def _threshold(self, ahead: int) -> int | None:
        """The smallest ``web.remind_ahead`` threshold that ``ahead`` is within, or None."""
        within = [t for t in self.config.web.remind_ahead if ahead <= t]
        return min(within) if within else None

    def _remind_ahead(self, queue_ids: set[str]) -> None:
        """``ahead`` milestones for the tickets of ``queue_ids`` that came within a threshold
        of ``web.remind_ahead`` (once per ticket per threshold; a ticket that jumps over
        several gets one event, for the smallest).  Reads only the first max(threshold)+1
        waiting tickets of each queue, in the order ``ahead`` counts them."""
        thresholds = self.config.web.remind_ahead
        if not thresholds:
            return
        limit = max(thresholds) + 1
        day = self.business_date()
        for queue_id in sorted(queue_ids):
            cols = "id, code, queue_id, token, reminded_ahead, business_date"
            first = self.conn.execute(
                f"SELECT {cols} FROM tickets WHERE status='waiting' AND business_date=? "
                "AND queue_id=? AND priority IN ('green', 'appointment') "
                "ORDER BY sort_key LIMIT ?",
                (day, queue_id, limit),
            ).fetchall()
            rows = list(first)
            if len(rows) < limit:
                rows += self.conn.execute(
                    f"SELECT {cols} FROM tickets WHERE status='waiting' AND business_date=? "
                    "AND queue_id=? AND priority='normal' ORDER BY sort_key LIMIT ?",
                    (day, queue_id, limit - len(rows)),
                ).fetchall()
            for ahead, r in enumerate(rows):
                threshold = self._threshold(ahead)
                if threshold is None or not r["token"]:
                    continue
                if r["reminded_ahead"] is not None and r["reminded_ahead"] <= threshold:
                    continue
                self.conn.execute(
                    "UPDATE tickets SET reminded_ahead=? WHERE id=?", (threshold, r["id"])
                )
                self._event(
                    "ticket_progress",
                    {
                        "token": r["token"],
                        "code": r["code"],
                        "queue": r["queue_id"],
                        "business_date": r["business_date"],
                        "milestone": "ahead",
                        "ahead": ahead,
                        "threshold": threshold,
                        "at": self._now().isoformat(timespec="seconds"),
                    },
                )

    def progress(self, tokens: list[str]) -> dict[str, Any]:
        """The citizen's page for each of ``tokens`` (at most 100): where is the ticket now?

        Unknown, malformed and other-day tokens are simply absent.  No personal data: no
        name, no person key, no ticket id.  ``ahead`` comes from one ordered query per
        queue, not one per ticket.
        """
        if not isinstance(tokens, list) or len(tokens) > MAX_PROGRESS_TOKENS:
            raise EngineError(
                "bad_request", f"progress takes a list of at most {MAX_PROGRESS_TOKENS} tokens"
            )
        wanted = sorted({t for t in tokens if isinstance(t, str) and TOKEN_FORM.match(t)})
        day = self.business_date()
        out: dict[str, Any] = {
            "business_date": day,
            "remind_ahead": list(self.config.web.remind_ahead),
            "tickets": {},
        }
        if not wanted:
            return out
        with self._lock:
            marks = ",".join("?" * len(wanted))
            rows = self.conn.execute(
                f"SELECT * FROM tickets WHERE business_date=? AND token IN ({marks})",
                (day, *wanted),
            ).fetchall()
            tickets = [Ticket.from_row(r) for r in rows]
            waiting_queues = {t.queue_id for t in tickets if t.status == "waiting"}
            position: dict[str, int] = {}
            for queue_id in sorted(waiting_queues):
                order = self.conn.execute(
                    "SELECT id FROM tickets WHERE status='waiting' AND business_date=? "
                    "AND queue_id=? ORDER BY priority='normal', sort_key",
                    (day, queue_id),
                ).fetchall()
                position.update((r[0], n) for n, r in enumerate(order))
            rated = set()
            if tickets:
                marks = ",".join("?" * len(tickets))
                rated = {
                    r[0]
                    for r in self.conn.execute(
                        f"SELECT ticket_id FROM ratings WHERE ticket_id IN ({marks}) "
                        "AND level IS NOT NULL",
                        [t.id for t in tickets],
                    )
                }
            open_counts = self.open_window_counts() if waiting_queues else {}
            per_queue: dict[str, float] = {}
            for t in tickets:
                assert t.token is not None
                out["tickets"][t.token] = self._progress_view(
                    t, position.get(t.id), t.id in rated, open_counts, per_queue
                )
        return out

    def _progress_view(
        self,
        t: Ticket,
        ahead: int | None,
        rated: bool,
        open_counts: dict[str, int],
        service_min: dict[str, float],
    ) -> dict[str, Any]:
        try:
            queue: Queue | None = self.config.queue(t.queue_id)
        except KeyError:
            queue = None
        item = None
        if t.item_id:
            try:
                item = self.config.item(t.item_id)
            except KeyError:
                item = None
        est = None
        if t.status == "waiting" and ahead is not None and queue is not None:
            if queue.id not in service_min:
                service_min[queue.id] = self.average_service_min(queue)
            windows = open_counts.get(queue.id, 0) or sum(
                1 for w in self.config.windows if queue.id in w.queues
            )
            est = math.ceil(ahead * service_min[queue.id] / max(1, windows))
        window_name = None
        if t.window_id:
            try:
                window_name = self.config.window(t.window_id).name
            except KeyError:
                window_name = t.window_id
        shown_window = t.status in ("called", "serving", "done")
        return {
            "code": t.code,
            "queue": t.queue_id,
            "queue_name": queue.name if queue else t.queue_id,
            "queue_name_en": queue.name_en if queue else "",
            "item": t.item_id,
            "item_name": item.name if item else (queue.name if queue else ""),
            "item_name_en": (item.name_en if item else "") or (queue.name_en if queue else ""),
            "status": t.status,
            "ahead": ahead if t.status == "waiting" else None,
            "est_wait_min": est,
            "window": t.window_id if shown_window else None,
            "window_name": window_name if shown_window else None,
            "called_at": t.called_at,
            "call_count": t.call_count,
            "issued_at": t.issued_at,
            "rated": rated,
        }

    # ------------------------------------------------------------------ the manager's console

    def _snapshot(
        self, *, service_times: bool = False
    ) -> tuple[
        list[rules.QueueLoad], list[rules.WindowLoad], list[rules.BadRating], dict[str, Any]
    ]:
        """The hall now, for the alert rules and the console (a handful of queries)."""
        day = self.business_date()
        now = self._now()  # one moment for every window and queue (and one clock read)
        # the counts kept by triggers and each queue's oldest ticket by its index: a count
        # and a minimum over the waiting list were most of a call's work at 6,000 waiting
        counts = self._waiting_counts(day)
        open_counts = self.open_window_counts()
        queues_of = self.effective_queues()  # read once while nothing changed
        queues = []
        for q in self.config.queues:
            count = counts.get(q.id, 0)
            oldest = self._oldest_waiting(day, q.id) if count else None
            queues.append(
                rules.QueueLoad(
                    id=q.id,
                    name=q.name,
                    name_en=q.name_en,
                    waiting=count,
                    longest_wait_min=round(_minutes_between(oldest, now) or 0.0, 1),
                    avg_service_min=self.average_service_min(q)
                    if service_times
                    else q.avg_service_min,
                    open_windows=open_counts.get(q.id, 0),
                )
            )
        rows = {r[0]: r for r in self.conn.execute(f"SELECT {_WINDOW_COLUMNS} FROM windows")}
        current_ids = [r["current_ticket"] for r in rows.values() if r["current_ticket"]]
        current: dict[str, sqlite3.Row] = {}
        if current_ids:
            marks = ",".join("?" * len(current_ids))
            current = {
                r["id"]: r
                for r in self.conn.execute(
                    # what the rules and the console read of it (a whole row is 30 columns)
                    f"SELECT id, code, item_id, status, started_at FROM tickets "
                    f"WHERE id IN ({marks}) AND status IN ('called', 'serving')",
                    current_ids,
                )
            }
        day_windows = self._day_windows()
        limit = self.config.policy.on_the_spot_limit_min
        windows = []
        extra: dict[str, Any] = {"rows": rows, "current": current, "day": day_windows}
        for w in self.config.windows:
            row = rows.get(w.id)
            changed = day_windows.get(w.id)
            closed = bool(changed and changed.closed)
            has_clerk = bool(row is not None and row["clerk_id"] and row["status"] != "closed")
            status = "closed"
            if has_clerk and not closed:
                status = "paused" if row is not None and row["status"] == "paused" else "open"
            cur = current.get(row["current_ticket"]) if row is not None else None
            served = limit_min = None
            over = False
            if cur is not None:
                kind = ""
                if cur["item_id"]:
                    try:
                        kind = self.config.item(cur["item_id"]).kind
                    except KeyError:
                        kind = ""
                limit_min = limit if kind == "即办件" else None
                if cur["status"] == "serving":
                    served = round(_minutes_between(cur["started_at"], now) or 0.0, 1)
                    over = limit_min is not None and served > limit_min
            away = None
            away_now = row is not None and (
                row["status"] == "paused"
                or bool(row["staff_status"] and row["staff_status"] != "在岗")
            )
            if has_clerk and away_now and row is not None:
                away = _minutes_between(row["away_since"] or row["updated_at"], now)
            idle = None
            if status == "open" and cur is None and row is not None:
                idle = round(_minutes_between(row["updated_at"], now) or 0.0, 1)
            windows.append(
                rules.WindowLoad(
                    id=w.id,
                    name=w.name,
                    queues=queues_of[w.id],
                    status=status,
                    closed_by_manager=closed,
                    has_clerk=has_clerk,
                    busy=cur is not None,
                    idle_min=idle,
                    away_min=None if away is None else round(away, 1),
                    current_code=cur["code"] if cur is not None else None,
                    current_over=over,
                    served_min=served,
                    limit_min=limit_min,
                )
            )
        # a bad rating's alert lasts while its follow-up is not closed (any day)
        bad = [
            rules.BadRating(
                rating_id=r[0],
                code=r[1],
                window=r[2],
                window_name=self._window_name(r[2]),
                level=int(r[3]),
                deadline=r[4],
                overdue=bool(r[5]),
            )
            for r in self.conn.execute(
                "SELECT r.rating_id, t.code, r.window_id, r.level, f.deadline, f.overdue "
                "FROM follow_ups f JOIN ratings r ON r.rating_id=f.rating_id "
                "JOIN tickets t ON t.id=r.ticket_id WHERE f.status<>'closed' "
                "ORDER BY f.opened_at, f.rating_id LIMIT 200"
            )
        ]
        return queues, windows, bad, extra

    def _window_name(self, window_id: str | None) -> str:
        if not window_id:
            return ""
        try:
            return self.config.window(window_id).name
        except KeyError:
            return window_id

    def _current_alerts(self, snapshot: tuple[Any, ...] | None = None) -> list[rules.Alert]:
        queues, windows, bad, _extra = snapshot or self._snapshot()
        # a follow-up's alert, once seen, stays seen (its overdue alert is another key)
        acked = frozenset(
            r[0]
            for r in self.conn.execute(
                "SELECT key FROM alert_acks WHERE business_date=? OR key LIKE 'bad_rating:%'",
                (self.business_date(),),
            )
        )
        return rules.evaluate(self.config.alerts, queues, windows, bad, acked)

    def evaluate_alerts(self) -> list[dict[str, Any]]:
        """Raise the alerts whose rule is crossed now and clear those that are over: each
        change an ``alarm`` event (code ``hall_alert``) in the outbox.  Called after every
        mutating command and by the service's periodic sweep; the changes."""
        changes: list[dict[str, Any]] = []
        with self._lock:
            with reading(self.conn):  # the hall as of one moment, read once
                now_alerts = {a.key: a for a in self._current_alerts()}
                stored = {r["key"]: r for r in self.conn.execute("SELECT * FROM alerts")}
            same_keys = set(now_alerts) == set(stored)
            if same_keys and all(stored[k]["text_zh"] == a.text_zh for k, a in now_alerts.items()):
                return changes
            now = self._now().isoformat(timespec="seconds")
            # Only a text changed (a queue's count in 等候 N 人): computed again at every
            # evaluation, it need not wait for the disk (a call's batch waited for a
            # second fsync after its own).  A raised or cleared alert, with its event, does.
            with transaction(self.conn, durable=not same_keys):
                for key, a in now_alerts.items():
                    if key in stored:
                        if stored[key]["text_zh"] != a.text_zh:
                            self.conn.execute(
                                "UPDATE alerts SET text_zh=?, text_en=? WHERE key=?",
                                (a.text_zh, a.text_en, key),
                            )
                        continue
                    self.conn.execute(
                        "INSERT INTO alerts (key, kind, since, text_zh, text_en, queue_id, "
                        "window_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (key, a.kind, now, a.text_zh, a.text_en, a.queue, a.window),
                    )
                    change = self._alert_event(a, "raised")
                    changes.append(change)
                for key, r in stored.items():
                    if key in now_alerts:
                        continue
                    self.conn.execute("DELETE FROM alerts WHERE key=?", (key,))
                    gone = rules.Alert(
                        key, r["kind"], r["text_zh"], r["text_en"], r["queue_id"], r["window_id"]
                    )
                    changes.append(self._alert_event(gone, "cleared"))
        for change in changes:
            log.info("alert %s %s: %s", change["state"], change["key"], change["message"])
        return changes

    def _alert_event(self, a: rules.Alert, state: str) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "code": "hall_alert",
            "state": state,
            "kind": a.kind,
            "key": a.key,
            "message": a.text_en,
        }
        if a.queue is not None:
            payload["queue"] = a.queue
        if a.window is not None:
            payload["window"] = a.window
        self._event("alarm", payload)
        return payload

    def overview(self) -> dict[str, Any]:
        """The hall manager's console: queues, windows, the day's figures, the alerts,
        the recommendation and the notice (no personal data, no tokens)."""
        with self._lock:
            snapshot = self._snapshot(service_times=True)
            queues, windows, _bad, extra = snapshot
            alerts = self._current_alerts(snapshot)
            stored = {
                r["key"]: r for r in self.conn.execute("SELECT key, since, acked_by FROM alerts")
            }
            now = self._now().isoformat(timespec="seconds")
            recommendation = rules.recommend(self.config.alerts, queues, windows)
            open_counts = {q.id: q.open_windows for q in queues}
            return {
                "business_date": self.business_date(),
                "now": now,
                "queues": [
                    {
                        "id": q.id,
                        "name": q.name,
                        "name_en": q.name_en,
                        "waiting": q.waiting,
                        "longest_wait_min": q.longest_wait_min,
                        "est_wait_min": self._estimate_minutes(
                            self.config.queue(q.id), q.waiting, open_counts
                        ),
                        "open_windows": q.open_windows,
                    }
                    for q in queues
                ],
                "windows": [self._console_window(w, extra) for w in windows],
                "figures": self._figures(),
                "alerts": sorted(
                    (
                        a.public(stored[a.key]["since"] if a.key in stored else now)
                        for a in alerts
                        if not (a.key in stored and stored[a.key]["acked_by"])
                    ),
                    key=lambda a: (a["since"], rules.ALERT_KINDS.index(a["kind"]), a["key"]),
                ),
                "recommendation": recommendation.public() if recommendation else None,
                "notice": self._notice(),
            }

    def _console_window(self, w: rules.WindowLoad, extra: dict[str, Any]) -> dict[str, Any]:
        row = extra["rows"].get(w.id)
        cur = extra["current"].get(row["current_ticket"]) if row is not None else None
        clerk = None
        if row is not None and row["clerk_id"] and row["status"] != "closed":
            staff = self.config.staff_member(row["clerk_id"])
            clerk = {
                "id": row["clerk_id"],
                "name": staff.name if staff else "",
                "staff_no": staff.staff_no if staff else row["clerk_id"],
            }
        current = None
        if cur is not None:
            item = None
            if cur["item_id"]:
                try:
                    item = self.config.item(cur["item_id"])
                except KeyError:
                    item = None
            current = {
                "code": cur["code"],
                "item_name": item.name if item else "",
                "kind": item.kind if item else None,
                "status": cur["status"],
                "served_min": w.served_min,
                "limit_min": w.limit_min,
                "over": w.current_over,
            }
        return {
            "id": w.id,
            "name": w.name,
            "queues": list(w.queues),
            "configured_queues": list(self.config.window(w.id).queues),
            "status": w.status,
            "closed_by_manager": w.closed_by_manager,
            "pause_reason": row["pause_reason"] if row is not None else None,
            "clerk": clerk,
            "staff_status": (
                row["staff_status"] or {"open": "在岗", "paused": "暂离"}.get(row["status"])
            )
            if row is not None
            else None,
            "current": current,
            "idle_min": w.idle_min,
        }

    def _figures(self) -> dict[str, Any]:
        day = self.business_date()
        rows = self.conn.execute(
            "SELECT status, queue_id, issued_at, first_called_at FROM tickets "
            "WHERE business_date=?",
            (day,),
        ).fetchall()
        counts = {"issued": len(rows), "served": 0, "no_show": 0, "waiting": 0}
        waits: list[float] = []
        by_hour: dict[str, dict[int, list[float]]] = {}
        for r in rows:
            if r["status"] == "done":
                counts["served"] += 1
            elif r["status"] == "no_show":
                counts["no_show"] += 1
            elif r["status"] == "waiting":
                counts["waiting"] += 1
            wait = self._seconds(r["issued_at"], r["first_called_at"])
            if wait is None:
                continue
            waits.append(wait / 60)
            hour = datetime.fromisoformat(r["issued_at"]).hour
            by_hour.setdefault(r["queue_id"], {}).setdefault(hour, []).append(wait / 60)
        levels = dict(
            self.conn.execute(
                "SELECT r.level, count(*) FROM ratings r JOIN tickets t ON t.id=r.ticket_id "
                "WHERE t.business_date=? AND r.level IS NOT NULL GROUP BY r.level",
                (day,),
            ).fetchall()
        )
        rated = sum(levels.values())
        ratings: dict[str, Any] = {str(n): int(levels.get(n, 0)) for n in range(1, 6)}
        # 满意率: 非常满意, 满意 and 基本满意 (1-3) of the ratings given
        ratings["satisfied_pct"] = (
            round(100 * sum(levels.get(n, 0) for n in (1, 2, 3)) / rated, 1) if rated else None
        )
        return {
            **counts,
            "avg_wait_min": round(sum(waits) / len(waits), 1) if waits else None,
            "ratings": ratings,
            "waits_by_hour": {
                q: [
                    {
                        "hour": hour,
                        "avg_wait_min": round(sum(v) / len(v), 1),
                        "count": len(v),
                    }
                    for hour, v in sorted(hours.items())
                ]
                for q, hours in sorted(by_hour.items())
            },
        }

    # ------------------------------------------------------------------ notices

    def _notice(self) -> dict[str, Any] | None:
        stored = self._read_once("notice", self._stored_notice)
        if stored is None:
            return None
        notice, until = stored
        now = self._now()
        if until.tzinfo is None and now.tzinfo is not None:
            until = until.replace(tzinfo=now.tzinfo)
        if until <= now:
            return None
        return dict(notice)  # the kept one is not the caller's to change

    def _stored_notice(self) -> tuple[dict[str, Any], datetime] | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key='notice'").fetchone()
        if row is None:
            return None
        try:
            notice: dict[str, Any] = json.loads(row[0])
            return notice, datetime.fromisoformat(notice["until"])
        except (ValueError, KeyError, TypeError):
            return None

    def _notice_public(self) -> dict[str, Any] | None:
        """The notice as the board and the window displays show it (no manager id)."""
        notice = self._notice()
        return None if notice is None else {"text": notice["text"], "until": notice["until"]}

    def notice(self) -> dict[str, Any] | None:
        """The manager's notice now on the board and the displays ({text, until}), or None
        (none posted, or it expired)."""
        with self._lock:
            return self._notice_public()

    # ------------------------------------------------------------------ manager actions

    def _manager(self, manager_id: Any) -> Manager:
        """The manager a web command names (the web role authenticated them)."""
        found = self.config.manager(manager_id) if isinstance(manager_id, str) else None
        if found is None:
            raise EngineError(
                "unknown_manager", "the command names no manager of this hall's config"
            )
        return found

    def _manager_action(self, m: Manager, action: str, **fields: Any) -> None:
        self._event(
            "manager_action",
            {
                "manager": m.id,
                "action": action,
                **fields,
                "at": self._now().isoformat(timespec="seconds"),
            },
        )

    def manager_login(self, account: Any, password: Any) -> dict[str, Any]:
        """Check a manager's console login (account + password, ``managers`` of the hall
        config).  The password is never logged or put into an error.  ``staff_login``'s
        ``max_failures`` wrong passwords in a row lock the account for ``lockout_min`` and
        raise an ``alarm`` (code ``manager_locked``)."""
        m = self.config.manager_account(account) if isinstance(account, str) else None
        if m is None or m.password_hash is None:
            pins.verify_password(password, _no_manager_hash())  # the same work either way
            self._unknown_account_failed(str(account)[:64])
        row = self.conn.execute(
            "SELECT locked_until FROM manager_auth WHERE manager_id=?", (m.id,)
        ).fetchone()
        if row is not None and row["locked_until"]:
            left = (datetime.fromisoformat(row["locked_until"]) - self._now()).total_seconds()
            if left > 0:
                raise EngineError(
                    "manager_locked",
                    f"manager account locked after wrong passwords for {left:.0f}s more",
                    retry_after_s=round(left),
                )
        if not pins.verify_password(password, m.password_hash):
            self._manager_login_failed(m)
        with self._lock, transaction(self.conn):
            auth = self.conn.execute(
                "SELECT alarmed FROM manager_auth WHERE manager_id=?", (m.id,)
            ).fetchone()
            if auth is not None:
                self.conn.execute("DELETE FROM manager_auth WHERE manager_id=?", (m.id,))
                if auth["alarmed"]:
                    self._event(
                        "alarm",
                        {"code": "manager_locked", "state": "cleared", "manager": m.id},
                    )
            self._manager_action(m, "login")
        return {"manager": {"id": m.id, "name": m.name}}

    def _unknown_account_failed(self, account: str) -> NoReturn:
        """A login to an account that does not exist answers exactly as a wrong password
        does (attempts left counting down, then locked), so the answers never tell which
        accounts exist.  Counted in memory, for at most the last 1,000 such names."""
        policy = self.config.staff_login
        now = self._now()
        with self._lock:
            failures, until = self._unknown_logins.pop(account, (0, None))
            if until is not None and until > now:
                self._unknown_logins[account] = (failures, until)
                raise EngineError(
                    "manager_locked",
                    "manager account locked after wrong passwords for "
                    f"{(until - now).total_seconds():.0f}s more",
                    retry_after_s=round((until - now).total_seconds()),
                )
            failures = 0 if until is not None else failures
            failures += 1
            locked = failures >= policy.max_failures
            until = now + timedelta(minutes=policy.lockout_min) if locked else None
            self._unknown_logins[account] = (failures, until)
            while len(self._unknown_logins) > 1000:
                self._unknown_logins.pop(next(iter(self._unknown_logins)))
        log.warning("console login to an unknown account (%d in a row)", failures)
        if locked:
            raise EngineError(
                "manager_locked",
                f"manager account locked after {policy.max_failures} wrong passwords",
                retry_after_s=round(policy.lockout_min * 60),
            )
        raise EngineError(
            "login_failed",
            "wrong account or password",
            attempts_left=policy.max_failures - failures,
        )

    def _manager_login_failed(self, m: Manager) -> None:
        policy = self.config.staff_login
        now = self._now()
        with self._lock, transaction(self.conn):
            row = self.conn.execute(
                "SELECT failures, alarmed FROM manager_auth WHERE manager_id=?", (m.id,)
            ).fetchone()
            failures = (row["failures"] if row else 0) + 1
            locked = failures >= policy.max_failures
            until = (now + timedelta(minutes=policy.lockout_min)) if locked else None
            self.conn.execute(
                "INSERT INTO manager_auth (manager_id, failures, locked_until, alarmed) "
                "VALUES (?, ?, ?, ?) ON CONFLICT(manager_id) DO UPDATE SET "
                "failures=excluded.failures, locked_until=excluded.locked_until, "
                "alarmed=excluded.alarmed",
                (
                    m.id,
                    0 if locked else failures,
                    until.isoformat(timespec="seconds") if until else None,
                    1 if locked or (row and row["alarmed"]) else 0,
                ),
            )
            message = (
                f"{policy.max_failures} wrong passwords in a row for manager {m.id}: "
                f"locked for {policy.lockout_min:g} minutes"
            )
            if locked:
                self._event(
                    "alarm",
                    {
                        "code": "manager_locked",
                        "state": "raised",
                        "message": message,
                        "manager": m.id,
                        "until": until.isoformat(timespec="seconds") if until else None,
                    },
                )
        if locked:
            log.error("ALARM manager_locked: %s", message)
            raise EngineError(
                "manager_locked",
                f"manager account locked after {policy.max_failures} wrong passwords",
                retry_after_s=round(policy.lockout_min * 60),
            )
        log.warning(
            "wrong password for manager %s (%d of %d before the lock)",
            m.id,
            failures,
            policy.max_failures,
        )
        raise EngineError(
            "login_failed",
            "wrong account or password",
            attempts_left=policy.max_failures - failures,
        )

    def _set_window_day(self, window_id: str, **changes: Any) -> None:
        day = self.business_date()
        self._set_business_date(day)
        now = self._now().isoformat(timespec="seconds")
        self.conn.execute(
            "INSERT OR IGNORE INTO window_day (business_date, window_id, closed, updated_at) "
            "VALUES (?, ?, 0, ?)",
            (day, window_id, now),
        )
        for column, value in changes.items():
            assert column in ("queues", "closed", "closed_by")
            self.conn.execute(
                f"UPDATE window_day SET {column}=?, updated_at=? "
                "WHERE business_date=? AND window_id=?",
                (value, now, day, window_id),
            )

    def set_window_queues(self, manager: Any, window_id: str, queues: Any) -> dict[str, Any]:
        """窗口动态调整: the queues ``window_id`` serves today, from its next call on."""
        m = self._manager(manager)
        self._window(window_id)
        if not isinstance(queues, list) or not 1 <= len(queues) <= rules.MAX_WINDOW_QUEUES:
            raise EngineError(
                "bad_request", f"a window serves 1 to {rules.MAX_WINDOW_QUEUES} queues"
            )
        for q in queues:
            self._queue(q)
        if len(set(queues)) != len(queues):
            raise EngineError("bad_request", "a queue is listed twice")
        with self._lock, transaction(self.conn):
            self._set_window_day(window_id, queues=json.dumps(queues))
            self._manager_action(m, "set_window_queues", window=window_id, queues=list(queues))
        log.info("manager %s: window %s serves %s today", m.id, window_id, ",".join(queues))
        return {"window": window_id, "queues": list(self.window_queues(window_id))}

    def close_window(self, manager: Any, window_id: str) -> dict[str, Any]:
        """The window calls no new ticket today (its current one can still be finished)."""
        return self._set_closed(manager, window_id, True)

    def open_window(self, manager: Any, window_id: str) -> dict[str, Any]:
        """Lift a manager's close of the window."""
        return self._set_closed(manager, window_id, False)

    def _set_closed(self, manager: Any, window_id: str, closed: bool) -> dict[str, Any]:
        m = self._manager(manager)
        self._window(window_id)
        action = "close_window" if closed else "open_window"
        with self._lock, transaction(self.conn):
            self._set_window_day(
                window_id, closed=1 if closed else 0, closed_by=m.id if closed else None
            )
            self._manager_action(m, action, window=window_id)
        log.info("manager %s: %s %s", m.id, action, window_id)
        return {"window": window_id, "closed_by_manager": closed}

    def move_ticket(self, manager: Any, code: Any, to_queue: Any) -> dict[str, Any]:
        """A waiting ticket moves to another queue keeping its place (its sort key)."""
        m = self._manager(manager)
        if not isinstance(code, str) or not isinstance(to_queue, str):
            raise EngineError("bad_request", "move_ticket needs a ticket code and a queue")
        self._queue(to_queue)
        with self._lock, transaction(self.conn):
            day = self.business_date()
            row = self._todays_ticket(day, code)
            if row["status"] != "waiting":
                raise EngineError(
                    "not_waiting",
                    f"{row['code']} is {row['status']}: only a waiting ticket moves",
                    ticket=row["code"],
                    status=row["status"],
                )
            if row["queue_id"] == to_queue and row["target_window"] is None:
                raise EngineError("bad_request", f"{row['code']} already waits in {to_queue}")
            self.conn.execute(
                "UPDATE tickets SET queue_id=?, target_window=NULL WHERE id=?",
                (to_queue, row["id"]),
            )
            ticket = self._ticket(row["id"])
            self._manager_action(
                m,
                "move_ticket",
                code=ticket.code,
                from_queue=row["queue_id"],
                to_queue=to_queue,
            )
            self._remind_ahead({row["queue_id"], to_queue})
            ahead = self._ahead(ticket)
        log.info("manager %s: %s moved %s -> %s", m.id, ticket.code, row["queue_id"], to_queue)
        return {"ticket": ticket.public(), "ahead": ahead, "from_queue": row["queue_id"]}

    def post_notice(self, manager: Any, text: Any, minutes: Any = 60) -> dict[str, Any] | None:
        """A notice on the board and every window display for ``minutes`` (1..480);
        an empty text takes the notice down."""
        m = self._manager(manager)
        if not isinstance(text, str) or len(text.strip()) > NOTICE_MAX_CHARS:
            raise EngineError("bad_request", f"a notice is text of at most {NOTICE_MAX_CHARS}")
        if (
            not isinstance(minutes, int)
            or isinstance(minutes, bool)
            or not 1 <= minutes <= NOTICE_MAX_MIN
        ):
            raise EngineError("bad_request", f"a notice lasts 1 to {NOTICE_MAX_MIN} minutes")
        text = " ".join(text.split())  # one line: no control characters, no layout tricks
        with self._lock, transaction(self.conn):
            if not text:
                self.conn.execute("DELETE FROM meta WHERE key='notice'")
                self._manager_action(m, "post_notice", text="")
                return None
            until = (self._now() + timedelta(minutes=minutes)).isoformat(timespec="seconds")
            notice = {"text": text, "until": until, "manager": m.id}
            self.conn.execute(
                "INSERT INTO meta (key, value) VALUES ('notice', ?) "
                "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (json.dumps(notice, ensure_ascii=False),),
            )
            self._manager_action(m, "post_notice", text=text, until=until)
        return notice

    def ack_alert(self, manager: Any, alert: Any) -> dict[str, Any]:
        """The manager saw an alert: it leaves the console (a bad rating acknowledged is
        followed up and does not come back; another alert returns if raised again)."""
        m = self._manager(manager)
        if not isinstance(alert, str):
            raise EngineError("bad_request", "ack_alert needs an alert key")
        with self._lock, transaction(self.conn):
            row = self.conn.execute("SELECT key FROM alerts WHERE key=?", (alert,)).fetchone()
            current = {a.key for a in self._current_alerts()}
            if row is None and alert not in current:
                raise EngineError("unknown_alert", "no such alert now", alert=alert)
            now = self._now().isoformat(timespec="seconds")
            self.conn.execute("UPDATE alerts SET acked_by=? WHERE key=?", (m.id, alert))
            if alert.startswith("bad_rating:"):
                self.conn.execute(
                    "INSERT OR IGNORE INTO alert_acks (key, business_date, manager_id, at) "
                    "VALUES (?, ?, ?, ?)",
                    (alert, self.business_date(), m.id, now),
                )
            self._manager_action(m, "ack_alert", alert=alert)
        return {"alert": alert, "acked": True}


def _minutes_between(iso: str | None, now: datetime) -> float | None:
    """Minutes from the ISO time ``iso`` to ``now`` (never negative); None without one."""
    if not iso:
        return None
    try:
        then = datetime.fromisoformat(iso)
    except ValueError:
        return None
    if then.tzinfo is None and now.tzinfo is not None:
        then = then.replace(tzinfo=now.tzinfo)
    elif then.tzinfo is not None and now.tzinfo is None:
        then = then.replace(tzinfo=None)
    return max(0.0, (now - then).total_seconds() / 60)


def _days_left(hours: Any, today: date, deadline: date) -> int:
    """Working days left until ``deadline`` (0 on it); past it, minus the working days
    since (a weekend right after a Friday deadline is still 0: overdue from Monday)."""
    if today <= deadline:
        return working_days_between(hours, today, deadline)
    return -working_days_between(hours, deadline, today)


def _case_no(value: Any) -> str | None:
    """A 办件编号 as sent (None or "": none), or bad_request."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not CASE_NO.match(value):
        raise EngineError(
            "bad_request",
            "a case number (办件编号) is 1 to 40 letters, digits or '-'",
            zh="bad_case_no",
        )
    return value


def _comment(value: Any, channel: str) -> str:
    """The rating's free text: the tablet's only, one line, personal numbers masked."""
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or len(value) > COMMENT_MAX:
        raise EngineError("bad_request", f"a comment is text of at most {COMMENT_MAX}")
    if channel != "tablet":
        raise EngineError("bad_request", "only the tablet evaluator sends a comment")
    return privacy.redact(" ".join(value.split()))


def _reasons(value: Any) -> list[str]:
    if value is None:
        return []
    if (
        not isinstance(value, list)
        or len(value) > MAX_REASONS
        or not all(isinstance(r, str) and 0 < len(r) <= 40 for r in value)
    ):
        raise EngineError("bad_request", f"reasons are at most {MAX_REASONS} texts of 1..40")
    return list(value)


def _json_list(text: str | None) -> list[dict[str, Any]]:
    if not text:
        return []
    try:
        value = json.loads(text)
    except ValueError:
        return []
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []

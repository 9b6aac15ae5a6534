"""The evaluator's own durable store of ratings: nothing pressed is lost or sent twice.

A rating is written here (WAL, ``synchronous=FULL``) *before* the citizen
sees "谢谢"; ``counter.rating_sender`` then delivers it to the queue engine and
marks it acknowledged.  The rating id is a UUID made at the press, and the
engine records each id once, so resending after a crash or a lost answer is
always safe.  One case (``case_id``, 一事一评) gets at most one rating here too, and
a ticket rated without a case (an engine from before cases: the window state's
``last_finished``) at most one: a key storm or a double tap cannot make two.

Schema 2 (#14) adds ``case_id``, ``channel`` (``evaluator`` the button box,
``tablet`` the touch evaluator) and ``comment`` (the tablet's free text, at most
200 characters), and drops the one-rating-per-ticket rule for ratings with a case
(a ticket with two cases gets two ratings).  A schema-1 file is migrated in place
at start-up: its ratings keep their state and get channel ``evaluator``.

States: ``draft`` (level chosen, reasons / phone still being asked; a crash
promotes drafts to ``pending`` at start-up, so the press is kept), ``pending``
(to send), ``acked`` (the engine has it), ``rejected`` (the engine refused it
for good, e.g. an unknown ticket: kept for the technician, never resent).

The central copy travels in the engine's outbox (its ``evaluation`` event is
linked to ticket, window, clerk and item), not from here: a second copy from
the evaluator would reach the center with a different event id and be counted
twice.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hall.core import db

SCHEMA = """
CREATE TABLE IF NOT EXISTS ratings (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    rating_id TEXT NOT NULL UNIQUE,
    ticket_id TEXT NOT NULL UNIQUE,
    code TEXT,
    window_id TEXT NOT NULL,
    clerk_id TEXT,
    level INTEGER CHECK (level IS NULL OR level BETWEEN 1 AND 5),
    reasons TEXT NOT NULL DEFAULT '[]',
    contact TEXT,
    rated_at TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('draft', 'pending', 'acked', 'rejected')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    acked_at TEXT
);
CREATE INDEX IF NOT EXISTS ratings_state ON ratings(state, seq);
CREATE INDEX IF NOT EXISTS ratings_clerk ON ratings(clerk_id, rated_at);
"""


COMMENT_MAX = 200
CHANNELS = ("evaluator", "tablet")

# Schema 2: a rating per case.  SQLite cannot drop the UNIQUE of ticket_id, so the
# table is copied; the whole step (and its user_version) is one transaction.
SCHEMA_V2 = """
BEGIN;
CREATE TABLE ratings_v2 (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    rating_id TEXT NOT NULL UNIQUE,
    ticket_id TEXT NOT NULL,
    case_id TEXT,
    channel TEXT NOT NULL DEFAULT 'evaluator' CHECK (channel IN ('evaluator', 'tablet')),
    code TEXT,
    window_id TEXT NOT NULL,
    clerk_id TEXT,
    level INTEGER CHECK (level IS NULL OR level BETWEEN 1 AND 5),
    reasons TEXT NOT NULL DEFAULT '[]',
    contact TEXT,
    comment TEXT NOT NULL DEFAULT '' CHECK (length(comment) <= 200),
    rated_at TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('draft', 'pending', 'acked', 'rejected')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    acked_at TEXT
);
INSERT INTO ratings_v2 (seq, rating_id, ticket_id, code, window_id, clerk_id, level, reasons,
    contact, rated_at, state, attempts, last_error, acked_at)
    SELECT seq, rating_id, ticket_id, code, window_id, clerk_id, level, reasons, contact,
    rated_at, state, attempts, last_error, acked_at FROM ratings;
DROP TABLE ratings;
ALTER TABLE ratings_v2 RENAME TO ratings;
CREATE INDEX ratings_state ON ratings(state, seq);
CREATE INDEX ratings_clerk ON ratings(clerk_id, rated_at);
CREATE UNIQUE INDEX ratings_case ON ratings(case_id) WHERE case_id IS NOT NULL;
CREATE UNIQUE INDEX ratings_ticket ON ratings(ticket_id) WHERE case_id IS NULL;
PRAGMA user_version=2;
COMMIT;
"""


def _v1(conn: sqlite3.Connection) -> None:
    conn.executescript(SCHEMA)


def _v2(conn: sqlite3.Connection) -> None:
    conn.executescript(SCHEMA_V2)


MIGRATIONS = [_v1, _v2]  # by PRAGMA user_version (hall.core.db.migrate)
SCHEMA_VERSION = len(MIGRATIONS)


class RatingsStoreError(RuntimeError):
    """The ratings database cannot be used (disk full, read-only, corrupt)."""

    user_message = "评价无法保存，请联系工作人员"


class AlreadyRated(RatingsStoreError):
    """This case (or this ticket, without a case) already has a rating on this evaluator."""


@dataclass(frozen=True)
class Rating:
    rating_id: str
    ticket_id: str
    window_id: str
    level: int | None  # 1 非常满意 … 5 非常不满意; None = not rated
    rated_at: str
    code: str | None = None
    clerk_id: str | None = None
    reasons: tuple[str, ...] = ()
    contact: str | None = None
    case_id: str | None = None  # the case rated (一事一评); None: an engine before cases
    channel: str = "evaluator"  # evaluator (the button box) | tablet
    comment: str = ""  # the tablet's free text, <= COMMENT_MAX
    state: str = "pending"
    attempts: int = 0
    last_error: str | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Rating:
        return db.from_row(cls, row, reasons=tuple(json.loads(row["reasons"])))

    def command(self) -> dict[str, Any]:
        """The ``rate`` command for the engine (see sync/asyncapi.yaml).

        ``case_id``, ``channel`` and ``comment`` go with a rating of a case only: an
        engine that publishes cases (``to_rate``) takes them, while an engine from
        before cases refuses unknown fields for good, so a rating of a ticket
        (``last_finished``) is sent as it always was.
        """
        rating: dict[str, Any] = {
            "rating_id": self.rating_id,
            "ticket_id": self.ticket_id,
            "level": self.level,
            "reasons": list(self.reasons),
            "contact": self.contact,
            "rated_at": self.rated_at,
        }
        if self.case_id is not None:
            rating["case_id"] = self.case_id
            rating["channel"] = self.channel
            if self.channel == "tablet":
                rating["comment"] = self.comment
        return {"cmd": "rate", "window": self.window_id, "rating": rating}


class RatingsStore:
    """One SQLite file per evaluator; safe to use from the GUI and the sender thread."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        try:
            self._conn = db.connect(path, synchronous="FULL", rows=True)
            db.migrate(self._conn, MIGRATIONS, self._conn, name=str(self.path))
            # A crash on the reasons page keeps the press: what was chosen is sent.
            self._conn.execute("UPDATE ratings SET state='pending' WHERE state='draft'")
        except sqlite3.Error as exc:
            raise RatingsStoreError(f"cannot open ratings database {self.path}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                with db.transaction(self._conn) as conn:
                    yield conn
            except sqlite3.IntegrityError:
                raise
            except sqlite3.Error as exc:
                raise RatingsStoreError(f"ratings database {self.path}: {exc}") from exc

    # -- the evaluator (GUI thread) ----------------------------------------------

    def record(self, rating: Rating, *, draft: bool = False) -> None:
        """Commit a new rating durably (``draft``: more answers may follow)."""
        try:
            with self._write() as conn:
                conn.execute(
                    "INSERT INTO ratings (rating_id, ticket_id, case_id, channel, comment, code,"
                    " window_id, clerk_id, level, reasons, contact, rated_at, state)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        rating.rating_id,
                        rating.ticket_id,
                        rating.case_id,
                        rating.channel,
                        rating.comment[:COMMENT_MAX],
                        rating.code,
                        rating.window_id,
                        rating.clerk_id,
                        rating.level,
                        json.dumps(list(rating.reasons), ensure_ascii=False),
                        rating.contact,
                        rating.rated_at,
                        "draft" if draft else "pending",
                    ),
                )
        except sqlite3.IntegrityError as exc:
            what = f"case {rating.case_id}" if rating.case_id else f"ticket {rating.ticket_id}"
            raise AlreadyRated(f"{what} already has a rating here") from exc

    def complete(
        self,
        rating_id: str,
        *,
        reasons: list[str] | tuple[str, ...] = (),
        contact: str | None = None,
        comment: str = "",
    ) -> None:
        """Add the reasons / phone (/ the tablet's comment) to a draft and release it
        for sending."""
        with self._write() as conn:
            conn.execute(
                "UPDATE ratings SET reasons=?, contact=?, comment=?, state='pending' "
                "WHERE rating_id=? AND state='draft'",
                (
                    json.dumps(list(reasons), ensure_ascii=False),
                    contact,
                    comment[:COMMENT_MAX],
                    rating_id,
                ),
            )

    def has_ticket(self, ticket_id: str) -> bool:
        """The ticket has a rating here (of any of its cases, or of the ticket)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT 1 FROM ratings WHERE ticket_id=?", (ticket_id,)
            ).fetchone()
        return row is not None

    def has_ticket_only(self, ticket_id: str) -> bool:
        """The ticket has a rating here that names no case (a device's rating from before
        cases, e.g. a draft left by a crash): the engine gives it the ticket's oldest
        unrated case, so that case is not to be asked for again."""
        with self._lock:
            row = self._conn.execute(
                "SELECT 1 FROM ratings WHERE ticket_id=? AND case_id IS NULL", (ticket_id,)
            ).fetchone()
        return row is not None

    def has_case(self, case_id: str) -> bool:
        with self._lock:
            row = self._conn.execute("SELECT 1 FROM ratings WHERE case_id=?", (case_id,)).fetchone()
        return row is not None

    def get(self, rating_id: str) -> Rating | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT * FROM ratings WHERE rating_id=?", (rating_id,)
            ).fetchone()
        return Rating.from_row(row) if row else None

    def summary(self, clerk_id: str | None, since: str) -> dict[str, Any]:
        """Ratings of a clerk since a time: count, rated, satisfied share (1-3 of rated)."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT level FROM ratings WHERE clerk_id IS ? AND rated_at >= ?",
                (clerk_id, since),
            ).fetchall()
        levels = [r[0] for r in rows if r[0] is not None]
        satisfied = sum(1 for v in levels if v <= 3)
        return {
            "count": len(rows),
            "rated": len(levels),
            "satisfied": satisfied,
            "satisfied_pct": round(100 * satisfied / len(levels)) if levels else None,
        }

    # -- the sender thread --------------------------------------------------------

    def pending(self, limit: int = 20) -> list[Rating]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT * FROM ratings WHERE state='pending' ORDER BY seq LIMIT ?", (limit,)
            ).fetchall()
        return [Rating.from_row(r) for r in rows]

    def mark_acked(self, rating_id: str, at: str) -> None:
        with self._write() as conn:
            conn.execute(
                "UPDATE ratings SET state='acked', acked_at=?, attempts=attempts+1, "
                "last_error=NULL WHERE rating_id=?",
                (at, rating_id),
            )

    def mark_failed(self, rating_id: str, error: str, *, permanent: bool) -> None:
        with self._write() as conn:
            conn.execute(
                "UPDATE ratings SET attempts=attempts+1, last_error=?, "
                "state=CASE WHEN ? THEN 'rejected' ELSE state END WHERE rating_id=?",
                (error[:200], permanent, rating_id),
            )

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT state, count(*) FROM ratings GROUP BY state"
            ).fetchall()
        return {r[0]: r[1] for r in rows}

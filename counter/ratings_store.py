"""The evaluator's own durable store of ratings: nothing pressed is lost or sent twice.

A rating is written here (WAL, ``synchronous=FULL``) *before* the citizen
sees "谢谢"; ``counter.rating_sender`` then delivers it to the queue engine and
marks it acknowledged.  The rating id is a UUID made at the press, and the
engine records each id once, so resending after a crash or a lost answer is
always safe.  One ticket gets at most one rating here too (a key storm or a
double tap cannot make two).

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


def _v1(conn: sqlite3.Connection) -> None:
    conn.executescript(SCHEMA)


MIGRATIONS = [_v1]  # by PRAGMA user_version (hall.core.db.migrate)
SCHEMA_VERSION = len(MIGRATIONS)


class RatingsStoreError(RuntimeError):
    """The ratings database cannot be used (disk full, read-only, corrupt)."""

    user_message = "评价无法保存，请联系工作人员"


class AlreadyRated(RatingsStoreError):
    """This ticket already has a rating on this evaluator."""


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
    state: str = "pending"
    attempts: int = 0
    last_error: str | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Rating:
        return db.from_row(cls, row, reasons=tuple(json.loads(row["reasons"])))

    def command(self) -> dict[str, Any]:
        """The ``rate`` command for the engine (see sync/asyncapi.yaml)."""
        return {
            "cmd": "rate",
            "window": self.window_id,
            "rating": {
                "rating_id": self.rating_id,
                "ticket_id": self.ticket_id,
                "level": self.level,
                "reasons": list(self.reasons),
                "contact": self.contact,
                "rated_at": self.rated_at,
            },
        }


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
                    "INSERT INTO ratings (rating_id, ticket_id, code, window_id, clerk_id, level,"
                    " reasons, contact, rated_at, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        rating.rating_id,
                        rating.ticket_id,
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
            raise AlreadyRated(f"ticket {rating.ticket_id} already has a rating here") from exc

    def complete(
        self,
        rating_id: str,
        *,
        reasons: list[str] | tuple[str, ...] = (),
        contact: str | None = None,
    ) -> None:
        """Add the reasons / phone to a draft and release it for sending."""
        with self._write() as conn:
            conn.execute(
                "UPDATE ratings SET reasons=?, contact=?, state='pending' "
                "WHERE rating_id=? AND state='draft'",
                (json.dumps(list(reasons), ensure_ascii=False), contact, rating_id),
            )

    def has_ticket(self, ticket_id: str) -> bool:
        with self._lock:
            row = self._conn.execute(
                "SELECT 1 FROM ratings WHERE ticket_id=?", (ticket_id,)
            ).fetchone()
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

"""The engine's SQLite database: schema, versioned migrations, durable settings.

WAL mode with ``synchronous=FULL``: a ticket is on disk before the citizen
sees its number.  The connection is in autocommit mode; the engine opens
explicit ``BEGIN IMMEDIATE`` transactions so that a state change and its
outbox event commit together, and two engine processes (should a technician
start a second one by mistake) still never hand out the same ticket.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import sqlite_utils

from hall.core import db as core_db
from sync import outbox

log = logging.getLogger(__name__)


def _v1(db: sqlite_utils.Database) -> None:
    db.table("meta").create({"key": str, "value": str}, pk="key", if_not_exists=True)
    db.table("counters").create(
        {"business_date": str, "queue_id": str, "last_number": int},
        pk=("business_date", "queue_id"),
        if_not_exists=True,
    )
    db.table("tickets").create(
        {
            "id": str,
            "business_date": str,
            "queue_id": str,
            "number": int,
            "code": str,
            "item_id": str,
            "status": str,
            "priority": str,
            "priority_reason": str,
            "appointment_start": str,
            "appointment_end": str,
            "person_key": str,
            "masked_name": str,
            "issued_at": str,
            "sort_key": float,
            "target_window": str,
            "window_id": str,
            "clerk_id": str,
            "first_called_at": str,
            "called_at": str,
            "call_count": int,
            "started_at": str,
            "finished_at": str,
            "no_show_at": str,
            "transfers": int,
            "requeues": int,
        },
        pk="id",
        not_null={
            "business_date",
            "queue_id",
            "number",
            "code",
            "status",
            "priority",
            "issued_at",
            "sort_key",
        },
        defaults={"call_count": 0, "transfers": 0, "requeues": 0, "priority": "normal"},
        if_not_exists=True,
    )
    # A number is unique by its code (the prefix names the queue that issued
    # it); a transferred ticket keeps its code while it waits in another queue.
    db.execute("CREATE UNIQUE INDEX IF NOT EXISTS tickets_code ON tickets(business_date, code)")
    db.execute(
        "CREATE INDEX IF NOT EXISTS tickets_waiting "
        "ON tickets(status, business_date, queue_id, priority, sort_key)"
    )
    db.execute(
        "CREATE INDEX IF NOT EXISTS tickets_target ON tickets(status, target_window, sort_key)"
    )
    db.execute("CREATE INDEX IF NOT EXISTS tickets_sort ON tickets(sort_key)")
    db.execute(
        "CREATE INDEX IF NOT EXISTS tickets_queue_head "
        "ON tickets(status, business_date, queue_id, target_window, sort_key)"
    )
    db.execute("CREATE INDEX IF NOT EXISTS tickets_person ON tickets(business_date, person_key)")
    db.execute("CREATE INDEX IF NOT EXISTS tickets_done ON tickets(queue_id, status, finished_at)")
    db.table("windows").create(
        {
            "window_id": str,
            "status": str,
            "pause_reason": str,
            "clerk_id": str,
            "current_ticket": str,
            "priority_streak": int,
            "updated_at": str,
        },
        pk="window_id",
        defaults={"status": "closed", "priority_streak": 0},
        if_not_exists=True,
    )
    db.table("attendance").create(
        {"id": int, "clerk_id": str, "window_id": str, "login_at": str, "logout_at": str},
        pk="id",
        if_not_exists=True,
    )
    db.table("ratings").create(
        {
            "rating_id": str,
            "ticket_id": str,
            "window_id": str,
            "clerk_id": str,
            "queue_id": str,
            "item_id": str,
            "level": int,
            "reasons": str,
            "contact": str,
            "rated_at": str,
            "received_at": str,
        },
        pk="rating_id",
        if_not_exists=True,
    )
    db.execute("CREATE UNIQUE INDEX IF NOT EXISTS ratings_ticket ON ratings(ticket_id)")
    outbox.ensure_schema(db.conn)


def _v2(db: sqlite_utils.Database) -> None:
    # 去向牌: what the clerk set (在岗/暂离/外出/学习/休假); NULL = derived from the status.
    if "staff_status" not in db.table("windows").columns_dict:
        db.table("windows").add_column("staff_status", str)


def _v3(db: sqlite_utils.Database) -> None:
    # Clerk login: wrong PINs in a row per clerk, and until when the 工号 is locked.
    db.table("clerk_auth").create(
        {"clerk_id": str, "failures": int, "locked_until": str, "alarmed": int},
        pk="clerk_id",
        defaults={"failures": 0, "alarmed": 0},
        if_not_exists=True,
    )


def _v4(db: sqlite_utils.Database) -> None:
    """#13: the citizen's page and the hall manager's console."""
    tickets = db.table("tickets")
    # The ticket's secret for its follow page (secrets.token_urlsafe(16)); never published.
    if "token" not in tickets.columns_dict:
        tickets.add_column("token", str)
    # The smallest web.remind_ahead threshold already sent as a ticket_progress event.
    if "reminded_ahead" not in tickets.columns_dict:
        tickets.add_column("reminded_ahead", int)
    db.execute("CREATE UNIQUE INDEX IF NOT EXISTS tickets_token ON tickets(token)")
    # Since when a window's clerk is away (paused, or 去向牌 other than 在岗): clerk_away alert.
    if "away_since" not in db.table("windows").columns_dict:
        db.table("windows").add_column("away_since", str)
    # A manager's changes to a window for one business day (窗口动态调整): the queues it
    # serves today (JSON list; NULL: the hall config's) and whether a manager closed it.
    db.table("window_day").create(
        {
            "business_date": str,
            "window_id": str,
            "queues": str,
            "closed": int,
            "closed_by": str,
            "updated_at": str,
        },
        pk=("business_date", "window_id"),
        defaults={"closed": 0},
        if_not_exists=True,
    )
    # Manager console login: wrong passwords in a row per manager, and the lock.
    db.table("manager_auth").create(
        {"manager_id": str, "failures": int, "locked_until": str, "alarmed": int},
        pk="manager_id",
        defaults={"failures": 0, "alarmed": 0},
        if_not_exists=True,
    )
    # The console's alerts now raised (key: e.g. longest_wait:A), and those a manager
    # acknowledged (a bad rating acknowledged is followed up: it does not come back).
    db.table("alerts").create(
        {
            "key": str,
            "kind": str,
            "since": str,
            "text_zh": str,
            "text_en": str,
            "queue_id": str,
            "window_id": str,
            "acked_by": str,
        },
        pk="key",
        if_not_exists=True,
    )
    db.table("alert_acks").create(
        {"key": str, "business_date": str, "manager_id": str, "at": str},
        pk="key",
        if_not_exists=True,
    )


def _v5(db: sqlite_utils.Database) -> None:
    """#14 好差评: cases (一事一评), a rating per case, the follow-up loop (回访, 整改)."""
    # A ticket covers one or more cases; each finished case is rated once.
    db.table("cases").create(
        {
            "case_id": str,
            "ticket_id": str,
            "business_date": str,
            "window_id": str,
            "clerk_id": str,
            "item_id": str,
            "case_no": str,  # 办件编号 from the business system (optional)
            "finished_at": str,
            "rated": int,
        },
        pk="case_id",
        not_null={"ticket_id", "business_date", "finished_at"},
        defaults={"rated": 0},
        if_not_exists=True,
    )
    db.execute("CREATE INDEX IF NOT EXISTS cases_ticket ON cases(ticket_id, finished_at)")
    db.execute("CREATE INDEX IF NOT EXISTS cases_window ON cases(window_id, rated, finished_at)")
    ratings = db.table("ratings")
    for column in ("case_id", "channel", "comment"):
        if column not in ratings.columns_dict:
            ratings.add_column(column, str)
    # A ticket now has a rating per case: the one-rating-per-ticket index goes, a case is
    # rated once (ratings of tickets before cases have no case id).
    db.execute("DROP INDEX IF EXISTS ratings_ticket")
    db.execute("CREATE INDEX IF NOT EXISTS ratings_by_ticket ON ratings(ticket_id)")
    db.execute(
        "CREATE UNIQUE INDEX IF NOT EXISTS ratings_case ON ratings(case_id) "
        "WHERE case_id IS NOT NULL"
    )
    # The transfers of a ticket ([{from_queue, to_queue|to_window, at}], JSON) for the caller.
    tickets = db.table("tickets")
    if "transfer_log" not in tickets.columns_dict:
        tickets.add_column("transfer_log", str)
    # A 不满意/非常不满意 rating's follow-up: opened with the rating, 回访 and 整改 by a
    # manager, a reminder before the deadline and the overdue flag (each once).
    db.table("follow_ups").create(
        {
            "rating_id": str,
            "case_id": str,
            "opened_at": str,
            "deadline": str,  # a date: opened + haochaping.follow_up_days working days
            "status": str,  # open | called | rectified | closed
            "callback_reached": int,
            "callback_answer": str,
            "callback_at": str,
            "callback_by": str,
            "rectification": str,
            "rectified_at": str,
            "rectified_by": str,
            "reminded": int,
            "overdue": int,
        },
        pk="rating_id",
        not_null={"opened_at", "deadline", "status"},
        defaults={"status": "open", "reminded": 0, "overdue": 0},
        if_not_exists=True,
    )
    db.execute("CREATE INDEX IF NOT EXISTS follow_ups_status ON follow_ups(status, deadline)")


def _v6(db: sqlite_utils.Database) -> None:
    """#16: indexes a ticket being issued need not be written to (partial: a waiting
    ticket sent to no window, of no identified person, not done adds nothing to them),
    each the same queries' index as before; issuing commits fewer pages."""
    db.execute("DROP INDEX IF EXISTS tickets_target")
    db.execute(
        "CREATE INDEX IF NOT EXISTS tickets_to_window ON tickets(target_window, sort_key) "
        "WHERE target_window IS NOT NULL"
    )
    db.execute("DROP INDEX IF EXISTS tickets_person")
    db.execute(
        "CREATE INDEX IF NOT EXISTS tickets_of_person ON tickets(business_date, person_key) "
        "WHERE person_key IS NOT NULL"
    )
    db.execute("DROP INDEX IF EXISTS tickets_done")
    db.execute(
        "CREATE INDEX IF NOT EXISTS tickets_queue_done ON tickets(queue_id, finished_at) "
        "WHERE status='done'"
    )


# The waiting tickets of each (business day, queue, priority), kept by triggers in the
# transaction of every change to a ticket (issue, call, no-show, re-queue, transfer, a
# manager's move, a delete), whichever code or process makes it: a new ticket's people
# ahead is a read of three rows, not a count over the waiting list (#16).
WAITING_COUNTS = """
CREATE TABLE IF NOT EXISTS waiting_counts (
    business_date TEXT NOT NULL,
    queue_id TEXT NOT NULL,
    priority TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (business_date, queue_id, priority)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS waiting_counts_issued AFTER INSERT ON tickets
WHEN new.status = 'waiting' BEGIN
    INSERT INTO waiting_counts (business_date, queue_id, priority, n)
    VALUES (new.business_date, new.queue_id, new.priority, 1)
    ON CONFLICT (business_date, queue_id, priority) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS waiting_counts_left AFTER UPDATE OF
    status, business_date, queue_id, priority ON tickets
WHEN old.status = 'waiting' BEGIN
    UPDATE waiting_counts SET n = n - 1 WHERE business_date = old.business_date
    AND queue_id = old.queue_id AND priority = old.priority;
END;
CREATE TRIGGER IF NOT EXISTS waiting_counts_joined AFTER UPDATE OF
    status, business_date, queue_id, priority ON tickets
WHEN new.status = 'waiting' BEGIN
    INSERT INTO waiting_counts (business_date, queue_id, priority, n)
    VALUES (new.business_date, new.queue_id, new.priority, 1)
    ON CONFLICT (business_date, queue_id, priority) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS waiting_counts_deleted AFTER DELETE ON tickets
WHEN old.status = 'waiting' BEGIN
    UPDATE waiting_counts SET n = n - 1 WHERE business_date = old.business_date
    AND queue_id = old.queue_id AND priority = old.priority;
END;
"""


def _v7(db: sqlite_utils.Database) -> None:
    """#16: ``waiting_counts`` and its triggers, filled from the tickets waiting now, in
    one transaction (a crash before the version is written re-runs it: it refills)."""
    conn = db.conn
    with core_db.transaction(conn):
        for statement in _statements(WAITING_COUNTS):
            conn.execute(statement)
        conn.execute("DELETE FROM waiting_counts")
        conn.execute(
            "INSERT INTO waiting_counts (business_date, queue_id, priority, n) "
            "SELECT business_date, queue_id, priority, count(*) FROM tickets "
            "WHERE status='waiting' GROUP BY business_date, queue_id, priority"
        )


def _statements(script: str) -> list[str]:
    """``script``'s statements (a trigger's body, with its own semicolons, is one)."""
    out: list[str] = []
    part = ""
    for line in script.strip().splitlines(keepends=True):
        part += line
        if sqlite3.complete_statement(part):
            out.append(part.strip())
            part = ""
    return out


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _v1,
    _v2,
    _v3,
    _v4,
    _v5,
    _v6,
    _v7,
]


# The page size of a new engine database.  An issue changes a few dozen bytes in each of
# about 15 pages (the ticket, its 7 indexes, its two events and their 2 indexes, the
# counters): each is a whole page in the WAL and on the disk before the ticket prints.
# With 1 KiB pages a commit writes 16 KiB, not 64 KiB: issuing was 10% faster here
# (#16).  A database made before keeps its 4 KiB pages and works the same.
PAGE_SIZE = 1024


def open_db(path: str | Path) -> sqlite3.Connection:
    """Open (creating or migrating) the engine database."""
    conn = core_db.connect(
        path, synchronous="FULL", foreign_keys=True, rows=True, page_size=PAGE_SIZE
    )
    # Checkpoints run on a background connection (Checkpointer), not inside
    # a citizen's or a clerk's commit: they were the whole p99 of call-next.
    conn.execute("PRAGMA wal_autocheckpoint=0")
    migrate(conn)
    hot_path_indexes(conn)
    return conn


def hot_path_indexes(conn: sqlite3.Connection) -> None:
    """Indexes for the queries every call runs (idempotent, on every open): without
    them a window's last finished ticket and the board's recent calls read the whole
    day's tickets, a cost that grows with the day.  Partial: a ticket issued (not yet
    called, not done) adds nothing to them, so issuing commits no more pages."""
    conn.execute(
        "CREATE INDEX IF NOT EXISTS tickets_window_done "
        "ON tickets(window_id, business_date, finished_at) WHERE status='done'"
    )
    conn.execute(
        "CREATE INDEX IF NOT EXISTS tickets_called "
        "ON tickets(business_date, called_at) WHERE called_at IS NOT NULL"
    )
    # the console's and the alerts' longest wait of each queue (#16)
    conn.execute(
        "CREATE INDEX IF NOT EXISTS tickets_waiting_since "
        "ON tickets(business_date, queue_id, issued_at) WHERE status='waiting'"
    )


def migrate(conn: sqlite3.Connection) -> int:
    # sqlite-utils commits each DDL statement itself, so a step is written
    # to be idempotent (IF NOT EXISTS): a crash mid-step re-runs it safely.
    # A newer database still opens (an engine rolled back to the release before).
    return core_db.migrate(
        conn, MIGRATIONS, sqlite_utils.Database(conn), name="engine database", allow_newer=True
    )


class Checkpointer:
    """Moves the WAL into the database every ``interval_s`` on its own connection.

    A PASSIVE checkpoint never blocks writers.  Under a steady stream of commits
    (a burst of tickets) it never catches up, though: the writer appends frames while
    it copies, and SQLite starts the WAL over from its beginning only once every frame
    is in the database, so the WAL grew for as long as the burst lasted (500 MB after
    8,000 tickets) and each commit grew the file.  With ``lock`` (the engine's: held
    by every command) a round that left frames behind copies the few written meanwhile
    holding it, between two commands, so the next commit starts the WAL over and
    writes into the file's blocks already there.
    """

    def __init__(
        self,
        path: str | Path,
        interval_s: float = 1.0,
        *,
        lock: threading.RLock | None = None,
    ) -> None:
        self.path = str(path)
        self.interval_s = interval_s
        self.lock = lock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)

    def start(self) -> Checkpointer:
        if self.path != ":memory:":
            self._thread.start()
        return self

    def _run(self) -> None:
        conn = core_db.connect(self.path, wal=False)  # the engine made it WAL
        try:
            while not self._stop.wait(self.interval_s):
                try:
                    self.checkpoint(conn)
                except sqlite3.Error as exc:
                    log.warning("WAL checkpoint of %s failed: %s", self.path, exc)
        finally:
            conn.close()

    def checkpoint(self, conn: sqlite3.Connection) -> bool:
        """One round on ``conn``: whether every frame of the WAL is now in the database."""
        _busy, frames, done = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if frames > 0 and self.lock is not None:
            # Commits made during the copy above are all that is left (none: it returns at
            # once); none can come between this round and the next command's commit.
            with self.lock:
                _busy, frames, done = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return bool(done >= frames)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)

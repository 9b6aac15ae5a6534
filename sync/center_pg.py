"""The center's store on PostgreSQL, shared by several consumers (``hall center``).

:class:`PgStore` keeps what :class:`sync.center.CenterStore` keeps (events
once by id, per-stream watermarks, the latest health and presence), in
PostgreSQL, so that several consumer processes on one shared subscription
write one database.  Because the broker hands a device's batches to any
consumer, ordering cannot live in one consumer's memory (``StreamOrder``):
it lives in the database, one transaction per consumer turn:

1. the turn's events go in with ``COPY`` into a temporary table, then
   ``INSERT ... ON CONFLICT DO NOTHING`` into ``events`` (unique by id and
   by hall, device, stream and seq): a repeat is a no-op;
2. the streams concerned are locked (``FOR UPDATE``, in key order, so two
   consumers never deadlock) and each batch's range ``(prev, last]`` joins
   the stream: the watermark moves along the chain, ranges above it wait in
   ``stream_segments`` until the batch below arrives, whichever consumer
   stores it;
3. the commit; only then the consumer confirms (retained ``.../sync/ack``)
   the new watermarks and acknowledges the MQTT messages.

A stream with ranges waiting above its watermark, or whose probe says the
device sent more than the watermark, has a gap; once it is older than a grace
period (a batch may just be on its way through another consumer), one
consumer (``FOR UPDATE SKIP LOCKED``) asks the device to send again after the
watermark, backing off while the gap lasts.

A lost database connection raises :class:`sync.center.StoreUnavailable`:
nothing was committed, so nothing is confirmed nor acknowledged, and the
center tries again with a new connection.  The schema is versioned
(``schema_migrations``), applied under an advisory lock at start.

:class:`PgCenter` is :class:`sync.center.Center` (the same MQTT loop, health,
presence, config and commands as ``hall monitor``) on this store.
"""

from __future__ import annotations

import json
import logging
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
import psycopg

from sync import fastcheck
from sync.center import Center, StatusRow, StoreUnavailable, where_clause
from sync.inbound import REJECTS
from sync.ingest import Key, Released
from sync.wire import Batch

log = logging.getLogger(__name__)

# (version, what, SQL). Append only: a released migration is never edited.
MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "events, streams with watermarks, waiting ranges, device status",
        """
        CREATE TABLE events (
            id text PRIMARY KEY,
            hall text NOT NULL,
            device text NOT NULL,
            stream text NOT NULL,
            seq bigint NOT NULL,
            kind text NOT NULL,
            ts text NOT NULL,
            data jsonb NOT NULL,
            stored_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            UNIQUE (hall, device, stream, seq)
        );
        CREATE INDEX events_kind ON events (kind, stored_at);
        CREATE TABLE streams (
            hall text NOT NULL,
            device text NOT NULL,
            stream text NOT NULL,
            watermark bigint NOT NULL,
            sent_upto bigint NOT NULL DEFAULT 0,
            gap_since timestamptz,
            last_request timestamptz,
            requests integer NOT NULL DEFAULT 0,
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (hall, device, stream)
        );
        CREATE INDEX streams_gaps ON streams (gap_since) WHERE gap_since IS NOT NULL;
        CREATE TABLE stream_segments (
            hall text NOT NULL,
            device text NOT NULL,
            stream text NOT NULL,
            prev bigint NOT NULL,
            last bigint NOT NULL,
            stored_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (hall, device, stream, prev, last)
        );
        CREATE TABLE device_status (
            hall text NOT NULL,
            device text NOT NULL,
            topic text NOT NULL,
            payload jsonb NOT NULL,
            received_at timestamptz NOT NULL,
            PRIMARY KEY (hall, device, topic)
        );
        """,
    ),
    (
        2,
        "per-consumer counters (events offered, stored, repeats absorbed)",
        """
        CREATE TABLE consumer_stats (
            consumer text PRIMARY KEY,
            batches bigint NOT NULL DEFAULT 0,
            offered bigint NOT NULL DEFAULT 0,
            stored bigint NOT NULL DEFAULT 0,
            duplicates bigint NOT NULL DEFAULT 0,
            refused bigint NOT NULL DEFAULT 0,
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        """,
    ),
    (
        3,
        "each consumer's delivery delay (how far behind the devices it is)",
        "ALTER TABLE consumer_stats ADD COLUMN delay_s real NOT NULL DEFAULT 0;",
    ),
]
MAX_DELAY_S = 120.0  # a device's clock claiming more counts as this much
MIGRATION_LOCK = 0x48414C4C  # pg_advisory_xact_lock key: one consumer migrates at a time

_COLUMNS = "id, hall, device, stream, seq, kind, ts, data"


def migrate(conn: psycopg.Connection[Any]) -> list[int]:
    """Bring the schema to the latest version; return the versions applied now."""
    applied: list[int] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "
            "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}
        for version, name, sql in MIGRATIONS:
            if version in done:
                continue
            conn.execute(sql.encode())
            conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (version, name)
            )
            applied.append(version)
            log.info("center store: applied migration %d (%s)", version, name)
    return applied


@dataclass
class _Stream:
    watermark: int
    sent_upto: int
    gap: bool
    segments: list[tuple[int, int]]


def _merge(
    s: _Stream, batches: list[Batch]
) -> tuple[int, list[tuple[int, int]], list[tuple[int, int]], bool]:
    """Join a stream's batches to its state: (watermark, ranges to keep waiting,
    stored ranges now consumed, re-confirm: a probe at or below the watermark)."""
    mark = s.watermark
    old = set(s.segments)
    pending = set(s.segments)
    probes = []
    for b in batches:
        mark = max(mark, b.base)
        if b.events:
            pending.add((b.prev, b.last))
        else:
            probes.append(b.prev)
            s.sent_upto = max(s.sent_upto, b.prev)
    moved = True
    while moved:
        moved = False
        for prev, last in sorted(pending):
            if last <= mark:
                pending.discard((prev, last))
            elif prev <= mark:
                mark = last
                pending.discard((prev, last))
                moved = True
    new_pending = sorted(pending - old)
    consumed = sorted(old - pending)
    s.segments = sorted(pending)
    return mark, new_pending, consumed, any(p <= mark for p in probes)


class PgStore:
    """The center's PostgreSQL store; one connection, used by one consumer thread."""

    def __init__(
        self,
        dsn: str,
        *,
        consumer: str = "center",
        gap_grace_s: float = 1.0,
        resend_interval_s: float = 1.0,
        connect_timeout_s: float = 5.0,
    ) -> None:
        self.dsn = dsn
        self.consumer = consumer
        self.gap_grace_s = gap_grace_s
        self.resend_interval_s = resend_interval_s
        self.connect_timeout_s = connect_timeout_s
        self._conn: psycopg.Connection[Any] | None = None
        self._lock = threading.Lock()
        self.stored = 0
        self.duplicates = 0
        self.refused = 0
        self.reconnects = 0
        self._connect()  # at start an unreachable database is an error, not a wait

    # ------------------------------------------------------------------ connection

    def _connect(self) -> psycopg.Connection[Any]:
        conn = psycopg.connect(
            self.dsn,
            autocommit=True,
            connect_timeout=max(1, int(self.connect_timeout_s)),
            application_name=f"hall-center {self.consumer}"[:63],
        )
        try:
            migrate(conn)
            conn.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS incoming AS SELECT {_COLUMNS} FROM events "
                "WITH NO DATA"
            )
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return conn

    @contextmanager
    def _db(self) -> Iterator[psycopg.Connection[Any]]:
        """The connection (made again if it was lost); a lost server is StoreUnavailable."""
        with self._lock:
            try:
                conn = self._conn
                if conn is None or conn.closed:
                    self.reconnects += 1
                    conn = self._connect()
                yield conn
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                if self._conn is not None:
                    self._conn.close()
                self._conn = None
                raise StoreUnavailable(f"the center database is unavailable: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # ------------------------------------------------------------------ ingest

    def ingest(
        self, batches: list[Batch], *, envelopes: bool = True
    ) -> tuple[list[Released], list[dict[str, Any]]]:
        """Store a turn's batches in one transaction: what advanced, and the new events
        (as envelopes; none built when ``envelopes`` is false: nobody reads them).

        A batch the database refuses (e.g. a string PostgreSQL cannot hold) fails
        the turn; the turn is then stored batch by batch and the refused ones are
        counted and dropped, so one bad batch never holds the others back.
        """
        if not batches:
            return [], []
        with self._db() as conn:
            try:
                return self._ingest(conn, batches, envelopes)
            except psycopg.DataError:
                pass
            released: list[Released] = []
            new: list[dict[str, Any]] = []
            for b in batches:
                try:
                    r, n = self._ingest(conn, [b], envelopes)
                except psycopg.DataError as exc:
                    self.refused += 1
                    conn.execute(
                        "INSERT INTO consumer_stats AS c (consumer, refused) VALUES (%s, 1) "
                        "ON CONFLICT (consumer) DO UPDATE SET refused = c.refused + 1",
                        (self.consumer,),
                    )
                    REJECTS.count(
                        f"center {self.consumer}",
                        "bad_batch",
                        f"hall/{b.hall}/dev/{b.device}/sync/events",
                        f"the database refused the batch: {str(exc)[:200]}",
                    )
                    continue
                released += r
                new += n
            return released, new

    def _ingest(
        self, conn: psycopg.Connection[Any], batches: list[Batch], envelopes: bool
    ) -> tuple[list[Released], list[dict[str, Any]]]:
        by_key: dict[Key, list[Batch]] = {}
        for b in batches:
            by_key.setdefault(b.key, []).append(b)
        keys = sorted(by_key)
        halls, devices, streams = ([k[i] for k in keys] for i in range(3))
        offered = sum(len(b.events) for b in batches)
        with conn.transaction(), conn.cursor() as cur:
            new_ids: set[str] = set()
            if offered:
                with cur.copy(f"COPY incoming ({_COLUMNS}) FROM STDIN") as copy:
                    for b in batches:
                        for e in b.events:
                            copy.write_row(
                                (
                                    e.id,
                                    b.hall,
                                    b.device,
                                    b.stream,
                                    e.seq,
                                    e.kind,
                                    e.ts,
                                    json.dumps(e.data, ensure_ascii=False, separators=(",", ":")),
                                )
                            )
                cur.execute(
                    f"INSERT INTO events ({_COLUMNS}) SELECT {_COLUMNS} FROM incoming "
                    "ON CONFLICT DO NOTHING RETURNING id"
                )
                new_ids = {r[0] for r in cur.fetchall()}
                cur.execute("TRUNCATE incoming")
            bases = [max(b.base for b in by_key[k]) for k in keys]
            cur.execute(
                "INSERT INTO streams (hall, device, stream, watermark) "
                "SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::bigint[]) "
                "ON CONFLICT DO NOTHING",
                (halls, devices, streams, bases),
            )
            cur.execute(
                "SELECT s.hall, s.device, s.stream, s.watermark, s.sent_upto, "
                "s.gap_since IS NOT NULL FROM streams s "
                "JOIN unnest(%s::text[], %s::text[], %s::text[]) AS k(hall, device, stream) "
                "USING (hall, device, stream) ORDER BY s.hall, s.device, s.stream FOR UPDATE",
                (halls, devices, streams),
            )
            state = {
                (r[0], r[1], r[2]): _Stream(int(r[3]), int(r[4]), bool(r[5]), [])
                for r in cur.fetchall()
            }
            cur.execute(
                "SELECT g.hall, g.device, g.stream, g.prev, g.last FROM stream_segments g "
                "JOIN unnest(%s::text[], %s::text[], %s::text[]) AS k(hall, device, stream) "
                "USING (hall, device, stream)",
                (halls, devices, streams),
            )
            for r in cur.fetchall():
                state[(r[0], r[1], r[2])].segments.append((int(r[3]), int(r[4])))
            released: list[Released] = []
            rows: list[tuple[Any, ...]] = []
            add: list[tuple[Any, ...]] = []
            drop: list[tuple[Any, ...]] = []
            for key in keys:
                s = state[key]
                before = s.watermark
                mark, waiting, consumed, reack = _merge(s, by_key[key])
                gap = bool(s.segments) or s.sent_upto > mark
                rows.append((*key, mark, s.sent_upto, gap))
                add += [(*key, p, q) for p, q in waiting]
                drop += [(*key, p, q) for p, q in consumed]
                if mark > before or reack:
                    # "advanced": the consumer confirms it (again, for a probe that shows
                    # the device did not get the last confirmation).
                    released.append(Released(key, (), mark, True))
            cur.execute(
                "UPDATE streams s SET watermark = u.mark, sent_upto = u.sent, "
                "gap_since = CASE WHEN u.gap THEN coalesce(s.gap_since, now()) END, "
                "last_request = CASE WHEN u.gap THEN s.last_request END, "
                "requests = CASE WHEN u.gap THEN s.requests ELSE 0 END, updated_at = now() "
                "FROM unnest(%s::text[], %s::text[], %s::text[], %s::bigint[], %s::bigint[], "
                "%s::bool[]) AS u(hall, device, stream, mark, sent, gap) "
                "WHERE (s.hall, s.device, s.stream) = (u.hall, u.device, u.stream)",
                [list(c) for c in zip(*rows, strict=True)],
            )
            if drop:
                cur.executemany(
                    "DELETE FROM stream_segments WHERE hall=%s AND device=%s AND stream=%s "
                    "AND prev=%s AND last=%s",
                    drop,
                )
            if add:
                cur.executemany(
                    "INSERT INTO stream_segments (hall, device, stream, prev, last) "
                    "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                    add,
                )
            cur.execute(
                "INSERT INTO consumer_stats AS c (consumer, batches, offered, stored, duplicates, "
                "delay_s) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (consumer) DO UPDATE SET "
                "batches = c.batches + excluded.batches, offered = c.offered + excluded.offered, "
                "stored = c.stored + excluded.stored, "
                "duplicates = c.duplicates + excluded.duplicates, "
                "delay_s = excluded.delay_s, updated_at = now()",
                (
                    self.consumer,
                    len(batches),
                    offered,
                    len(new_ids),
                    offered - len(new_ids),
                    _delay(batches),
                ),
            )
        self.stored += len(new_ids)
        self.duplicates += offered - len(new_ids)
        if not envelopes:
            return released, []
        new = [e.envelope(b.hall, b.device) for b in batches for e in b.events if e.id in new_ids]
        return released, new

    def due_resends(self, limit: int = 1000) -> list[tuple[Key, int]]:
        """Streams whose gap outlasted the grace period and is due to be asked for
        again (backing off while it lasts); each is claimed by one consumer.

        The grace is at least twice the delivery delay of the slowest consumer
        (batches reach a consumer that far behind the device): while the center
        is behind, a batch still queued for one consumer is not a gap because
        another consumer already stored the one after it.
        """
        with self._db() as conn:
            rows = conn.execute(
                "WITH grace AS (SELECT greatest(%s, 2 * coalesce(max(delay_s), 0)) AS s "
                "FROM consumer_stats WHERE updated_at > now() - interval '30 seconds'), "
                "due AS (SELECT hall, device, stream FROM streams, grace "
                "WHERE gap_since IS NOT NULL "
                "AND gap_since < now() - make_interval(secs => grace.s) "
                "AND (last_request IS NULL OR last_request < now() - "
                "make_interval(secs => least(%s * power(2, least(requests, 6)), 60))) "
                "ORDER BY hall, device, stream LIMIT %s FOR UPDATE SKIP LOCKED) "
                "UPDATE streams s SET last_request = now(), requests = s.requests + 1 FROM due "
                "WHERE (s.hall, s.device, s.stream) = (due.hall, due.device, due.stream) "
                "RETURNING s.hall, s.device, s.stream, s.watermark",
                (self.gap_grace_s, self.resend_interval_s, limit),
            ).fetchall()
        return [((r[0], r[1], r[2]), int(r[3])) for r in rows]

    # ------------------------------------------------------------------ what CenterStore offers

    def watermarks(self) -> dict[Key, int]:
        with self._db() as conn:
            rows = conn.execute("SELECT hall, device, stream, watermark FROM streams").fetchall()
        return {(r[0], r[1], r[2]): int(r[3]) for r in rows}

    def save_statuses(self, rows: list[StatusRow]) -> None:
        """The latest health/presence of devices in one transaction (one row per device
        and topic).  A row the database refuses (a string jsonb cannot hold) is
        counted and dropped; the others are saved."""
        sql = (
            "INSERT INTO device_status VALUES (%s, %s, %s, %s::jsonb, %s) "
            "ON CONFLICT (hall, device, topic) DO UPDATE SET payload = excluded.payload, "
            "received_at = excluded.received_at"
        )
        with self._db() as conn:
            try:
                with conn.transaction(), conn.cursor() as cur:
                    cur.executemany(sql, rows)
                return
            except psycopg.DataError:
                pass
            for row in rows:
                try:
                    conn.execute(sql, row)
                except psycopg.DataError as exc:
                    self.refused += 1
                    REJECTS.count(
                        f"center {self.consumer}",
                        "internal",
                        f"hall/{row[0]}/dev/{row[1]}/sync/{row[2]}",
                        f"the database refused it: {str(exc)[:200]}",
                    )

    def status(self, hall: str, device: str, topic: str) -> Any:
        with self._db() as conn:
            row = conn.execute(
                "SELECT payload FROM device_status WHERE hall=%s AND device=%s AND topic=%s",
                (hall, device, topic),
            ).fetchone()
        return row[0] if row else None

    def count(self, **where: str) -> int:
        sql, params = where_clause(where, "%s")
        with self._db() as conn:
            row = conn.execute(f"SELECT count(*) FROM events{sql}", params).fetchone()
        return int(row[0]) if row else 0

    def seqs(self, **where: str) -> list[int]:
        sql, params = where_clause(where, "%s")
        with self._db() as conn:
            rows = conn.execute(f"SELECT seq FROM events{sql} ORDER BY seq", params).fetchall()
        return [int(r[0]) for r in rows]


def _delay(batches: list[Batch]) -> float:
    """How long this turn's batches took from the devices to here (the median; the
    devices' clocks, to the second), 0 when unknown, at most MAX_DELAY_S."""
    now = datetime.now(UTC)
    delays = []
    for b in batches:
        try:
            sent = datetime.fromisoformat(b.sent_at)
        except ValueError:
            continue
        if b.events and sent.tzinfo is not None:
            delays.append((now - sent).total_seconds())
    if not delays:
        return 0.0
    return min(MAX_DELAY_S, max(0.0, statistics.median(delays)))


class PgCenter(Center):
    """A consumer of ``hall center``: :class:`Center` on a :class:`PgStore`.

    Several of them share the events (``share="center"``); the database orders
    each stream, so any of them may confirm and ask for a gap.
    """

    store: PgStore

    def __init__(self, *, store: PgStore, resend_check_s: float = 0.5, **kw: Any) -> None:
        kw.setdefault("confirm", True)
        super().__init__(store=store, **kw)
        fastcheck.compile_all()  # the contract read and compiled before the first message
        self.resend_check_s = resend_check_s
        self._next_resend_check = 0.0

    def _open_store(self, store: Any) -> Any:
        if not isinstance(store, PgStore):
            raise TypeError("PgCenter needs a PgStore")
        return store

    def _restore(self) -> None:
        return  # the order of each stream is kept in the database, not in memory

    def _on_session_start(self, client: mqtt.Client, session_present: bool) -> None:
        # Watermarks live in the database and acks are retained: nothing to replay.
        # Batches a lost session took with it show as gaps (the agents' probes).
        return

    def _ingest(self, batches: list[Batch], now: float) -> tuple[list[Released], list[Any]]:
        released, new = self.store.ingest(batches, envelopes=self.on_event is not None)
        if self.confirm and now >= self._next_resend_check:
            self._next_resend_check = now + self.resend_check_s
            for key, mark in self.store.due_resends():
                released.append(Released(key, (), mark, False, mark))
        return released, new


def wait_count(store: PgStore, n: int, timeout: float, **where: str) -> bool:
    """Until the store holds at least ``n`` events (matching ``where``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if store.count(**where) >= n:
                return True
        except StoreUnavailable:
            pass
        time.sleep(0.05)
    return False

"""The center's side of the stream: ``hall monitor`` and what tests use as "the center".

:class:`Center` subscribes to a hall's (or every hall's, ``hall="+"``) event
batches, releases them in per-device order through :class:`StreamOrder`,
stores each event once (de-duplicated by event id) in SQLite and hands new
events to ``on_event`` (``hall monitor`` prints them as JSON lines).

With ``confirm=True`` it is *the* center for those devices: it publishes its
watermark per device stream (retained ``.../sync/ack``) so agents running
with ``ack=center`` may delete what it stored, and asks for missing events
(``.../sync/resend``) when it sees a gap.  A technician's monitor leaves
``confirm`` off: it only watches.

It also sends what a center sends down: retained versioned config
(:meth:`publish_config`) and commands with a response topic (:meth:`command`).
One thread owns the MQTT client; other threads hand it work through a queue.
"""

from __future__ import annotations

import json
import logging
import queue
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any, Protocol

import paho.mqtt.client as mqtt

from sync import client as paho
from sync import fastcheck, inbound, topics
from sync.backoff import Backoff
from sync.client import BrokerAddress, CenterLinkError
from sync.inbound import REJECTS
from sync.ingest import Key, Released, StreamOrder
from sync.wire import Batch, BatchError, batch_from

log = logging.getLogger(__name__)


class StoreUnavailable(RuntimeError):
    """The center's database cannot be reached: nothing was committed, nothing is confirmed."""


# (hall, device, topic leaf, payload as JSON text, received at)
StatusRow = tuple[str, str, str, str, str]


class Store(Protocol):
    """What :class:`Center` needs of a store besides ordering (SQLite here, PostgreSQL in
    ``sync.center_pg``)."""

    stored: int
    duplicates: int

    def watermarks(self) -> dict[Key, int]: ...

    def save_statuses(self, rows: list[StatusRow]) -> None: ...

    def count(self, **where: str) -> int: ...

    def close(self) -> None: ...


STORE_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY,
    hall TEXT NOT NULL,
    device TEXT NOT NULL,
    stream TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    ts TEXT NOT NULL,
    data TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_device ON events(hall, device, stream, seq);
CREATE TABLE IF NOT EXISTS streams (
    hall TEXT NOT NULL,
    device TEXT NOT NULL,
    stream TEXT NOT NULL,
    watermark INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (hall, device, stream)
);
CREATE TABLE IF NOT EXISTS device_status (
    hall TEXT NOT NULL,
    device TEXT NOT NULL,
    topic TEXT NOT NULL,
    payload TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (hall, device, topic)
);
"""


class CenterStore:
    """The center's database: events once by id, watermarks, latest health/presence.

    Safe to use from several threads (one connection behind a lock).
    """

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=10
        )
        self._lock = threading.Lock()
        with self._lock:
            if self.path != ":memory:":
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(STORE_SCHEMA)
        self.stored = 0
        self.duplicates = 0

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def watermarks(self) -> dict[Key, int]:
        with self._lock:
            rows = self._conn.execute("SELECT hall, device, stream, watermark FROM streams")
            return {(r[0], r[1], r[2]): int(r[3]) for r in rows}

    def store(self, released: list[Released], received_at: str) -> list[dict[str, Any]]:
        """Store released batches in one transaction; return the events that were new."""
        new: list[dict[str, Any]] = []
        with self._lock:
            c = self._conn
            c.execute("BEGIN")
            try:
                for r in released:
                    for batch in r.batches:
                        for e in batch.events:
                            data = json.dumps(e.data, ensure_ascii=False, separators=(",", ":"))
                            cur = c.execute(
                                "INSERT OR IGNORE INTO events (id, hall, device, stream, seq, "
                                "kind, ts, data, received_at) VALUES (?,?,?,?,?,?,?,?,?)",
                                (
                                    e.id,
                                    batch.hall,
                                    batch.device,
                                    batch.stream,
                                    e.seq,
                                    e.kind,
                                    e.ts,
                                    data,
                                    received_at,
                                ),
                            )
                            if cur.rowcount:
                                new.append(e.envelope(batch.hall, batch.device))
                            else:
                                self.duplicates += 1
                    if r.advanced:
                        c.execute(
                            "INSERT INTO streams (hall, device, stream, watermark, updated_at) "
                            "VALUES (?,?,?,?,?) ON CONFLICT(hall, device, stream) DO UPDATE SET "
                            "watermark=excluded.watermark, updated_at=excluded.updated_at",
                            (*r.key, r.watermark, received_at),
                        )
                c.execute("COMMIT")
            except BaseException:
                c.execute("ROLLBACK")
                raise
        self.stored += len(new)
        return new

    def save_statuses(self, rows: list[StatusRow]) -> None:
        """The latest health/presence of devices, one transaction (the last row of a
        device and topic wins)."""
        with self._lock:
            c = self._conn
            c.execute("BEGIN")
            try:
                c.executemany(
                    "INSERT INTO device_status VALUES (?,?,?,?,?) ON CONFLICT(hall, device, "
                    "topic) DO UPDATE SET payload=excluded.payload, "
                    "received_at=excluded.received_at",
                    rows,
                )
                c.execute("COMMIT")
            except BaseException:
                c.execute("ROLLBACK")
                raise

    def status(self, hall: str, device: str, topic: str) -> Any:
        with self._lock:
            row = self._conn.execute(
                "SELECT payload FROM device_status WHERE hall=? AND device=? AND topic=?",
                (hall, device, topic),
            ).fetchone()
        return json.loads(row[0]) if row else None

    def count(self, **where: str) -> int:
        sql, params = where_clause(where)
        with self._lock:
            return int(
                self._conn.execute(f"SELECT count(*) FROM events{sql}", params).fetchone()[0]
            )

    def seqs(self, **where: str) -> list[int]:
        """Sequence numbers in the order they were stored."""
        sql, params = where_clause(where)
        with self._lock:
            rows = self._conn.execute(f"SELECT seq FROM events{sql} ORDER BY rowid", params)
            return [int(r[0]) for r in rows]

    def events(self, **where: str) -> list[dict[str, Any]]:
        sql, params = where_clause(where)
        with self._lock:
            rows = self._conn.execute(
                f"SELECT id, seq, device, hall, kind, ts, data FROM events{sql} ORDER BY rowid",
                params,
            ).fetchall()
        return [_envelope(r) for r in rows]

    def iter_events(
        self, *, kind: str | None = None, hall: str | None = None, page: int = 500
    ) -> Iterator[dict[str, Any]]:
        """Like :meth:`events`, in stored order, a page at a time (a long export does not
        hold the whole table, nor the lock between pages)."""
        where = {k: v for k, v in (("kind", kind), ("hall", hall)) if v is not None}
        sql, params = where_clause(where)
        sql = f"{sql} AND rowid > ?" if sql else " WHERE rowid > ?"
        after = 0
        while True:
            with self._lock:
                rows = self._conn.execute(
                    "SELECT id, seq, device, hall, kind, ts, data, rowid FROM events"
                    f"{sql} ORDER BY rowid LIMIT ?",
                    (*params, after, page),
                ).fetchall()
            for r in rows:
                yield _envelope(r)
            if len(rows) < page:
                return
            after = int(rows[-1][7])


def _envelope(r: tuple[Any, ...]) -> dict[str, Any]:
    """A stored row as the center prints it (``hall monitor``'s JSON line).

    A row whose ``data`` does not parse (a store edited by hand) keeps it as text,
    for the reader to refuse.
    """
    try:
        data = json.loads(r[6])
    except ValueError:
        data = r[6]
    return {
        "id": r[0],
        "seq": r[1],
        "device": r[2],
        "hall": r[3],
        "kind": r[4],
        "ts": r[5],
        "data": data,
    }


def where_clause(where: dict[str, str], placeholder: str = "?") -> tuple[str, tuple[str, ...]]:
    """`` WHERE hall=? AND kind=?`` and its parameters for the stores' event queries
    (``placeholder``: ``?`` for SQLite, ``%s`` for PostgreSQL); only known columns."""
    allowed = {"hall", "device", "stream", "kind"}
    if set(where) - allowed:
        raise ValueError(f"can filter only on {sorted(allowed)}")
    if not where:
        return "", ()
    clause = " AND ".join(f"{k}={placeholder}" for k in where)
    return " WHERE " + clause, tuple(where.values())


def _now() -> str:
    from sync.health import now_iso

    return now_iso()


class Center:
    def __init__(
        self,
        *,
        broker: BrokerAddress,
        hall: str = "+",
        client_id: str | None = None,
        store: Store | str | Path = ":memory:",
        confirm: bool = False,
        session_expiry_s: int = 7 * 24 * 3600,
        gap_timeout_s: float = 5.0,
        resend_interval_s: float = 1.0,
        on_event: Callable[[dict[str, Any]], None] | None = None,
        on_status: Callable[[str, dict[str, Any]], None] | None = None,
        backoff: Backoff | None = None,
        share: str | None = None,
    ) -> None:
        self.broker = broker
        self.hall = hall
        self.client_id = client_id or f"center-{uuid.uuid4().hex[:8]}"
        self.store = self._open_store(store)
        self.confirm = confirm
        self.share = share  # a shared-subscription group: several consumers split the stream
        self.session_expiry_s = session_expiry_s
        self.on_event = on_event
        self.on_status = on_status
        self.gap_timeout_s = gap_timeout_s
        self.resend_interval_s = resend_interval_s
        self.order = StreamOrder(
            confirming=confirm, gap_timeout_s=gap_timeout_s, resend_interval_s=resend_interval_s
        )
        self._restore()
        self._store_backoff = Backoff(0.2, 5.0)
        self._store_retry_at = 0.0
        self._backoff = backoff or Backoff(0.2, 5.0)
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._tasks: queue.Queue[Callable[[mqtt.Client], None]] = queue.Queue()
        self._incoming: list[mqtt.MQTTMessage] = []
        # this turn's latest checked health/presence per device and topic, and (for
        # on_status) every checked one in arrival order
        self._statuses: dict[tuple[str, str, str], mqtt.MQTTMessage] = {}
        self._told: list[tuple[str, Any]] = []
        self._pending: dict[bytes, Future[Any]] = {}
        self._acks_wanted: dict[int, Future[None]] = {}  # owned by the center thread
        self._changed = threading.Condition()
        self.batches = 0
        self.bad_batches = 0
        self.gaps_skipped: list[tuple[Key, int, int]] = []
        self.resend_requests = 0
        self.last_error = ""
        self.last_turn = time.monotonic()  # stamped by every turn of the center's loop (watchdog)
        self.store_outages = 0

    def _restore(self) -> None:
        """Where each stream stands, from the store (a restart continues from there)."""
        for key, mark in self.store.watermarks().items():
            self.order.restore(key, mark)

    def _open_store(self, store: Any) -> Any:
        """The store behind this center (SQLite here; ``sync.center_pg`` uses PostgreSQL)."""
        return store if isinstance(store, CenterStore) else CenterStore(store)

    # ------------------------------------------------------------------ lifecycle

    def start(self, *, wait: float | None = 10.0) -> Center:
        self._thread = threading.Thread(target=self._run, name="center", daemon=True)
        self._thread.start()
        if wait is not None and not self.connected.wait(wait):
            self.stop()
            raise CenterLinkError(
                f"center could not connect to {self.broker.describe()} "
                f"within {wait:.0f}s: {self.last_error}"
            )
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(10)
        self._fail_pending("center stopped")

    def __enter__(self) -> Center:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_until(self, predicate: Callable[[Center], bool], timeout: float) -> bool:
        """Block until ``predicate(self)`` holds (checked after every stored batch)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(min(left, 0.5))
        return True

    # ------------------------------------------------------------------ down: config, commands

    def publish_config(
        self,
        hall: str,
        document: dict[str, Any],
        *,
        device: str | None = None,
        timeout: float = 5.0,
    ) -> None:
        """Publish a retained config document (``hall`` scope, or one ``device``)."""
        topic = topics.device_config(hall, device) if device else topics.hall_config(hall)
        self._publish_and_wait(topic, document, retain=True, timeout=timeout)

    def clear_config(self, hall: str, *, device: str | None = None) -> None:
        topic = topics.device_config(hall, device) if device else topics.hall_config(hall)
        self._publish_and_wait(topic, b"", retain=True, timeout=5.0)

    def command(
        self,
        hall: str,
        device: str,
        cmd: str,
        args: dict[str, Any] | None = None,
        *,
        timeout: float = 5.0,
    ) -> Any:
        """Send a command to a device's sync agent and wait for its answer."""
        correlation = uuid.uuid4().bytes
        future: Future[Any] = Future()
        self._pending[correlation] = future
        payload = {"cmd": cmd, "args": args or {}, "id": correlation.hex()}
        topic = topics.sync_command(hall, device)
        props = paho.publish_props(
            response_topic=topics.sync_reply(hall, device),
            correlation=correlation,
            expiry_s=max(1, int(timeout) + 1),
        )
        paho.check_contract(topic, payload)  # here, in the caller's thread
        data = paho.encode(payload)

        def task(c: mqtt.Client) -> None:
            paho.publish(c, topic, data, properties=props)

        self._tasks.put(task)
        try:
            return future.result(timeout)
        except FutureTimeout:
            raise CenterLinkError(f"{device} did not answer {cmd} within {timeout}s") from None
        finally:
            self._pending.pop(correlation, None)

    def _publish_and_wait(self, topic: str, payload: Any, *, retain: bool, timeout: float) -> None:
        """``payload``: a document (checked against the contract here) or b"" (clears it)."""
        if payload != b"":
            paho.check_contract(topic, payload)
            payload = paho.encode(payload)
        done: Future[None] = Future()

        def task(c: mqtt.Client) -> None:
            info = paho.publish(c, topic, payload, retain=retain)
            self._acks_wanted[info.mid] = done

        self._tasks.put(task)
        try:
            done.result(timeout)
        except FutureTimeout:
            raise CenterLinkError(f"the broker did not acknowledge {topic} in {timeout}s") from None

    # ------------------------------------------------------------------ the loop (own thread)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.last_turn = time.monotonic()
            client = paho.new_client(
                self.broker, self.client_id, max_inflight=100, max_queued=10000
            )
            # PUBACK only after the batch is committed to the store (see _process).
            client.manual_ack_set(True)
            client.on_message = lambda _c, _u, m: self._incoming.append(m)
            client.on_publish = self._on_publish
            try:
                present = paho.connect(client, self.broker, session_expiry_s=self.session_expiry_s)
            except CenterLinkError as exc:
                self.last_error = str(exc)
                log.warning("%s", exc)
                paho.close(client)
                self._stop.wait(self._backoff.next())
                continue
            self._backoff.reset()
            try:
                self._session(client, present)
            finally:
                paho.close(client)
                self.connected.clear()
                for f in self._acks_wanted.values():
                    if not f.done():
                        f.set_exception(CenterLinkError("connection lost before the PUBACK"))
                self._acks_wanted.clear()
            if not self._stop.is_set():
                self._stop.wait(self._backoff.next())

    def _on_publish(self, _c: Any, _u: Any, mid: int, reason: Any, _p: Any) -> None:
        f = self._acks_wanted.pop(mid, None)
        if f and not f.done():
            if reason.is_failure:
                f.set_exception(CenterLinkError(f"the broker refused the publish: {reason}"))
            else:
                f.set_result(None)

    def _filters(self) -> list[str]:
        """Events, health and presence (shared by the consumers of a group, if any);
        answers to this center's own commands always come to itself."""
        h = self.hall
        up = [
            topics.sync_events_filter(h),
            f"hall/{h}/dev/+/sync/health",
            f"hall/{h}/dev/+/sync/presence",
        ]
        if self.share:
            up = [f"$share/{self.share}/{f}" for f in up]
        return [*up, f"hall/{h}/dev/+/sync/reply"]

    def _session(self, client: mqtt.Client, session_present: bool) -> None:
        # A consumer of a shared subscription gets every device's retained health and
        # presence when it subscribes (Mosquitto sends them to each member): once, when
        # its session is new, not again at every reconnect of a resumed session.
        paho.subscribe(client, self._filters(), retain_handling=1 if self.share else 0)
        log.info(
            "center %s connected to %s (session %s)",
            self.client_id,
            self.broker.describe(),
            "resumed" if session_present else "new",
        )
        self._on_session_start(client, session_present)
        self.connected.set()
        while not self._stop.is_set():
            self.last_turn = time.monotonic()
            rc = client.loop(0.1)
            if rc == mqtt.MQTT_ERR_SUCCESS:  # then what else has come: one turn stores it all
                rc = paho.read_ready(client)
            if rc != mqtt.MQTT_ERR_SUCCESS:
                log.warning("center lost %s: %s", self.broker.describe(), mqtt.error_string(rc))
                return
            self._process(client)
            while True:
                try:
                    task = self._tasks.get_nowait()
                except queue.Empty:
                    break
                task(client)

    def _on_session_start(self, client: mqtt.Client, session_present: bool) -> None:
        if self.confirm:
            # Tell agents where we stand; after losing our session we may have
            # missed batches, so ask every known stream to send again.
            for key in self.order.streams():
                mark = self.order.watermark(key) or 0
                self._ack(client, key, mark)
                if not session_present:
                    self._request_resend(client, key, mark)

    def _ingest(self, batches: list[Batch], now: float) -> tuple[list[Released], list[Any]]:
        """Order and store one turn's batches: what was released, and the new events."""
        released = [self.order.offer(b, now) for b in batches]
        released += self.order.tick(now)
        new = (
            self.store.store([r for r in released if r.batches or r.advanced], _now())
            if released
            else []
        )
        return released, new

    def _process(self, client: mqtt.Client) -> None:
        now = time.monotonic()
        if now < self._store_retry_at:
            return  # the store is down: hold what came (unacknowledged) until it is back
        incoming, self._incoming = self._incoming, []
        self._statuses, self._told = {}, []
        batches: list[Batch] = []
        for m in incoming:
            try:
                batch = self._receive(m)
            except Exception as exc:  # one message never stops the center's loop
                REJECTS.count(f"center {self.client_id}", "internal", m.topic, type(exc).__name__)
                continue
            if batch is not None:
                batches.append(batch)
        t_rx = time.monotonic()
        try:
            released, new = self._ingest(batches, now)
            if incoming:
                log.debug(
                    "center %s turn: %d messages, %d batches, %d events; checked in %.3fs, "
                    "stored in %.3fs",
                    self.client_id,
                    len(incoming),
                    len(batches),
                    sum(len(b.events) for b in batches),
                    t_rx - now,
                    time.monotonic() - t_rx,
                )
        except StoreUnavailable as exc:
            # Nothing committed, so nothing acknowledged: the same messages again later.
            self._incoming = incoming + self._incoming
            self._statuses, self._told = {}, []  # they come again with their messages
            self.store_outages += 1
            pause = self._store_backoff.next()
            self._store_retry_at = now + pause
            self.last_error = str(exc)
            log.warning("center %s: %s; retrying in %.1fs", self.client_id, exc, pause)
            return
        self._store_backoff.reset()
        self._save_statuses()
        for m in incoming:  # committed (or held back in memory, which a resend recovers)
            if m.qos:
                client.ack(m.mid, m.qos)
        if not released:
            return
        for r in released:
            for after, upto in r.skipped:
                log.warning(
                    "gave up waiting for %s events %d..%d", "/".join(r.key), after + 1, upto
                )
                self.gaps_skipped.append((r.key, after, upto))
            if self.confirm and r.advanced:
                self._ack(client, r.key, r.watermark)
            if r.resend_after is not None:
                self._request_resend(client, r.key, r.resend_after)
        if self.on_event:
            for event in new:
                self.on_event(event)
        with self._changed:
            self._changed.notify_all()

    def _receive(self, m: mqtt.MQTTMessage) -> Batch | None:
        """One message: a batch to offer, or None (status, reply, or dropped)."""
        hall, device, leaf = topics.sync_parts(m.topic)
        if leaf == "events":
            try:
                # bounds and contract first (the compiled fast path of the same contract)
                batch = batch_from(fastcheck.check(m.topic, m.payload))
                self._check_batch(m.topic, batch)
            except (inbound.Rejected, BatchError, ValueError) as exc:
                self.bad_batches += 1
                kind = exc.kind if isinstance(exc, inbound.Rejected) else "bad_batch"
                REJECTS.count(f"center {self.client_id}", kind, m.topic, str(exc)[:300])
                return None
            self.batches += 1
            return batch
        if leaf == "reply":
            self._on_reply(m)
        elif leaf in ("health", "presence") and m.payload:
            self._on_status(hall, device, leaf, m)
        return None

    def _check_batch(self, topic: str, batch: Batch) -> None:
        hall, device, _ = topics.sync_parts(topic)
        if (batch.hall, batch.device) != (hall, device):
            raise ValueError(f"batch names {batch.hall}/{batch.device}, topic says {hall}/{device}")

    def _ack(self, client: mqtt.Client, key: Key, mark: int) -> None:
        hall, device, stream = key
        topic = topics.sync_ack(hall, device)
        paho.publish(client, topic, {"stream": stream, "seq": mark, "at": _now()}, retain=True)

    def _request_resend(self, client: mqtt.Client, key: Key, after: int) -> None:
        hall, device, stream = key
        topic = topics.sync_resend(hall, device)
        self.resend_requests += 1
        log.info("asking %s/%s to send again after %d", hall, device, after)
        paho.publish(client, topic, {"stream": stream, "after": after})

    def _on_reply(self, m: mqtt.MQTTMessage) -> None:
        message = paho.decode_message(m, empty_ok=False)
        future = self._pending.get(message.correlation) if message.correlation else None
        if future is None or future.done():
            return
        if message.error:
            REJECTS.count(f"center {self.client_id}", message.error_kind, m.topic, message.error)
            future.set_exception(CenterLinkError(f"unreadable answer: {message.error}"))
        else:
            future.set_result(message.payload)

    def _on_status(self, hall: str, device: str, leaf: str, m: mqtt.MQTTMessage) -> None:
        """A health or presence message, checked on receipt (a hostile one is counted and
        dropped): kept for :meth:`_save_statuses` at the end of the turn (one
        transaction for all of them)."""
        message = paho.decode_message(m, empty_ok=False, check=fastcheck.check)
        if message.error:
            REJECTS.count(f"center {self.client_id}", message.error_kind, m.topic, message.error)
            return
        self._statuses[(hall, device, leaf)] = m  # a later one of the turn replaces it
        if self.on_status:
            self._told.append((leaf, message.payload))

    def _save_statuses(self) -> None:
        """Save the turn's health and presence, the latest of each device and topic (a
        backlog of heartbeats after an outage is one row per device), as the checked
        text that came (not encoded again), before their messages are acknowledged;
        then tell ``on_status`` of each."""
        got, self._statuses = self._statuses, {}
        if not got:
            return
        at = _now()
        told, self._told = self._told, []
        rows: list[StatusRow] = [
            (hall, device, leaf, bytes(m.payload).decode("utf-8"), at)
            for (hall, device, leaf), m in got.items()
        ]
        try:
            self.store.save_statuses(rows)
        except StoreUnavailable as exc:  # the next heartbeat brings it again
            log.warning(
                "center %s: %d health/presence messages not saved: %s",
                self.client_id,
                len(rows),
                exc,
            )
        if self.on_status:
            for leaf, payload in told:
                self.on_status(leaf, payload)
        with self._changed:
            self._changed.notify_all()

    def _fail_pending(self, reason: str) -> None:
        for f in list(self._pending.values()):
            if not f.done():
                f.set_exception(CenterLinkError(reason))

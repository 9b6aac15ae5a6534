"""The sync agent: delivers a device's outbox to the central broker, applies what comes down.

Works on any device database that has the outbox table (the queue engine's
database on the queue host, an evaluator's own database ...).

Up, store and forward
    Events leave the outbox in sequence order, batched (many events per MQTT
    message) with a bounded window of messages in flight, at QoS 1 over MQTT
    v5 with a persistent session (clean_start false, a session expiry).
    Nothing is deleted before the broker's PUBACK for its batch; a PUBACK with
    a failure reason (e.g. 0x87 Not authorized) deletes nothing and backs
    off.  paho's session lives in RAM only, so each connection uses a fresh
    paho client and the outbox decides what is sent again: after a reconnect
    everything not yet acknowledged, in order.  The center de-duplicates by
    event id.

    ``ack="broker"`` (default) deletes at the PUBACK: the broker is then
    responsible (a persistent Mosquitto, a replicated cluster).
    ``ack="center"`` keeps events until the center confirms it stored them
    (retained ``.../sync/ack``) and sends again what the center asks for
    (``.../sync/resend``) or what a broker that lost its session may have
    lost: end-to-end delivery even through a broker restarted without
    persistence.

Retention
    The outbox is bounded by events, bytes and age (``RetentionPolicy``):
    oldest health records go first, business events the broker has not
    acknowledged are never dropped, and the agent raises an ``outbox_full``
    alarm (an ``alarm`` event, the heartbeat's ``alarms``, the log).

Down
    Retained versioned config (``sync.config_apply``) and commands with
    response topics (``sync.commands``).

Health
    A heartbeat (``sync.health``) every ``heartbeat_s``; presence through a
    retained ``online`` and the Last Will ``offline``.

Threads: one agent thread owns the SQLite connection and the paho client
(callbacks run inside its ``client.loop()``); command handlers run in a small
worker pool and hand their answers back through a queue.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from hall.core import db
from sync import client as paho
from sync import health, inbound, outbox, topics
from sync.backoff import Backoff
from sync.client import BrokerAddress, CenterLinkError
from sync.commands import Command, CommandError, CommandRegistry, failed, ok
from sync.config_apply import ConfigApplier
from sync.inbound import REJECTS, response_topic_allowed
from sync.outbox import RetentionPolicy
from sync.wire import encode_batch, encode_run

log = logging.getLogger(__name__)

ACK_MODES = ("broker", "center")


@dataclass(frozen=True)
class AgentSettings:
    ack: str = "broker"  # broker | center (see the module docstring)
    session_expiry_s: int = 7 * 24 * 3600
    batch_events: int = 500
    batch_bytes: int = 128 * 1024
    window: int = 16  # batches in flight
    backoff_min_s: float = 0.5
    backoff_max_s: float = 60.0
    heartbeat_s: float = 60.0
    retention: RetentionPolicy = field(default_factory=RetentionPolicy)
    retention_every_s: float = 10.0
    probe_min_s: float = 0.5  # ack=center: "sent up to N" probe when the center is quiet
    probe_max_s: float = 60.0
    idle_poll_s: float = 0.2
    delete_every_s: float = 0.25  # acknowledged events deleted at most this often while
    # batches are in flight (one large DELETE rewrites each index page once, not per batch)
    connect_timeout_s: float = 10.0

    def __post_init__(self) -> None:
        if self.ack not in ACK_MODES:
            raise ValueError(f"ack must be one of {ACK_MODES}, got {self.ack!r}")
        if self.window < 1 or self.batch_events < 1:
            raise ValueError("window and batch_events must be at least 1")


@dataclass
class _Flight:
    prev: int
    last: int
    events: int
    acked: bool = False


@dataclass
class AgentStats:
    batches_sent: int = 0
    events_sent: int = 0
    events_acked: int = 0
    connects: int = 0
    refused: int = 0
    resends: int = 0
    probes: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


class _Pruner:
    """ack=broker: deletes acknowledged events on its own thread and connection, so
    the agent keeps reading and sending meanwhile (SQLite runs without the GIL).
    Takes the latest sequence asked for; stores the ``acked`` cursor with the delete."""

    def __init__(self, db_path: Path, name: str, on_error: Any) -> None:
        self._conn = db.connect(db_path, synchronous="NORMAL", timeout=30)
        self._on_error = on_error
        self._wanted = self._done = 0
        self._closing = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name=f"{name}-prune", daemon=True)
        self._thread.start()

    def want(self, seq: int) -> None:
        with self._cond:
            if seq > self._wanted:
                self._wanted = seq
                self._cond.notify()

    def _run(self) -> None:
        try:
            while True:
                with self._cond:
                    self._cond.wait_for(lambda: self._wanted > self._done or self._closing)
                    target = self._wanted
                    if target <= self._done:
                        return  # closing, nothing left
                try:
                    with db.transaction(self._conn) as c:
                        outbox.delete_through(c, target)
                        outbox.set_state(c, "acked", target)
                    self._done = target
                except sqlite3.Error as exc:  # kept: sent again after a restart at worst
                    self._on_error(f"could not delete acknowledged events: {exc}")
                    with self._cond:
                        if self._closing:
                            return
                        self._cond.wait(1.0)
        finally:
            self._conn.close()

    def close(self, timeout: float = 30.0) -> None:
        """Finish what was asked, then end the thread."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join(timeout)


class DeliveryRefused(CenterLinkError):
    """The broker answered a batch with a failure reason (e.g. Not authorized)."""


_now_iso = health.now_iso


class SyncAgent:
    def __init__(
        self,
        *,
        db_path: str | Path,
        hall_id: str,
        device_id: str,
        center: BrokerAddress,
        role: str = "",
        settings: AgentSettings | None = None,
        client_id: str | None = None,
        config: ConfigApplier | None = None,
        commands: CommandRegistry | None = None,
    ) -> None:
        self.db_path = Path(db_path)
        self.hall_id, self.device_id, self.role = hall_id, device_id, role
        self.center = center
        self.settings = settings or AgentSettings()
        self.client_id = client_id or f"{hall_id}.{device_id}.sync"
        self.config = config
        self.commands = commands or CommandRegistry()
        self.connected = threading.Event()
        self.stats = AgentStats()
        self.alarms: set[str] = set()
        self.last_error = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = time.monotonic()
        self.last_turn = time.monotonic()  # stamped by every loop of the agent thread (watchdog)
        self._workers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sync-cmd")
        self._outgoing: queue.Queue[tuple[str, bytes, Any]] = queue.Queue(maxsize=1000)
        self._health_wanted = threading.Event()
        self._t = {
            "presence": f"{topics.sync_presence(hall_id, device_id)}",
            "events": topics.sync_events(hall_id, device_id),
            "health": topics.sync_health(hall_id, device_id),
            "ack": topics.sync_ack(hall_id, device_id),
            "resend": topics.sync_resend(hall_id, device_id),
            "cmd": topics.sync_command(hall_id, device_id),
            "hall_config": topics.hall_config(hall_id),
            "device_config": topics.device_config(hall_id, device_id),
        }
        # agent-thread state
        self._conn: sqlite3.Connection | None = None
        self._stream = ""
        self._acked = 0  # every event up to here has a PUBACK
        self._acked_stored = 0  # ... and is deleted (ack=broker), its cursor stored
        self._next_store = 0.0
        self._pruner: _Pruner | None = None
        self._confirmed = 0  # ack=center: the center stored everything up to here
        self._sent = 0  # cursor: the next batch starts after this
        self._inflight: OrderedDict[int, _Flight] = OrderedDict()
        self._acks: list[tuple[int, Any]] = []
        self._topic_of: dict[int, str] = {}  # mid -> topic, until its PUBACK
        self._incoming: list[mqtt.MQTTMessage] = []
        self._refused: str | None = None
        self._lost = False
        self._idle = False
        self._probe_delay = self.settings.probe_min_s
        self._next_probe = 0.0
        self._next_heartbeat = 0.0
        self._next_retention = 0.0
        self._alarm_raised_at: dict[str, float] = {}

    # ------------------------------------------------------------------ lifecycle

    def start(self, *, wait: float | None = None) -> SyncAgent:
        self._thread = threading.Thread(target=self.run, name=f"sync-{self.device_id}", daemon=True)
        self._thread.start()
        if wait is not None and not self.connected.wait(wait):
            raise CenterLinkError(
                f"sync agent could not connect to {self.center.describe()} within {wait:.0f}s: "
                f"{self.last_error}"
            )
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self._workers.shutdown(wait=False, cancel_futures=True)

    def request_health(self) -> None:
        """Send a heartbeat now (thread-safe)."""
        self._health_wanted.set()

    def run(self) -> None:
        """The agent thread: connect, deliver, reconnect with backoff, until stop()."""
        self._open_db()
        if self.settings.ack == "broker":
            self._pruner = _Pruner(self.db_path, f"sync-{self.device_id}", self._note_error)
        backoff = Backoff(self.settings.backoff_min_s, self.settings.backoff_max_s)
        try:
            while not self._stop.is_set():
                self.last_turn = time.monotonic()
                client = self._new_client()
                try:
                    present = paho.connect(
                        client,
                        self.center,
                        session_expiry_s=self.settings.session_expiry_s,
                        timeout=self.settings.connect_timeout_s,
                    )
                    self.stats.connects += 1
                    if self._session(client, present):
                        backoff.reset()
                except CenterLinkError as exc:
                    self._note_error(str(exc))
                except (sqlite3.Error, OSError) as exc:
                    # e.g. the database locked for too long or the disk full: keep
                    # the events, say why, and try again after the backoff.
                    log.exception("sync agent %s: %s", self.device_id, exc)
                    self._note_error(f"{type(exc).__name__}: {exc}")
                finally:
                    paho.close(client)
                if not self._stop.is_set():
                    self._wait_offline(backoff.next())
        finally:
            self.connected.clear()
            if self._conn:
                try:
                    self._store_acked(now=True)
                except sqlite3.Error as exc:
                    self._note_error(f"could not store the acknowledged cursor: {exc}")
                if self._pruner:
                    self._pruner.close()
                self._conn.close()

    def _wait_offline(self, seconds: float) -> None:
        log.info("sync agent %s: next connection attempt in %.1fs", self.device_id, seconds)
        deadline = time.monotonic() + seconds
        while not self._stop.is_set():
            self.last_turn = time.monotonic()
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._stop.wait(min(left, 1.0))
            try:
                self._maintenance(None)
            except sqlite3.Error as exc:
                self._note_error(f"outbox maintenance failed: {exc}")

    # ------------------------------------------------------------------ database

    def _open_db(self) -> None:
        # Losing the agent's own last commit on a power cut only means sending again.
        conn = db.connect(self.db_path, synchronous="NORMAL", timeout=30)
        outbox.ensure_schema(conn)
        health.ensure_schema(conn)
        self._conn = conn
        with self._txn():
            self._stream = outbox.stream_id(conn)
            self._acked = int(outbox.get_state(conn, "acked", "0"))
            self._acked_stored = self._acked
            self._confirmed = int(outbox.get_state(conn, "confirmed", "0"))
        self._sent = self._acked

    @contextmanager
    def _txn(self) -> Iterator[sqlite3.Connection]:
        assert self._conn is not None
        with db.transaction(self._conn) as conn:
            yield conn

    def _put(self, kind: str, payload: dict[str, Any]) -> None:
        with self._txn() as c:
            outbox.put(c, kind, _now_iso(), payload)

    def _note_error(self, message: str) -> None:
        self.last_error = message
        log.warning("sync agent %s: %s", self.device_id, message)

    # ------------------------------------------------------------------ connection

    def _presence(self, status: str) -> bytes:
        return paho.encode(
            {"device": self.device_id, "role": "sync", "status": status, "ts": _now_iso()}
        )

    def _new_client(self) -> mqtt.Client:
        w = self.settings.window
        client = paho.new_client(
            self.center,
            self.client_id,
            will=paho.Will(self._t["presence"], self._presence("offline")),
            max_inflight=w + 16,
            max_queued=w + 1100,
        )
        self._acks, self._incoming, self._refused, self._lost = [], [], None, False
        self._topic_of = {}
        client.on_publish = lambda _c, _u, mid, reason, _p: self._acks.append((mid, reason))
        client.on_message = lambda _c, _u, m: self._incoming.append(m)
        client.on_subscribe = self._on_subscribe
        return client

    def _on_subscribe(self, _c: Any, _u: Any, _mid: int, reasons: Any, _p: Any) -> None:
        refused = [str(r) for r in reasons if r.is_failure]
        if refused:
            self._note_error(
                f"the central broker refused a subscription ({', '.join(refused)}): config and "
                f"commands for {self.device_id} will not arrive; check the broker's ACL"
            )

    def _publish(
        self,
        client: mqtt.Client,
        topic: str,
        payload: bytes,
        *,
        retain: bool = False,
        props: Any = None,
    ) -> int | None:
        info = paho.publish(client, topic, payload, retain=retain, properties=props, check=True)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            self._lost = True
            return None
        self._topic_of[info.mid] = topic
        return int(info.mid)

    def _session(self, client: mqtt.Client, session_present: bool) -> bool:
        """One connection; returns True if it delivered something (resets the backoff)."""
        t = self._t
        wanted = [t["hall_config"], t["device_config"], t["cmd"]]
        if self.settings.ack == "center":
            wanted += [t["ack"], t["resend"]]
        paho.subscribe(client, wanted)
        self._inflight.clear()
        if session_present:
            self._sent = self._acked  # everything without a PUBACK goes again
        else:
            # The broker has no session for us: it may have lost what it acknowledged.
            self._sent = self._confirmed if self.settings.ack == "center" else self._acked
            if self.stats.connects > 1:
                log.warning(
                    "sync agent %s: the broker lost our session; sending again after %d",
                    self.device_id,
                    self._sent,
                )
        self.connected.set()
        self._publish(client, t["presence"], self._presence("online"), retain=True)
        self._heartbeat(client)
        self._probe_delay = self.settings.probe_min_s
        self._next_probe = time.monotonic() + self._probe_delay
        log.info(
            "sync agent %s connected to %s (session %s, ack=%s, sending after %d)",
            self.device_id,
            self.center.describe(),
            "resumed" if session_present else "new",
            self.settings.ack,
            self._sent,
        )
        delivered = False
        try:
            while not self._stop.is_set():
                self.last_turn = time.monotonic()
                self._fill(client)
                full = len(self._inflight) >= self.settings.window
                rc = client.loop(1.0 if full else self.settings.idle_poll_s)
                acked = self._process_acks()
                delivered = delivered or acked
                if self._refused:
                    self.stats.refused += 1
                    self._raise_alarm("delivery_refused", self._refused)
                    self._note_error(self._refused)
                    client.disconnect()
                    return False
                if rc != mqtt.MQTT_ERR_SUCCESS or self._lost:
                    self._note_error(
                        f"lost the central broker {self.center.describe()} "
                        f"({mqtt.error_string(rc)}); reconnecting"
                    )
                    return delivered
                self._process_incoming(client)
                self._send_outgoing(client)
                self._maintenance(client)
            self._goodbye(client)
            return delivered
        finally:
            self.connected.clear()
            self._inflight.clear()

    def _goodbye(self, client: mqtt.Client) -> None:
        mid = self._publish(client, self._t["presence"], self._presence("offline"), retain=True)
        deadline = time.monotonic() + 2.0
        while mid is not None and time.monotonic() < deadline:
            if client.loop(0.1) != mqtt.MQTT_ERR_SUCCESS:
                break
            if any(m == mid for m, _ in self._acks):
                break
        self._process_acks()
        client.disconnect()

    # ------------------------------------------------------------------ up: batches

    def _base(self) -> int:
        return self._confirmed if self.settings.ack == "center" else self._acked

    def _fill(self, client: mqtt.Client) -> None:
        assert self._conn is not None
        s = self.settings
        while len(self._inflight) < s.window:
            run = outbox.read_run(self._conn, self._sent, s.batch_events, s.batch_bytes)
            if run is None:
                self._idle = not self._inflight
                return
            payload = encode_run(
                hall=self.hall_id,
                device=self.device_id,
                stream=self._stream,
                prev=self._sent,
                base=self._base(),
                sent_at=_now_iso(),
                body=run.body,
            )
            mid = self._publish(client, self._t["events"], payload)
            if mid is None:
                return
            self._inflight[mid] = _Flight(self._sent, run.last, run.count)
            self._sent = run.last
            self.stats.batches_sent += 1
            self.stats.events_sent += run.count
            self._idle = False

    def _process_acks(self) -> bool:
        acks, self._acks = self._acks, []
        for mid, reason in acks:
            flight = self._inflight.get(mid)
            topic = self._topic_of.pop(mid, "?")
            if reason.is_failure:
                self._refused = (
                    f"the central broker refused our publish on {topic}: {reason} "
                    f"(0x{reason.value:02x}); check that this device's identity "
                    f"({self.center.username or 'certificate'}) may publish under "
                    f"hall/{self.hall_id}/dev/{self.device_id}/ in the broker's ACL"
                )
                if flight:
                    return False
                continue
            if flight:
                flight.acked = True
        advanced = False
        while self._inflight:
            mid, first = next(iter(self._inflight.items()))
            if not first.acked:
                break
            self._inflight.popitem(last=False)
            self.stats.events_acked += first.events
            if first.last > self._acked:
                self._acked = first.last
                advanced = True
        if advanced:
            self._store_acked()
            self._probe_delay = self.settings.probe_min_s
            self._next_probe = time.monotonic() + self._probe_delay
            if "delivery_refused" in self.alarms:
                self._clear_alarm("delivery_refused")
        return advanced

    def _store_acked(self, *, now: bool = False) -> None:
        """Delete (ack=broker, on the pruner's thread) what the broker acknowledged and
        store the cursor, in one statement for every batch acknowledged since the last
        time: at most every ``delete_every_s`` while batches are in flight, at once when
        none are.  Until then a restart sends those events again (the center
        de-duplicates them)."""
        if self._acked <= self._acked_stored:
            return
        t = time.monotonic()
        if not now and self._inflight and t < self._next_store:
            return
        if self._pruner is not None:
            self._pruner.want(self._acked)
        else:
            with self._txn() as c:
                outbox.set_state(c, "acked", self._acked)
        self._acked_stored = self._acked
        self._next_store = t + self.settings.delete_every_s

    def _probe(self, client: mqtt.Client) -> None:
        """ack=center: tell a quiet center how far we got, so it can spot a loss."""
        if not (self._idle and not self._inflight and self._acked > self._confirmed):
            return
        now = time.monotonic()
        if now < self._next_probe:
            return
        payload = encode_batch(
            hall=self.hall_id,
            device=self.device_id,
            stream=self._stream,
            prev=self._acked,
            base=self._confirmed,
            sent_at=_now_iso(),
            events=[],
        )
        self._publish(client, self._t["events"], payload)
        self.stats.probes += 1
        self._next_probe = now + self._probe_delay
        self._probe_delay = min(self._probe_delay * 2, self.settings.probe_max_s)

    def _confirm(self, seq: int) -> None:
        if seq <= self._confirmed:
            return
        with self._txn() as c:
            outbox.delete_through(c, seq)
            outbox.set_state(c, "confirmed", seq)
            outbox.set_state(c, "acked", max(self._acked, seq))
        self._confirmed = seq
        self._acked = max(self._acked, seq)
        self._acked_stored = self._acked
        self._sent = max(self._sent, seq)
        self._probe_delay = self.settings.probe_min_s
        self._next_probe = time.monotonic() + self._probe_delay

    # ------------------------------------------------------------------ down

    def _process_incoming(self, client: mqtt.Client) -> None:
        incoming, self._incoming = self._incoming, []
        for m in incoming:
            try:
                self._on_message(client, m)
            except Exception as exc:  # one message never stops the agent's loop
                REJECTS.count(
                    f"sync agent {self.device_id}", "internal", m.topic, type(exc).__name__
                )

    def _on_message(self, client: mqtt.Client, m: mqtt.MQTTMessage) -> None:
        t = self._t
        message = paho.decode_message(m)
        payload, error, kind = message.payload, message.error or "", message.error_kind
        if error:
            REJECTS.count(f"sync agent {self.device_id}", kind, m.topic, error)
        if m.topic in (t["ack"], t["resend"]):
            if not isinstance(payload, dict) or payload.get("stream") != self._stream:
                return  # another database's stream (a replaced device) or garbage
            if m.topic == t["ack"] and isinstance(payload.get("seq"), int):
                self._confirm(payload["seq"])
            elif m.topic == t["resend"] and isinstance(payload.get("after"), int):
                after = payload["after"]
                self._confirm(after)
                if after < self._sent:
                    self.stats.resends += 1
                    log.info(
                        "sync agent %s: center asks to send again after %d (was at %d)",
                        self.device_id,
                        after,
                        self._sent,
                    )
                    self._sent = after
            return
        if m.topic in (t["hall_config"], t["device_config"]):
            scope = "hall" if m.topic == t["hall_config"] else "device"
            if kind == "contract":
                # Well-formed JSON but no valid document: the applier checks it against
                # the contract itself and reports why with the document's version.
                payload = inbound.parse(bytes(m.payload), limit=inbound.max_bytes(m.topic))
                error = ""
            self._on_config(scope, payload, error)
            return
        if m.topic == t["cmd"]:
            self._on_command(client, payload, error, message.response_topic, message.correlation)

    def _on_config(self, scope: str, payload: Any, error: str = "") -> None:
        if self.config is None:
            log.info(
                "sync agent %s: no config folder set; ignoring %s config", self.device_id, scope
            )
            return
        outcome = (
            self.config.unreadable(scope, error) if error else self.config.apply(scope, payload)
        )
        report = outcome.event()
        if report:
            self._put(*report)
        if outcome.status == "applied" and "reload" in self.commands:
            command = Command(
                "reload", {"reason": "config", "scope": scope, "version": outcome.version}
            )
            self._workers.submit(self._run_command, command, None, None)

    def _on_command(
        self,
        client: mqtt.Client,
        payload: Any,
        error: str,
        response_topic: str | None,
        correlation: bytes | None,
    ) -> None:
        if response_topic and not response_topic_allowed(
            response_topic, self.hall_id, self.device_id
        ):
            REJECTS.count(
                f"sync agent {self.device_id}",
                "foreign_response_topic",
                topics.sync_command(self.hall_id, self.device_id),
                f"a command named {response_topic[:120]!r} as response topic; refused",
            )
            return
        try:
            if error:
                raise CommandError("bad_request", error, "指令格式错误")
            command = Command.from_payload(payload)
        except CommandError as exc:
            self._answer(client, response_topic, correlation, failed(exc))
            return
        log.info("sync agent %s: command %s from the center", self.device_id, command.name)
        if command.name == "health":
            snap = self._heartbeat(client)
            self._answer(client, response_topic, correlation, ok(snap))
            return
        self._workers.submit(self._run_command, command, response_topic, correlation)

    def _run_command(
        self, command: Command, response_topic: str | None, correlation: bytes | None
    ) -> None:
        """Worker thread: run a handler, hand the answer to the agent thread."""
        answer = self.commands.handle(command)
        if response_topic:
            try:
                self._outgoing.put_nowait((response_topic, paho.encode(answer), correlation))
            except queue.Full:
                log.error(
                    "sync agent %s: too many answers waiting; dropped %s's",
                    self.device_id,
                    command.name,
                )

    def _answer(
        self,
        client: mqtt.Client,
        response_topic: str | None,
        correlation: bytes | None,
        answer: dict[str, Any],
    ) -> None:
        if response_topic:
            props = paho.publish_props(correlation=correlation)
            self._publish(client, response_topic, paho.encode(answer), props=props)

    def _send_outgoing(self, client: mqtt.Client) -> None:
        while True:
            try:
                topic, payload, correlation = self._outgoing.get_nowait()
            except queue.Empty:
                return
            try:
                props = paho.publish_props(correlation=correlation)
                self._publish(client, topic, payload, props=props)
            except Exception as exc:  # one answer never stops the agent's loop either
                REJECTS.count(f"sync agent {self.device_id}", "internal", topic, type(exc).__name__)

    # ------------------------------------------------------------------ health, retention

    def _link_state(self) -> dict[str, Any]:
        return {
            "center": self.center.describe(),
            "connected": self.connected.is_set(),
            "ack": self.settings.ack,
            "stream": self._stream,
            "acked_seq": self._acked,
            "confirmed_seq": self._confirmed,
            "inflight": len(self._inflight),
            "last_error": self.last_error[:200],
            **self.stats.as_dict(),
        }

    def _heartbeat(self, client: mqtt.Client | None) -> dict[str, Any]:
        assert self._conn is not None
        counts = REJECTS.snapshot()
        if counts:
            with self._txn() as c:
                health.record_rejections(c, "sync", counts)
        snap = health.snapshot(
            self._conn,
            hall=self.hall_id,
            device=self.device_id,
            role=self.role,
            db_path=self.db_path,
            started_monotonic=self._started,
            link=self._link_state(),
            alarms=sorted(self.alarms),
        )
        self._put("health", snap)
        if client is not None:
            self._publish(client, self._t["health"], paho.encode(snap), retain=True)
        self._next_heartbeat = time.monotonic() + self.settings.heartbeat_s
        return snap

    def _maintenance(self, client: mqtt.Client | None) -> None:
        self._store_acked()
        now = time.monotonic()
        if now >= self._next_retention:
            self._retention()
            self._next_retention = now + self.settings.retention_every_s
        if now >= self._next_heartbeat or self._health_wanted.is_set():
            self._health_wanted.clear()
            self._heartbeat(client)
        if client is not None and self.settings.ack == "center":
            self._probe(client)

    def _retention(self) -> None:
        policy = self.settings.retention
        delivered = self._acked if self.settings.ack == "center" else 0
        with self._txn() as c:
            r = outbox.enforce_retention(
                c, policy, now=datetime.now(health.HALL_TZ), delivered_through=delivered
            )
        if r.dropped_health or r.dropped_delivered:
            log.warning(
                "sync agent %s: outbox over its bounds; dropped %d health records "
                "and %d already delivered events",
                self.device_id,
                r.dropped_health,
                r.dropped_delivered,
            )
        if r.alarm:
            why = []
            if r.full:
                why.append(
                    f"{r.backlog.events} events / {r.backlog.bytes} bytes waiting, over "
                    f"the bound of {policy.max_events} / {policy.max_bytes}; only "
                    "business events left, none dropped"
                )
            if r.dropped_health:
                why.append(f"dropped the {r.dropped_health} oldest health records")
            if r.stale_business:
                why.append(
                    f"{r.stale_business} business events older than "
                    f"{policy.max_age_s / 86400:.0f} days still waiting"
                )
            self._raise_alarm(
                "outbox_full",
                "; ".join(why),
                backlog=r.backlog.as_dict(),
                dropped_health=r.dropped_health,
            )
        elif "outbox_full" in self.alarms and (
            r.backlog.events < 0.9 * policy.max_events and r.backlog.bytes < 0.9 * policy.max_bytes
        ):
            self._clear_alarm("outbox_full")

    def _raise_alarm(self, code: str, message: str, **extra: Any) -> None:
        """Alarm once when it starts, then at most hourly while it lasts."""
        now = time.monotonic()
        if code in self.alarms and now - self._alarm_raised_at.get(code, 0.0) < 3600:
            return
        log.error("sync agent %s ALARM %s: %s", self.device_id, code, message)
        assert self._conn is not None
        with self._txn() as c:
            health.set_status(c, "sync", "alarm", f"{code}: {message}")
            outbox.put(
                c,
                "alarm",
                _now_iso(),
                {"code": code, "state": "raised", "message": message[:500], **extra},
            )
        self.alarms.add(code)
        self._alarm_raised_at[code] = now

    def _clear_alarm(self, code: str) -> None:
        self.alarms.discard(code)
        log.info("sync agent %s: alarm %s cleared", self.device_id, code)
        with self._txn() as c:
            if not self.alarms:
                health.set_status(c, "sync", "ok", "")
            outbox.put(c, "alarm", _now_iso(), {"code": code, "state": "cleared"})

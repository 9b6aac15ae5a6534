"""``hall center``: consumers on a shared subscription storing into a real PostgreSQL.

Real parts: a private PostgreSQL 15 (``sync.pgserver``, initdb in a temp
folder, a free port), Mosquitto 2 with MQTT v5 shared subscriptions, the
consumers as real child processes (``hall center --one`` under the
supervisor, so a test can SIGKILL one), real outboxes and sync agents with
``--ack center``.  What a user notices: every event of every device is in
the center's database exactly once, and every outbox is emptied (the center
confirmed it all), whatever was killed, cut or poisoned on the way.
"""

from __future__ import annotations

import itertools
import os
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
import pytest
from sync_helpers import FAST, HALL, ROOT, DeviceDb, wait_for

from sync.agent import AgentSettings, SyncAgent
from sync.broker import Mosquitto
from sync.center_pg import MIGRATIONS, PgStore, migrate
from sync.center_service import Supervisor
from sync.client import BrokerAddress
from sync.pgserver import PgServer
from sync.wire import Batch, WireEvent

CENTER = AgentSettings(**{**FAST.__dict__, "ack": "center"})
_names = itertools.count()


@pytest.fixture(scope="module")
def pg_server() -> Iterator[PgServer]:
    with PgServer(durable=False) as server:
        yield server


@pytest.fixture
def dsn(pg_server: PgServer) -> str:
    """A fresh database of the module's server for each test."""
    return pg_server.create_database(f"t{os.getpid()}_{next(_names)}")


def _db(dsn: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(sql, params or None).fetchall()


@pytest.fixture
def consumers(tmp_path: Path, broker: Mosquitto, dsn: str) -> Iterator[Callable[..., Supervisor]]:
    """``hall center`` consumers as real processes under the supervisor."""
    sups: list[Supervisor] = []

    def start(n: int = 2, *extra: str) -> Supervisor:
        argv = [
            "-m",
            "hall.cli",
            "center",
            "--one",
            "--db",
            dsn,
            "--center",
            f"{broker.host}:{broker.port}",
            "--gap-grace",
            "0.5",
            "--resend-interval",
            "0.5",
            *extra,
        ]
        import sys

        sup = Supervisor(
            [(f"c{k}", [sys.executable, *argv, "--client-id", f"c{k}"]) for k in range(n)],
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            log_dir=tmp_path / "consumers",
            min_pause_s=0.2,
        ).start()
        sups.append(sup)
        wait_for(lambda: _connected(tmp_path, n), 30, f"{n} consumers subscribed")
        return sup

    yield start
    for s in sups:
        s.stop()


def _connected(tmp_path: Path, n: int, times: int = 1) -> bool:
    logs = list((tmp_path / "consumers").glob("*.log"))
    return sum(p.read_text(errors="replace").count(" connected to ") >= times for p in logs) >= n


@pytest.fixture
def devices(
    tmp_path: Path, broker: Mosquitto
) -> Iterator[Callable[[int], list[tuple[DeviceDb, SyncAgent]]]]:
    made: list[tuple[DeviceDb, SyncAgent]] = []

    def make(n: int) -> list[tuple[DeviceDb, SyncAgent]]:
        address = BrokerAddress(broker.host, broker.port)
        out = []
        for k in range(n):
            db = DeviceDb(tmp_path / f"dev{k}.db")
            agent = SyncAgent(
                db_path=db.path, hall_id=HALL, device_id=f"dev{k}", center=address, settings=CENTER
            )
            out.append((db, agent.start(wait=20)))
        made.extend(out)
        return out

    yield make
    for db, agent in made:
        agent.stop()
        db.close()


def assert_every_event_once(dsn: str, fleet: list[tuple[DeviceDb, SyncAgent]], n: int) -> None:
    """Each device's n ticket events are stored once, and its outbox is empty (confirmed)."""
    wait_for(
        lambda: all(db.business_left() == 0 for db, _ in fleet),
        60,
        "every outbox emptied by the center's confirmations",
    )
    rows = _db(
        dsn,
        "SELECT device, count(*), count(DISTINCT data->>'n'), count(DISTINCT seq) FROM events "
        "WHERE kind='ticket_issued' GROUP BY device ORDER BY device",
    )
    assert {r[0]: r[1:] for r in rows} == {a.device_id: (n, n, n) for _, a in fleet}


def test_schema_migrations_are_versioned_and_applied_once(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert migrate(conn) == [v for v, _, _ in MIGRATIONS]
        assert migrate(conn) == []
    assert [r[0] for r in _db(dsn, "SELECT version FROM schema_migrations ORDER BY 1")] == [
        v for v, _, _ in MIGRATIONS
    ]


def _batch(prev: int, seqs: list[int], device: str = "d", base: int = 0) -> Batch:
    events = tuple(
        WireEvent(f"{device}-{s}", s, "ticket_issued", "2026-11-23T09:30:00", {"n": s})
        for s in seqs
    )
    return Batch(HALL, device, "s1", prev, base, "", events)


def test_any_consumer_advances_the_watermark_whichever_stored_the_batch_below(dsn: str) -> None:
    """Two stores (two consumers) get one stream's batches out of order and repeated."""
    a, b = PgStore(dsn, consumer="a", gap_grace_s=0.0), PgStore(dsn, consumer="b", gap_grace_s=0.0)
    try:
        r, new = a.ingest([_batch(3, [4, 5])])  # batch 2 first: held as a waiting range
        assert len(new) == 2 and r == []
        assert [k for k, _ in a.due_resends()] == [(HALL, "d", "s1")]  # a gap: ask after 0
        assert b.due_resends() == []  # claimed once, not by every consumer
        r, new = b.ingest([_batch(0, [1, 2, 3]), _batch(3, [4, 5])])  # batch 1 and a repeat
        assert [x.watermark for x in r] == [5] and len(new) == 3
        assert a.watermarks() == {(HALL, "d", "s1"): 5}
        assert a.due_resends() == []  # the gap is filled
        r, _ = a.ingest([_batch(5, [])])  # a probe at the watermark: confirm it again
        assert [(x.watermark, x.advanced) for x in r] == [(5, True)]
        a.ingest([_batch(7, [])])  # a probe above it: the device sent what we lack
        assert [m for _, m in b.due_resends()] == [5]
        stats = dict(
            (r[0], r[1:])
            for r in _db(dsn, "SELECT consumer, stored, duplicates FROM consumer_stats")
        )
        assert stats == {"a": (2, 0), "b": (3, 2)}
    finally:
        a.close()
        b.close()


def test_two_consumers_store_every_event_of_20_devices_exactly_once(
    dsn: str, consumers: Callable[..., Supervisor], devices: Callable[[int], Any]
) -> None:
    consumers(2)
    fleet = devices(20)
    for round_ in range(3):
        for db, _ in fleet:
            db.put(20, start=round_ * 20)
    assert_every_event_once(dsn, fleet, 60)
    shares = _db(dsn, "SELECT consumer, stored FROM consumer_stats ORDER BY 1")
    assert [c for c, stored in shares if stored > 0] == ["c0", "c1"]  # both took a share


def test_a_consumer_killed_mid_batch_loses_nothing(
    dsn: str, consumers: Callable[..., Supervisor], devices: Callable[[int], Any], tmp_path: Path
) -> None:
    sup = consumers(2)
    fleet = devices(6)
    for db, _ in fleet:
        db.put(30)
    assert_every_event_once(dsn, fleet, 30)
    victim = sup.children[0]
    assert victim.proc is not None
    # Frozen, it still receives its share of the next batches but commits none:
    # killed then, it dies holding batches it has not acknowledged.
    os.kill(victim.proc.pid, signal.SIGSTOP)
    before = _db(dsn, "SELECT stored FROM consumer_stats WHERE consumer='c1'")[0][0]
    for db, _ in fleet:
        db.put(30, start=30)
    wait_for(
        lambda: _db(dsn, "SELECT stored FROM consumer_stats WHERE consumer='c1'")[0][0] > before,
        20,
        "the other consumer storing its share meanwhile",
    )
    sup.kill(0)
    wait_for(lambda: victim.starts == 2, 20, "the supervisor restarting the killed consumer")
    assert_every_event_once(dsn, fleet, 60)
    assert victim.exits == [-signal.SIGKILL]


def test_a_gap_is_requested_and_filled(tmp_path: Path, dsn: str) -> None:
    """The broker drops batches queued for the consumer (its queue is full): the batches
    after them show the gap, the center asks the device, the device sends again."""
    broker = Mosquitto(workdir=tmp_path / "lossy", extra_conf="max_queued_messages 2")
    broker.start()
    address = BrokerAddress(broker.host, broker.port)
    from sync.center_pg import PgCenter

    def center() -> PgCenter:
        store = PgStore(dsn, consumer="c", gap_grace_s=0.3, resend_interval_s=0.3)
        return PgCenter(
            broker=address, hall=HALL, client_id="c", store=store, share="center"
        ).start()

    db = DeviceDb(tmp_path / "gap.db")
    agent = SyncAgent(
        db_path=db.path, hall_id=HALL, device_id="dev0", center=address, settings=CENTER
    )
    c = center()
    try:
        agent.start(wait=20)
        db.put(10)
        wait_for(lambda: db.business_left() == 0, 20, "the first events confirmed")
        c.stop()  # its session stays on the broker, which queues at most 2 messages for it
        c.store.close()
        for k in range(1, 9):  # a batch at a time (FAST: at most 50 events each)
            db.put(40, start=k * 40)
            want = 10 + 40 * k
            wait_for(lambda: agent.stats.events_acked >= want, 20, "the broker taking it")  # noqa: B023
        c = center()
        wait_for(lambda: db.business_left() == 0, 30, "the center confirming everything")
        assert c.resend_requests > 0
        rows = _db(
            dsn,
            "SELECT count(*), count(DISTINCT data->>'n') FROM events WHERE kind='ticket_issued'",
        )
        assert rows == [(330, 330)]
    finally:
        c.stop()
        c.store.close()
        agent.stop()
        db.close()
        broker.close()


def test_a_retained_poison_message_stops_no_consumer(
    dsn: str,
    broker: Mosquitto,
    consumers: Callable[..., Supervisor],
    devices: Callable[[int], Any],
    tmp_path: Path,
) -> None:
    sup = consumers(2)
    evil = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    evil.connect(broker.host, broker.port)
    evil.loop_start()
    poison = [
        b"\xff\xfe not json",
        b"[" * 5000,
        # A batch the contract accepts, but PostgreSQL cannot hold a NUL in jsonb.
        b'{"hall":"demo-hall","device":"evil2","stream":"7c0e0000-0000-4000-8000-000000000001",'
        b'"prev":0,"base":0,"sent_at":"2026-11-23T09:30:00","events":[{"id":'
        b'"7c0e0000-0000-4000-8000-000000000002","seq":1,"kind":"ticket_issued",'
        b'"ts":"2026-11-23T09:30:00","data":{"a":"\\u0000"}}]}',
    ]
    try:
        for i, payload in enumerate(poison):
            for leaf in ("events", "health", "presence"):
                for _ in range(2):  # both consumers get one of each (round robin)
                    info = evil.publish(
                        f"hall/{HALL}/dev/evil{i}/sync/{leaf}", payload, qos=1, retain=True
                    )
                    info.wait_for_publish(5)
        fleet = devices(4)
        for db, _ in fleet:
            db.put(25)
        assert_every_event_once(dsn, fleet, 25)
        sup.kill(1)  # restarted on its session (not handed the retained ones again)
        wait_for(
            lambda: sup.children[1].starts == 2 and _connected(tmp_path, 1, times=2), 30, "c1 back"
        )
        for db, _ in fleet:
            db.put(25, start=25)
        assert_every_event_once(dsn, fleet, 50)
        assert all(c.running for c in sup.children)
        assert _db(dsn, "SELECT count(*) FROM events WHERE device LIKE 'evil%'") == [(0,)]
        refused = _db(dsn, "SELECT sum(refused) FROM consumer_stats")[0][0]
        assert refused >= 2  # the NUL batch, by each consumer (and again after the restart)
    finally:
        evil.loop_stop()
        evil.disconnect()


def test_a_consumers_database_connection_lost_and_restored_loses_nothing(
    dsn: str,
    pg_server: PgServer,
    consumers: Callable[..., Supervisor],
    devices: Callable[[int], Any],
    tmp_path: Path,
) -> None:
    sup = consumers(2)
    fleet = devices(5)
    stop = threading.Event()
    written = [0]

    def write() -> None:
        while not stop.wait(0.02):
            for db, _ in fleet:
                db.put(2, start=written[0])
            written[0] += 2

    writer = threading.Thread(target=write)
    writer.start()
    try:
        wait_for(lambda: _db(dsn, "SELECT count(*) FROM events")[0][0] > 50, 20, "events flowing")
        # Cut every consumer's connection (as a failover or a DBA would).
        cut = _db(
            dsn,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name LIKE 'hall-center%%'",
        )
        assert len(cut) == 2
        mark = _db(dsn, "SELECT count(*) FROM events")[0][0]
        wait_for(
            lambda: _db(dsn, "SELECT count(*) FROM events")[0][0] > mark + 50, 20, "reconnected"
        )
        pg_server.stop()  # the server itself gone for a moment
        pg_server.start()
    finally:
        stop.set()
        writer.join()
    assert_every_event_once(dsn, fleet, written[0])
    assert all(c.starts == 1 for c in sup.children)  # they rode it out, nobody crashed
    logs = [p.read_text(errors="replace") for p in (tmp_path / "consumers").glob("*.log")]
    assert all("the center database is unavailable" in text for text in logs)


def test_hall_center_runs_its_consumers_and_stops_them_with_it(
    tmp_path: Path, broker: Mosquitto, dsn: str, devices: Callable[[int], Any]
) -> None:
    """``hall center --consumers 2`` as systemd runs it: a supervisor and two children
    on the shared subscription; SIGTERM stops all three."""
    import subprocess
    import sys

    log = tmp_path / "center.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "hall.cli", "center", "--consumers", "2", "--db", dsn,
             "--center", f"{broker.host}:{broker.port}", "--client-id", "svc"],
            stdout=out, stderr=out, env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
    try:
        wait_for(
            lambda: log.read_text(errors="replace").count(" connected to ") >= 2,
            30,
            "both consumers connected",
        )
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        assert len(children) == 2
        fleet = devices(3)
        for db, _ in fleet:
            db.put(20)
        assert_every_event_once(dsn, fleet, 20)
        assert [r[0] for r in _db(dsn, "SELECT consumer FROM consumer_stats ORDER BY 1")] == [
            "svc-0",
            "svc-1",
        ]
    finally:
        proc.terminate()
        assert proc.wait(20) == 0
    for pid in children:  # reaped by the supervisor: gone, not orphaned
        assert not Path(f"/proc/{pid}").exists()


def test_bench_center_quick_prints_one_json_line_with_its_floors_and_cpu() -> None:
    """``hall bench center``, small: every event stored once, the floors of the same
    run beside the rate, the devices paused while the center alone drains the backlog
    and the cores each part took."""
    import json
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "hall.cli", "bench", "center", "--quick",
         "--devices", "20", "--seconds", "2"],
        capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    [line] = done.stdout.splitlines()
    result = json.loads(line)
    assert result["drain_complete"] and result["steady_complete"], result
    assert result["lost"] == 0 and result["duplicates_after_dedup"] == 0
    assert result["events_stored"] == result["events_expected"] > 20 * 20  # drain + steady
    for floor in ("floor_pg_raw_insert_per_s", "floor_center_store_per_s"):
        assert result[floor] > 0
    assert result["stored_per_s"] > 0 and result["ratio_to_pg_raw"] > 0
    assert result["devices_paused_in_drain"] is True
    parts = {"devices", "consumers", "broker", "postgres"}
    assert set(result["cpu_cores_drain"]) == set(result["cpu_cores_steady"]) == parts
    assert result["cpu_cores_drain"]["devices"] <= 0.05  # stopped while the center drained
    assert result["cpu_cores_steady"]["devices"] > 0 and result["cpu_cores_drain"]["consumers"] > 0

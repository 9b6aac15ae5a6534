"""``hall bench center``: many simulated devices against ``hall center`` on PostgreSQL.

Everything runs on this machine, real parts only: a private PostgreSQL
(``sync.pgserver``, fsync on), a private Mosquitto 2 (persistence on),
``--consumers`` consumer processes of ``hall center`` on the shared
subscription, and ``--devices`` simulated devices in processes of
``--per-process`` each: every device is a real SQLite outbox and a real
:class:`sync.agent.SyncAgent` (``--ack center``), its own MQTT connection.

Phases of one run (one JSON line):

1. floors, measured first in the same run: PostgreSQL's raw insert rate for
   the same rows (``COPY`` + ``INSERT ... ON CONFLICT DO NOTHING``, one
   connection, turns of the size the consumers see), the center's own store
   code without MQTT (:meth:`PgStore.ingest`, one process), and the broker's
   raw rate for the same batch messages (one paho publisher, QoS 1, one
   shared-subscription reader);
2. drain: every device starts with ``--backlog`` events in its outbox and
   all agents connect at once.  ``--drain center`` (default): the center is
   stalled meanwhile (its consumers connected but stopped with SIGSTOP), the
   broker queues the backlog, then the consumers go on: what they store per
   second (from their commit times) is the center's own rate, started and
   warm.  The device processes are paused (SIGSTOP) while the consumers
   drain and resumed after (``devices_paused_in_drain``): a province's
   devices are not on the center's cores, but here 1,000 of them share its
   two (the confirmations they receive would cost them more CPU than the
   consumers have);
   ``--drain devices``: the consumers run while the devices deliver (a
   province-wide network outage), devices and center share the CPU;
3. steady: the devices write ``--rate`` events/s (default: half the drain
   rate, at most :data:`FLEET_MAX_PER_S`: 1,000 simulated devices on two
   cores cannot write more, ``steady_half_drain_per_s`` then says what half
   the drain would have been) for ``--seconds``; lag is the center's commit time minus the
   device's commit time of each event (p50, p99).  Here the devices and the
   center share the machine: ``cpu_cores_drain`` and ``cpu_cores_steady``
   say how many cores each part took (from ``/proc``), beside the lag.  ``--scenario kill``
   SIGKILLs one consumer a third of the way in (the supervisor restarts it);
   ``--scenario storm`` restarts the broker then, so every device and
   consumer reconnects at once.

Then: lost (written but not stored), duplicates offered to the database
and absorbed by ``ON CONFLICT`` (before de-duplication), and duplicates
stored (after: the same device counter twice), connections held.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import select
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import IO, Any

HALL = "bench-hall"
# The steady rate's default is half the drain rate, at most this: what the simulated
# devices (all on this machine's cores) write while leaving the center its share.
FLEET_MAX_PER_S = 1500.0


def _options(args: argparse.Namespace) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="hall bench center")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--devices", type=int, default=None, help="simulated devices (default 1000)")
    # paho's loop uses select(): a process keeps its sockets and SQLite files under
    # 1024 descriptors (each device: two outbox connections, a socket, paho's pipe).
    p.add_argument("--per-process", type=int, default=100, help="devices per process (100)")
    p.add_argument("--consumers", type=int, default=None, help="consumer processes (default 4)")
    p.add_argument("--backlog", type=int, default=None, help="events per device to drain (40)")
    p.add_argument("--rate", type=float, default=None, help="steady events/s (half the drain)")
    p.add_argument("--seconds", type=float, default=None, help="steady phase length (20)")
    p.add_argument("--scenario", choices=("normal", "kill", "storm"), default="normal")
    p.add_argument(
        "--drain",
        choices=("center", "devices"),
        default="center",
        help="center: the backlog waits in the broker for the consumers (a center outage: "
        "measures the center alone); devices: in the outboxes (a province-wide outage)",
    )
    p.add_argument(
        "--idle-poll",
        type=float,
        default=0.5,
        help="the simulated agents' outbox poll when idle, s (production: 0.2)",
    )
    o = p.parse_args(list(getattr(args, "options", None) or []))
    quick = o.quick or getattr(args, "quick", False)
    o.devices = o.devices or (60 if quick else 1000)
    o.consumers = o.consumers or (2 if quick else 4)
    o.backlog = o.backlog if o.backlog is not None else (20 if quick else 40)
    o.seconds = o.seconds or (5.0 if quick else 20.0)
    o.per_process = min(o.per_process, o.devices)
    return o


# ---------------------------------------------------------------------- the device processes


def _payload(n: int, phase: str) -> dict[str, Any]:
    return {
        "n": n,
        "phase": phase,
        "t0": time.time(),
        "ticket_id": str(uuid.uuid4()),
        "code": f"A{n % 1000:03d}",
        "queue": "A",
        "item": "hj-birth",
        "priority": "normal",
    }


class _Device:
    def __init__(self, folder: Path, name: str) -> None:
        from sync import outbox

        self.name = name
        self.path = folder / f"{name}.db"
        self.conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        outbox.ensure_schema(self.conn)
        self.n = 0

    def put(self, count: int, phase: str) -> None:
        from sync import outbox

        self.conn.execute("BEGIN IMMEDIATE")
        for _ in range(count):
            outbox.put(self.conn, "ticket_issued", "2026-11-23T09:30:00", _payload(self.n, phase))
            self.n += 1
        self.conn.execute("COMMIT")

    def business_left(self) -> int:
        row = self.conn.execute("SELECT count(*) FROM outbox WHERE class='business'").fetchone()
        return int(row[0])


def fleet_main(argv: list[str]) -> int:
    """One device process: ``python -m hall.bench.center --fleet ...``; JSON lines on
    stdin (commands) and stdout (answers)."""
    from sync.agent import AgentSettings, SyncAgent
    from sync.client import BrokerAddress

    p = argparse.ArgumentParser()
    p.add_argument("--fleet", action="store_true")
    p.add_argument("--dir", required=True)
    p.add_argument("--first", type=int, required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--backlog", type=int, required=True)
    p.add_argument("--idle-poll", type=float, default=0.2)
    a = p.parse_args(argv)
    folder = Path(a.dir)
    folder.mkdir(parents=True, exist_ok=True)
    devices = [_Device(folder, f"dev{a.first + k:05d}") for k in range(a.count)]
    for d in devices:
        if a.backlog:
            d.put(a.backlog, "drain")
    settings = AgentSettings(
        ack="center",
        heartbeat_s=3600,
        retention_every_s=3600,
        backoff_min_s=0.5,
        backoff_max_s=5.0,
        window=4,  # probes as in production (AgentSettings' defaults)
        idle_poll_s=a.idle_poll,
    )
    address = BrokerAddress("127.0.0.1", a.port)
    agents = [
        SyncAgent(db_path=d.path, hall_id=HALL, device_id=d.name, center=address, settings=settings)
        for d in devices
    ]
    written: dict[str, int] = {}
    writer: threading.Thread | None = None

    said = threading.Lock()

    def say(obj: dict[str, Any]) -> None:
        with said:
            sys.stdout.write(json.dumps(obj) + "\n")
            sys.stdout.flush()

    def write(rate: float, seconds: float, phase: str) -> None:
        started = time.monotonic()
        done, i = 0, 0
        while True:
            elapsed = time.monotonic() - started
            if elapsed >= seconds:
                break
            due = int(rate * elapsed) - done
            for _ in range(due):  # behind (the fleet cannot write faster): what it can
                devices[i % len(devices)].put(1, phase)  # one transaction per event
                i += 1
                done += 1
                if time.monotonic() - started >= seconds:
                    break
            time.sleep(0.005)
        written[phase] = written.get(phase, 0) + done
        say({"written": done, "phase": phase, "seconds": time.monotonic() - started})

    say({"ready": len(devices)})
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["cmd"] == "start":
            for agent in agents:
                agent.start()
            say({"started": len(agents)})
        elif cmd["cmd"] == "write":
            writer = threading.Thread(
                target=write, args=(cmd["rate"], cmd["seconds"], cmd["phase"]), daemon=True
            )
            writer.start()
        elif cmd["cmd"] == "status":
            say(
                {
                    "connected": sum(ag.connected.is_set() for ag in agents),
                    "outbox": sum(d.business_left() for d in devices),
                    "connects": sum(ag.stats.connects for ag in agents),
                    "acked": sum(ag.stats.events_acked for ag in agents),
                    "resends": sum(ag.stats.resends for ag in agents),
                }
            )
        elif cmd["cmd"] == "stop":
            break
    for agent in agents:  # every agent told first, then each one waited for
        agent.stop(timeout=0)
    for agent in agents:
        agent.stop(timeout=5)
    say({"stopped": len(agents)})
    return 0


class _Fleet:
    """A device process seen from the bench."""

    def __init__(
        self, folder: Path, first: int, count: int, port: int, backlog: int, idle_poll: float
    ) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hall.bench.center",
                "--fleet",
                "--dir",
                str(folder),
                "--first",
                str(first),
                "--count",
                str(count),
                "--port",
                str(port),
                "--backlog",
                str(backlog),
                "--idle-poll",
                str(idle_poll),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=open(folder.with_suffix(".log"), "wb"),  # noqa: SIM115 - the child's
            env=env,
            text=True,
        )

    def send(self, **cmd: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()

    def read(self, timeout: float) -> dict[str, Any]:
        out: IO[str] | None = self.proc.stdout
        assert out is not None
        ready, _, _ = select.select([out], [], [], timeout)
        if not ready:
            raise TimeoutError("a device process did not answer")
        line = out.readline()
        if not line:
            raise RuntimeError(f"a device process ended ({self.proc.poll()})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.send(cmd="stop")
                self.proc.wait(20)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


# ---------------------------------------------------------------------- floors


def _rows(n: int, per_batch: int) -> list[list[tuple[Any, ...]]]:
    """``n`` event rows as the consumers write them, grouped in batches."""
    stream = str(uuid.uuid4())
    batches, batch = [], []
    for i in range(n):
        data = json.dumps(_payload(i, "floor"), separators=(",", ":"))
        batch.append(
            (str(uuid.uuid4()), HALL, f"floor{i // per_batch}", stream, i + 1, "ticket_issued",
             "2026-11-23T09:30:00", data)
        )  # fmt: skip
        if len(batch) == per_batch:
            batches.append(batch)
            batch = []
    if batch:
        batches.append(batch)
    return batches


def _pg_raw_floor(dsn: str, n: int, per_batch: int, per_turn: int) -> float:
    import psycopg

    from sync.center_pg import migrate

    batches = _rows(n, per_batch)
    with psycopg.connect(dsn, autocommit=True) as conn:
        migrate(conn)
        conn.execute("CREATE TEMP TABLE incoming AS SELECT * FROM events WITH NO DATA")
        cols = "id, hall, device, stream, seq, kind, ts, data"
        started = time.perf_counter()
        for t in range(0, len(batches), per_turn):
            with conn.transaction(), conn.cursor() as cur:
                with cur.copy(f"COPY incoming ({cols}) FROM STDIN") as copy:
                    for b in batches[t : t + per_turn]:
                        for row in b:
                            copy.write_row(row)
                cur.execute(
                    f"INSERT INTO events ({cols}) SELECT {cols} FROM incoming "
                    "ON CONFLICT DO NOTHING"
                )
                cur.execute("TRUNCATE incoming")
        return n / (time.perf_counter() - started)


def _batches(n: int, per_batch: int) -> list[bytes]:
    from sync.outbox import RawEvent
    from sync.wire import encode_batch

    out = []
    for d in range(math.ceil(n / per_batch)):
        events = [
            RawEvent(k + 1, str(uuid.uuid4()), "ticket_issued", "2026-11-23T09:30:00",
                     json.dumps(_payload(k, "floor"), separators=(",", ":")))
            for k in range(per_batch)
        ]  # fmt: skip
        out.append(
            encode_batch(
                hall=HALL,
                device=f"floor{d}",
                stream=str(uuid.uuid4()),
                prev=0,
                base=0,
                sent_at="2026-11-23T09:30:00",
                events=events,
            )
        )
    return out


def _ingest_floor(dsn: str, payloads: list[bytes], per_turn: int) -> float:
    from sync.center_pg import PgStore
    from sync.wire import decode_batch

    store = PgStore(dsn, consumer="floor")
    try:
        n = 0
        started = time.perf_counter()
        for t in range(0, len(payloads), per_turn):
            batches = [decode_batch(p) for p in payloads[t : t + per_turn]]
            n += sum(len(b.events) for b in batches)
            store.ingest(batches)
        return n / (time.perf_counter() - started)
    finally:
        store.close()


def _broker_floor(port: int, payloads: list[bytes], per_batch: int) -> float:
    """One publisher (QoS 1, up to 100 in flight) and one shared-subscription reader."""
    from sync import client as paho
    from sync.client import BrokerAddress

    address = BrokerAddress("127.0.0.1", port)
    got = threading.Event()
    count = [0]

    def on_message(_c: Any, _u: Any, _m: Any) -> None:
        count[0] += 1
        if count[0] >= len(payloads):
            got.set()

    subscribed = threading.Event()
    sub = paho.new_client(address, "floor-reader", max_inflight=100)
    sub.on_message = on_message
    sub.on_subscribe = lambda *_a: subscribed.set()  # the SUBACK: only one is asked for
    paho.connect(sub, address, session_expiry_s=0)
    paho.subscribe(sub, [f"$share/floor/hall/{HALL}/dev/+/sync/events"])
    sub.loop_start()
    pub = paho.new_client(address, "floor-writer", max_inflight=100, max_queued=len(payloads) + 10)
    paho.connect(pub, address, session_expiry_s=0)
    pub.loop_start()
    try:
        if not subscribed.wait(30):
            raise RuntimeError("the broker floor's reader got no SUBACK within 30 s")
        started = time.perf_counter()
        for i, p in enumerate(payloads):
            pub.publish(f"hall/{HALL}/dev/floor{i}/sync/events", p, qos=1)
        got.wait(120)
        elapsed = time.perf_counter() - started
    finally:
        for c in (pub, sub):
            paho.close(c, network_thread=True)
    return count[0] * per_batch / elapsed


# ---------------------------------------------------------------------- the run


def _jiffies(pid: int) -> int | None:
    """CPU time (user + system, clock ticks) a live process has used, or None."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, ValueError, IndexError):
        return None


def _postgres_pids(data: Path) -> list[int]:
    """The postmaster (from its pid file) and its children (the consumers' backends)."""
    try:
        master = int((data / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return []
    pids = [master]
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == master:
                        pids.append(int(entry))
            except (OSError, ValueError, IndexError):
                continue
    return pids


class _Cpu:
    """Cores each part of the run took between :meth:`start` and :meth:`cores`."""

    def __init__(self, parts: Any) -> None:
        self._parts = parts  # () -> {part: [pid, ...]}
        self._t0 = 0.0
        self._start: dict[int, int] = {}

    def start(self) -> None:
        self._t0 = time.monotonic()
        self._start = {}
        for pids in self._parts().values():
            for pid in pids:
                j = _jiffies(pid)
                if j is not None:
                    self._start[pid] = j

    def cores(self) -> dict[str, float]:
        span = max(1e-3, time.monotonic() - self._t0) * os.sysconf("SC_CLK_TCK")
        out: dict[str, float] = {}
        for part, pids in self._parts().items():
            used = 0
            for pid in pids:
                j = _jiffies(pid)
                if j is not None:  # a process started meanwhile counts from zero
                    used += j - self._start.get(pid, 0)
            out[part] = round(used / span, 2)
        return out


def _q(dsn: str, sql: str, *params: Any) -> Any:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(sql, params or None).fetchall()


def _wait_stored(dsn: str, want: int, phase: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        n = _q(dsn, "SELECT count(*) FROM events WHERE data->>'phase' = %s", phase)[0][0]
        if n >= want:
            return True
        time.sleep(0.25)
    return False


def run(args: argparse.Namespace) -> dict[str, Any]:
    from sync.broker import Mosquitto
    from sync.center_service import Supervisor
    from sync.pgserver import PgServer

    o = _options(args)
    n_proc = math.ceil(o.devices / o.per_process)
    result: dict[str, Any] = {
        "bench": "center",
        "scenario": o.scenario,
        "devices": o.devices,
        "device_processes": n_proc,
        "consumers": o.consumers,
        "cores": os.cpu_count(),
        "load_before": round(os.getloadavg()[0], 1),
    }
    with tempfile.TemporaryDirectory(prefix="hall-bench-center-") as tmp:
        folder = Path(tmp)
        pg = PgServer(durable=True, settings={"max_wal_size": "1GB"}).start()
        broker = Mosquitto(workdir=folder / "broker", persistence=True).start()
        fleets: list[_Fleet] = []
        sup: Supervisor | None = None

        def parts() -> dict[str, list[int]]:
            return {
                "devices": [f.proc.pid for f in fleets],
                "consumers": [c.proc.pid for c in (sup.children if sup else []) if c.proc],
                "broker": [broker.proc.pid] if broker.proc else [],
                "postgres": _postgres_pids(pg.data),
            }

        cpu = _Cpu(parts)
        try:
            # 1. floors, with turns like the consumers' (a batch per device, ~1 s of them)
            per_batch = max(1, o.backlog)
            n_floor = 10_000 if o.devices < 500 else 20_000
            per_turn = max(1, 200 // per_batch) * 4
            raw = _pg_raw_floor(pg.create_database("floor_raw"), n_floor, per_batch, per_turn)
            payloads = _batches(n_floor, per_batch)
            ingest = _ingest_floor(pg.create_database("floor_ingest"), payloads, per_turn)
            broker_rate = _broker_floor(broker.port, payloads, per_batch)
            result["floor_pg_raw_insert_per_s"] = round(raw)
            result["floor_center_store_per_s"] = round(ingest)
            result["floor_broker_events_per_s"] = round(broker_rate)
            # 2. the center and the fleet
            dsn = pg.dsn
            argv = [sys.executable, "-m", "hall.cli", "center", "--one", "--db", dsn]
            argv += ["--center", f"127.0.0.1:{broker.port}"]
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}

            def consumers(n: int) -> Supervisor:
                logs = folder / f"consumers{n}"
                sup = Supervisor(
                    [
                        (f"center-{k}", [*argv, "--client-id", f"center-{k}"])
                        for k in range(o.consumers)
                    ],
                    env=env,
                    log_dir=logs,
                ).start()
                _wait_consumers(logs, o.consumers)
                return sup

            for k in range(n_proc):
                first = k * o.per_process
                count = min(o.per_process, o.devices - first)
                fleets.append(
                    _Fleet(folder / f"fleet{k}", first, count, broker.port, o.backlog, o.idle_poll)
                )
            for f in fleets:
                f.read(300)  # ready: outboxes filled
            sup = consumers(0)
            want = o.devices * o.backlog
            result["drain"] = o.drain
            stalled = o.drain == "center"
            if stalled:
                # The center stalled (connected, its processes stopped): the devices
                # deliver the backlog to the broker, which queues it for the consumers.
                for c in sup.children:
                    if c.proc:
                        os.kill(c.proc.pid, signal.SIGSTOP)
            # 3. drain: every agent connects at once with a backlog
            t0 = time.time()
            for f in fleets:
                f.send(cmd="start")
            for f in fleets:
                f.read(60)
            if stalled:
                deadline = time.monotonic() + 120 + want / 200
                while _status(fleets)["acked"] < want and time.monotonic() < deadline:
                    time.sleep(0.5)
                for f in fleets:  # the backlog is in the broker: the center alone drains it
                    os.kill(f.proc.pid, signal.SIGSTOP)
                t0 = time.time()
                cpu.start()
                for c in sup.children:
                    if c.proc:
                        os.kill(c.proc.pid, signal.SIGCONT)
            else:
                cpu.start()
            try:
                drained = _wait_stored(dsn, want, "drain", 60 + want / 500)
            finally:
                result["cpu_cores_drain"] = cpu.cores()
                if stalled:
                    for f in fleets:
                        os.kill(f.proc.pid, signal.SIGCONT)
            paused = stalled
            result["devices_paused_in_drain"] = paused
            span = _q(
                dsn,
                "SELECT extract(epoch FROM max(stored_at)), extract(epoch FROM min(stored_at)) "
                "FROM events WHERE data->>'phase' = 'drain'",
            )[0]
            if want and span[0] is not None:
                result["drain_events"] = want
                result["drain_complete"] = drained
                result["stored_per_s"] = round(want / max(1e-3, float(span[0]) - float(span[1])))
                result["drain_s"] = round(float(span[0]) - t0, 2)
            status = _status(fleets)
            result["connections"] = status["connected"] + o.consumers
            # 4. steady rate, with the scenario's trouble a third of the way in
            rate = o.rate or max(10.0, result.get("stored_per_s", 1000) / 2)
            if not o.rate and rate > FLEET_MAX_PER_S:
                # Each simulated event is a durable SQLite transaction plus its agent's
                # work, ~1 ms of CPU: asked for more, the fleet starves its own MQTT
                # threads (keepalives missed, every device reconnecting).
                result["steady_half_drain_per_s"] = round(rate)
                rate = FLEET_MAX_PER_S
            phase = o.scenario
            cpu.start()
            for f in fleets:
                f.send(cmd="write", rate=rate / n_proc, seconds=o.seconds, phase=phase)
            time.sleep(o.seconds / 3)
            if o.scenario == "kill":
                sup.kill(0)
                result["killed"] = "consumer center-0 (SIGKILL), restarted by the supervisor"
            elif o.scenario == "storm":
                broker.stop()
                broker.start()
                result["storm"] = "broker restarted: every device and consumer reconnects at once"
            written = sum(f.read(o.seconds * 3 + 60)["written"] for f in fleets)
            result["cpu_cores_steady"] = cpu.cores()
            result["steady_asked_per_s"] = round(rate)
            result["steady_offered_per_s"] = round(written / o.seconds)  # what they wrote
            result["steady_complete"] = _wait_stored(dsn, written, phase, 120)
            lag = _q(
                dsn,
                "SELECT percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY "
                "extract(epoch FROM stored_at) - (data->>'t0')::float8) "
                "FROM events WHERE data->>'phase' = %s",
                phase,
            )[0][0]
            if lag:
                result["lag_p50_s"] = round(lag[0], 3)
                result["lag_p99_s"] = round(lag[1], 3)
            # 5. totals
            deadline = time.monotonic() + 60
            while _status(fleets)["outbox"] and time.monotonic() < deadline:
                time.sleep(0.5)
            status = _status(fleets)
            total, distinct = _q(
                dsn,
                "SELECT count(*), count(DISTINCT (device, data->>'n')) FROM events "
                "WHERE kind = 'ticket_issued'",
            )[0]
            expected = want + written
            dups = _q(dsn, "SELECT coalesce(sum(duplicates), 0) FROM consumer_stats")[0][0]
            result.update(
                {
                    "events_expected": expected,
                    "events_stored": total,
                    "lost": expected - distinct,
                    "duplicates_before_dedup": int(dups),
                    "duplicates_after_dedup": total - distinct,
                    "outbox_left_unconfirmed": status["outbox"],
                    "agent_resends": status["resends"],  # the center asked, a device sent again
                    "agent_connects": status["connects"],
                    "consumer_restarts": sup.restarts,
                    "connections_after": status["connected"] + sum(c.running for c in sup.children),
                }
            )
            result["db_bytes_per_event"] = round(
                _q(
                    dsn,
                    "SELECT pg_total_relation_size('events') / greatest(count(*), 1) FROM events",
                )[0][0]
            )
            stored = result.get("stored_per_s", 0)
            result["ratio_to_pg_raw"] = round(stored / raw, 3) if raw else None
            result["ratio_to_center_store"] = round(stored / ingest, 3) if ingest else None
            result["ratio_to_broker"] = round(stored / broker_rate, 3) if broker_rate else None
            result["load_after"] = round(os.getloadavg()[0], 1)
        finally:
            for f in fleets:
                f.close()
            if sup is not None:
                sup.stop()
            broker.close()
            pg.close()
    return result


def _status(fleets: list[_Fleet]) -> dict[str, int]:
    total: dict[str, int] = {}
    for f in fleets:
        f.send(cmd="status")
    for f in fleets:
        for k, v in f.read(60).items():
            total[k] = total.get(k, 0) + int(v)
    return total


def _wait_consumers(logs: Path, n: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        up = sum(" connected to " in p.read_text(errors="replace") for p in logs.glob("*.log"))
        if up >= n:
            return
        time.sleep(0.1)
    raise RuntimeError(f"only some of the {n} consumers connected; see {logs}")


if __name__ == "__main__":
    sys.exit(fleet_main(sys.argv[1:]))

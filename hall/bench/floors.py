"""The floors the benchmarks are bounded by, measured in the same run as they are.

A figure measured on a busy machine means little alone: each ``hall bench``
line carries the floor of what it measures, taken in the same run on the same
broker or disk, and the ratio of the two.

* :func:`mqtt_round_trip`: a request to a device that answers at once, on the
  same broker (two MQTT hops there, two back: the shape of one hall command);
* :func:`sqlite_commits`: one row per durable commit (WAL, ``synchronous=FULL``)
  in the same folder as the benchmark's database; :func:`sqlite_shaped_commits`:
  durable commits of a call's shape of write (a few rows moved in an indexed table
  of thousands, a small row changed, the outbox's events), no logic;
* raw paho-mqtt through the same broker with the same batches, a publisher and a
  plain subscriber: :func:`sync.tap.raw_throughput` (paho lives in ``sync``);
* :func:`qt_first_frame`: a bare Qt window's first frame in a fresh process, from
  the spawn (the interpreter, Qt's import and the platform plugin included).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from hall.core.stats import percentile

FLOOR_HALL = "bench-floor"


def summary(prefix: str, values_ms: list[float], digits: int = 3) -> dict[str, float]:
    """``{prefix_p50_ms, prefix_p99_ms}`` of ``values_ms``."""
    return {
        f"{prefix}_p50_ms": round(statistics.median(values_ms), digits),
        f"{prefix}_p99_ms": round(percentile(values_ms, 99), digits),
    }


def ratio(value: float | None, floor: float | None, digits: int = 2) -> float | None:
    """``value / floor`` (None when either is missing or the floor is zero)."""
    if value is None or not floor:
        return None
    return round(value / floor, digits)


def mqtt_round_trip(host: str, port: int, n: int = 200, warmup: int = 20) -> list[float]:
    """Request round trips (ms) to a device that answers at once, on the same broker."""
    from sync.mqtt import MqttLink

    tag = uuid.uuid4().hex[:6]
    echo = MqttLink(
        host=host, port=port, hall_id=FLOOR_HALL, device_id=f"echo-{tag}", role="engine"
    )
    asker = MqttLink(host=host, port=port, hall_id=FLOOR_HALL, device_id=f"asker-{tag}", role="web")
    echo.start()
    asker.start()
    try:
        # another hall's topic: no bench engine serves it
        topic = f"hall/{FLOOR_HALL}/dev/asker-{tag}/cmd"
        echo.serve(topic, lambda _m: {"ok": True, "result": None})
        times: list[float] = []
        for i in range(n + warmup):
            t0 = time.perf_counter()
            asker.request(topic, {"cmd": "board"}, timeout=5)
            if i >= warmup:
                times.append((time.perf_counter() - t0) * 1000)
        return times
    finally:
        asker.stop()
        echo.stop()


def sqlite_commits(folder: Path, n: int = 300) -> dict[str, float]:
    """Durable commits (WAL, ``synchronous=FULL``) of one small row each, in ``folder``:
    their latency (ms) and rate."""
    from hall.core import db

    path = Path(tempfile.mkdtemp(prefix="floor-commit-", dir=folder)) / "floor.db"
    conn = db.connect(path, synchronous="FULL")
    try:
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        times = []
        started = time.perf_counter()
        for i in range(n):
            t0 = time.perf_counter()
            with db.transaction(conn):
                conn.execute("INSERT INTO t (v) VALUES (?)", (f"row {i}",))
            times.append((time.perf_counter() - t0) * 1000)
        elapsed = time.perf_counter() - started
    finally:
        conn.close()
    return {
        **summary("floor_commit", times),
        "floor_commits_per_s": round(n / elapsed, 1),
    }


def sqlite_shaped_commits(
    folder: Path, n: int = 300, *, rows: int = 10_000, moved: int = 2, events: int = 6
) -> dict[str, float]:
    """Durable commits of a call's shape of write, without its logic: in one transaction,
    ``moved`` rows of a table of ``rows`` (text primary keys, two indexes) change the
    indexed status, one small row changes, one row is added to a second table and
    ``events`` rows of about 300 bytes to a third (the outbox).  What ``call_next``
    writes (a ticket finished, one called, the window, a case, six events), so its
    ratio to this floor is what its own work costs, not the pages any commit of it must
    write.  Latency (ms) and rate, keys ``floor_shaped_commit_*``."""
    from hall.core import db

    path = Path(tempfile.mkdtemp(prefix="floor-shaped-", dir=folder)) / "floor.db"
    conn = db.connect(path, synchronous="FULL")
    try:
        conn.executescript(
            "CREATE TABLE t (id TEXT PRIMARY KEY, status TEXT, k REAL, v TEXT);"
            "CREATE INDEX t_status ON t(status, k); CREATE INDEX t_k ON t(k);"
            "CREATE TABLE w (id INTEGER PRIMARY KEY, v TEXT);"
            "CREATE TABLE c (id TEXT PRIMARY KEY, v TEXT);"
            "CREATE TABLE e (id TEXT PRIMARY KEY, kind TEXT, payload TEXT);"
            "INSERT INTO w (id, v) VALUES (1, '');"
        )
        ids = [str(uuid.uuid4()) for _ in range(rows)]
        with db.transaction(conn):
            conn.executemany(
                "INSERT INTO t (id, status, k, v) VALUES (?, 'waiting', ?, ?)",
                [(t, float(i), "x" * 120) for i, t in enumerate(ids)],
            )
        payload = "p" * 300
        times = []
        started = time.perf_counter()
        for i in range(n):
            t0 = time.perf_counter()
            with db.transaction(conn):
                for j in range(moved):
                    conn.execute(
                        "UPDATE t SET status=? WHERE id=?", (f"s{i}", ids[(i * moved + j) % rows])
                    )
                conn.execute("UPDATE w SET v=? WHERE id=1", (f"call {i}",))
                conn.execute("INSERT INTO c (id, v) VALUES (?, ?)", (str(uuid.uuid4()), "case"))
                for _ in range(events):
                    conn.execute(
                        "INSERT INTO e (id, kind, payload) VALUES (?, 'event', ?)",
                        (str(uuid.uuid4()), payload),
                    )
            times.append((time.perf_counter() - t0) * 1000)
        elapsed = time.perf_counter() - started
    finally:
        conn.close()
    return {
        **summary("floor_shaped_commit", times),
        "floor_shaped_commits_per_s": round(n / elapsed, 1),
    }


def qt_first_frame(runs: int = 3) -> float:
    """Median ms from spawning a fresh process to a bare Qt window's first paint."""
    samples = []
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    for _ in range(runs):
        started = time.time()
        proc = subprocess.run(
            [sys.executable, "-m", "hall.bench.floors"],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            cwd=root,
            check=False,
        )
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
        if proc.returncode != 0 or not lines:
            raise RuntimeError(f"bare Qt window failed: {proc.stderr.strip()[-300:]}")
        samples.append((json.loads(lines[-1])["first_frame_at"] - started) * 1000)
    return round(statistics.median(samples), 1)


def _bare_window() -> int:
    """In the fresh process: a plain QWidget shown, the end of its first paint reported."""
    from hall.ui.qt import QApplication, QtCore, QWidget

    app = QApplication(["floor"])
    report: dict[str, float] = {}

    def painted() -> None:  # after the paint, as the apps' first frame is taken
        report.setdefault("first_frame_at", time.time())
        app.quit()

    class Window(QWidget):
        def paintEvent(self, _event: object) -> None:
            QtCore.QTimer.singleShot(0, painted)

    window = Window()
    window.resize(1080, 1920)
    window.show()
    QtCore.QTimer.singleShot(15_000, app.quit)
    app.exec()
    sys.stdout.write(json.dumps(report) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(_bare_window())

"""Device health: a small status table roles update, and the heartbeat built from it.

Roles write what only they know into ``health_status`` of the device's own
database (the one the sync agent delivers): the kiosk its printer's paper,
the ID-card reader whether it is present, any role its last error::

    from sync import health
    health.set_status(conn, "printer", "paper_out", "DLE EOT 4: paper end")
    health.set_status(conn, "reader", "present")
    health.record_error(conn, "printer /dev/hall-printer: write timeout")

The sync agent reads the table, adds what it can see itself (versions, disk,
uptime, outbox backlog, link state) and sends the heartbeat: retained on
``hall/{hall}/dev/{device}/sync/health`` and as a ``health`` outbox event.
"""

from __future__ import annotations

import logging
import platform
import shutil
import sqlite3
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hall.core import db
from hall.core.privacy import redact
from hall.core.version import __version__
from sync import outbox

SCHEMA = """
CREATE TABLE IF NOT EXISTS health_status (
    component TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL
)
"""

# Components every heartbeat reports, "unknown" until a role says otherwise.
STANDARD_COMPONENTS = ("printer", "reader")
LAST_ERROR = "last_error"


def ensure_schema(conn: sqlite3.Connection) -> None:
    # One statement with execute(): executescript() would commit the caller's transaction.
    conn.execute(SCHEMA)


# Halls keep Beijing time, as the queue engine does (hall/core/clock.py).
HALL_TZ = ZoneInfo("Asia/Shanghai")
log = logging.getLogger(__name__)


def now_iso() -> str:
    """Aware local time, the same form as the engine's event timestamps."""
    return datetime.now(HALL_TZ).isoformat(timespec="seconds")


def set_status(
    conn: sqlite3.Connection,
    component: str,
    status: str,
    detail: str = "",
    *,
    at: str | None = None,
) -> None:
    """Record a component's status (e.g. printer ok / paper_low / paper_out / offline)."""
    ensure_schema(conn)
    conn.execute(
        "INSERT INTO health_status (component, status, detail, updated_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(component) DO UPDATE SET status=excluded.status, detail=excluded.detail, "
        "updated_at=excluded.updated_at",
        (component, status, redact(detail)[:200], at or now_iso()),
    )


def record_error(conn: sqlite3.Connection, message: str, *, at: str | None = None) -> None:
    """Remember the last error (personal data masked) for the next heartbeat."""
    set_status(conn, LAST_ERROR, "error", message, at=at)


REJECTIONS_SCHEMA = """
CREATE TABLE IF NOT EXISTS health_rejections (
    process TEXT NOT NULL,
    kind TEXT NOT NULL,
    count INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (process, kind)
)
"""


def record_rejections(conn: sqlite3.Connection, process: str, counts: dict[str, int]) -> None:
    """Store one process's counts of rejected messages (sync.inbound.REJECTS) by kind."""
    conn.execute(REJECTIONS_SCHEMA)
    at = now_iso()
    conn.executemany(
        "INSERT INTO health_rejections (process, kind, count, updated_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(process, kind) DO UPDATE SET count=excluded.count, "
        "updated_at=excluded.updated_at",
        [(process, kind, n, at) for kind, n in counts.items()],
    )


def rejections(conn: sqlite3.Connection) -> dict[str, int]:
    """Rejected messages by kind, summed over the device's processes."""
    conn.execute(REJECTIONS_SCHEMA)
    rows = conn.execute("SELECT kind, SUM(count) FROM health_rejections GROUP BY kind")
    return {kind: int(n) for kind, n in rows}


class RejectionSink:
    """Writes this process's rejection counts into the device database, at most once a second.

    Attached to :data:`sync.inbound.REJECTS` by every role with a device
    database (``HALL_HEALTH_DB``), so the sync agent's heartbeat reports what
    each process dropped.  Writing happens on a timer thread, never on the
    network thread that counted.
    """

    def __init__(self, db_path: str | Path, process: str, *, delay_s: float = 1.0) -> None:
        self.db_path, self.process, self.delay_s = str(db_path), process, delay_s
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._latest: dict[str, int] = {}

    def __call__(self, counts: dict[str, int]) -> None:
        with self._lock:
            self._latest = counts
            if self._timer is None:
                self._timer = threading.Timer(self.delay_s, self.flush)
                self._timer.daemon = True
                self._timer.start()

    def flush(self) -> None:
        with self._lock:
            counts, self._timer = dict(self._latest), None
        if not counts:
            return
        try:
            conn = db.connect(self.db_path, timeout=5, synchronous="NORMAL")
            try:
                with db.transaction(conn):
                    record_rejections(conn, self.process, counts)
            finally:
                conn.close()
        except sqlite3.Error as exc:
            log.warning("cannot record rejected messages in %s: %s", self.db_path, exc)


_sinks: dict[str, RejectionSink] = {}
_sinks_lock = threading.Lock()


def report_rejections_to(db_path: str | Path | None, process: str) -> RejectionSink | None:
    """Attach (once per database) a :class:`RejectionSink`; ``None`` path: nothing to do."""
    if not db_path:
        return None
    from sync.inbound import REJECTS

    with _sinks_lock:
        sink = _sinks.get(str(db_path))
        if sink is None:
            sink = _sinks[str(db_path)] = RejectionSink(db_path, process)
            REJECTS.listeners.append(sink)
        return sink


def statuses(conn: sqlite3.Connection) -> dict[str, dict[str, str]]:
    ensure_schema(conn)
    return {
        r[0]: {"status": r[1], "detail": r[2], "updated_at": r[3]}
        for r in conn.execute("SELECT component, status, detail, updated_at FROM health_status")
    }


def _disk(path: Path) -> dict[str, Any]:
    target = path if path.is_dir() else path.parent
    try:
        usage = shutil.disk_usage(target)
    except OSError as exc:
        return {"path": str(target), "error": str(exc)}
    return {
        "path": str(target),
        "free_bytes": usage.free,
        "total_bytes": usage.total,
        "free_pct": round(100.0 * usage.free / usage.total, 1) if usage.total else 0.0,
    }


def _system_uptime() -> float | None:
    try:
        return float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def versions() -> dict[str, str]:
    import paho.mqtt

    return {
        "hall-edge": __version__,
        "python": platform.python_version(),
        "paho-mqtt": str(getattr(paho.mqtt, "__version__", "?")),
    }


def snapshot(
    conn: sqlite3.Connection,
    *,
    hall: str,
    device: str,
    role: str,
    db_path: Path,
    started_monotonic: float,
    link: dict[str, Any] | None = None,
    alarms: list[str] | None = None,
) -> dict[str, Any]:
    """The heartbeat payload (schema ``health`` in sync/asyncapi.yaml)."""
    table = statuses(conn)
    components = {
        name: table.get(name, {"status": "unknown", "detail": "", "updated_at": ""})
        for name in STANDARD_COMPONENTS
    }
    for name, value in table.items():
        if name != LAST_ERROR:
            components[name] = value
    err = table.get(LAST_ERROR)
    b = outbox.backlog(conn)
    return {
        "hall": hall,
        "device": device,
        "role": role,
        "ts": now_iso(),
        "versions": versions(),
        "uptime_s": round(time.monotonic() - started_monotonic, 1),
        "system_uptime_s": _system_uptime(),
        "disk": _disk(db_path),
        "components": components,
        "last_error": {"message": err["detail"], "at": err["updated_at"]} if err else None,
        "outbox": b.as_dict(),
        "link": link or {},
        "alarms": sorted(alarms or []),
        "rejected": rejections(conn),
    }

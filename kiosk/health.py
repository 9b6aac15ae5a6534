"""Raising trouble to staff: the kiosk's device health, one place, three outlets.

Every part (printer, ID reader, citizen-card reader, scanner, hall link)
reports its state here.  A change is (1) logged (WARNING when it becomes a
problem, INFO when it clears), (2) written atomically to a JSON status file
that the staff monitor, ``hall doctor`` or a systemd health check can read,
and (3) passed to hooks: :func:`sync_health_hook` writes it into the
``health_status`` table of the device database the sync agent delivers
(``sync.health``), so it reaches the center in the next heartbeat.  Tickets
whose printing failed are listed too (code only, never a name) so staff know
what to reprint.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from hall.core.files import atomic_write

log = logging.getLogger(__name__)

OK_STATES = frozenset({"ok", "absent", "starting"})
Hook = Callable[[str, str, str], None]  # (part, state, detail)


class HealthBoard:
    def __init__(
        self,
        device_id: str,
        status_file: str | os.PathLike[str] | None = None,
        *,
        now: Callable[[], datetime] = datetime.now,
    ) -> None:
        self.device_id = device_id
        self.status_file = Path(status_file) if status_file else None
        self._now = now
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._parts: dict[str, dict[str, str]] = {}
        self._unprinted: list[str] = []
        self.hooks: list[Hook] = []

    def report(self, part: str, state: str, detail: str = "") -> None:
        """Record ``part``'s state ("ok", "paper_out", "offline", ...); act on a change."""
        with self._lock:
            before = self._parts.get(part, {}).get("state")
            if before == state and self._parts[part].get("detail") == detail:
                return
            self._parts[part] = {
                "state": state,
                "detail": detail,
                "since": self._now().isoformat(timespec="seconds"),
            }
        if state not in OK_STATES:
            log.warning(
                "kiosk %s: %s is %s%s",
                self.device_id,
                part,
                state,
                f" ({detail})" if detail else "",
            )
        elif before is not None and before not in OK_STATES:
            log.info("kiosk %s: %s is %s again", self.device_id, part, state)
        self._write()
        for hook in list(self.hooks):
            try:
                hook(part, state, detail)
            except Exception:
                log.exception("health hook failed")

    def state(self, part: str) -> str:
        with self._lock:
            return self._parts.get(part, {}).get("state", "absent")

    def problems(self) -> dict[str, str]:
        with self._lock:
            return {p: v["state"] for p, v in self._parts.items() if v["state"] not in OK_STATES}

    def set_unprinted(self, codes: list[str]) -> None:
        with self._lock:
            if codes == self._unprinted:
                return
            self._unprinted = list(codes)
        if codes:
            log.warning(
                "kiosk %s: tickets waiting for a reprint: %s", self.device_id, ", ".join(codes)
            )
        self._write()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "device": self.device_id,
                "updated_at": self._now().isoformat(timespec="seconds"),
                "ok": not any(v["state"] not in OK_STATES for v in self._parts.values()),
                "parts": {p: dict(v) for p, v in sorted(self._parts.items())},
                "unprinted_tickets": list(self._unprinted),
            }

    def _write(self) -> None:
        if self.status_file is None:
            return
        with self._write_lock:  # reports come from device threads and the GUI
            self._write_locked(self.status_file)

    def _write_locked(self, path: Path) -> None:
        data = json.dumps(self.snapshot(), ensure_ascii=False, indent=1)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, data)
        except OSError as exc:
            log.error("cannot write kiosk status file %s: %s", path, exc)


# kiosk part -> component name in sync.health's heartbeat
SYNC_COMPONENTS = {"idcard": "reader", "citizencard": "citizencard_reader"}


def sync_health_hook(db_path: str | os.PathLike[str]) -> Hook:
    """A hook recording each change in ``sync.health``'s table of ``db_path``."""
    import sqlite3

    from sync import health as sync_health

    def hook(part: str, state: str, detail: str) -> None:
        conn = sqlite3.connect(db_path, timeout=5)
        try:
            with conn:
                sync_health.set_status(conn, SYNC_COMPONENTS.get(part, part), state, detail)
        finally:
            conn.close()

    return hook

"""A fake systemd notify socket for tests: what a unit's process tells systemd.

``NotifySocket.temporary()`` binds a Unix datagram socket; pass its ``env`` to a
process (``NOTIFY_SOCKET``) and wait for its datagrams.  The ``notify`` fixture of
tests/hall/ (provision, appliance, watchdog) and the lifecycle test use it.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path


class NotifySocket:
    """What a unit's process tells systemd, received on a socket we bound."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.messages: list[str] = []

    @property
    def env(self) -> dict[str, str]:
        return {"NOTIFY_SOCKET": str(self.path)}

    def count(self, field: str) -> int:
        return sum(1 for m in self.messages for line in m.split("\n") if line == field)

    def wait_for(self, predicate: Callable[[NotifySocket], bool], timeout: float) -> bool:
        """Receive datagrams until ``predicate(self)`` holds or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        while not predicate(self):
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            ready, _, _ = select.select([self.sock], [], [], left)
            if ready:
                self.messages.append(self.sock.recv(4096).decode())
        return True

    def close(self) -> None:
        self.sock.close()

    @classmethod
    @contextlib.contextmanager
    def temporary(cls) -> Iterator[NotifySocket]:
        """One bound under /tmp (a short path: Unix socket names are limited to 108 bytes)."""
        path = Path(f"/tmp/hall-notify-{os.getpid()}-{time.monotonic_ns()}.sock")
        sock = cls(path)
        try:
            yield sock
        finally:
            sock.close()
            path.unlink(missing_ok=True)

"""``hall web`` as a child process, as its systemd unit runs it: for the demo and the bench.

One copy of the command line, the wait for ``/healthz`` and the stop (SIGTERM, then a
kill after ten seconds); the child's output goes to a log file.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    """A TCP port free on the loopback now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class WebProcess:
    def __init__(
        self,
        *,
        broker: str,
        hall_id: str,
        log_path: Path,
        port: int | None = None,
        device: str = "web-1",
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 (open while the child runs)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hall.cli",
                "web",
                "--listen",
                f"127.0.0.1:{self.port}",
                "--device",
                device,
                "--broker",
                broker,
                "--hall",
                hall_id,
            ],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until ``/healthz`` answers 200 (connected to the broker); RuntimeError with the
        end of the child's log if it exits or does not answer in time."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        self._log.flush()
        tail = self.log_path.read_text(errors="replace").strip().splitlines()[-3:]
        state = "exited" if self.proc.poll() is not None else "did not answer /healthz"
        raise RuntimeError(f"hall web {state}: {' / '.join(tail)}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()

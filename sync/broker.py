"""A private Mosquitto process: for ``hall demo`` and for the tests.

The tests must be able to kill and restart the broker, so this is a small
process manager rather than a fixture-only helper.  Production halls run
Mosquitto from its own systemd unit (see ``systemd/``).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

MOSQUITTO_PATHS = ("/usr/sbin/mosquitto", "/usr/bin/mosquitto")
PERSISTENCE_FILE = "mosquitto.db"


class BrokerError(RuntimeError):
    """Mosquitto could not be found or started."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_mosquitto() -> str:
    found = shutil.which("mosquitto")
    if found:
        return found
    for path in MOSQUITTO_PATHS:
        if os.access(path, os.X_OK):
            return path
    raise BrokerError("mosquitto is not installed: run `make setup` (apt package mosquitto)")


class Mosquitto:
    """One Mosquitto on 127.0.0.1:port with its config in a private directory.

    ``persistence`` keeps retained messages and sessions across restarts
    (as a hall broker does); ``extra_conf`` adds lines (ACLs, password file,
    TLS listeners) for the security tests.
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        workdir: str | os.PathLike[str] | None = None,
        persistence: bool = True,
        extra_conf: str = "",
        allow_anonymous: bool = True,
    ) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self._own_dir = workdir is None
        self.dir = Path(workdir or tempfile.mkdtemp(prefix="hall-mosquitto-"))
        self.dir.mkdir(parents=True, exist_ok=True)
        self.persistence = persistence
        self.extra_conf = extra_conf
        self.allow_anonymous = allow_anonymous
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.dir / "mosquitto.log"

    def _write_conf(self) -> Path:
        conf = self.dir / "mosquitto.conf"
        lines = [
            # As root Mosquitto drops to the "mosquitto" user, which cannot write
            # persistence into a private temp folder: it would silently run without.
            "user root" if os.geteuid() == 0 else "",
            f"listener {self.port} {self.host}",
            f"allow_anonymous {'true' if self.allow_anonymous else 'false'}",
            f"persistence {'true' if self.persistence else 'false'}",
            f"persistence_location {self.dir}/",
            f"persistence_file {PERSISTENCE_FILE}",
            "autosave_interval 1",
            "max_queued_messages 100000",
            "max_inflight_messages 100",
            "set_tcp_nodelay true",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
            self.extra_conf,
        ]
        conf.write_text("\n".join(lines) + "\n")
        return conf

    def start(self, timeout: float = 10.0) -> Mosquitto:
        if self.proc and self.proc.poll() is None:
            return self
        conf = self._write_conf()
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        self.proc = subprocess.Popen(
            [find_mosquitto(), "-c", str(conf)],
            stdout=log,
            stderr=log,
            cwd=self.dir,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BrokerError(
                    f"mosquitto exited with {self.proc.returncode}; see {self.log_path}:\n"
                    + self.log_path.read_text(errors="replace")[-2000:]
                )
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.02)
        self.kill()
        raise BrokerError(f"mosquitto did not listen on {self.host}:{self.port} in {timeout}s")

    def stop(self) -> None:
        """Graceful stop (SIGTERM): Mosquitto saves its persistence file."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        """Hard kill (SIGKILL): what a power cut or a crash looks like."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def restart(self) -> Mosquitto:
        self.stop()
        return self.start()

    def wipe(self) -> None:
        """Forget what the stopped broker saved (retained messages, sessions): the next
        :meth:`start` is an empty broker, as after a crash before its first save or
        on a new disk.  Retained state is lost with a SIGKILL anyway if it changed
        less than ``autosave_interval`` before."""
        if self.running:
            raise BrokerError("stop() or kill() the broker before wiping its persistence")
        (self.dir / PERSISTENCE_FILE).unlink(missing_ok=True)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def close(self) -> None:
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Mosquitto:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

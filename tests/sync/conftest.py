"""The central plane under test: device outboxes, agents, a center, a secured Mosquitto."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sync_helpers import AS_ROOT, FAST, HALL, ROOT, DeviceDb, wait_for

from sync.agent import SyncAgent
from sync.broker import Mosquitto, free_port
from sync.center import Center
from sync.client import BrokerAddress


@pytest.fixture
def device_db(tmp_path: Path) -> Iterator[DeviceDb]:
    db = DeviceDb(tmp_path / "device.db")
    yield db
    db.close()


@pytest.fixture
def address(broker: Mosquitto) -> BrokerAddress:
    return BrokerAddress(broker.host, broker.port)


@pytest.fixture
def make_center() -> Iterator[Callable[..., Center]]:
    centers: list[Center] = []

    def make(address: BrokerAddress, **kw: Any) -> Center:
        kw.setdefault("hall", HALL)
        kw.setdefault("client_id", "center")
        kw.setdefault("backoff", None)
        from sync.backoff import Backoff

        if kw["backoff"] is None:
            kw["backoff"] = Backoff(0.05, 0.3)
        center = Center(broker=address, **kw).start()
        centers.append(center)
        return center

    yield make
    for c in centers:
        c.stop()


@pytest.fixture
def make_agent(tmp_path: Path) -> Iterator[Callable[..., SyncAgent]]:
    agents: list[SyncAgent] = []

    def make(
        address: BrokerAddress,
        db: DeviceDb,
        *,
        device: str = "engine",
        wait: float | None = 10.0,
        **kw: Any,
    ) -> SyncAgent:
        kw.setdefault("settings", FAST)
        agent = SyncAgent(db_path=db.path, hall_id=HALL, device_id=device, center=address, **kw)
        agents.append(agent)
        return agent.start(wait=wait)

    yield make
    for a in agents:
        a.stop()


@dataclass
class AgentProcess:
    """``hall sync`` as a real process, so a test can SIGKILL it."""

    proc: subprocess.Popen[bytes]
    log: Path

    def kill9(self) -> None:
        self.proc.kill()
        self.proc.wait(10)

    def wait_connected(self, timeout: float = 20) -> None:
        """Until the agent says it is connected to the center (it subscribes first)."""
        wait_for(
            lambda: "connected to" in self.log.read_text(errors="replace"),
            timeout,
            "the agent connected to the center",
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def spawn_agent(tmp_path: Path) -> Iterator[Callable[..., AgentProcess]]:
    procs: list[AgentProcess] = []

    def spawn(broker: Mosquitto, db: DeviceDb, *extra: str) -> AgentProcess:
        log = tmp_path / f"agent-{len(procs)}.log"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "hall.cli",
                    "sync",
                    "--db",
                    str(db.path),
                    "--device",
                    "engine",
                    "--hall",
                    HALL,
                    "--center",
                    f"{broker.host}:{broker.port}",
                    "--backoff-min",
                    "0.1",
                    "--backoff-max",
                    "0.5",
                    "--heartbeat",
                    "3600",
                    *extra,
                ],
                stdout=out,
                stderr=out,
                cwd=ROOT,
                env=env,
            )
        p = AgentProcess(proc, log)
        procs.append(p)
        return p

    yield spawn
    for p in procs:
        p.stop()


# ---------------------------------------------------------------- security: a throwaway PKI


@dataclass(frozen=True)
class Pki:
    folder: Path
    ca: Path
    server_cert: Path
    server_key: Path

    def device(self, name: str) -> tuple[Path, Path]:
        """A client certificate whose CN is the device id (made on first use)."""
        cert, key = self.folder / f"{name}.crt", self.folder / f"{name}.key"
        if not cert.exists():
            _issue(self, name, cert, key, san=None)
        return cert, key


def _openssl(*args: str, cwd: Path) -> None:
    done = subprocess.run(
        ["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=30, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args[:2])} failed: {done.stderr}")


def _issue(pki: Pki, cn: str, cert: Path, key: Path, san: str | None) -> None:
    folder = pki.folder
    csr = folder / f"{cn}.csr"
    _openssl(
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        str(key),
        "-out",
        str(csr),
        "-subj",
        f"/CN={cn}",
        cwd=folder,
    )
    extra: list[str] = []
    if san:
        ext = folder / f"{cn}.ext"
        ext.write_text(f"subjectAltName={san}\n")
        extra = ["-extfile", str(ext)]
    _openssl(
        "x509",
        "-req",
        "-in",
        str(csr),
        "-CA",
        str(pki.ca),
        "-CAkey",
        str(folder / "ca.key"),
        "-CAcreateserial",
        "-out",
        str(cert),
        "-days",
        "2",
        *extra,
        cwd=folder,
    )


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=hall-edge test CA",
        cwd=folder,
    )
    p = Pki(folder, folder / "ca.crt", folder / "server.crt", folder / "server.key")
    _issue(p, "server", p.server_cert, p.server_key, san="IP:127.0.0.1,DNS:localhost")
    return p


ACL = """\
# the center reads and writes everything
user center
topic readwrite hall/#

# a device writes only below its own id (username = device id, or the
# certificate's CN with use_identity_as_username) and reads what is meant for it
pattern write hall/+/dev/%u/sync/#
pattern read hall/+/dev/%u/sync/#
pattern read hall/+/sync/config
"""


@dataclass
class SecureBroker:
    broker: Mosquitto
    tls_port: int  # TLS, username + password from the password file
    cert_port: int  # TLS, client certificate required; CN is the username


@pytest.fixture
def secure_broker(tmp_path: Path, pki: Pki) -> Iterator[SecureBroker]:
    folder = tmp_path / "secure"
    folder.mkdir()
    passwords = folder / "passwords"
    for i, (user, password) in enumerate(
        (("center", "center-secret"), ("engine", "engine-secret"), ("kiosk-1", "kiosk-secret"))
    ):
        subprocess.run(
            ["mosquitto_passwd", "-b", *(["-c"] if i == 0 else []), str(passwords), user, password],
            check=True,
            timeout=10,
            capture_output=True,
        )
    acl = folder / "acl"
    acl.write_text(ACL)
    tls_port, cert_port = free_port(), free_port()
    tls = f"cafile {pki.ca}\ncertfile {pki.server_cert}\nkeyfile {pki.server_key}\n"
    extra = (
        f"password_file {passwords}\nacl_file {acl}\n"
        f"listener {tls_port} 127.0.0.1\n{tls}"
        f"listener {cert_port} 127.0.0.1\n{tls}"
        "require_certificate true\nuse_identity_as_username true\n"
        f"{AS_ROOT}\n"
    )
    b = Mosquitto(workdir=folder / "broker", extra_conf=extra, allow_anonymous=False)
    b.start()
    try:
        yield SecureBroker(b, tls_port, cert_port)
    finally:
        b.close()

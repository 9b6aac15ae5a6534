"""Fixtures for provisioning, the appliance helpers and the doctor.

* ``notify``: a fake systemd notify socket (a Unix datagram socket the test
  binds); pass ``notify.env`` to a process and wait for its datagrams.
* ``sam`` / ``printer``: a SAM reader and an ESC/POS printer simulator on ptys.
* ``pcscd`` / ``vcard`` / ``insert``: pcscd with the vpcd reader and a virtual
  citizen card (the pattern of tests/drivers/citizencard/conftest.py).
* ``provision_args``: ``hall provision`` arguments into a temporary ``--root``.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fake_systemd import NotifySocket

from drivers.idcard import SamSimulator, make_card
from drivers.printer.sim import PrinterSimulator
from hall.cli import build_parser
from hall.provision.layout import SOURCE
from sync.broker import Mosquitto

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 15.0
CARD_TIMEOUT = 5.0


@pytest.fixture
def notify() -> Iterator[NotifySocket]:
    with NotifySocket.temporary() as sock:
        yield sock


@pytest.fixture
def sam() -> Iterator[SamSimulator]:
    with SamSimulator() as sim:
        sim.insert(make_card("resident"))
        yield sim


@pytest.fixture
def printer() -> Iterator[PrinterSimulator]:
    with PrinterSimulator() as sim:
        yield sim


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """The folder provisioning writes into (``--root``)."""
    root = tmp_path / "root"
    root.mkdir()
    return root


@pytest.fixture
def provision_args(tree: Path) -> Callable[..., object]:
    """``provision_args("--role", "caller", ...)``: parsed ``hall provision`` arguments."""

    def parse(*argv: str) -> object:
        return build_parser().parse_args(
            ["provision", "--root", str(tree), "--probe-timeout", "0.3", *argv]
        )

    return parse


def _hall_mosquitto(tmp_path: Path, passwords: dict[str, str]) -> Mosquitto:
    """A Mosquitto with the shipped hall.conf and hall.acl (paths and port moved)."""
    acl = tmp_path / "hall.acl"
    shutil.copy(SOURCE / "mosquitto" / "hall.acl", acl)
    passwd = tmp_path / "hall.passwd"
    passwd.touch()
    for user, password in passwords.items():
        subprocess.run(
            ["mosquitto_passwd", "-b", str(passwd), user, password], check=True, timeout=30
        )
    lines = (SOURCE / "mosquitto" / "hall.conf").read_text().splitlines()
    # the launcher writes its own listener (a free port) and allow_anonymous
    own = [ln for ln in lines if ln.startswith(("listener ", "allow_anonymous "))]
    assert own == ["listener 1883", "allow_anonymous false"]
    conf = "\n".join(ln for ln in lines if ln not in own)
    conf = conf.replace("/etc/mosquitto/hall.passwd", str(passwd))
    conf = conf.replace("/etc/mosquitto/hall.acl", str(acl))
    return Mosquitto(workdir=tmp_path / "broker", extra_conf=conf, allow_anonymous=False)


@pytest.fixture
def hall_broker(tmp_path: Path) -> Iterator[Callable[[dict[str, str]], Mosquitto]]:
    """``hall_broker({"engine": "secret", ...})``: a started Mosquitto running the shipped
    hall.conf and hall.acl with these accounts."""
    started: list[Mosquitto] = []

    def start(passwords: dict[str, str]) -> Mosquitto:
        folder = tmp_path / f"hall-broker-{len(started)}"
        folder.mkdir()
        broker = _hall_mosquitto(folder, passwords)
        started.append(broker)
        return broker.start()

    yield start
    for broker in started:
        broker.close()

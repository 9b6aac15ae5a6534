"""Fixtures shared by every test: Qt offscreen, a real Mosquitto, the demo hall's engine
on it with device links, and a real pcscd with a virtual citizen card."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HALL_VALIDATE_CONTRACT", "1")

from hostile import Recorder, Storm

from drivers.citizencard.pcsc import use_socket
from drivers.citizencard.pcscd import (
    CONFIG_ENV,
    VPCD_READER,
    PcscdProcess,
    pcscd_binary,
    pcscd_running,
    readers_now,
)
from drivers.citizencard.reader import wait_for_card
from drivers.citizencard.vcard import CardContents, Mode, VirtualCard
from hall.core.clock import FakeClock
from kiosk.engine.config import HallConfig, load_hall_config
from kiosk.engine.engine import QueueEngine
from kiosk.engine.service import EngineService
from sync.broker import Mosquitto
from sync.mqtt import MqttLink

DEMO_HALL = Path(__file__).resolve().parent.parent / "assets" / "halls" / "demo.yaml"
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """A real Mosquitto on a free port; tests may kill() / start() / restart() it."""
    b = Mosquitto(workdir=tmp_path / "broker")
    b.start()
    try:
        yield b
    finally:
        b.close()


@pytest.fixture
def screenshots() -> Path:
    """Folder where tests save what a person would see (artifacts/screenshots)."""
    path = ARTIFACTS / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


# --------------------------------------------------------------------------- hall plane
# The demo hall's engine serving on the ``broker``, and device links to talk to it.


@pytest.fixture
def hall_clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 23, 9, 30))  # a Monday morning


@pytest.fixture
def hall_config() -> HallConfig:
    return load_hall_config(DEMO_HALL)


@pytest.fixture
def engine_service(
    broker: Mosquitto, tmp_path: Path, hall_clock: FakeClock, hall_config: HallConfig
) -> Iterator[EngineService]:
    engine = QueueEngine(hall_config, tmp_path / "engine.db", clock=hall_clock)
    link = MqttLink(
        host=broker.host,
        port=broker.port,
        hall_id=hall_config.hall_id,
        device_id="engine",
        role="engine",
    ).start()
    service = EngineService(engine, link)
    service.start()
    yield service
    service.stop()
    link.stop()
    engine.close()


@pytest.fixture
def device(broker: Mosquitto, hall_config: HallConfig) -> Iterator[Callable[..., MqttLink]]:
    """``device(device_id, role="")``: a connected link as that device of the demo hall."""
    links: list[MqttLink] = []

    def connect(device_id: str, role: str = "") -> MqttLink:
        link = MqttLink(
            host=broker.host,
            port=broker.port,
            hall_id=hall_config.hall_id,
            device_id=device_id,
            role=role,
        ).start()
        links.append(link)
        return link

    yield connect
    for link in links:
        link.stop()


# --------------------------------------------------------------------------- PC/SC
# A real pcscd with vsmartcard's vpcd reader, and a virtual card in it.
# The tests' pcscd is private: it listens on a socket of its own (handed over
# by socket activation; PCSCLITE_CSOCK_NAME points every PC/SC call of this
# process and its children there) and its vpcd reader on a free port, so a
# system pcscd (``pcscd.socket``, or one a ``hall doctor`` left) neither
# answers the tests nor blocks vpcd's port 35963 for them, and the tests never
# touch it.  libpcsclite reads PCSCLITE_CSOCK_NAME once, at the first context,
# hence here at import, before any test.  HALL_PCSCD_CONFIG gives the private
# reader configuration to an ``ensure_pcscd`` that finds no pcscd there.
# ``pcscd`` (session): starts it (``pcscd --foreground``, no ``--auto-exit``:
# an idle minute between tests must not stop it) and stops it at the end.
# Skips only when the pcscd binary is missing; a pcscd that does not list the
# vpcd reader is a failure, not a skip.  ``vcard`` (per test): a virtual card
# on that pcscd's vpcd port, not yet inserted; ``insert`` / ``remove`` wait
# until pcscd saw it.

STARTUP_TIMEOUT = 15.0
CARD_TIMEOUT = 5.0

PCSCD_DIR = Path(tempfile.mkdtemp(prefix="hall-pcscd-"))
PRIVATE_PCSCD = PcscdProcess.private(PCSCD_DIR, log_path=PCSCD_DIR / "pcscd.log")
assert PRIVATE_PCSCD.socket is not None and PRIVATE_PCSCD.config is not None
use_socket(PRIVATE_PCSCD.socket)
os.environ[CONFIG_ENV] = str(PRIVATE_PCSCD.config)
atexit.register(shutil.rmtree, PCSCD_DIR, ignore_errors=True)


@pytest.fixture(scope="session")
def pcscd() -> Iterator[PcscdProcess]:
    if pcscd_binary() is None:
        pytest.skip("pcscd is not installed (Debian: apt-get install pcscd vsmartcard-vpcd)")
    handle = PRIVATE_PCSCD
    try:
        if not handle.start_serving(VPCD_READER, STARTUP_TIMEOUT):
            code = handle.proc.poll() if handle.proc else None
            pytest.fail(
                f"the tests' pcscd (socket {handle.socket}, config {handle.config}, vpcd port "
                f"{handle.vpcd_port}) did not list {VPCD_READER!r} within {STARTUP_TIMEOUT}s "
                f"(readers: {readers_now()}, pcscd exit status: {code}); is vsmartcard-vpcd "
                f"installed? are we root?\n{handle.log_tail()}"
            )
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def reader_name(pcscd: PcscdProcess) -> str:
    """Name of the vpcd reader the virtual card goes into."""
    return VPCD_READER


@pytest.fixture
def vcard(pcscd: PcscdProcess, reader_name: str) -> Iterator[VirtualCard]:
    assert wait_for_card(reader_name, present=False, timeout=CARD_TIMEOUT), (
        "another card sits in the tests' vpcd reader (a virtual card of an earlier test?)"
    )
    card = VirtualCard(port=pcscd.vpcd_port, retry_interval=0.05).start(inserted=False)
    try:
        yield card
    finally:
        card.stop()
        if pcscd_running():
            assert wait_for_card(reader_name, present=False, timeout=CARD_TIMEOUT)


@pytest.fixture
def insert(vcard: VirtualCard, reader_name: str) -> Callable[..., VirtualCard]:
    """``insert(contents=None, mode=None)``: put the card in, wait until pcscd sees it."""

    def put_in(contents: CardContents | None = None, mode: Mode | str | None = None) -> VirtualCard:
        vcard.insert(contents, mode=mode)
        assert wait_for_card(reader_name, present=True, timeout=CARD_TIMEOUT), (
            "pcscd did not see the virtual card"
        )
        return vcard

    return put_in


@pytest.fixture
def remove(vcard: VirtualCard, reader_name: str) -> Callable[[], None]:
    """Pull the card out and wait until pcscd has noticed."""

    def pull_out() -> None:
        vcard.remove()
        assert wait_for_card(reader_name, present=False, timeout=CARD_TIMEOUT)

    return pull_out


# --------------------------------------------------------------------------- central plane


@pytest.fixture
def relay(broker: Mosquitto, tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """``relay(device, *commands)``: that device's sync agent forwarding ``commands``
    to its role app on the hall plane (the same Mosquitto is the center); returns
    the :class:`sync.center.Center` to send them from."""
    import sqlite3

    from sync.agent import AgentSettings, SyncAgent
    from sync.backoff import Backoff
    from sync.center import Center
    from sync.client import BrokerAddress
    from sync.commands import CommandRegistry, forward_to_role

    address = BrokerAddress(broker.host, broker.port)
    stops: list[Callable[[], object]] = []

    def make(device: str, *names: str) -> Center:
        link = MqttLink(
            host=broker.host,
            port=broker.port,
            hall_id="demo-hall",
            device_id=device,
            role="sync",
            presence=False,
        ).start()
        stops.append(link.stop)
        registry = CommandRegistry()
        for name in names:
            registry.register(name, forward_to_role(link))
        db = tmp_path / f"{device}-sync.db"
        sqlite3.connect(db).close()
        settings = AgentSettings(backoff_min_s=0.1, backoff_max_s=0.5, heartbeat_s=3600)
        agent = SyncAgent(
            db_path=db,
            hall_id="demo-hall",
            device_id=device,
            center=address,
            settings=settings,
            commands=registry,
        ).start(wait=10)
        stops.append(agent.stop)
        center = Center(
            broker=address,
            hall="demo-hall",
            client_id=f"center-{device}",
            backoff=Backoff(0.05, 0.3),
        ).start()
        stops.append(center.stop)
        return center

    yield make
    for stop in reversed(stops):
        stop()


# --------------------------------------------------------------------------- hostile messages
# For the tests that an app survives hostile messages (see hostile.py).


@pytest.fixture
def storm(broker: Mosquitto) -> Iterator[Storm]:
    """Two hostile devices (MQTT 5 and MQTT 3.1.1) on the ``broker``."""
    s = Storm(broker.host, broker.port)
    yield s
    s.close()


@pytest.fixture
def retained(broker: Mosquitto) -> Callable[[str], dict[str, Any]]:
    """``retained(topic)``: the engine's retained message there now (decoded)."""

    def get(topic: str, timeout: float = 8.0) -> dict[str, Any]:
        rec = Recorder(broker.host, broker.port, topic)
        try:
            deadline = time.monotonic() + timeout
            while not rec.messages and time.monotonic() < deadline:
                time.sleep(0.01)
            assert rec.messages, f"nothing retained on {topic}"
            payload: dict[str, Any] = json.loads(rec.messages[-1][1])
            return payload
        finally:
            rec.close()

    return get

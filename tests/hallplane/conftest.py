"""A running hall plane for integration tests: real Mosquitto, engine service, device links."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest

from kiosk.engine.clock import FakeClock
from kiosk.engine.config import load_hall_config
from kiosk.engine.engine import QueueEngine
from kiosk.engine.service import EngineService
from sync.broker import Mosquitto
from sync.mqtt import MqttLink

DEMO = Path(__file__).resolve().parents[2] / "assets" / "halls" / "demo.yaml"


@pytest.fixture
def hall_clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 23, 9, 30))


@pytest.fixture
def engine_service(
    broker: Mosquitto, tmp_path: Path, hall_clock: FakeClock
) -> Iterator[EngineService]:
    config = load_hall_config(DEMO)
    engine = QueueEngine(config, tmp_path / "engine.db", clock=hall_clock)
    link = MqttLink(
        host=broker.host,
        port=broker.port,
        hall_id=config.hall_id,
        device_id="engine",
        role="engine",
    ).start()
    service = EngineService(engine, link)
    service.start()
    yield service
    link.stop()
    engine.close()


@pytest.fixture
def device(broker: Mosquitto) -> Iterator[Callable[[str], MqttLink]]:
    links: list[MqttLink] = []

    def connect(device_id: str, role: str = "") -> MqttLink:
        link = MqttLink(
            host=broker.host, port=broker.port, hall_id="demo-hall", device_id=device_id, role=role
        ).start()
        links.append(link)
        return link

    yield connect
    for link in links:
        link.stop()

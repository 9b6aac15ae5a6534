from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from engine_halls import MONDAY_0930, small_hall

from hall.core.clock import FakeClock
from kiosk.engine.config import HallConfig, load_hall_config, parse_hall_config
from kiosk.engine.engine import QueueEngine

DEMO = Path(__file__).resolve().parents[3] / "assets" / "halls" / "demo.yaml"


@pytest.fixture
def demo_config() -> HallConfig:
    return load_hall_config(DEMO)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(MONDAY_0930)


@pytest.fixture
def make_engine(tmp_path: Path, clock: FakeClock) -> Iterator[Callable[..., QueueEngine]]:
    engines: list[QueueEngine] = []

    def make(
        config: HallConfig | dict[str, Any] | None = None, db: str = "engine.db"
    ) -> QueueEngine:
        if config is None:
            config = load_hall_config(DEMO)
        elif isinstance(config, dict):
            config = parse_hall_config(config)
        e = QueueEngine(config, tmp_path / db, clock=clock)
        engines.append(e)
        return e

    yield make
    for e in engines:
        e.close()


@pytest.fixture
def engine(make_engine: Callable[..., QueueEngine]) -> QueueEngine:
    return make_engine()


@pytest.fixture(name="small_hall")
def small_hall_fixture() -> Callable[..., dict[str, Any]]:
    return small_hall

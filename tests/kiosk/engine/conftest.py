from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from clerks import TEST_PIN_HASH

from hall.core.clock import FakeClock
from kiosk.engine.config import HallConfig, load_hall_config, parse_hall_config
from kiosk.engine.engine import QueueEngine

DEMO = Path(__file__).resolve().parents[3] / "assets" / "halls" / "demo.yaml"
MONDAY_0930 = datetime(2026, 11, 23, 9, 30)


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


def small_hall(**overrides: Any) -> dict[str, Any]:
    """A two-queue, three-window hall for policy tests."""
    data: dict[str, Any] = {
        "hall": {"id": "t-hall", "name": "测试大厅"},
        "queues": [
            {"id": "A", "name": "户籍", "prefix": "A"},
            {"id": "B", "name": "社保", "prefix": "B"},
        ],
        "items": [
            {"id": "a1", "name": "户籍证明", "queue": "A"},
            {"id": "b1", "name": "社保证明", "queue": "B"},
            {"id": "a-id", "name": "出生申报", "queue": "A", "requires_id": True},
        ],
        "windows": [
            {"id": "1", "name": "1号窗口", "queues": ["A", "B"]},
            {"id": "2", "name": "2号窗口", "queues": ["B", "A"]},
            {"id": "3", "name": "3号窗口", "queues": ["B"], "kind": "specialised"},
        ],
        "staff": [
            {"id": s, "name": f"员工{s}", "staff_no": s, "pin_hash": TEST_PIN_HASH}
            for s in ("1", "2", "3")
        ],
    }
    for key, value in overrides.items():
        data[key] = value
    return data

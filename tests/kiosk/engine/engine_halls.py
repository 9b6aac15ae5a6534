"""Halls and times the engine tests share, imported by this module's name (a module
named conftest would be another folder's in a full run)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from clerks import TEST_PIN_HASH

MONDAY_0930 = datetime(2026, 11, 23, 9, 30)


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

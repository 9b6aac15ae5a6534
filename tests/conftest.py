"""Fixtures shared by every test: Qt offscreen with a CJK font, a real Mosquitto."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HALL_VALIDATE_CONTRACT", "1")

from sync.broker import Mosquitto

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

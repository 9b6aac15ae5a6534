"""The clerks' PINs of the test halls: the demo hall's (its demo-only PIN) and the small
test halls' own.  Only hashes go into a hall config (hall.core.pins)."""

from __future__ import annotations

from hall.core.pins import hash_pin
from hall.demo_apps import DEMO_PIN

__all__ = ["DEMO_PIN", "TEST_PIN", "TEST_PIN_HASH"]

TEST_PIN = "4321"  # every clerk of the small test halls (tests/kiosk/engine/conftest.py small_hall)
TEST_PIN_HASH = hash_pin(TEST_PIN, n=2**10)  # the smallest work factor accepted: quick tests

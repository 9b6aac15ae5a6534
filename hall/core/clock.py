"""Injected time: wall time for records and business dates, monotonic time for timeouts."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> datetime:
        """Aware wall-clock time in the hall's time zone."""

    def monotonic(self) -> float:
        """Seconds that never go backwards, for cooldowns and timeouts."""


class SystemClock:
    def __init__(self, tz: tzinfo = CHINA) -> None:
        self.tz = tz

    def now(self) -> datetime:
        return datetime.now(self.tz)

    def monotonic(self) -> float:
        return time.monotonic()


class FakeClock:
    """A clock tests move by hand; ``jump`` moves wall time only (a clock change)."""

    def __init__(self, start: datetime, tz: tzinfo = CHINA) -> None:
        if start.tzinfo is None:
            start = start.replace(tzinfo=tz)
        self._now = start
        self._mono = 1000.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float = 0, *, minutes: float = 0) -> None:
        delta = seconds + minutes * 60
        self._now += timedelta(seconds=delta)
        self._mono += delta

    def jump(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            when = when.replace(tzinfo=self._now.tzinfo or UTC)
        self._now = when

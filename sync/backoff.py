"""Reconnect delays: exponential growth with jitter, so a hall's devices do not
all knock on the center at the same instant after an outage."""

from __future__ import annotations

import random


class Backoff:
    """``next()`` gives min, ~2x, ~4x ... up to ``max_s``; each delay is jittered.

    "Equal jitter": half of the exponential step is fixed, half is random, so
    a delay never collapses towards zero yet devices spread out.
    """

    def __init__(
        self, min_s: float = 0.5, max_s: float = 60.0, *, rng: random.Random | None = None
    ) -> None:
        if not 0 < min_s <= max_s:
            raise ValueError(f"backoff needs 0 < min ({min_s}) <= max ({max_s})")
        self.min_s, self.max_s = min_s, max_s
        self._rng = rng or random.Random()
        self.attempt = 0

    def next(self) -> float:
        step = min(self.max_s, self.min_s * 2.0 ** min(self.attempt, 30))
        self.attempt += 1
        return float(step / 2 + self._rng.uniform(0, step / 2))

    def reset(self) -> None:
        self.attempt = 0

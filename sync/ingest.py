"""The center's view of each device stream: in order, exactly once, gaps asked for again.

Pure logic with an injected clock; :mod:`sync.center` feeds it batches and
stores what it releases.  Per stream (hall, device, outbox stream id) it keeps
a watermark: every event up to it has been released.  A batch whose ``prev``
is at or below the watermark continues the stream and is released; a batch
that starts above it is held back (a gap: something between was lost, e.g. by
a broker restarted without persistence) and, for a confirming center, the
device is asked to send again everything after the watermark.  A passive
monitor cannot ask, so it gives up on a gap after ``gap_timeout_s`` and
reports it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sync.wire import Batch

Key = tuple[str, str, str]


@dataclass(frozen=True)
class Released:
    """The result of offering a batch (or of a tick) for one stream."""

    key: Key
    batches: tuple[Batch, ...] = ()  # in order, store these now
    watermark: int = 0
    advanced: bool = False  # watermark moved: a confirming center acknowledges it
    resend_after: int | None = None  # ask the device to send again after this seq
    skipped: tuple[tuple[int, int], ...] = ()  # (after, up_to) gaps given up on


@dataclass
class _Stream:
    watermark: int
    pending: list[Batch] = field(default_factory=list)
    pending_events: int = 0
    gap_since: float | None = None
    last_request: float | None = None
    last_request_at: int | None = None


class StreamOrder:
    def __init__(
        self,
        *,
        confirming: bool,
        gap_timeout_s: float = 5.0,
        resend_interval_s: float = 1.0,
        max_pending_events: int = 50_000,
    ) -> None:
        self.confirming = confirming
        self.gap_timeout_s = gap_timeout_s
        self.resend_interval_s = resend_interval_s
        self.max_pending_events = max_pending_events
        self._streams: dict[Key, _Stream] = {}

    def restore(self, key: Key, watermark: int) -> None:
        self._streams[key] = _Stream(watermark)

    def watermark(self, key: Key) -> int | None:
        s = self._streams.get(key)
        return s.watermark if s else None

    def streams(self) -> list[Key]:
        return list(self._streams)

    def offer(self, batch: Batch, now: float) -> Released:
        s = self._streams.get(batch.key)
        if s is None:
            # A confirming center starts where the device says nothing is kept
            # any more; a passive monitor starts where it joined the stream.
            s = self._streams[batch.key] = _Stream(batch.base if self.confirming else batch.prev)
        before = s.watermark
        s.watermark = max(s.watermark, batch.base)
        if batch.prev <= s.watermark:
            ready = [batch]
            s.watermark = max(s.watermark, batch.last)
        else:
            ready = []
            if not any(p.prev == batch.prev and p.last == batch.last for p in s.pending):
                s.pending.append(batch)
                s.pending_events += len(batch.events)
                self._bound(s)
        ready += self._drain(s)
        return self._result(batch.key, s, ready, before, now)

    def tick(self, now: float) -> list[Released]:
        """Re-ask for missing events (confirming) or give up on old gaps (passive)."""
        out = []
        for key, s in self._streams.items():
            if not s.pending or s.gap_since is None:
                continue
            before = s.watermark
            skipped: tuple[tuple[int, int], ...] = ()
            ready: list[Batch] = []
            if not self.confirming and now - s.gap_since >= self.gap_timeout_s:
                s.pending.sort(key=lambda b: b.prev)
                skipped = ((s.watermark, s.pending[0].prev),)
                s.watermark = s.pending[0].prev
                ready = self._drain(s)
            r = self._result(key, s, ready, before, now)
            if r.batches or r.resend_after is not None:
                out.append(
                    Released(key, r.batches, r.watermark, r.advanced, r.resend_after, skipped)
                )
        return out

    def _drain(self, s: _Stream) -> list[Batch]:
        ready = []
        s.pending.sort(key=lambda b: b.prev)
        while s.pending and s.pending[0].prev <= s.watermark:
            b = s.pending.pop(0)
            s.pending_events -= len(b.events)
            ready.append(b)
            s.watermark = max(s.watermark, b.last)
        return ready

    def _bound(self, s: _Stream) -> None:
        # Held-back batches are sent again after a resend request: drop the newest.
        s.pending.sort(key=lambda b: b.prev)
        while s.pending_events > self.max_pending_events and len(s.pending) > 1:
            b = s.pending.pop()
            s.pending_events -= len(b.events)

    def _result(
        self, key: Key, s: _Stream, ready: list[Batch], before: int, now: float
    ) -> Released:
        resend = None
        if s.pending:
            if s.gap_since is None:
                s.gap_since = now
            due = (
                s.last_request is None
                or s.last_request_at != s.watermark
                or now - s.last_request >= self.resend_interval_s
            )
            if self.confirming and due:
                resend = s.watermark
                s.last_request, s.last_request_at = now, s.watermark
        else:
            s.gap_since = None
        return Released(key, tuple(ready), s.watermark, s.watermark > before, resend)

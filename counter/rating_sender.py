"""Delivers the evaluator's stored ratings to the queue engine until each is acknowledged.

Runs on its own thread (no Qt), so it works the same in the evaluator app and
in a bare process.  Pending ratings are sent oldest first, at start-up too
(what a crash left behind), and again after any failure: a lost link, a
timeout, a broker restart.  The engine records each ``rating_id`` once and
answers a repeat with ``duplicate``, so a resend after a lost answer cannot
count a rating twice.  A rating the engine refuses for good (unknown ticket,
served elsewhere, malformed) is marked ``rejected`` and kept for the
technician instead of being retried forever.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from counter.ratings_store import Rating, RatingsStore, RatingsStoreError
from sync import topics
from sync.mqtt import LinkError, MqttLink

log = logging.getLogger(__name__)

PERMANENT = frozenset({"bad_request", "not_found", "invalid_state"})


class RatingSender:
    """``notify()`` after recording a rating; ``stop()`` at shutdown."""

    def __init__(
        self,
        store: RatingsStore,
        link: MqttLink,
        *,
        timeout_s: float = 5.0,
        retry_s: tuple[float, float] = (0.5, 10.0),
        idle_s: float = 5.0,
        now: Callable[[], str] | None = None,
        on_acked: Callable[[Rating, bool], None] | None = None,
    ) -> None:
        self.store = store
        self.link = link
        self.timeout_s = timeout_s
        self._retry_min, self._retry_max = retry_s
        self._idle_s = idle_s
        self._now = now or (lambda: datetime.now().astimezone().isoformat(timespec="seconds"))
        self.on_acked = on_acked  # (rating, duplicate), on the sender thread
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._topic = topics.command(link.hall_id, link.device_id)

    def start(self) -> RatingSender:
        self._thread = threading.Thread(target=self._run, name="rating-sender", daemon=True)
        self._thread.start()
        return self

    def notify(self) -> None:
        """A rating was recorded: send now rather than at the next poll."""
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.error("rating sender did not stop within %.1fs", timeout)
            self._thread = None

    def _run(self) -> None:
        delay = self._retry_min
        while not self._stopping.is_set():
            try:
                batch = self.store.pending()
            except RatingsStoreError:
                log.exception("cannot read pending ratings")
                self._stopping.wait(self._retry_max)
                continue
            if not batch:
                self._wake.wait(self._idle_s)
                self._wake.clear()
                continue
            if not self.link.connected.wait(min(1.0, self._idle_s)):
                continue
            if self._send_all(batch):
                delay = self._retry_min
            else:
                self._stopping.wait(delay)
                delay = min(delay * 2, self._retry_max)

    def _send_all(self, batch: list[Rating]) -> bool:
        """Send a batch in order; False at the first transient failure (retry later)."""
        for rating in batch:
            if self._stopping.is_set():
                return True
            try:
                answer = self.link.request(self._topic, rating.command(), timeout=self.timeout_s)
            except LinkError as exc:
                log.info("rating %s not delivered yet: %s", rating.rating_id, exc)
                self.store.mark_failed(rating.rating_id, str(exc), permanent=False)
                return False
            if isinstance(answer, dict) and answer.get("ok"):
                result = answer.get("result") or {}
                duplicate = bool(result.get("duplicate"))
                self.store.mark_acked(rating.rating_id, self._now())
                log.info(
                    "rating %s acknowledged%s",
                    rating.rating_id,
                    " (the engine had it already)" if duplicate else "",
                )
                if self.on_acked is not None:
                    try:
                        self.on_acked(rating, duplicate)
                    except Exception:
                        log.exception("on_acked callback failed")
                continue
            error = (answer.get("error") if isinstance(answer, dict) else None) or {}
            code = str(error.get("code", "bad_response"))
            permanent = code in PERMANENT
            log.log(
                logging.ERROR if permanent else logging.WARNING,
                "engine %s rating %s: %s %s",
                "rejected" if permanent else "did not take",
                rating.rating_id,
                code,
                error.get("message", ""),
            )
            self.store.mark_failed(
                rating.rating_id, f"{code}: {error.get('message', '')}", permanent=permanent
            )
            if not permanent:
                return False
        return True

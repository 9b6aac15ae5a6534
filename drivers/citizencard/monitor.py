"""``CardMonitor``: watch readers and cards, read each inserted card once.

    monitor = CardMonitor(on_card=show, on_error=complain, on_reader_change=update)
    monitor.start()
    ...
    monitor.stop()

One thread blocks in ``SCardGetStatusChange`` (bounded by ``poll``, woken by
``SCardCancel`` on stop) over the readers plus pcsc-lite's PnP pseudo reader,
so plugging a reader in or out is seen too.  A card is read once per
insertion: a new insertion is a card present now that was absent before, or
whose pcsc-lite event counter moved (pulled and re-inserted between polls).

Callbacks run on the monitor thread; a Qt app forwards them to its GUI thread
(e.g. through a signal).  An exception raised by a callback is logged and
does not stop the monitor.  When pcscd is down the monitor reports
``NoReader`` once and keeps retrying every ``retry_interval`` seconds.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from smartcard import scard

from drivers.citizencard.apdu import CitizenCard
from drivers.citizencard.errors import CitizenCardError, NoReader
from drivers.citizencard.pcsc import CHECK_PCSCD, PNP_NOTIFICATION, Context, ReaderState
from drivers.citizencard.reader import match_readers, read_from

log = logging.getLogger(__name__)

OnCard = Callable[[CitizenCard], object]
OnError = Callable[[CitizenCardError], object]
OnReaderChange = Callable[[list[str]], object]
OnRemoved = Callable[[str], object]

# Unexpected PC/SC failures of the watch loop reach on_error after this many in a row.
REPORT_AFTER_FAILURES = 3


class CardMonitor:
    """Calls ``on_card`` once per inserted citizen card, ``on_error`` when a read fails."""

    def __init__(
        self,
        on_card: OnCard,
        on_error: OnError | None = None,
        on_reader_change: OnReaderChange | None = None,
        *,
        on_removed: OnRemoved | None = None,
        reader_name: str | None = None,
        poll: float = 1.0,
        retry_interval: float = 2.0,
    ) -> None:
        self.on_card = on_card
        self.on_error = on_error
        self.on_reader_change = on_reader_change
        self.on_removed = on_removed
        self.reader_name = reader_name
        self.poll = poll
        self.retry_interval = retry_interval
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._ctx: Context | None = None
        self._thread: threading.Thread | None = None
        self._readers: list[str] | None = None
        self._outage_reported = False
        self._failures = 0

    # -- lifecycle ----------------------------------------------------------

    def start(self) -> CardMonitor:
        if self._thread is not None:
            raise RuntimeError("card monitor already started")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="citizencard-monitor", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        with self._lock:
            if self._ctx is not None:
                self._ctx.cancel()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise TimeoutError(f"card monitor did not stop within {timeout}s")
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> CardMonitor:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the thread ---------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                ctx = Context()
            except NoReader as exc:
                self._report_outage(exc)
                self._stop.wait(self.retry_interval)
                continue
            with self._lock:
                self._ctx = ctx
            try:
                self._watch(ctx)
            except NoReader as exc:  # pcscd stopped under us
                self._report_outage(exc)
                self._stop.wait(self.retry_interval)
            except CitizenCardError as exc:
                # e.g. "Access denied" from a pcscd that is shutting down: retry
                # first (the next connect then reports NoReader), and bother the
                # app only when the failure persists.
                self._failures += 1
                log.warning("card monitor: %s (failure %d)", exc, self._failures)
                if self._failures == REPORT_AFTER_FAILURES:
                    self._emit(self.on_error, exc)
                self._stop.wait(self.retry_interval)
            finally:
                with self._lock:
                    self._ctx = None
                ctx.release()

    def _report_outage(self, exc: NoReader) -> None:
        if not self._outage_reported:
            self._outage_reported = True
            log.error("card monitor: %s", exc)
            self._set_readers([])
            self._emit(self.on_error, exc)

    def _set_readers(self, readers: list[str]) -> None:
        if readers != self._readers:
            self._readers = list(readers)
            log.info("card readers: %s", ", ".join(readers) or "none")
            self._emit(self.on_reader_change, list(readers))

    def _watch(self, ctx: Context) -> None:
        """Until stopped or pcscd goes away: wait for changes, read new cards."""
        self._outage_reported = False
        previous: dict[str, ReaderState] = {}
        pnp_state = scard.SCARD_STATE_UNAWARE
        readers = self._relist(ctx)
        while not self._stop.is_set():
            states = [
                (r, previous[r].event_state if r in previous else scard.SCARD_STATE_UNAWARE)
                for r in readers
            ]
            states.append((PNP_NOTIFICATION, pnp_state))
            new = ctx.status_change(states, self.poll)
            self._failures = 0
            if new is None:
                continue
            relist = False
            for state in new:
                if state.reader == PNP_NOTIFICATION:
                    if state.event_state & scard.SCARD_STATE_CHANGED and (
                        pnp_state != scard.SCARD_STATE_UNAWARE
                    ):
                        relist = True
                    pnp_state = state.event_state & ~scard.SCARD_STATE_CHANGED
                    continue
                if state.event_state & (scard.SCARD_STATE_UNKNOWN | scard.SCARD_STATE_IGNORE):
                    relist = True  # reader unplugged
                    continue
                self._on_state(ctx, previous.get(state.reader), state)
                previous[state.reader] = state
            if relist:
                readers = self._relist(ctx)
                previous = {r: s for r, s in previous.items() if r in readers}

    def _relist(self, ctx: Context) -> list[str]:
        readers = match_readers(ctx.readers(), self.reader_name)
        self._set_readers(readers)
        if not readers:
            which = "" if self.reader_name is None else f" matching {self.reader_name!r}"
            error = NoReader(
                f"no card reader{which} is attached; {CHECK_PCSCD}", reader=self.reader_name
            )
            self._emit(self.on_error, error)
        return readers

    def _on_state(self, ctx: Context, before: ReaderState | None, now: ReaderState) -> None:
        was_in = before is not None and before.inserted
        if now.inserted and (not was_in or (before is not None and now.counter != before.counter)):
            log.info("card inserted in %r", now.reader)
            try:
                card = read_from(ctx, now.reader)
            except CitizenCardError as exc:
                log.warning("card in %r not read: %s", now.reader, exc)
                self._emit(self.on_error, exc)
            else:
                self._emit(self.on_card, card)
        elif was_in and not now.inserted:
            log.info("card removed from %r", now.reader)
            if self.on_removed is not None:
                self._emit(self.on_removed, now.reader)

    def _emit(self, callback: Callable[..., object] | None, value: object) -> None:
        if callback is None:
            return
        try:
            callback(value)
        except Exception:
            log.exception("card monitor callback %r failed", callback)

"""Watch the reader for cards: one swipe, one read; survive a pulled cable.

The kiosk runs one :class:`CardPoller` per reader.  Its thread owns the
:class:`~drivers.idcard.reader.SamReader` (nothing else may use it while the
poller runs) and calls back from that thread::

    poller = CardPoller(SamReader("/dev/hall-idcard"), on_card=..., on_error=...)
    poller.start()
    ...
    poller.stop()

A card left on the reader is read once; it is read again only after the
reader has reported "no card" ``removal_polls`` times in a row.  Link trouble
(cable pulled, reader silent, garbage) is reported once through ``on_error``;
the poller then closes the port and re-opens it with exponential backoff,
calling ``on_connect`` when the reader is back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from drivers.idcard.card import IdCard
from drivers.idcard.errors import (
    CardReadFailed,
    IdCardError,
    InvalidCard,
    NoCard,
    ProtocolError,
    ReaderDisconnected,
    ReaderNotFound,
    ReaderTimeout,
)
from drivers.idcard.reader import SamReader

log = logging.getLogger(__name__)

# poll_once() outcomes
WAITING = "waiting"  # port closed, next re-open not due yet
OFFLINE = "offline"  # re-opening the port failed
NO_CARD = "no_card"
CARD_HELD = "card_held"  # the card already read is still on the reader
CARD = "card"  # a card was read and on_card called
READ_ERROR = "read_error"  # a card is there but could not be read; on_error called
LINK_ERROR = "link_error"  # the reader went away or stopped making sense; on_error called


class CardPoller:
    def __init__(
        self,
        reader: SamReader,
        *,
        on_card: Callable[[IdCard], None],
        on_error: Callable[[IdCardError], None],
        on_connect: Callable[[], None] | None = None,
        interval: float = 0.3,
        removal_polls: int = 2,
        backoff: tuple[float, float] = (0.5, 5.0),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.reader = reader
        self._on_card = on_card
        self._on_error = on_error
        self._on_connect = on_connect
        self.interval = interval
        self.removal_polls = max(1, removal_polls)
        self._backoff_initial, self._backoff_max = backoff
        self._backoff = self._backoff_initial
        self._clock = clock
        self._next_open = float("-inf")
        self._card_present = False  # a card was handled and has not left since
        self._absent = 0
        self._link_error: type[IdCardError] | None = None  # last link error reported
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def connected(self) -> bool:
        return self.reader.is_open

    @property
    def card_present(self) -> bool:
        """True while a card that was already handled is still on the reader."""
        return self._card_present

    # -- one step (the thread's loop body; tests drive it directly too) --------

    def poll_once(self) -> str:
        if not self.reader.is_open:
            now = self._clock()
            if now < self._next_open:
                return WAITING
            try:
                self.reader.open()
            except ReaderNotFound as exc:
                self._next_open = now + self._backoff
                self._backoff = min(self._backoff * 2, self._backoff_max)
                self._report_link(exc)
                return OFFLINE
            self._backoff = self._backoff_initial
            self._link_error = None
            if self._on_connect is not None:
                self._call(self._on_connect)
        try:
            if not self.reader.find_card():
                self._absent += 1
                if self._absent >= self.removal_polls:
                    self._card_present = False
                self._link_error = None
                return NO_CARD
            self._absent = 0
            self._link_error = None
            if self._card_present:
                return CARD_HELD
            try:
                card = self.reader.read_card(find=False)
            except NoCard:  # lifted between find and read
                return NO_CARD
            except (CardReadFailed, InvalidCard) as exc:
                self._card_present = True  # report once; the citizen lifts and retries
                self._call(self._on_error, exc)
                return READ_ERROR
            self._card_present = True
            self._call(self._on_card, card)
            return CARD
        except (ReaderDisconnected, ReaderTimeout, ProtocolError) as exc:
            self.reader.close()
            self._next_open = self._clock() + self._backoff
            self._report_link(exc)
            return LINK_ERROR

    def _report_link(self, exc: IdCardError) -> None:
        if type(exc) is self._link_error:
            log.debug("ID card reader still failing: %s", exc)
            return
        self._link_error = type(exc)
        log.warning("%s", exc)
        self._call(self._on_error, exc)

    def _call(self, callback: Callable[..., Any], *args: Any) -> None:
        try:
            callback(*args)
        except Exception:
            log.exception("ID card poller callback %r failed", callback)

    # -- thread ---------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="idcard-poller", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop polling and close the port; False if the thread did not end in time."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                log.warning("ID card poller did not stop within %.1f s", timeout)
                return False
        self.reader.close()
        return True

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:  # a bug in one step must not end card reading at the kiosk
                log.exception("ID card poller step failed")
            self._stop.wait(self.interval)
        self.reader.close()

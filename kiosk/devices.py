"""The kiosk's input devices, carried to the GUI thread.

The drivers call back on their own threads (the ID-card poller, the PC/SC
monitor, the scanner's reader).  :class:`DeviceBridge` turns each callback
into a Qt signal; the window's slots run on the GUI thread.  A card object
travels through exactly one queued signal and is turned into an
``Identity`` there; nothing keeps it.

:class:`KioskDevices` starts and stops whichever devices are configured:
a missing reader is reported to staff (health) and the kiosk goes on
without it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hall.ui.qt import QObject, Signal
from kiosk.health import HealthBoard

if TYPE_CHECKING:
    from drivers.citizencard import CardMonitor
    from drivers.idcard import CardPoller
    from drivers.keys import KeyDevice

log = logging.getLogger(__name__)


class DeviceBridge(QObject):
    """Signals the window listens to; emit them from any thread."""

    id_card = Signal(object)  # drivers.idcard.IdCard
    citizen_card = Signal(object)  # drivers.citizencard.CitizenCard
    card_error = Signal(str, str)  # (refusal code, English detail)
    scanned = Signal(str)  # text from the barcode scanner (keyboard wedge)


@dataclass
class DeviceSpecs:
    idcard_port: str | None = None  # e.g. /dev/hall-idcard
    citizencard_reader: str | None = None  # "" = any PC/SC reader, None = none
    scanner: str | None = None  # KeyDevice spec, e.g. by-id:...-event-kbd
    idcard_interval: float = 0.3
    scanner_opener: Any = None  # tests: a SimulatedKeyboard's open


class KioskDevices:
    def __init__(self, bridge: DeviceBridge, health: HealthBoard, specs: DeviceSpecs) -> None:
        self.bridge = bridge
        self.health = health
        self.specs = specs
        self.poller: CardPoller | None = None
        self.monitor: CardMonitor | None = None
        self.scanner: KeyDevice | None = None

    # -- ID card (SAM on serial) ------------------------------------------------

    def _id_card_error(self, exc: Exception) -> None:
        from drivers.idcard import CardReadFailed, InvalidCard

        if isinstance(exc, CardReadFailed):
            self.bridge.card_error.emit("card_unreadable", str(exc))
        elif isinstance(exc, InvalidCard):
            self.bridge.card_error.emit("card_invalid", str(exc))
        else:  # the reader itself: staff business
            self.health.report("idcard", "offline", str(exc))

    def _id_card(self, card: Any) -> None:
        self.health.report("idcard", "ok")
        self.bridge.id_card.emit(card)

    # -- citizen card (PC/SC) --------------------------------------------------------

    def _citizen_error(self, exc: Exception) -> None:
        from drivers.citizencard import NoReader, PinRequired, WrongCard

        if isinstance(exc, NoReader):
            self.health.report("citizencard", "offline", str(exc))
        elif isinstance(exc, PinRequired):
            self.bridge.card_error.emit("card_pin", str(exc))
        elif isinstance(exc, WrongCard):
            self.bridge.card_error.emit("card_invalid", str(exc))
        else:
            self.bridge.card_error.emit("card_unreadable", str(exc))

    def _citizen_readers(self, readers: list[str]) -> None:
        self.health.report(
            "citizencard",
            "ok" if readers else "offline",
            "" if readers else "no PC/SC reader attached",
        )

    # -- scanner ------------------------------------------------------------------------

    def _scanner_status(self, status: str) -> None:
        state = {"connected": "ok", "disconnected": "offline"}.get(status)
        if state:
            self.health.report("scanner", state)

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        s = self.specs
        if s.idcard_port:
            from drivers.idcard import CardPoller, SamReader

            self.health.report("idcard", "starting")
            self.poller = CardPoller(
                SamReader(s.idcard_port),
                on_card=self._id_card,
                on_error=self._id_card_error,
                on_connect=lambda: self.health.report("idcard", "ok"),
                interval=s.idcard_interval,
            )
            self.poller.start()
        if s.citizencard_reader is not None:
            from drivers.citizencard import CardMonitor

            self.health.report("citizencard", "starting")
            self.monitor = CardMonitor(
                on_card=self.bridge.citizen_card.emit,
                on_error=self._citizen_error,
                on_reader_change=self._citizen_readers,
                reader_name=s.citizencard_reader or None,
                poll=0.5,
            )
            self.monitor.start()
        if s.scanner:
            from drivers.keys import KeyDevice, WedgeAssembler

            kwargs: dict[str, Any] = {}
            if s.scanner_opener is not None:
                kwargs["opener"] = s.scanner_opener
            self.scanner = KeyDevice(
                s.scanner,
                WedgeAssembler(),
                on_code=self.bridge.scanned.emit,
                on_status=self._scanner_status,
                **kwargs,
            )
            self.scanner.start()

    def stop(self) -> None:
        stops: list[tuple[str, Callable[[], object]]] = []
        if self.scanner is not None:
            stops.append(("scanner", self.scanner.stop))
        if self.monitor is not None:
            stops.append(("citizen card monitor", self.monitor.stop))
        if self.poller is not None:
            stops.append(("ID card poller", self.poller.stop))
        for name, stop in stops:
            try:
                stop()
            except Exception:
                log.exception("stopping the %s failed", name)
        self.scanner = self.monitor = self.poller = None

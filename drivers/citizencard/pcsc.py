"""Thin PC/SC layer over pyscard's ``smartcard.scard``: contexts, states, transmit.

Every PC/SC result code is turned into one of the driver's named errors here,
so the reader and the monitor above only see ``NoReader`` / ``NoCard`` /
``CardReadFailed``.  All waits are bounded (``SCardGetStatusChange`` takes a
timeout in milliseconds, and :meth:`Context.cancel` wakes it from another
thread).

Which pcscd: libpcsclite talks to the socket named by ``PCSCLITE_CSOCK_NAME``,
else ``/run/pcscd/pcscd.comm`` (the system's pcscd).  It reads the variable
once, at the process's first ``SCardEstablishContext``, and keeps that socket
for the life of the process; :func:`client_socket` says which one it is and
:func:`use_socket` sets it (tests point it at a private pcscd that way).
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path

from smartcard import scard

from drivers.citizencard.errors import CardReadFailed, CitizenCardError, NoCard, NoReader

log = logging.getLogger(__name__)

# pcsc-lite's pseudo reader whose state changes when a reader is plugged or unplugged.
PNP_NOTIFICATION = "\\\\?PnP?\\Notification"

CHECK_PCSCD = (
    "check that pcscd is running (`systemctl status pcscd`, or `pcscd --foreground` by hand)"
    " and the reader's USB cable"
)

# F_COMM_ERROR: the socket to pcscd broke (pcscd stopped or crashed).
_SERVICE_DOWN = {scard.SCARD_E_NO_SERVICE, scard.SCARD_E_SERVICE_STOPPED, scard.SCARD_F_COMM_ERROR}
_READER_GONE = {
    scard.SCARD_E_UNKNOWN_READER,
    scard.SCARD_E_READER_UNAVAILABLE,
    scard.SCARD_E_NO_READERS_AVAILABLE,
}
_NO_CARD = {scard.SCARD_E_NO_SMARTCARD, scard.SCARD_W_REMOVED_CARD}

DEFAULT_SOCKET = Path("/run/pcscd/pcscd.comm")  # pcsc-lite's compiled-in IPC socket
SOCKET_ENV = "PCSCLITE_CSOCK_NAME"  # libpcsclite's override of it (clients only)

_socket_in_use: Path | None = None  # fixed at this process's first Context


def _socket_from_env() -> Path:
    value = os.environ.get(SOCKET_ENV)
    return Path(value) if value else DEFAULT_SOCKET


def client_socket() -> Path:
    """The pcscd socket this process's PC/SC calls go to.

    Before the first :class:`Context` that is what ``PCSCLITE_CSOCK_NAME``
    says now; after it, the socket libpcsclite picked then (it does not look
    at the variable again, so a later change reaches only child processes).
    """
    return _socket_in_use if _socket_in_use is not None else _socket_from_env()


def use_socket(path: Path) -> None:
    """Send this process's PC/SC calls, and its children's, to the pcscd on ``path``.

    Sets ``PCSCLITE_CSOCK_NAME``.  Raises ``RuntimeError`` once a context went
    to another socket: libpcsclite would ignore the change.
    """
    if _socket_in_use is not None and _socket_in_use != path:
        raise RuntimeError(
            f"PC/SC calls of this process already go to {_socket_in_use}; "
            f"call use_socket({str(path)!r}) before the first Context"
        )
    os.environ[SOCKET_ENV] = str(path)


def _u32(hresult: int) -> int:
    return hresult & 0xFFFFFFFF


def error_text(hresult: int) -> str:
    return f"{scard.SCardGetErrorMessage(hresult)} (0x{_u32(hresult):08X})"


def pcsc_error(hresult: int, action: str, reader: str | None = None) -> CitizenCardError:
    """The named error for a failed PC/SC call."""
    code = _u32(hresult)
    where = f" on reader {reader!r}" if reader else ""
    text = f"{action}{where}: {error_text(hresult)}"
    if code in _SERVICE_DOWN:
        return NoReader(f"{text}; {CHECK_PCSCD}", reader=reader)
    if code in _READER_GONE:
        return NoReader(f"{text}; {CHECK_PCSCD}", reader=reader)
    if code in _NO_CARD:
        return NoCard(text, reader=reader)
    if code in (scard.SCARD_W_UNRESPONSIVE_CARD, scard.SCARD_W_UNPOWERED_CARD):
        return CardReadFailed(
            f"{text}; the card does not answer: is it inserted chip first, face up?",
            reader=reader,
        )
    if code == scard.SCARD_E_SHARING_VIOLATION:
        return CardReadFailed(f"{text}; another program holds the reader", reader=reader)
    return CardReadFailed(text, reader=reader)


@dataclass(frozen=True)
class ReaderState:
    """One reader's state as ``SCardGetStatusChange`` reports it."""

    reader: str
    event_state: int
    atr: bytes

    @property
    def inserted(self) -> bool:
        """A card is in the reader (it may still be mute)."""
        return bool(self.event_state & scard.SCARD_STATE_PRESENT)

    @property
    def mute(self) -> bool:
        return bool(self.event_state & scard.SCARD_STATE_MUTE)

    @property
    def counter(self) -> int:
        """pcsc-lite's card event counter (upper 16 bits): changes on insert and removal."""
        return (self.event_state >> 16) & 0xFFFF


class Context:
    """An ``SCARDCONTEXT``; use as a context manager."""

    def __init__(self) -> None:
        global _socket_in_use
        if _socket_in_use is None:
            _socket_in_use = _socket_from_env()  # what libpcsclite reads now, for good
        hresult, handle = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        if hresult != scard.SCARD_S_SUCCESS:
            raise pcsc_error(hresult, "cannot reach pcscd (SCardEstablishContext)")
        self._handle = handle
        self._released = False

    def __enter__(self) -> Context:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def release(self) -> None:
        if not self._released:
            self._released = True
            hresult = scard.SCardReleaseContext(self._handle)
            if hresult != scard.SCARD_S_SUCCESS:
                log.debug("SCardReleaseContext: %s", error_text(hresult))

    def cancel(self) -> None:
        """Wake a blocked :meth:`status_change` (callable from another thread)."""
        if not self._released:
            scard.SCardCancel(self._handle)

    def readers(self) -> list[str]:
        """Reader names; ``[]`` when pcscd runs but no reader is attached."""
        hresult, readers = scard.SCardListReaders(self._handle, [])
        if _u32(hresult) == scard.SCARD_E_NO_READERS_AVAILABLE:
            return []
        if hresult != scard.SCARD_S_SUCCESS:
            raise pcsc_error(hresult, "cannot list readers (SCardListReaders)")
        return list(readers)

    def status_change(
        self, states: list[tuple[str, int]], timeout: float
    ) -> list[ReaderState] | None:
        """Wait up to ``timeout`` s for a change from ``states``; None on timeout or cancel."""
        ms = max(0, min(math.ceil(timeout * 1000), 0x7FFFFFFF))
        hresult, new = scard.SCardGetStatusChange(self._handle, ms, states)
        code = _u32(hresult)
        if code in (scard.SCARD_E_TIMEOUT, scard.SCARD_E_CANCELLED):
            return None
        if hresult != scard.SCARD_S_SUCCESS:
            raise pcsc_error(hresult, "SCardGetStatusChange")
        return [ReaderState(r, int(ev), bytes(atr)) for r, ev, atr in new]

    def connect(self, reader: str) -> Card:
        hresult, hcard, protocol = scard.SCardConnect(
            self._handle,
            reader,
            scard.SCARD_SHARE_SHARED,
            scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1,
        )
        if hresult != scard.SCARD_S_SUCCESS:
            raise pcsc_error(hresult, "cannot connect to the card (SCardConnect)", reader)
        return Card(reader, hcard, protocol)


class Card:
    """A connected card; ``transmit`` sends one APDU and returns the response APDU."""

    def __init__(self, reader: str, handle: int, protocol: int) -> None:
        self.reader = reader
        self._handle = handle
        t1 = protocol == scard.SCARD_PROTOCOL_T1
        self._pci = scard.SCARD_PCI_T1 if t1 else scard.SCARD_PCI_T0
        self._open = True

    def __enter__(self) -> Card:
        return self

    def __exit__(self, *exc: object) -> None:
        self.disconnect()

    def transmit(self, command: bytes) -> bytes:
        hresult, response = scard.SCardTransmit(self._handle, self._pci, list(command))
        if hresult != scard.SCARD_S_SUCCESS:
            error = pcsc_error(hresult, f"SCardTransmit {command[:4].hex(' ')}", self.reader)
            if isinstance(error, NoCard):  # pulled out in the middle of the read
                raise CardReadFailed(f"card removed during the read: {error}", reader=self.reader)
            raise error
        return bytes(response)

    def disconnect(self) -> None:
        if self._open:
            self._open = False
            hresult = scard.SCardDisconnect(self._handle, scard.SCARD_LEAVE_CARD)
            if hresult != scard.SCARD_S_SUCCESS:
                log.debug("SCardDisconnect: %s", error_text(hresult))

"""SAM reader session over a serial port: find -> select -> read, with timeouts.

Layers: pyserial transport (the only code here that touches ``/dev``) ->
:class:`~drivers.idcard.codec.FrameDecoder` -> one request / one reply with a
deadline and retries -> the card session.  Every wait is bounded: a command
waits at most its timeout per attempt and is sent at most ``retries + 1`` times.

One thread owns a ``SamReader``; :class:`~drivers.idcard.poller.CardPoller` is
that thread on the kiosk.
"""

from __future__ import annotations

import dataclasses
import errno
import logging
import os
import termios
import time
from typing import TYPE_CHECKING

from drivers.idcard import codec
from drivers.idcard.card import IdCard, parse_read_data
from drivers.idcard.codec import Command, FrameDecoder, ReaderFrame, Status
from drivers.idcard.errors import (
    CardReadFailed,
    FrameError,
    IdCardError,
    NoCard,
    ProtocolError,
    ReaderDisconnected,
    ReaderNotFound,
    ReaderTimeout,
)
from drivers.idcard.wlt import WltDecoder, load_decoder
from hall.core.privacy import mask_id

if TYPE_CHECKING:
    import serial

log = logging.getLogger(__name__)

DEFAULT_PORT = "/dev/hall-idcard"  # the udev rule's stable name
DEFAULT_BAUD = 115200
_POLL_READ = 0.02  # pyserial read timeout: how often a waiting reply checks its deadline


class SamReader:
    """A GA 467 SAM module on a serial port.

    ``timeout`` bounds the reply to each short command (status, find, select);
    ``read_timeout`` the slow card read.  Transient trouble (no reply, a
    damaged reply, the reader saying our frame was damaged) is retried
    ``retries`` times before the error is raised.
    """

    def __init__(
        self,
        port: str = DEFAULT_PORT,
        baud: int = DEFAULT_BAUD,
        timeout: float = 1.0,
        *,
        read_timeout: float = 3.0,
        retries: int = 2,
        fingerprint: bool = False,
        wlt_lib: str | os.PathLike[str] | None = None,
        wlt_decoder: WltDecoder | None = None,
    ) -> None:
        self.port = str(port)
        self.baud = baud
        self.timeout = timeout
        self.read_timeout = read_timeout
        self.retries = retries
        self.fingerprint = fingerprint
        self._decoder = wlt_decoder or load_decoder(wlt_lib)
        self._serial: serial.Serial | None = None

    # -- transport ------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self._serial is not None

    def open(self) -> None:
        """Open the port (idempotent); :class:`ReaderNotFound` says why it failed."""
        if self._serial is not None:
            return
        import serial

        try:
            self._serial = serial.Serial(
                self.port,
                self.baud,
                bytesize=serial.EIGHTBITS,
                parity=serial.PARITY_NONE,
                stopbits=serial.STOPBITS_ONE,
                timeout=_POLL_READ,
                write_timeout=self.timeout,
                exclusive=True,
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            raise ReaderNotFound(self.port, _open_reason(exc)) from exc
        log.info("ID card reader port %s open at %d baud", self.port, self.baud)

    def close(self) -> None:
        port, self._serial = self._serial, None
        if port is not None:
            try:
                port.close()
            except (OSError, termios.error) as exc:  # closing a vanished device
                log.debug("closing %s: %s", self.port, exc)

    def __enter__(self) -> SamReader:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _lost(self, exc: BaseException) -> ReaderDisconnected:
        self.close()
        log.warning("ID card reader on %s lost: %s", self.port, exc)
        return ReaderDisconnected(self.port, _describe(exc))

    # -- request / reply --------------------------------------------------------

    def transact(
        self, command: Command, data: bytes = b"", *, timeout: float | None = None
    ) -> ReaderFrame:
        """Send one command and return the reader's reply frame (any status)."""
        import serial

        self.open()
        wire = command.frame(data).to_bytes()
        wait = timeout if timeout is not None else self._timeout_for(command)
        last: IdCardError | None = None
        port = self._serial
        assert port is not None
        for attempt in range(self.retries + 1):
            try:
                port.reset_input_buffer()  # a late reply to an earlier attempt is stale
                port.write(wire)
            except (serial.SerialException, OSError, termios.error) as exc:
                raise self._lost(exc) from exc
            try:
                reply = self._await_reply(port, command, wait)
            except (ReaderTimeout, FrameError) as exc:
                last = exc
                log.info("%s attempt %d/%d: %s", command.name, attempt + 1, self.retries + 1, exc)
                continue
            if reply.sw3 in (codec.SW_CHECKSUM_ERROR, codec.SW_LENGTH_ERROR):
                last = ProtocolError(
                    f"reader on {self.port} rejected our '{command.name}' frame: "
                    f"{reply.status.meaning}",
                    port=self.port,
                )
                log.info("%s attempt %d/%d: %s", command.name, attempt + 1, self.retries + 1, last)
                continue
            return reply
        assert last is not None
        if isinstance(last, FrameError):
            last.port = self.port
        raise last

    def _timeout_for(self, command: Command) -> float:
        return self.read_timeout if command in (codec.READ, codec.READ_FP) else self.timeout

    def _await_reply(self, port: serial.Serial, command: Command, timeout: float) -> ReaderFrame:
        import serial

        decoder = FrameDecoder(ReaderFrame)
        deadline = time.monotonic() + timeout
        while True:
            if time.monotonic() >= deadline:
                raise ReaderTimeout(self.port, command.name, timeout)
            try:
                chunk = port.read(max(1, port.in_waiting))
            except (serial.SerialException, OSError, termios.error) as exc:
                raise self._lost(exc) from exc
            if not chunk:
                continue
            error: FrameError | None = None
            for event in decoder.events(chunk):
                if isinstance(event, ReaderFrame):
                    return event
                error = event
            if error is not None:  # damaged reply and nothing intact behind it: ask again
                raise error

    # -- SAM commands -------------------------------------------------------------

    def reset(self) -> None:
        """Reset the SAM module."""
        self._expect(self.transact(codec.RESET), codec.RESET, codec.SW_OK)

    def status(self) -> Status:
        """SAM self-check; raises unless the module reports OK."""
        reply = self.transact(codec.STATUS)
        self._expect(reply, codec.STATUS, codec.SW_OK)
        return reply.status

    def sam_id(self) -> str:
        """The SAM's id as vendor tools print it, e.g. ``05.01-20200101-0000012345-0000067890``."""
        reply = self.transact(codec.SAM_ID)
        self._expect(reply, codec.SAM_ID, codec.SW_OK)
        return format_sam_id(reply.data, port=self.port)

    def find_card(self) -> bool:
        """True if a card is in the field (SW3 9F), False on "no card" (80)."""
        reply = self.transact(codec.FIND)
        if reply.sw3 == codec.SW_NO_CARD:
            return False
        self._expect(reply, codec.FIND, codec.SW_FIND_OK)
        return True

    def select_card(self) -> None:
        self._expect(self.transact(codec.SELECT), codec.SELECT, codec.SW_OK)

    def read_card(self, *, find: bool = True) -> IdCard:
        """Find, select and read the card on the reader.

        Raises :class:`NoCard` if there is none; :class:`CardReadFailed` if a
        card is there but cannot be read after ``retries`` further attempts;
        :class:`InvalidCard` if what was read is not a valid card.
        ``find=False`` skips the first find (the caller has just done it).
        """
        last: CardReadFailed | None = None
        for attempt in range(self.retries + 1):
            if (find or attempt) and not self.find_card():
                if last is not None:  # the card left while we retried
                    raise last
                raise NoCard(f"no card on the reader at {self.port}", port=self.port)
            try:
                self.select_card()
                return self._read_selected()
            except CardReadFailed as exc:
                last = exc
                log.info("card read attempt %d/%d failed: %s", attempt + 1, self.retries + 1, exc)
        assert last is not None
        raise last

    def _read_selected(self) -> IdCard:
        command = codec.READ_FP if self.fingerprint else codec.READ
        reply = self.transact(command)
        self._expect(reply, command, codec.SW_OK)
        card = parse_read_data(reply.data, with_fingerprint=self.fingerprint)
        if self._decoder is not None and card.photo_wlt:
            card = dataclasses.replace(card, photo=self._decoder.decode(card.photo_wlt))
        log.info(
            "ID card read on %s: type=%s id=%s", self.port, card.card_type, mask_id(card.id_number)
        )
        return card

    def _expect(self, reply: ReaderFrame, command: Command, ok: int) -> None:
        sw3 = reply.sw3
        if sw3 == ok:
            return
        what = f"'{command.name}' on {self.port}: SW3 {sw3:02X} ({reply.status.meaning})"
        if sw3 == codec.SW_NO_CARD:
            raise NoCard(f"no card: {what}", port=self.port)
        if sw3 in (codec.SW_SELECT_FAILED, codec.SW_READ_FAILED) or sw3 in codec.AUTH_ERRORS:
            raise CardReadFailed(f"card read failed: {what}", port=self.port, sw3=sw3)
        raise ProtocolError(f"unexpected reply to {what}", port=self.port)


def format_sam_id(data: bytes, *, port: str | None = None) -> str:
    """16 SAM id bytes -> ``AA.BB-CCCCCCCC-DDDDDDDDDD-EEEEEEEEEE`` (little-endian words)."""
    if len(data) < 16:
        raise ProtocolError(f"SAM id reply has {len(data)} bytes, expected 16", port=port)

    def u32(i: int) -> int:
        return int.from_bytes(data[i : i + 4], "little")

    return f"{data[0]:02d}.{data[2]:02d}-{u32(4)}-{u32(8):010d}-{u32(12):010d}"


def _describe(exc: BaseException) -> str:
    """``termios.error`` is ``(errno, text)``; say it like an ``OSError`` does."""
    if isinstance(exc, termios.error) and len(exc.args) == 2:
        return f"[Errno {exc.args[0]}] {exc.args[1]}"
    return str(exc) or type(exc).__name__


def _open_reason(exc: BaseException) -> str:
    code = getattr(exc, "errno", None)
    if code in (errno.EACCES, errno.EPERM):
        return "permission denied (add the user to group 'dialout')"
    if code in (errno.ENOENT, errno.ENODEV, errno.ENXIO):
        return "no such device (reader unplugged?)"
    if code in (errno.EBUSY, errno.EAGAIN):
        return "port busy (another program has it open)"
    return _describe(exc)

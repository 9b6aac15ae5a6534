"""A virtual social-security card for vsmartcard's vpcd reader.

vpcd (loaded by pcscd from ``/etc/reader.conf.d/vpcd``) listens on TCP 35963,
or on the port its reader configuration's ``DEVICENAME /dev/null:PORT`` says
(the tests' private pcscd has one of its own: ``VirtualCard(port=...)``);
the card is the *client*.  Every frame is a 2-byte big-endian length followed
by the data.  A 1-byte frame is a control: 0 power off, 1 power on, 2 reset,
4 get ATR (answered with the ATR); anything longer is a command APDU
(answered with the response APDU).  Closing the socket is pulling the card
out; connecting again is inserting it.  pcscd polls presence with GET ATR.

:class:`SsseApplet` is the card's file system and command logic (pure, bytes
in and out); :class:`VirtualCard` is the thread that carries it to vpcd.
The people on these cards are invented (张三, card numbers starting with T).
"""

from __future__ import annotations

import hashlib
import logging
import socket
import threading
from dataclasses import dataclass, field
from enum import StrEnum

from drivers.citizencard import apdu

log = logging.getLogger(__name__)

VPCD_HOST = "127.0.0.1"
VPCD_PORT = 35963

# T=0 card: TS=3B, T0=6C (TB1, TC1 present, 12 historical bytes), TB1=00, TC1=00.
DEFAULT_ATR = bytes.fromhex("3B6C0000") + b"HALL-SSC-SIM"

CTRL_POWER_OFF = 0
CTRL_POWER_ON = 1
CTRL_RESET = 2
CTRL_GET_ATR = 4

# A T=0 card with a small buffer hands its data out in pieces of this size.
GET_RESPONSE_CHUNK = 16


class Mode(StrEnum):
    """How the virtual card behaves."""

    NORMAL = "normal"
    PIN_REQUIRED = "pin_required"  # EF06 records answer 6982
    WRONG_CARD = "wrong_card"  # no SSSE application: SELECT answers 6A82
    GET_RESPONSE = "get_response"  # data only via 61xx + GET RESPONSE
    WRONG_LE = "wrong_le"  # unpadded records, strict Le: 6Cxx unless exact


@dataclass(frozen=True)
class CardContents:
    """What is personalised on the card (invented people only)."""

    name: str = "张三"
    ssn: str = "110101199001010015"
    card_number: str = "T00000001"
    region: str = "320100"
    atr: bytes = DEFAULT_ATR

    def __post_init__(self) -> None:
        if len(self.region) != 6 or not self.region.isdigit():
            raise ValueError(f"region must be 6 digits, got {self.region!r}")

    @property
    def card_identifier(self) -> bytes:
        """16 bytes: region (BCD) + ``D156000005`` + 8 bytes derived from the card number."""
        tail = hashlib.sha256(self.card_number.encode()).digest()[:8]
        return bytes.fromhex(self.region) + bytes.fromhex("D156000005") + tail

    def files(self, *, padded: bool = True) -> dict[int, dict[int, bytes]]:
        """EF -> record number -> TLV record bytes."""
        name = apdu.encode_name(self.name) if padded else self.name.encode("gbk")
        return {
            apdu.EF05: {
                0x01: apdu.encode_record(0x01, self.card_identifier),
                0x07: apdu.encode_record(0x07, self.card_number.encode("ascii")),
            },
            apdu.EF06: {
                0x08: apdu.encode_record(0x08, self.ssn.encode("ascii")),
                0x09: apdu.encode_record(0x09, name),
            },
        }


def _sw(value: int) -> bytes:
    return value.to_bytes(2, "big")


class SsseApplet:
    """The card's command logic: SELECT, READ RECORD, GET RESPONSE."""

    def __init__(self, contents: CardContents, mode: Mode = Mode.NORMAL) -> None:
        self.contents = contents
        self.mode = Mode(mode)
        self._files = contents.files(padded=self.mode is not Mode.WRONG_LE)
        self.reset()

    def reset(self) -> None:
        """Power on / reset: nothing selected, nothing pending."""
        self._app_selected = False
        self._current_ef: int | None = None
        self._pending = b""

    def process(self, command: bytes) -> bytes:
        if len(command) < 4:
            return _sw(apdu.SW_WRONG_LENGTH)
        cla, ins, p1, p2 = command[:4]
        if cla != 0x00:
            return _sw(0x6E00)
        if ins != apdu.INS_GET_RESPONSE:
            self._pending = b""
        if ins == apdu.INS_SELECT:
            return self._select(p1, command[4:])
        if ins == apdu.INS_READ_RECORD:
            return self._read_record(p1, p2, command[4:])
        if ins == apdu.INS_GET_RESPONSE:
            return self._get_response(command[4:])
        return _sw(0x6D00)

    def _select(self, p1: int, body: bytes) -> bytes:
        if not body or len(body) < 1 + body[0]:
            return _sw(apdu.SW_WRONG_LENGTH)
        data = body[1 : 1 + body[0]]
        if p1 == 0x04:
            if self.mode is Mode.WRONG_CARD or data != apdu.SSSE_AID:
                return _sw(apdu.SW_FILE_NOT_FOUND)
            self._app_selected, self._current_ef = True, None
            fci = bytes([0x6F, len(data) + 2, 0x84, len(data)]) + data
            return self._answer(fci)
        if p1 in (0x00, 0x02) and len(data) == 2:
            fid = int.from_bytes(data, "big")
            if not self._app_selected or fid not in self._files:
                return _sw(apdu.SW_FILE_NOT_FOUND)
            self._current_ef = fid
            return _sw(apdu.SW_OK)
        return _sw(0x6A86)

    def _read_record(self, number: int, p2: int, body: bytes) -> bytes:
        if p2 & 0x07 != apdu.P2_RECORD_NUMBER_IN_P1:
            return _sw(0x6A86)
        ef = self._current_ef
        if p2 >> 3:  # short file identifier: SFI 5 = EF05, SFI 6 = EF06
            ef = 0xEF00 | (p2 >> 3)
            if ef not in self._files or not self._app_selected:
                return _sw(apdu.SW_FILE_NOT_FOUND)
        if ef is None:
            return _sw(0x6986)
        if self.mode is Mode.PIN_REQUIRED and ef == apdu.EF06:
            return _sw(apdu.SW_SECURITY_NOT_SATISFIED)
        record = self._files[ef].get(number)
        if record is None:
            return _sw(apdu.SW_RECORD_NOT_FOUND)
        le = (body[0] or 256) if len(body) == 1 else None
        strict = self.mode is Mode.WRONG_LE
        if le is not None and (le < len(record) or (strict and le != len(record))):
            return _sw(0x6C00 | len(record))
        return self._answer(record)

    def _answer(self, data: bytes) -> bytes:
        if self.mode is Mode.GET_RESPONSE and data:
            self._pending = data
            return _sw(0x6100 | min(len(data), GET_RESPONSE_CHUNK))
        return data + _sw(apdu.SW_OK)

    def _get_response(self, body: bytes) -> bytes:
        if not self._pending:
            return _sw(0x6985)
        le = (body[0] or 256) if len(body) == 1 else 256
        if le > len(self._pending):
            return _sw(0x6C00 | len(self._pending))
        chunk, self._pending = self._pending[:le], self._pending[le:]
        if self._pending:
            return chunk + _sw(0x6100 | min(len(self._pending), GET_RESPONSE_CHUNK))
        return chunk + _sw(apdu.SW_OK)


@dataclass
class _Link:
    sock: socket.socket | None = None
    transcript: list[tuple[bytes, bytes]] = field(default_factory=list)


class VirtualCard:
    """A card in the vpcd reader: a thread that connects to vpcd and answers it.

    ``start()`` begins with the card inserted (unless ``inserted=False``); the
    thread keeps retrying while vpcd is not up yet.  ``remove()`` closes the
    socket, ``insert()`` connects again, optionally as a different card.
    ``transcript`` holds every (command, response) pair, for tests.
    """

    def __init__(
        self,
        contents: CardContents | None = None,
        *,
        mode: Mode | str = Mode.NORMAL,
        host: str = VPCD_HOST,
        port: int = VPCD_PORT,
        retry_interval: float = 0.2,
    ) -> None:
        self.host, self.port = host, port
        self.retry_interval = retry_interval
        self._contents = contents or CardContents()
        self._mode = Mode(mode)
        self._applet = SsseApplet(self._contents, self._mode)
        self._lock = threading.Lock()
        self._link = _Link()
        self._want_inserted = False
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._connected = threading.Event()
        self._disconnected = threading.Event()
        self._disconnected.set()
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------

    def start(self, *, inserted: bool = True) -> VirtualCard:
        if self._thread is not None:
            raise RuntimeError("virtual card already started")
        self._want_inserted = inserted
        self._thread = threading.Thread(target=self._run, name="vcard", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._want_inserted = False
        self._wake.set()
        self._close_socket()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise TimeoutError(f"virtual card thread did not stop within {timeout}s")
            self._thread = None

    def __enter__(self) -> VirtualCard:
        return self.start() if self._thread is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- card in / card out -------------------------------------------------

    def insert(
        self, contents: CardContents | None = None, *, mode: Mode | str | None = None
    ) -> None:
        """Put a card (this one, or another one) into the reader.

        Returns at once; pcscd notices the card at its next presence poll
        (vpcd is polled every 0.4 s).  Called while a card is in, it swaps
        the contents without a removal: use ``remove()`` first for that.
        """
        with self._lock:
            if contents is not None:
                self._contents = contents
            if mode is not None:
                self._mode = Mode(mode)
            self._applet = SsseApplet(self._contents, self._mode)
        self._want_inserted = True
        self._wake.set()

    def remove(self, timeout: float = 5.0) -> None:
        """Pull the card out: close the socket and wait until the thread has let go."""
        self._want_inserted = False
        self._wake.set()
        self._close_socket()
        if self._thread is not None and not self._disconnected.wait(timeout):
            raise TimeoutError(f"virtual card did not disconnect within {timeout}s")

    def wait_connected(self, timeout: float) -> bool:
        """True once the card's socket to vpcd is open."""
        return self._connected.wait(timeout)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def mode(self) -> Mode:
        return self._mode

    @property
    def contents(self) -> CardContents:
        return self._contents

    @property
    def transcript(self) -> list[tuple[bytes, bytes]]:
        """(command APDU, response APDU) pairs seen so far (controls excluded)."""
        with self._lock:
            return list(self._link.transcript)

    def clear_transcript(self) -> None:
        with self._lock:
            self._link.transcript.clear()

    # -- the thread ---------------------------------------------------------

    def _close_socket(self) -> None:
        with self._lock:
            sock = self._link.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError as exc:  # already closed by the peer
                log.debug("vcard socket shutdown: %s", exc)

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self._want_inserted:
                self._wake.wait(1.0)
                self._wake.clear()
                continue
            try:
                sock = socket.create_connection((self.host, self.port), timeout=2.0)
            except OSError as exc:
                log.debug("vpcd at %s:%d not reachable (%s), retrying", self.host, self.port, exc)
                self._stop.wait(self.retry_interval)
                continue
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._link.sock = sock
                self._applet.reset()
            self._disconnected.clear()
            self._connected.set()
            log.info("virtual card inserted (vpcd %s:%d)", self.host, self.port)
            try:
                if self._want_inserted:  # remove() may have raced the connect
                    self._serve(sock)
            except OSError as exc:
                log.info("virtual card link lost: %s", exc)
            finally:
                with self._lock:
                    self._link.sock = None
                sock.close()
                self._connected.clear()
                self._disconnected.set()
                log.info("virtual card removed")
            if self._want_inserted and not self._stop.is_set():
                self._stop.wait(self.retry_interval)  # vpcd went away: retry

    def _serve(self, sock: socket.socket) -> None:
        while True:
            header = _recv_exact(sock, 2)
            if header is None:
                return
            frame = _recv_exact(sock, int.from_bytes(header, "big"))
            if frame is None:
                return
            reply = self._handle(frame)
            if reply is not None:
                sock.sendall(len(reply).to_bytes(2, "big") + reply)

    def _handle(self, frame: bytes) -> bytes | None:
        with self._lock:
            applet = self._applet
            if len(frame) == 1:
                control = frame[0]
                if control == CTRL_GET_ATR:
                    return applet.contents.atr
                if control in (CTRL_POWER_ON, CTRL_RESET, CTRL_POWER_OFF):
                    applet.reset()
                    return None
                log.warning("vpcd sent unknown control byte %02X", control)
                return None
            response = applet.process(frame)
            self._link.transcript.append((frame, response))
            return response


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
        # vpcd writes the length and the data separately; acknowledging at
        # once keeps Nagle + delayed ACK from adding ~40 ms to every frame.
        _quickack(sock)
    return bytes(buf)


def _quickack(sock: socket.socket) -> None:
    quickack = getattr(socket, "TCP_QUICKACK", None)
    if quickack is not None:
        sock.setsockopt(socket.IPPROTO_TCP, quickack, 1)

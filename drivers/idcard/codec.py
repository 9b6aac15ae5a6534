"""GA 467 SAM framing: pure functions and frozen frames, bytes in, objects out.

Frame on the wire (docs/protocols/idcard.md, "Frame")::

    AA AA AA 96 69 | LEN (2, big-endian, unsigned) | payload | CHK

LEN counts everything after itself, CHK included.  CHK is the XOR of every
byte after the 5-byte preamble (LEN and payload), CHK excluded.  The host
sends ``CMD PARA [data]``; the reader answers ``SW1 SW2 SW3 [data]``.

Example, "find card" from the host::

    AA AA AA 96 69  00 03  20 01  22
    preamble        LEN=3  CMD    CHK = 00^03^20^01
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Generic, TypeVar

from drivers.idcard.errors import ChecksumError, FrameError, LengthError

PREAMBLE = bytes.fromhex("AAAAAA9669")
HEADER_SIZE = len(PREAMBLE) + 2
# The largest reply GA 467 defines is "read text+photo+fingerprint":
# 3 + 3*2 + 256 + 1024 + 1024 + 1 = 0x090A.  Anything much larger is noise.
MAX_LEN = 0x1000


def checksum(data: bytes) -> int:
    """XOR of ``data`` (LEN bytes + payload)."""
    value = 0
    for byte in data:
        value ^= byte
    return value


def encode(payload: bytes) -> bytes:
    """Wrap a payload in preamble, LEN and CHK."""
    length = len(payload) + 1
    if length > MAX_LEN:
        raise ValueError(f"payload of {len(payload)} bytes is too long for one frame")
    body = length.to_bytes(2, "big") + payload
    return PREAMBLE + body + bytes([checksum(body)])


def decode(raw: bytes, *, min_len: int = 2) -> bytes:
    """Check one complete frame and return its payload (between LEN and CHK)."""
    if not raw.startswith(PREAMBLE):
        raise FrameError("frame does not start with the preamble AA AA AA 96 69", _clip(raw))
    if len(raw) < HEADER_SIZE:
        raise LengthError("frame shorter than its header", _clip(raw))
    length = int.from_bytes(raw[5:7], "big")
    if not min_len <= length <= MAX_LEN or length != len(raw) - HEADER_SIZE:
        raise LengthError(
            f"LEN {length} does not fit a frame of {len(raw)} bytes (min {min_len})", _clip(raw)
        )
    expected = checksum(raw[5:-1])
    if expected != raw[-1]:
        raise ChecksumError(
            f"checksum {raw[-1]:02X} != expected {expected:02X} ({len(raw)} byte frame)",
            _clip(raw),
        )
    return raw[HEADER_SIZE:-1]


def _clip(raw: bytes) -> bytes:
    """Bytes for an error message: a read reply's body holds a person's data, so
    only the header, status words and checksum of a long frame are kept."""
    return raw if len(raw) <= 16 else raw[:10] + raw[-2:]


# --------------------------------------------------------------------------- frames


@dataclass(frozen=True)
class HostFrame:
    """Host -> reader: ``CMD PARA [data]``."""

    cmd: int
    para: int
    data: bytes = b""

    MIN_LEN: ClassVar[int] = 3  # CMD PARA CHK

    def __post_init__(self) -> None:
        if not (0 <= self.cmd <= 0xFF and 0 <= self.para <= 0xFF):
            raise ValueError(f"CMD/PARA must be bytes, got {self.cmd!r}/{self.para!r}")

    @property
    def payload(self) -> bytes:
        return bytes([self.cmd, self.para]) + self.data

    @property
    def command(self) -> Command | None:
        return COMMANDS_BY_CODE.get((self.cmd, self.para))

    def to_bytes(self) -> bytes:
        return encode(self.payload)

    @classmethod
    def from_payload(cls, payload: bytes) -> HostFrame:
        if len(payload) < 2:
            raise LengthError("host payload needs CMD and PARA", payload)
        return cls(payload[0], payload[1], bytes(payload[2:]))

    @classmethod
    def from_bytes(cls, raw: bytes) -> HostFrame:
        return cls.from_payload(decode(raw, min_len=cls.MIN_LEN))


@dataclass(frozen=True)
class ReaderFrame:
    """Reader -> host: ``SW1 SW2 SW3 [data]``; SW3 carries the status."""

    sw1: int
    sw2: int
    sw3: int
    data: bytes = b""

    MIN_LEN: ClassVar[int] = 4  # SW1 SW2 SW3 CHK

    def __post_init__(self) -> None:
        if not all(0 <= b <= 0xFF for b in (self.sw1, self.sw2, self.sw3)):
            raise ValueError("SW1/SW2/SW3 must be bytes")

    @property
    def payload(self) -> bytes:
        return bytes([self.sw1, self.sw2, self.sw3]) + self.data

    @property
    def status(self) -> Status:
        return status_for(self.sw3)

    def to_bytes(self) -> bytes:
        return encode(self.payload)

    @classmethod
    def from_payload(cls, payload: bytes) -> ReaderFrame:
        if len(payload) < 3:
            raise LengthError("reader payload needs SW1 SW2 SW3", payload)
        return cls(payload[0], payload[1], payload[2], bytes(payload[3:]))

    @classmethod
    def from_bytes(cls, raw: bytes) -> ReaderFrame:
        return cls.from_payload(decode(raw, min_len=cls.MIN_LEN))

    def __repr__(self) -> str:  # data may be a whole card: show its size only
        return (
            f"ReaderFrame(sw={self.sw1:02X} {self.sw2:02X} {self.sw3:02X} "
            f"{self.status.name}, data={len(self.data)} bytes)"
        )


# --------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class Command:
    """One host command: its code and what it does."""

    name: str
    cmd: int
    para: int
    description: str

    def frame(self, data: bytes = b"") -> HostFrame:
        return HostFrame(self.cmd, self.para, data)


COMMANDS: tuple[Command, ...] = (
    Command("reset", 0x10, 0xFF, "reset the SAM"),
    Command("status", 0x11, 0xFF, "SAM self-check"),
    Command("sam_id", 0x12, 0xFF, "read the SAM's id"),
    Command("find", 0x20, 0x01, "find a card in the field"),
    Command("select", 0x20, 0x02, "select the card found"),
    Command("read", 0x30, 0x01, "read text + photo"),
    Command("read_fp", 0x30, 0x10, "read text + photo + fingerprint"),
)
COMMANDS_BY_NAME: dict[str, Command] = {c.name: c for c in COMMANDS}
COMMANDS_BY_CODE: dict[tuple[int, int], Command] = {(c.cmd, c.para): c for c in COMMANDS}

RESET = COMMANDS_BY_NAME["reset"]
STATUS = COMMANDS_BY_NAME["status"]
SAM_ID = COMMANDS_BY_NAME["sam_id"]
FIND = COMMANDS_BY_NAME["find"]
SELECT = COMMANDS_BY_NAME["select"]
READ = COMMANDS_BY_NAME["read"]
READ_FP = COMMANDS_BY_NAME["read_fp"]


@dataclass(frozen=True)
class Status:
    """Meaning of an SW3 byte."""

    sw3: int
    name: str
    meaning: str

    @property
    def ok(self) -> bool:
        return self.sw3 in (SW_OK, SW_FIND_OK)


SW_OK = 0x90
SW_FIND_OK = 0x9F
SW_NO_CARD = 0x80
SW_SELECT_FAILED = 0x81
SW_READ_FAILED = 0x41
SW_CHECKSUM_ERROR = 0x10
SW_LENGTH_ERROR = 0x11
SW_COMMAND_ERROR = 0x21

STATUSES: dict[int, Status] = {
    s.sw3: s
    for s in (
        Status(SW_OK, "ok", "operation succeeded"),
        Status(SW_FIND_OK, "find_ok", "card found"),
        Status(SW_NO_CARD, "no_card", "no card in the field"),
        Status(SW_SELECT_FAILED, "select_failed", "selecting the card failed"),
        Status(SW_READ_FAILED, "read_failed", "reading the card failed"),
        Status(SW_CHECKSUM_ERROR, "checksum_error", "the reader got a frame with a bad checksum"),
        Status(SW_LENGTH_ERROR, "length_error", "the reader got a frame with a bad length"),
        Status(SW_COMMAND_ERROR, "command_error", "the reader does not know the command"),
        Status(0x31, "auth_error", "card failed to authenticate the SAM"),
        Status(0x32, "auth_error", "SAM failed to authenticate the card"),
        Status(0x33, "verify_error", "information verification failed"),
    )
}
AUTH_ERRORS = frozenset({0x31, 0x32, 0x33})


def status_for(sw3: int) -> Status:
    return STATUSES.get(sw3) or Status(sw3, "unknown", f"unknown status {sw3:02X}")


# --------------------------------------------------------------------------- stream

F = TypeVar("F", HostFrame, ReaderFrame)


class FrameDecoder(Generic[F]):
    """Cut frames out of a byte stream fed in arbitrary chunks.

    Bytes before a preamble are skipped (counted in ``skipped``).  A frame
    with an impossible LEN or a bad checksum raises :class:`LengthError` /
    :class:`ChecksumError` from :meth:`pop`; the decoder has already moved one
    byte past that frame's preamble, so the next :meth:`pop` resynchronises on
    the next preamble, even one that was swallowed by the bad frame (a frame
    that lost a byte on the wire is followed by an intact one).
    """

    def __init__(self, frame_type: type[F], *, max_len: int = MAX_LEN) -> None:
        self._frame_type: type[F] = frame_type
        self._max_len = max_len
        self._buf = bytearray()
        self.skipped = 0

    @property
    def pending(self) -> int:
        """Bytes buffered and not yet part of a returned frame."""
        return len(self._buf)

    def reset(self) -> None:
        self._buf.clear()

    def feed(self, data: bytes) -> None:
        self._buf += data

    def pop(self) -> F | None:
        """The next complete frame, or ``None`` if more bytes are needed."""
        buf = self._buf
        start = buf.find(PREAMBLE)
        if start < 0:
            keep = _preamble_prefix_at_end(buf)
            self.skipped += len(buf) - keep
            del buf[: len(buf) - keep]
            return None
        if start:
            self.skipped += start
            del buf[:start]
        if len(buf) < HEADER_SIZE:
            return None
        length = int.from_bytes(buf[5:7], "big")
        if not self._frame_type.MIN_LEN <= length <= self._max_len:
            header = bytes(buf[:HEADER_SIZE])
            del buf[:1]
            raise LengthError(
                f"impossible LEN {length} (allowed {self._frame_type.MIN_LEN}..{self._max_len})",
                header,
            )
        end = HEADER_SIZE + length
        if len(buf) < end:
            return None
        raw = bytes(buf[:end])
        expected = checksum(raw[5:-1])
        if expected != raw[-1]:
            del buf[:1]
            raise ChecksumError(
                f"checksum {raw[-1]:02X} != expected {expected:02X} ({len(raw)} byte frame)",
                _clip(raw),
            )
        del buf[:end]
        return self._frame_type.from_payload(raw[HEADER_SIZE:-1])

    def events(self, data: bytes = b"") -> list[F | FrameError]:
        """Feed ``data`` and drain: frames and frame errors, in stream order."""
        self.feed(data)
        out: list[F | FrameError] = []
        while True:
            try:
                frame = self.pop()
            except FrameError as exc:
                out.append(exc)
                continue
            if frame is None:
                return out
            out.append(frame)


def _preamble_prefix_at_end(buf: bytearray) -> int:
    """Length of the longest tail of ``buf`` that could start a preamble."""
    for k in range(min(len(PREAMBLE) - 1, len(buf)), 0, -1):
        if buf.endswith(PREAMBLE[:k]):
            return k
    return 0

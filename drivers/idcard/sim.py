"""A SAM module on a pty: speaks GA 467 like the real reader, for tests and the demo.

The simulator owns the device end of a :class:`~drivers.serialpty.PtyPair`;
the driver opens ``sim.port`` (or ``sim.link_path``, a symlink the simulator
keeps pointing at its current pty, as udev keeps ``/dev/hall-idcard``)::

    with SamSimulator(link_path=tmp / "hall-idcard") as sim:
        sim.insert(make_card("resident"))
        card = SamReader(str(sim.link_path)).read_card()

Faults a test can inject: ``garbage_before_reply`` (bytes), ``byte_at_a_time``
(the driver receives one byte per read), :meth:`corrupt_checksum_next`,
:meth:`drop_bytes`, :meth:`reply_status_next` (e.g. the reader reporting our
frame's checksum as bad, or a failed read), :meth:`silence_next`,
:meth:`pull_cable` / :meth:`plug_back` (the pty goes away; a new one comes
back behind the same ``link_path``).

The people in :func:`make_card` are made up (张三, 李四, TEST JOHN) and their
ID numbers carry valid check digits.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import select
import sys
import termios
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drivers.idcard import codec
from drivers.idcard.card import (
    TEXT_SIZE,
    WLT_SIZE,
    IdCard,
    build_read_data,
    id_check_digit,
)
from drivers.idcard.codec import FrameDecoder, HostFrame, ReaderFrame
from drivers.idcard.errors import ChecksumError, FrameError
from drivers.serialpty import PtyPair

log = logging.getLogger(__name__)

# 05.01-20200101-0000012345-0000067890 in the usual display format
DEMO_SAM_ID = (
    bytes([5, 0, 1, 0])
    + (20200101).to_bytes(4, "little")
    + (12345).to_bytes(4, "little")
    + (67890).to_bytes(4, "little")
)
# Stand-in for an encrypted photo: the real one only the vendor library can decode.
DEMO_WLT = bytes(range(256)) * (WLT_SIZE // 256)
CARD_KINDS = ("resident", "permit", "foreign")


def fake_id_number(region: str = "110101", birth: str = "19900307", seq: str = "123") -> str:
    """An 18-character ID number with a valid MOD 11-2 check digit (odd ``seq`` = male)."""
    first17 = region + birth + seq
    return first17 + id_check_digit(first17)


def make_card(kind: str = "resident", **overrides: Any) -> IdCard:
    """A made-up card of ``kind`` ("resident", "permit", "foreign"); fields may be overridden.

    If ``birth`` is overridden and ``id_number`` is not, the ID number follows the birth date.
    """
    if kind == "resident":
        fields: dict[str, Any] = dict(
            card_type="resident",
            name="张三",
            sex="男",
            nation="汉",
            birth="19900307",
            address="北京市东城区示例街道测试路1号",
            authority="北京市公安局东城分局",
            valid_from="20200101",
            valid_to="20400101",
        )
        region, seq = "110101", "123"
    elif kind == "permit":
        fields = dict(
            card_type="permit",
            name="李四",
            sex="女",
            nation="",
            birth="19851120",
            address="广东省深圳市福田区示例路2号",
            authority="深圳市公安局",
            valid_from="20230101",
            valid_to="20280101",
            pass_number="H12345678",
            issue_count=1,
        )
        region, seq = "810000", "456"
    elif kind == "foreign":
        fields = dict(
            card_type="foreign",
            name="测试约翰",
            sex="男",
            nation="",
            birth="19800515",
            address="",
            authority="1100",
            valid_from="20200101",
            valid_to="20300101",
            english_name="TEST, JOHN SAMPLE",
            nationality="USA",
        )
        region, seq = "", ""
    else:
        raise ValueError(f"unknown card kind {kind!r}; choose from {CARD_KINDS}")
    fields.update(overrides)
    if "id_number" not in overrides:
        birth = fields["birth"]
        if kind == "foreign":  # 15-char permanent residence number: country, code, yymmdd, serial
            fields["id_number"] = f"{fields['nationality']}{fields['authority']}{birth[2:]}01"
        else:
            fields["id_number"] = fake_id_number(region, birth, seq)
    fields.setdefault("photo_wlt", DEMO_WLT)
    return IdCard(**fields)


@dataclass(frozen=True)
class _Fault:
    kind: str  # "corrupt" | "drop" | "silence" | "status"
    arg: int  # bytes to drop / SW3 to answer
    command: str | None  # only replies to this command; None = the next reply of any


class SamSimulator:
    """A simulated SAM reader serving on a pty until :meth:`stop`."""

    def __init__(
        self,
        *,
        link_path: str | os.PathLike[str] | None = None,
        halt_after_read: bool = False,
        sam_id: bytes = DEMO_SAM_ID,
    ) -> None:
        self.link_path = Path(link_path) if link_path is not None else None
        self.halt_after_read = halt_after_read  # some readers: find says "no card" once read
        self.sam_id = sam_id
        # faults, settable at any time
        self.garbage_before_reply = b""
        self.byte_at_a_time = False

        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._text: bytes | None = None
        self._wlt = DEMO_WLT
        self._fingerprint: bytes | None = None
        self._selected = False
        self._halted = False
        self._faults: list[_Fault] = []
        self._received: list[HostFrame] = []
        self._pty: PtyPair | None = None
        self._port = ""
        self._thread: threading.Thread | None = None
        self._stop: threading.Event | None = None

    # -- lifecycle ---------------------------------------------------------------

    def start(self) -> SamSimulator:
        if self._pty is None:
            self._plug()
        return self

    def stop(self) -> None:
        self._unplug()

    def __enter__(self) -> SamSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> str:
        """The current pty path (changes after :meth:`plug_back`; prefer ``link_path``)."""
        return self._port

    @property
    def plugged(self) -> bool:
        return self._pty is not None

    def pull_cable(self) -> None:
        """Close the pty (the driver's next I/O fails) and remove ``link_path``."""
        self._unplug()

    def plug_back(self) -> None:
        """A new pty behind the same ``link_path``; the card on the reader stays."""
        if self._pty is None:
            self._plug()

    def _plug(self) -> None:
        pty = PtyPair()
        os.set_blocking(pty.fd, False)
        stop = threading.Event()
        with self._lock:
            self._pty, self._port, self._stop = pty, pty.port, stop
            self._selected = self._halted = False
        if self.link_path is not None:
            tmp = self.link_path.with_name(self.link_path.name + ".new")
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            tmp.symlink_to(pty.port)
            tmp.replace(self.link_path)
        self._thread = threading.Thread(
            target=self._serve, args=(pty, stop), name="sam-sim", daemon=True
        )
        self._thread.start()
        log.info("SAM simulator serving on %s", pty.port)

    def _unplug(self) -> None:
        with self._lock:
            pty, stop, thread = self._pty, self._stop, self._thread
            self._pty = self._stop = self._thread = None
        if stop is not None:
            stop.set()
        if thread is not None:
            thread.join(5.0)
        if pty is not None:
            pty.close()
        if self.link_path is not None:
            with contextlib.suppress(FileNotFoundError):
                self.link_path.unlink()

    # -- the card ------------------------------------------------------------------

    def insert(self, card: IdCard | bytes, *, fingerprint: bytes | None = None) -> None:
        """Put a card on the reader: an :class:`IdCard` or a raw 256-byte text block."""
        if isinstance(card, IdCard):
            text, wlt = card.to_text_block(), card.photo_wlt or DEMO_WLT
            fingerprint = fingerprint if fingerprint is not None else card.fingerprint
        else:
            if len(card) != TEXT_SIZE:
                raise ValueError(f"a text block has {TEXT_SIZE} bytes, got {len(card)}")
            text, wlt = bytes(card), DEMO_WLT
        with self._lock:
            self._text, self._wlt, self._fingerprint = text, wlt, fingerprint
            self._selected = self._halted = False

    def remove(self) -> None:
        with self._lock:
            self._text = None
            self._selected = self._halted = False

    @property
    def card_present(self) -> bool:
        return self._text is not None

    # -- faults ----------------------------------------------------------------------

    def corrupt_checksum_next(self, count: int = 1, *, command: str | None = None) -> None:
        """Flip the checksum byte of the next ``count`` replies (to ``command``, or any)."""
        self._add_fault("corrupt", 0, count, command)

    def drop_bytes(self, count: int = 1, replies: int = 1, *, command: str | None = None) -> None:
        """Lose ``count`` bytes from the middle of each of the next ``replies`` replies."""
        self._add_fault("drop", count, replies, command)

    def silence_next(self, count: int = 1, *, command: str | None = None) -> None:
        """Do not answer the next ``count`` commands."""
        self._add_fault("silence", 0, count, command)

    def reply_status_next(self, sw3: int, count: int = 1, *, command: str | None = None) -> None:
        """Answer the next ``count`` commands with the bare status ``sw3``: e.g. 0x10
        (the reader saw a bad checksum in our frame), 0x41 (read failed), 0x80 (no card)."""
        self._add_fault("status", sw3, count, command)

    def _add_fault(self, kind: str, arg: int, count: int, command: str | None) -> None:
        if command is not None and command not in codec.COMMANDS_BY_NAME:
            raise ValueError(f"unknown command {command!r}")
        with self._lock:
            self._faults.extend([_Fault(kind, arg, command)] * count)

    def _take_fault(self, kind: str, name: str | None) -> _Fault | None:
        for i, fault in enumerate(self._faults):
            if fault.kind == kind and fault.command in (None, name):
                return self._faults.pop(i)
        return None

    # -- what the host sent ------------------------------------------------------------

    def received(self) -> list[HostFrame]:
        with self._lock:
            return list(self._received)

    def count(self, name: str) -> int:
        """How many commands named ``name`` (see ``codec.COMMANDS``) arrived so far."""
        with self._lock:
            return self._count(name)

    def _count(self, name: str) -> int:
        return sum(1 for f in self._received if f.command and f.command.name == name)

    def wait_for_commands(self, name: str, count: int, timeout: float) -> bool:
        """Block until ``count`` commands named ``name`` have arrived in total."""
        with self._changed:
            return self._changed.wait_for(lambda: self._count(name) >= count, timeout)

    # -- serving --------------------------------------------------------------------------

    def _serve(self, pty: PtyPair, stop: threading.Event) -> None:
        decoder = FrameDecoder(HostFrame)
        while not stop.is_set():
            try:
                readable, _, _ = select.select([pty.fd], [], [], 0.05)
                if not readable:
                    continue
                chunk = os.read(pty.fd, 4096)
            except (OSError, ValueError) as exc:
                log.warning("SAM simulator stops serving %s: %s", pty.port, exc)
                return
            for event in decoder.events(chunk):
                reply = self._answer(event)
                if reply is not None:
                    self._send(pty, reply, stop)

    def _answer(self, event: HostFrame | FrameError) -> bytes | None:
        with self._lock:
            name: str | None = None
            if isinstance(event, FrameError):
                sw3 = codec.SW_CHECKSUM_ERROR if isinstance(event, ChecksumError) else 0x11
                frame = ReaderFrame(0, 0, sw3)
            else:
                self._received.append(event)
                self._changed.notify_all()
                name = event.command.name if event.command else None
                if self._take_fault("silence", name):
                    return None
                status = self._take_fault("status", name)
                frame = ReaderFrame(0, 0, status.arg) if status else self._respond(event)
            wire = frame.to_bytes()
            if self._take_fault("corrupt", name):
                wire = wire[:-1] + bytes([wire[-1] ^ 0xFF])
            drop = self._take_fault("drop", name)
            if drop:
                mid = len(wire) // 2
                wire = wire[:mid] + wire[mid + drop.arg :]
            return self.garbage_before_reply + wire

    def _respond(self, frame: HostFrame) -> ReaderFrame:
        command = frame.command
        name = command.name if command else None
        if name in ("reset", "status"):
            return ReaderFrame(0, 0, codec.SW_OK)
        if name == "sam_id":
            return ReaderFrame(0, 0, codec.SW_OK, self.sam_id)
        if name == "find":
            if self._text is None or self._halted:
                return ReaderFrame(0, 0, codec.SW_NO_CARD)
            return ReaderFrame(0, 0, codec.SW_FIND_OK, bytes(4))
        if name == "select":
            if self._text is None:
                return ReaderFrame(0, 0, codec.SW_SELECT_FAILED)
            self._selected = True
            return ReaderFrame(0, 0, codec.SW_OK, bytes(8))
        if name in ("read", "read_fp"):
            if self._text is None or not self._selected:
                return ReaderFrame(0, 0, codec.SW_READ_FAILED)
            data = build_read_data(
                self._text,
                self._wlt,
                self._fingerprint,
                with_fingerprint=name == "read_fp",
            )
            self._halted = self.halt_after_read
            return ReaderFrame(0, 0, codec.SW_OK, data)
        return ReaderFrame(0, 0, codec.SW_COMMAND_ERROR)

    def _send(self, pty: PtyPair, data: bytes, stop: threading.Event) -> None:
        if not self.byte_at_a_time:
            _write(pty.fd, data)
            return
        # One byte at a time, each taken by the driver before the next is written,
        # so every read() on the port side returns a single byte.
        probe = os.open(pty.port, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
        try:
            for i in range(len(data)):
                if stop.is_set() or not _write(pty.fd, data[i : i + 1]):
                    return
                if not _wait_drained(probe, timeout=0.5):
                    _write(pty.fd, data[i + 1 :])  # the driver stopped reading: no pacing
                    return
        finally:
            os.close(probe)


def _write(fd: int, data: bytes, timeout: float = 1.0) -> bool:
    """Write all of ``data`` to the non-blocking master; False (data lost) if nobody reads."""
    view = memoryview(data)
    deadline = time.monotonic() + timeout
    while view:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            log.info("SAM simulator: nobody reads the port; %d bytes lost", len(view))
            return False
        try:
            _, writable, _ = select.select([], [fd], [], remaining)
            if writable:
                view = view[os.write(fd, view) :]
        except BlockingIOError:
            continue
        except OSError as exc:
            log.info("SAM simulator: write failed: %s", exc)
            return False
    return True


def _wait_drained(port_fd: int, timeout: float) -> bool:
    """Wait until the port side's input queue is empty (simulator pacing, not a test sleep)."""
    deadline = time.monotonic() + timeout
    buf = bytearray(4)
    while time.monotonic() < deadline:
        try:
            fcntl.ioctl(port_fd, termios.FIONREAD, buf)
        except OSError:
            return False
        if int.from_bytes(buf, sys.byteorder) == 0:
            return True
        time.sleep(0.0001)
    return False

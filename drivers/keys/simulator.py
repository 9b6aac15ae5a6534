"""A simulated input device for tests and the demo (these machines have no ``/dev/uinput``).

``SimulatedKeyboard`` stands in for a USB keypad, evaluator or scanner.  Its
``open`` is an *opener* for ``KeyDevice``: each open returns a
``PipeEventSource``, an ``evdev.eventio.EventIO`` whose file descriptor is
the read end of a pipe.  The simulator writes real ``struct input_event``
records (the kernel's wire format) into the pipe, and the source reads them
back with python-evdev's own ``EventIO.read`` - the C reader the real
``InputDevice`` uses - so the reader loop, ``select`` included, runs exactly
as it does on hardware.

Kernel behaviour imitated: ``grab`` is exclusive (``EBUSY`` for a second
grabber) and a grabbed device sends events only to the grabber; unplugging
makes the descriptor readable and every later ``read``/``ungrab`` raise
``OSError(ENODEV)``; opening an absent device raises ``FileNotFoundError``;
events sent while nobody has the device open are lost.
"""

from __future__ import annotations

import errno
import os
import select
import struct
import threading
import time
from collections.abc import Iterator

from evdev import InputEvent, ecodes
from evdev.eventio import EventIO

from drivers.keys.keymap import key_code

# struct input_event on 64-bit Linux: timeval (long sec, long usec), u16 type, u16 code, s32 value.
_EVENT = struct.Struct("llHHi")
_ATOMIC_WRITE = (select.PIPE_BUF // _EVENT.size) * _EVENT.size


def pack_event(event: InputEvent) -> bytes:
    return _EVENT.pack(event.sec, event.usec, event.type, event.code, event.value)


def _split_time(at: float) -> tuple[int, int]:
    sec, usec = divmod(round(at * 1_000_000), 1_000_000)
    return sec, usec


def key_events(key: str | int, value: int, at: float | None = None) -> list[InputEvent]:
    """What a USB keyboard sends for one key transition: MSC_SCAN, EV_KEY, SYN_REPORT."""
    code = key_code(key)
    sec, usec = _split_time(time.time() if at is None else at)
    return [
        InputEvent(sec, usec, ecodes.EV_MSC, ecodes.MSC_SCAN, 0x70000 + code),
        InputEvent(sec, usec, ecodes.EV_KEY, code, value),
        InputEvent(sec, usec, ecodes.EV_SYN, ecodes.SYN_REPORT, 0),
    ]


def press_events(key: str | int, at: float | None = None) -> list[InputEvent]:
    """Down then up, as one tap."""
    return key_events(key, 1, at) + key_events(key, 0, at)


_SHIFTED = {
    **{c: "KEY_" + c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
    **dict(zip("!@#$%^&*()", [f"KEY_{d}" for d in "1234567890"], strict=True)),
    "_": "KEY_MINUS",
    "+": "KEY_EQUAL",
    "{": "KEY_LEFTBRACE",
    "}": "KEY_RIGHTBRACE",
    "|": "KEY_BACKSLASH",
    ":": "KEY_SEMICOLON",
    '"': "KEY_APOSTROPHE",
    "~": "KEY_GRAVE",
    "<": "KEY_COMMA",
    ">": "KEY_DOT",
    "?": "KEY_SLASH",
}
_PLAIN = {
    **{c.lower(): "KEY_" + c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
    **{d: "KEY_" + d for d in "1234567890"},
    "-": "KEY_MINUS",
    "=": "KEY_EQUAL",
    "[": "KEY_LEFTBRACE",
    "]": "KEY_RIGHTBRACE",
    "\\": "KEY_BACKSLASH",
    ";": "KEY_SEMICOLON",
    "'": "KEY_APOSTROPHE",
    "`": "KEY_GRAVE",
    ",": "KEY_COMMA",
    ".": "KEY_DOT",
    "/": "KEY_SLASH",
    " ": "KEY_SPACE",
}


def typing_events(text: str, *, enter: bool = True, at: float | None = None) -> list[InputEvent]:
    """What a US-layout keyboard-wedge scanner sends to type ``text`` (then Enter)."""
    events: list[InputEvent] = []
    for char in text:
        if char in _PLAIN:
            events += press_events(_PLAIN[char], at)
        elif char in _SHIFTED:
            events += key_events("KEY_LEFTSHIFT", 1, at)
            events += press_events(_SHIFTED[char], at)
            events += key_events("KEY_LEFTSHIFT", 0, at)
        else:
            raise ValueError(f"a US keyboard cannot type {char!r}")
    if enter:
        events += press_events("KEY_ENTER", at)
    return events


class PipeEventSource(EventIO):
    """One open descriptor of a ``SimulatedKeyboard`` (the ``EventSource`` protocol)."""

    def __init__(self, keyboard: SimulatedKeyboard, path: str) -> None:
        self._keyboard = keyboard
        self.path = path
        self.name = keyboard.name
        read_fd, self._write_fd = os.pipe()
        os.set_blocking(read_fd, False)
        self.fd = read_fd
        self.gone = False
        self.grabbed = False

    def read(self) -> Iterator[InputEvent]:
        if self.gone:
            raise OSError(errno.ENODEV, os.strerror(errno.ENODEV))
        return super().read()

    def grab(self) -> None:
        self._keyboard._grab(self)

    def ungrab(self) -> None:
        self._keyboard._ungrab(self)

    def close(self) -> None:
        self._keyboard._close(self)

    def _write(self, data: bytes) -> None:
        # Writes of at most PIPE_BUF bytes are atomic, so whole records only ever sit in the
        # pipe and evdev's reader (which drops a trailing partial record) never sees half a one.
        view = memoryview(data)
        while view:
            chunk = view[:_ATOMIC_WRITE]
            written = os.write(self._write_fd, chunk)
            assert written == len(chunk), "a pipe write of <= PIPE_BUF bytes is all or nothing"
            view = view[written:]

    def _close_write(self) -> None:
        if self._write_fd >= 0:
            os.close(self._write_fd)
            self._write_fd = -1


class SimulatedKeyboard:
    """A USB input device that can be plugged in, typed on, and pulled out."""

    def __init__(
        self,
        path: str = "/dev/input/by-id/usb-hall_sim-event-kbd",
        name: str = "hall simulated keypad",
        *,
        plugged: bool = True,
        grab_errno: int | None = None,
    ) -> None:
        self.path = path
        self.name = name
        self.grab_errno = grab_errno  # e.g. errno.EBUSY: another program holds the grab
        self._plugged = plugged
        self._sources: list[PipeEventSource] = []
        self._lock = threading.Lock()

    # -- the opener KeyDevice calls ------------------------------------------

    def open(self, spec: str) -> PipeEventSource:
        with self._lock:
            if not self._plugged or spec != self.path:
                raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), spec)
            source = PipeEventSource(self, spec)
            self._sources.append(source)
            return source

    # -- the person at the device --------------------------------------------

    def send(self, events: list[InputEvent]) -> None:
        """Deliver real ``InputEvent`` objects to whoever has the device open."""
        data = b"".join(pack_event(e) for e in events)
        with self._lock:
            if not self._plugged:
                raise RuntimeError(f"{self.name} is unplugged: nothing can be typed on it")
            receivers = [s for s in self._sources if s.grabbed] or list(self._sources)
            if not receivers:
                raise RuntimeError(f"nobody has {self.path} open: events would be lost")
            for source in receivers:
                source._write(data)

    def press(self, key: str | int, *, at: float | None = None) -> None:
        self.send(press_events(key, at))

    def type_text(self, text: str, *, enter: bool = True, at: float | None = None) -> None:
        self.send(typing_events(text, enter=enter, at=at))

    def unplug(self) -> None:
        """Pull the cable: open descriptors turn readable and fail with ENODEV."""
        with self._lock:
            self._plugged = False
            for source in self._sources:
                source.gone = True
                source.grabbed = False
                source._close_write()

    def plug(self) -> None:
        with self._lock:
            self._plugged = True

    # -- state a test can look at --------------------------------------------

    @property
    def plugged(self) -> bool:
        return self._plugged

    @property
    def grabbed(self) -> bool:
        with self._lock:
            return any(s.grabbed for s in self._sources)

    @property
    def open_count(self) -> int:
        with self._lock:
            return len(self._sources)

    # -- kernel side of the source's calls -----------------------------------

    def _grab(self, source: PipeEventSource) -> None:
        with self._lock:
            if source.gone:
                raise OSError(errno.ENODEV, os.strerror(errno.ENODEV))
            if self.grab_errno is not None:
                raise OSError(self.grab_errno, os.strerror(self.grab_errno))
            if any(s.grabbed for s in self._sources):
                raise OSError(errno.EBUSY, os.strerror(errno.EBUSY))
            source.grabbed = True

    def _ungrab(self, source: PipeEventSource) -> None:
        with self._lock:
            if source.gone:
                raise OSError(errno.ENODEV, os.strerror(errno.ENODEV))
            if not source.grabbed:
                raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
            source.grabbed = False

    def _close(self, source: PipeEventSource) -> None:
        with self._lock:
            if source in self._sources:
                self._sources.remove(source)
            source.grabbed = False
            source._close_write()
            if source.fd >= 0:
                os.close(source.fd)
                source.fd = -1

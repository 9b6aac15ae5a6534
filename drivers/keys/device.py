"""``KeyDevice``: reads one input device on a thread and reports actions, codes and status.

The reader owns the device for its whole life: it opens it (through an
injectable *opener*), grabs it so keystrokes never reach the UI, reads events
with ``select`` and a timeout (so ``stop()`` is prompt and timers can expire),
feeds them to an ``EventProcessor`` (``KeyDecoder`` or ``WedgeAssembler``)
and calls the app's callbacks.  Pulling the cable raises ``OSError`` 19
(``ENODEV``) inside the read: the reader reports ``disconnected``, closes the
descriptor and polls the opener with a growing delay until the device is
back, then re-grabs it and reports ``connected``.

Callbacks run on the reader thread.  A Qt app must hand them to the GUI
thread (emit a signal from the callback; a queued connection delivers it).
A callback that raises is logged and the reader carries on.
"""

from __future__ import annotations

import errno
import logging
import os
import select
import threading
from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import Protocol

from evdev import InputEvent

from drivers.keys.discovery import INPUT_DIR, locate
from drivers.keys.errors import KeyDeviceError
from drivers.keys.events import (
    CodeDiscarded,
    EventProcessor,
    KeyAction,
    KeyStorm,
    KeyStormOver,
    Output,
    ScannedCode,
    UnmappedKey,
)

log = logging.getLogger(__name__)


class KeyStatus(StrEnum):
    """The statuses ``on_status`` receives, as their plain string values (``"connected"`` …)."""

    CONNECTED = "connected"
    DISCONNECTED = "disconnected"  # also reported once at start when the device is absent
    STORM = "storm"  # a flood of presses: they are dropped until the device goes quiet
    STORM_OVER = "storm_over"


class EventSource(Protocol):
    """An open input device: ``evdev.InputDevice`` fits, so does ``PipeEventSource``."""

    @property
    def path(self) -> str | bytes: ...

    def fileno(self) -> int: ...

    def read(self) -> Iterable[InputEvent]: ...

    def grab(self) -> None: ...

    def ungrab(self) -> None: ...

    def close(self) -> None: ...


Opener = Callable[[str], EventSource]


def open_input_device(spec: str, input_dir: str = INPUT_DIR) -> EventSource:
    """The real opener: resolve ``spec`` (path, ``by-id:``, ``name:``) and open it with evdev."""
    import evdev

    path = locate(spec, input_dir)
    try:
        return evdev.InputDevice(path)
    except PermissionError as exc:
        raise KeyDeviceError(
            f"no permission to open input device: {exc.strerror}",
            device=path,
            hint="add this user to group 'input' or install the hall udev rule",
        ) from exc


class KeyDevice:
    """One keypad, evaluator or scanner, read on its own thread.

    ``spec`` names the device (see ``drivers.keys.discovery``); ``processor``
    turns events into outputs.  Outputs reach the app as ``on_action(action)``
    (``KeyAction``), ``on_code(text)`` (``ScannedCode``), ``on_unmapped(key)``
    (a key without action) and ``on_status(status)`` (``KeyStatus`` values:
    connected / disconnected / storm / storm_over).  ``on_output`` receives
    every output record as is (tools such as ``hall keys test``).
    """

    def __init__(
        self,
        spec: str,
        processor: EventProcessor,
        *,
        on_action: Callable[[str], None] | None = None,
        on_code: Callable[[str], None] | None = None,
        on_status: Callable[[str], None] | None = None,
        on_unmapped: Callable[[str], None] | None = None,
        on_output: Callable[[Output], None] | None = None,
        opener: Opener = open_input_device,
        grab: bool = True,
        poll_s: float = 0.2,
        retry_s: tuple[float, float] = (0.2, 5.0),
    ) -> None:
        self.spec = spec
        self._processor = processor
        self._on_action = on_action
        self._on_code = on_code
        self._on_status = on_status
        self._on_unmapped = on_unmapped
        self._on_output = on_output
        self._opener = opener
        self._grab = grab
        self._poll_s = poll_s
        self._retry_min, self._retry_max = retry_s
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._wake_r = self._wake_w = -1
        self._status: KeyStatus | None = None
        self._grabbed = False
        self._storm = False

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError(f"KeyDevice({self.spec!r}) already started")
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        self._thread = threading.Thread(
            target=self._run, name=f"keys:{os.path.basename(self.spec)}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> bool:
        """Stop reading, release the grab and close the device; False if the thread hung."""
        thread = self._thread
        if thread is None:
            return True
        self._stopping.set()
        try:
            os.write(self._wake_w, b"x")
        except OSError as exc:  # pipe full or closed: the select timeout still ends the wait
            log.debug("wake-up write failed: %s", exc)
        thread.join(timeout)
        if thread.is_alive():
            log.error("key reader for %s did not stop within %.1f s", self.spec, timeout)
            return False
        for fd in (self._wake_r, self._wake_w):
            os.close(fd)
        self._wake_r = self._wake_w = -1
        self._thread = None
        return True

    def __enter__(self) -> KeyDevice:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def status(self) -> KeyStatus | None:
        """Last connection status (``None`` before the first attempt)."""
        return self._status

    @property
    def grabbed(self) -> bool:
        return self._grabbed

    # -- the reader thread -----------------------------------------------------

    def _run(self) -> None:
        delay = self._retry_min
        logged_absent = False
        while not self._stopping.is_set():
            try:
                source = self._opener(self.spec)
            except (OSError, KeyDeviceError) as exc:
                # Absent (unplugged) or unusable: say so once per outage, then poll quietly.
                level = logging.DEBUG if logged_absent else logging.WARNING
                log.log(level, "key device %s unavailable: %s; retrying", self.spec, exc)
                logged_absent = True
                self._set_status(KeyStatus.DISCONNECTED)
                self._stopping.wait(delay)
                delay = min(delay * 2, self._retry_max)
                continue
            delay, logged_absent = self._retry_min, False
            failed = False
            try:
                self._serve(source)
            except Exception:
                # A bug must not end the reader for good: log it and reopen after a pause.
                log.exception("key reader for %s failed; reopening", self.spec)
                failed = True
            finally:
                self._release(source)
                self._processor.reset()
                if self._storm:
                    self._storm = False
                    self._call(self._on_status, KeyStatus.STORM_OVER.value)
            if not self._stopping.is_set():
                self._set_status(KeyStatus.DISCONNECTED)
            if failed:
                self._stopping.wait(self._retry_max)

    def _serve(self, source: EventSource) -> None:
        if self._grab:
            try:
                source.grab()
                self._grabbed = True
            except OSError as exc:
                log.warning(
                    "could not grab %s (%s): its keystrokes also reach other programs; "
                    "is another hall process or a desktop holding it?",
                    self.spec,
                    exc.strerror or exc,
                )
        self._set_status(KeyStatus.CONNECTED)
        fd = source.fileno()
        while not self._stopping.is_set():
            try:
                ready, _, _ = select.select([fd, self._wake_r], [], [], self._poll_s)
            except (OSError, ValueError) as exc:
                log.info("key device %s: select failed (%s); treating as unplugged", self.spec, exc)
                return
            if self._wake_r in ready:
                self._drain_wake()
            if fd not in ready:
                self._dispatch(self._processor.tick())
                continue
            try:
                for event in source.read():
                    self._dispatch(self._processor.feed(event))
            except BlockingIOError:
                continue
            except OSError as exc:
                if exc.errno == errno.ENODEV:
                    log.info("key device %s unplugged", self.spec)
                else:
                    log.warning("key device %s read failed: %s; reopening", self.spec, exc)
                return

    def _drain_wake(self) -> None:
        try:
            os.read(self._wake_r, 64)
        except BlockingIOError:
            return

    def _release(self, source: EventSource) -> None:
        if self._grabbed:
            self._grabbed = False
            try:
                source.ungrab()
            except OSError as exc:  # ENODEV after an unplug: the kernel dropped the grab
                log.debug("ungrab %s: %s", self.spec, exc)
        try:
            source.close()
        except OSError as exc:
            log.debug("close %s: %s", self.spec, exc)

    def _set_status(self, status: KeyStatus) -> None:
        if status is self._status:
            return
        self._status = status
        log.info("key device %s %s", self.spec, status.value)
        self._call(self._on_status, status.value)

    def _dispatch(self, outputs: list[Output]) -> None:
        for out in outputs:
            if self._on_output is not None:
                try:
                    self._on_output(out)
                except Exception:
                    log.exception("key device %s: on_output failed", self.spec)
            if isinstance(out, KeyAction):
                log.debug("key %s -> %s", out.key, out.action)
                self._call(self._on_action, out.action)
            elif isinstance(out, ScannedCode):
                log.debug("scanned a code of %d characters", len(out.text))  # never the content
                self._call(self._on_code, out.text)
            elif isinstance(out, UnmappedKey):
                log.debug("key %s has no action", out.key)
                self._call(self._on_unmapped, out.key)
            elif isinstance(out, KeyStorm):
                log.warning(
                    "key storm on %s: %d presses within %.1f s; ignoring keys until it is quiet "
                    "(stuck key or faulty device?)",
                    self.spec,
                    out.presses,
                    out.window_s,
                )
                self._storm = True
                self._call(self._on_status, KeyStatus.STORM.value)
            elif isinstance(out, KeyStormOver):
                log.info("key storm on %s over; %d presses were dropped", self.spec, out.dropped)
                self._storm = False
                self._call(self._on_status, KeyStatus.STORM_OVER.value)
            elif isinstance(out, CodeDiscarded):
                log.info(
                    "scanner %s: discarded a partial code of %d characters (%s)",
                    self.spec,
                    out.length,
                    out.reason,
                )

    def _call(self, callback: Callable[[str], None] | None, value: str) -> None:
        if callback is None:
            return
        try:
            callback(value)
        except Exception:
            log.exception("key device %s: callback %r failed", self.spec, callback)

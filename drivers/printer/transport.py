"""The links a ticket printer hangs on: serial, USB, TCP (port 9100), file.

The only module here that touches ``/dev`` or the network.  Each transport
turns its library's exceptions into the named printer errors (with what to
check) and bounds every write and read with a timeout.  ``can_read`` says
whether status replies can come back; a plain file cannot.
"""

from __future__ import annotations

import errno
import logging
import os
import select
import socket
import stat
import termios
import time
from abc import ABC, abstractmethod
from typing import Any

from drivers.printer.errors import (
    PrinterDisconnected,
    PrinterError,
    PrinterNotFound,
    PrinterTimeout,
)

log = logging.getLogger(__name__)


class Transport(ABC):
    """A byte link to the printer.  Opened lazily; closed on a broken link."""

    name: str  # printer spec for messages: "serial:/dev/hall-printer"
    can_read: bool = True
    check_hint: str = "power and cable"

    @property
    @abstractmethod
    def is_open(self) -> bool: ...

    @abstractmethod
    def open(self) -> None: ...

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def write(self, data: bytes, timeout: float) -> None:
        """Send all of ``data`` or raise (PrinterTimeout / PrinterDisconnected)."""

    @abstractmethod
    def read(self, n: int, timeout: float) -> bytes:
        """Up to ``n`` bytes; ``b""`` when nothing arrives within ``timeout``."""

    def reset_input(self) -> None:
        """Drop stale bytes (late replies) before a query."""
        while self.read(64, 0.0):
            pass

    def wire_seconds(self, nbytes: int) -> float:
        """How long ``nbytes`` take on the wire (added to write timeouts)."""
        return 0.0

    def _lost(self, exc: BaseException) -> PrinterDisconnected:
        self.close()
        reason = getattr(exc, "strerror", None) or (
            exc.args[-1] if exc.args else type(exc).__name__
        )
        return PrinterDisconnected(
            f"link lost ({reason})",
            device=self.name,
            check="the printer's power and cable (the link re-opens on the next print)",
        )


class SerialTransport(Transport):
    """RS-232 / USB-serial printer via pyserial (8N1)."""

    def __init__(self, path: str, baud: int = 9600, *, rtscts: bool = False) -> None:
        self.path, self.baud, self.rtscts = path, baud, rtscts
        self.name = f"serial:{path}"
        self.check_hint = f"printer power, the serial cable and the baud rate ({baud})"
        self._ser: Any = None

    @property
    def is_open(self) -> bool:
        return self._ser is not None

    def open(self) -> None:
        import serial

        try:
            self._ser = serial.Serial(
                self.path, self.baud, timeout=0, write_timeout=1, rtscts=self.rtscts, exclusive=True
            )
        except serial.SerialException as exc:
            cause = exc.__cause__ or exc.__context__ or exc
            hint = (
                "permissions: add the kiosk user to group dialout (udev rule for /dev/hall-printer)"
                if getattr(cause, "errno", None) == errno.EACCES or "ermission" in str(exc)
                else f"that {self.path} exists (cable plugged, udev rule for /dev/hall-printer)"
            )
            raise PrinterNotFound(
                f"cannot open serial port ({exc})", device=self.name, check=hint
            ) from exc

    def close(self) -> None:
        ser, self._ser = self._ser, None
        if ser is not None:
            try:
                ser.close()
            except OSError as exc:
                log.debug("closing %s: %s", self.name, exc)

    def write(self, data: bytes, timeout: float) -> None:
        import serial

        deadline = time.monotonic() + timeout
        try:
            self._ser.write_timeout = timeout
            self._ser.write(data)
            # wait until the bytes have left the UART, bounded (tcdrain has no timeout)
            while self._ser.out_waiting:
                if time.monotonic() > deadline:
                    raise serial.SerialTimeoutException("output not drained")
                time.sleep(0.005)
        except serial.SerialTimeoutException as exc:
            raise PrinterTimeout(
                f"printer took no data for {timeout:.1f} s",
                device=self.name,
                check=f"{self.check_hint}; hardware flow control (rtscts) must match the printer",
            ) from exc
        except (serial.SerialException, OSError, termios.error) as exc:
            raise self._lost(exc) from exc

    def read(self, n: int, timeout: float) -> bytes:
        import serial

        try:
            self._ser.timeout = max(timeout, 0.0)
            return bytes(self._ser.read(n))
        except (serial.SerialException, OSError, termios.error) as exc:
            raise self._lost(exc) from exc

    def reset_input(self) -> None:
        import serial

        try:
            self._ser.reset_input_buffer()
        except (serial.SerialException, OSError, termios.error) as exc:
            raise self._lost(exc) from exc

    def wire_seconds(self, nbytes: int) -> float:
        return nbytes * 10 / self.baud


class NetworkTransport(Transport):
    """Ethernet printer on a raw TCP port (9100, "JetDirect")."""

    def __init__(self, host: str, port: int = 9100, *, connect_timeout: float = 3.0) -> None:
        self.host, self.port, self.connect_timeout = host, port, connect_timeout
        self.name = f"tcp:{host}:{port}"
        self.check_hint = f"printer power and network (ping {host}, port {port})"
        self._sock: socket.socket | None = None

    @property
    def is_open(self) -> bool:
        return self._sock is not None

    def open(self) -> None:
        try:
            self._sock = socket.create_connection((self.host, self.port), self.connect_timeout)
        except TimeoutError as exc:
            raise PrinterTimeout(
                "connect timed out", device=self.name, check=self.check_hint
            ) from exc
        except OSError as exc:
            raise PrinterNotFound(
                f"cannot connect ({exc})", device=self.name, check=self.check_hint
            ) from exc

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()

    def write(self, data: bytes, timeout: float) -> None:
        assert self._sock is not None
        try:
            self._sock.settimeout(timeout)
            self._sock.sendall(data)
        except TimeoutError as exc:
            self.close()
            raise PrinterTimeout(
                f"printer took no data for {timeout:.1f} s", device=self.name, check=self.check_hint
            ) from exc
        except OSError as exc:
            raise self._lost(exc) from exc

    def read(self, n: int, timeout: float) -> bytes:
        assert self._sock is not None
        try:
            self._sock.settimeout(max(timeout, 0.0))  # 0.0 = non-blocking
            data = self._sock.recv(n)
        except (TimeoutError, BlockingIOError):
            return b""
        except OSError as exc:
            raise self._lost(exc) from exc
        if not data:
            raise self._lost(ConnectionResetError("connection closed by printer"))
        return data


class FileTransport(Transport):
    """A device node (``/dev/usb/lp0``) or a plain file (spooling, demos).

    Status is never read back: ``can_read`` is False, so printing is
    unchecked and reported as such (warning ``status_unknown``).
    """

    can_read = False

    def __init__(self, path: str) -> None:
        self.path = path
        self.name = f"file:{path}"
        self.check_hint = f"that {path} exists and is writable"
        self._fd: int | None = None

    @property
    def is_open(self) -> bool:
        return self._fd is not None

    def open(self) -> None:
        try:
            is_device = os.path.exists(self.path) and not stat.S_ISREG(os.stat(self.path).st_mode)
            flags = os.O_WRONLY | (os.O_NONBLOCK if is_device else os.O_CREAT | os.O_APPEND)
            self._fd = os.open(self.path, flags, 0o644)
        except OSError as exc:
            raise PrinterNotFound(
                f"cannot open ({exc})", device=self.name, check=self.check_hint
            ) from exc

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def write(self, data: bytes, timeout: float) -> None:
        assert self._fd is not None
        deadline = time.monotonic() + timeout
        view = memoryview(data)
        try:
            while view:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise PrinterTimeout(
                        f"printer took no data for {timeout:.1f} s",
                        device=self.name,
                        check=self.check_hint,
                    )
                _, ready, _ = select.select([], [self._fd], [], left)
                if ready:
                    try:
                        view = view[os.write(self._fd, view) :]
                    except BlockingIOError:
                        continue
        except OSError as exc:
            raise self._lost(exc) from exc

    def read(self, n: int, timeout: float) -> bytes:
        return b""

    def reset_input(self) -> None:
        return None


class UsbTransport(Transport):
    """A USB printer class device via python-escpos ``Usb`` (needs pyusb + libusb)."""

    def __init__(self, vid: int, pid: int, *, in_ep: int = 0x82, out_ep: int = 0x01) -> None:
        self.vid, self.pid, self.in_ep, self.out_ep = vid, pid, in_ep, out_ep
        self.name = f"usb:{vid:04x}:{pid:04x}"
        self.check_hint = (
            f"printer power, the USB cable (lsusb shows {vid:04x}:{pid:04x}) and udev permissions"
        )
        self._printer: Any = None
        self._pending = b""

    @property
    def is_open(self) -> bool:
        return self._printer is not None

    def open(self) -> None:
        from drivers.printer.escpos_cache import prepare

        prepare()  # before python-escpos loads
        from escpos.exceptions import DeviceNotFoundError
        from escpos.printer import usb as escpos_usb

        if not escpos_usb.is_usable():
            raise PrinterNotFound(
                "USB printing needs pyusb",
                device=self.name,
                check="pip install pyusb (and libusb-1.0-0)",
            )
        printer = escpos_usb.Usb(self.vid, self.pid, in_ep=self.in_ep, out_ep=self.out_ep)
        try:
            printer.open()
        except DeviceNotFoundError as exc:
            raise PrinterNotFound(
                "USB device not found", device=self.name, check=self.check_hint
            ) from exc
        self._printer = printer

    def close(self) -> None:
        printer, self._printer = self._printer, None
        if printer is not None:
            printer.close()

    def _device(self) -> Any:
        return self._printer._device

    def write(self, data: bytes, timeout: float) -> None:
        import usb.core

        try:
            self._device().write(self.out_ep, data, int(timeout * 1000))
        except usb.core.USBTimeoutError as exc:
            raise PrinterTimeout(
                f"printer took no data for {timeout:.1f} s", device=self.name, check=self.check_hint
            ) from exc
        except usb.core.USBError as exc:
            raise self._lost(exc) from exc

    def read(self, n: int, timeout: float) -> bytes:
        import usb.core

        if not self._pending:
            try:
                packet = self._device().read(self.in_ep, 64, max(int(timeout * 1000), 1))
            except usb.core.USBTimeoutError:
                return b""
            except usb.core.USBError as exc:
                raise self._lost(exc) from exc
            self._pending = bytes(packet)
        data, self._pending = self._pending[:n], self._pending[n:]
        return data

    def reset_input(self) -> None:
        self._pending = b""
        while self.read(64, 0.001):
            pass


__all__ = [
    "FileTransport",
    "NetworkTransport",
    "PrinterError",
    "SerialTransport",
    "Transport",
    "UsbTransport",
]

"""A pseudo-terminal pair standing in for a serial cable.

Simulators own the *device* side (the master fd) and speak the real wire
protocol; the driver opens the *port* side (the slave path) with pyserial
exactly as it would open ``/dev/ttyUSB0``.  Closing the master is what a
pulled cable looks like to the driver.
"""

from __future__ import annotations

import contextlib
import os
import pty
import termios
import tty


class PtyPair:
    """``port`` is the path a driver opens; ``fd`` is the device end."""

    def __init__(self) -> None:
        self.fd, slave = pty.openpty()
        tty.setraw(slave)
        attrs = termios.tcgetattr(slave)
        attrs[3] &= ~termios.ECHO
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        self.port = os.ttyname(slave)
        # Keep the slave open so the master does not see EIO before the
        # driver connects; the driver opens its own descriptor by path.
        self._slave = slave

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = os.write(self.fd, view)
            view = view[n:]

    def read(self, n: int = 4096) -> bytes:
        return os.read(self.fd, n)

    def close(self) -> None:
        for fd in (self.fd, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.fd = self._slave = -1

    def __enter__(self) -> PtyPair:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

"""The base of every driver's named errors.

A :class:`DeviceError` says the same thing twice, for two readers: ``str(err)``
(also :attr:`~DeviceError.detail`) is the English line for the log (what
happened, on which device, what to check); ``err.user_message`` is the short
Chinese line for the kiosk or counter screen.  ``err.code`` is a stable word
for health reports and tests (``paper_out``, ``no_card``).  ``err.device`` is
the device it concerns (a port, a reader name, a printer spec), if known.
Personal data never goes into any of them.

A driver declares its errors with their code and screen line in the class
statement::

    class PaperOut(PrinterError, code="paper_out", user_message="打印机缺纸，请联系工作人员"):
        '''The printer reports its paper end.'''

A subclass that names no code or message keeps its parent's.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = ["DeviceError"]


class DeviceError(Exception):
    """Base class of the drivers' errors: a code, a Chinese screen line, an English log line."""

    code: ClassVar[str] = "error"
    user_message: str = "设备故障，请联系工作人员"

    def __init_subclass__(
        cls, *, code: str | None = None, user_message: str | None = None, **kwargs: Any
    ) -> None:
        super().__init_subclass__(**kwargs)
        if code is not None:
            cls.code = code
        if user_message is not None:
            cls.user_message = user_message

    def __init__(
        self, message: str, *, device: str | None = None, user_message: str | None = None
    ) -> None:
        super().__init__(message)
        self.device = device
        if user_message is not None:  # this one error's own screen line
            self.user_message = user_message

    @property
    def detail(self) -> str:
        """The English line for the log (``str(err)``)."""
        return str(self)

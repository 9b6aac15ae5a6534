"""The ID-card driver's few named errors.

Every error (a :class:`drivers.errors.DeviceError`) has an English ``str()`` for
logs (what happened, which port, what to check), a short Chinese ``user_message``
for the kiosk screen and a ``code``.  None of them ever carries a name or an ID
number.
"""

from __future__ import annotations

from drivers.errors import DeviceError


class IdCardError(DeviceError, code="idcard", user_message="身份证读卡器故障，请联系工作人员"):
    """Base class: anything the ID-card reader driver raises on purpose (``port``: its port)."""

    def __init__(self, message: str, *, port: str | None = None) -> None:
        super().__init__(message, device=port)
        self.port = port


class NoCard(IdCardError, code="no_card", user_message="未检测到身份证，请将身份证放在感应区"):
    """The reader answered "no card" (SW3 0x80)."""


class ReaderNotFound(
    IdCardError, code="no_reader", user_message="未连接身份证读卡器，请联系工作人员"
):
    """The serial port cannot be opened (missing, unplugged, no permission)."""

    def __init__(self, port: str, reason: str) -> None:
        super().__init__(
            f"cannot open ID card reader on {port}: {reason}; check the USB/serial cable, "
            "the udev rule that creates /dev/hall-idcard, and that this user is in the "
            "'dialout' group",
            port=port,
        )
        self.reason = reason


class ReaderTimeout(
    IdCardError, code="no_answer", user_message="身份证读卡器无响应，请联系工作人员"
):
    """The reader did not answer a command in time."""

    def __init__(self, port: str, command: str, timeout: float) -> None:
        super().__init__(
            f"ID card reader on {port} did not answer '{command}' within {timeout:.2f} s; "
            "check the cable, the baud rate (115200 8N1) and that the device is a SAM reader",
            port=port,
        )
        self.command = command
        self.timeout = timeout


class ReaderDisconnected(
    IdCardError, code="disconnected", user_message="身份证读卡器已断开，请联系工作人员"
):
    """The serial port failed while open: the cable was pulled or the adapter reset."""

    def __init__(self, port: str, reason: str) -> None:
        super().__init__(
            f"ID card reader on {port} disconnected: {reason}; check the cable",
            port=port,
        )
        self.reason = reason


class ProtocolError(IdCardError, code="protocol", user_message="身份证读卡器通信异常，请重试"):
    """The reader's answer made no sense (bad frames, unexpected status)."""


class FrameError(ProtocolError):
    """A frame on the wire is malformed; ``data_hex`` holds the offending bytes."""

    def __init__(self, message: str, data: bytes) -> None:
        super().__init__(f"{message}: {data.hex(' ')}")
        self.data_hex = data.hex(" ")


class ChecksumError(FrameError):
    """The XOR checksum of a frame does not match."""


class LengthError(FrameError):
    """The LEN field of a frame is impossible or disagrees with the frame size."""


class CardReadFailed(IdCardError, code="read_failed", user_message="读卡失败，请重新放置身份证"):
    """A card is present but selecting or reading it failed (moved, damaged, auth)."""

    def __init__(self, message: str, *, port: str | None = None, sw3: int | None = None) -> None:
        super().__init__(message, port=port)
        self.sw3 = sw3


class InvalidCard(
    IdCardError, ValueError, code="invalid_card", user_message="身份证信息无效，请到人工窗口办理"
):
    """The card data read back is not a valid ID document (layout, check digit, dates).

    Also a ``ValueError``: ``IdCard.birth_date`` / ``age_on`` raise it for a birth
    field that is not a date (e.g. on a ``masked()`` card)."""

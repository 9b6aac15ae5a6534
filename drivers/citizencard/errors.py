"""Named errors of the citizen-card driver.

Each error (a :class:`drivers.errors.DeviceError`) carries an English ``str()``
for logs (what happened, which reader, what to check), a short Chinese
``user_message`` for the kiosk screen and a ``code``.  Personal data never goes
into any of them.
"""

from __future__ import annotations

from drivers.errors import DeviceError


class CitizenCardError(DeviceError, code="citizencard", user_message="读卡失败，请联系工作人员"):
    """Base class: something stopped us from reading a citizen card.

    ``reader``: the PC/SC reader's name (also ``device``); ``sw``: the card's status word.
    """

    def __init__(
        self,
        message: str,
        *,
        reader: str | None = None,
        sw: int | None = None,
        user_message: str | None = None,
    ) -> None:
        super().__init__(message, device=reader, user_message=user_message)
        self.reader = reader
        self.sw = sw


class NoReader(CitizenCardError, code="no_reader", user_message="读卡器未连接，请联系工作人员"):
    """pcscd is not running, or no (matching) PC/SC reader is attached."""


class NoCard(CitizenCardError, code="no_card", user_message="请插入社会保障卡/市民卡"):
    """The reader is there but holds no card (or the card was pulled out)."""


class PinRequired(
    CitizenCardError, code="pin_required", user_message="此卡需要输入密码，请到人工窗口办理"
):
    """The card answered 6982/6983: its personal data is behind a PIN."""


class WrongCard(
    CitizenCardError, code="wrong_card", user_message="此卡不是社会保障卡/市民卡，请更换卡片"
):
    """SELECT of the SSSE application failed: not a social-security card."""


class CardReadFailed(CitizenCardError, code="read_failed", user_message="读卡失败，请重新插卡"):
    """The card is a citizen card but a command failed or returned garbage."""


class RecordFormatError(CardReadFailed, code="record_format"):
    """A record's bytes do not parse as TLV.

    Raised by the pure codec.  The message holds the record's header bytes in
    hex and its total length, never the value (which is personal data), so a
    technician can compare with the card specification.
    """

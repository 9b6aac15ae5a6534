"""Named errors of the citizen-card driver.

Each error carries an English ``str()`` for logs (what happened, which reader,
what to check) and a short Chinese ``user_message`` for the kiosk screen.
Personal data never goes into either.
"""

from __future__ import annotations


class CitizenCardError(Exception):
    """Base class: something stopped us from reading a citizen card."""

    user_message: str = "读卡失败，请联系工作人员"

    def __init__(
        self,
        message: str,
        *,
        reader: str | None = None,
        sw: int | None = None,
        user_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.reader = reader
        self.sw = sw
        if user_message is not None:
            self.user_message = user_message


class NoReader(CitizenCardError):
    """pcscd is not running, or no (matching) PC/SC reader is attached."""

    user_message = "读卡器未连接，请联系工作人员"


class NoCard(CitizenCardError):
    """The reader is there but holds no card (or the card was pulled out)."""

    user_message = "请插入社会保障卡/市民卡"


class PinRequired(CitizenCardError):
    """The card answered 6982/6983: its personal data is behind a PIN."""

    user_message = "此卡需要输入密码，请到人工窗口办理"


class WrongCard(CitizenCardError):
    """SELECT of the SSSE application failed: not a social-security card."""

    user_message = "此卡不是社会保障卡/市民卡，请更换卡片"


class CardReadFailed(CitizenCardError):
    """The card is a citizen card but a command failed or returned garbage."""

    user_message = "读卡失败，请重新插卡"


class RecordFormatError(CardReadFailed):
    """A record's bytes do not parse as TLV.

    Raised by the pure codec.  The message holds the record's header bytes in
    hex and its total length, never the value (which is personal data), so a
    technician can compare with the card specification.
    """

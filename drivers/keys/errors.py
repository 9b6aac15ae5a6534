"""The one named error of the keys driver's device side (``KeyMapError`` lives with the maps)."""

from __future__ import annotations


class KeyDeviceError(Exception):
    """An input device cannot be found or opened; ``hint`` says what to check."""

    def __init__(
        self,
        message: str,
        *,
        device: str,
        hint: str = "",
        user_message: str = "按键设备未连接，请检查USB连接",
    ) -> None:
        self.device = device
        self.hint = hint
        self.user_message = user_message
        super().__init__(f"{message} ({device}){'; ' + hint if hint else ''}")

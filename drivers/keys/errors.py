"""The one named error of the keys driver's device side (``KeyMapError`` lives with the maps)."""

from __future__ import annotations

from drivers.errors import DeviceError

UNPLUGGED = "按键设备未连接，请检查USB连接"


class KeyDeviceError(DeviceError, code="key_device", user_message=UNPLUGGED):
    """An input device cannot be found or opened; ``hint`` says what to check."""

    device: str

    def __init__(
        self,
        message: str,
        *,
        device: str,
        hint: str = "",
        user_message: str = UNPLUGGED,
    ) -> None:
        super().__init__(
            f"{message} ({device}){'; ' + hint if hint else ''}",
            device=device,
            user_message=user_message,
        )
        self.hint = hint

"""The caller's rules without Qt: which commands each window state allows, the keypad
login being typed (工号, Enter, PIN, Enter), and the engine's refusals in Chinese.

``CallerWindow`` draws what this says and forwards key presses and timer ticks to it;
tests drive it with a ``FakeClock``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from counter.texts import WindowModel
from hall.core.clock import Clock

# Keypad login: after the login key, digits type the 工号, then Enter, the PIN, Enter.
DIGIT_KEYS = {f"KEY_{d}": str(d) for d in range(10)} | {f"KEY_KP{d}": str(d) for d in range(10)}
ENTER_KEYS = frozenset({"KEY_KPENTER", "KEY_ENTER"})
DELETE_KEYS = frozenset({"KEY_KPDOT", "KEY_BACKSPACE", "KEY_DOT", "KEY_DELETE"})
ENTRY_TIMEOUT_S = 30.0  # no key for this long: the keypad login is dropped
STAFF_NO_MAX = 20
PIN_MAX = 8

BUTTONS = (
    "logout",
    "call_next",
    "pause",
    "recall",
    "start",
    "no_show",
    "finish",
    "transfer",
    "resume",
    "staff_status",
)


@dataclass
class KeypadLogin:
    """A login being typed on the keypad: the 工号, then the PIN (never shown)."""

    staff_no: str = ""
    pin: str = ""
    stage: str = "staff_no"  # then "pin"


def allowed_buttons(m: WindowModel) -> dict[str, bool]:
    """Which of the caller's commands the window's state allows (the others are greyed)."""
    logged_in = m.status != "closed"
    called = bool(m.code and m.called)
    return {
        "logout": logged_in,
        "call_next": logged_in and m.status != "paused",
        "pause": logged_in and m.status != "paused",
        "recall": called,
        "start": called,
        "no_show": called,
        "finish": bool(m.code and not m.called),
        "transfer": bool(m.code),
        "resume": m.status == "paused",
        "staff_status": logged_in,
    }


def error_text(error: Any, link_down: str) -> str:
    """The engine's refusal as the clerk reads it (with how long to wait, tries left);
    ``link_down`` when no answer came (the hall link's own text)."""
    if not isinstance(error, dict):
        return link_down
    text = str(error.get("message_zh") or link_down)
    data = error.get("data") or {}
    if error.get("code") == "recall_cooldown" and data.get("retry_after_s"):
        text += f"（{int(float(data['retry_after_s']) + 0.99)} 秒后可重呼）"
    elif error.get("code") == "clerk_locked" and data.get("retry_after_s"):
        text += f"（约 {max(1, round(float(data['retry_after_s']) / 60))} 分钟后可再试）"
    elif error.get("code") == "wrong_pin" and data.get("attempts_left"):
        text += f"（再错 {int(data['attempts_left'])} 次将锁定）"
    return text


class CallerFlow:
    """The keypad login and the messages it shows.

    ``show(kind, text)`` puts a message on the clerk's screen, ``login(staff_no, pin)``
    sends the typed login, ``typing(on)`` tells the keypad that digits are being typed.
    """

    def __init__(
        self,
        *,
        clock: Clock,
        show: Callable[[str, str], None],
        login: Callable[[str, str], None],
        typing: Callable[[bool], None] = lambda _on: None,
        entry_timeout_s: float = ENTRY_TIMEOUT_S,
    ) -> None:
        self.clock = clock
        self._show = show
        self._login = login
        self._typing = typing
        self.entry_timeout_s = entry_timeout_s
        self.entry: KeypadLogin | None = None
        self.deadline: float | None = None

    @property
    def typing_login(self) -> bool:
        return self.entry is not None

    def start_keypad_login(self) -> None:
        """The login key: the keypad's digits now type the 工号, then the PIN."""
        self.entry = KeypadLogin()
        self._typing(True)
        self._restart()
        self._show_entry()

    def key(self, key: str) -> None:
        """A key pressed while a keypad login is typed."""
        entry = self.entry
        if entry is None:
            return
        self._restart()
        digit = DIGIT_KEYS.get(key)
        if digit is not None:
            if entry.stage == "staff_no" and len(entry.staff_no) < STAFF_NO_MAX:
                entry.staff_no += digit
            elif entry.stage == "pin" and len(entry.pin) < PIN_MAX:
                entry.pin += digit
        elif key in DELETE_KEYS:
            if entry.stage == "pin":
                entry.pin = entry.pin[:-1]
            else:
                entry.staff_no = entry.staff_no[:-1]
        elif key in ENTER_KEYS:
            if entry.stage == "staff_no":
                if entry.staff_no:
                    entry.stage = "pin"
            else:
                self._end()
                self._login(entry.staff_no, entry.pin)
                return
        else:  # any other key: the clerk changed their mind
            self._end()
            self._show("info", "已取消键盘登录")
            return
        self._show_entry()

    def time_left(self) -> float | None:
        """Seconds until the keypad login is dropped, or None when none is typed."""
        if self.deadline is None:
            return None
        return max(0.0, self.deadline - self.clock.monotonic())

    def tick(self) -> None:
        """Time passed: drop a keypad login nobody typed on for ``entry_timeout_s``."""
        if self.deadline is not None and self.clock.monotonic() >= self.deadline:
            self._end()
            self._show("info", "键盘登录已超时，请重新按登录键")

    def _restart(self) -> None:
        self.deadline = self.clock.monotonic() + self.entry_timeout_s

    def _show_entry(self) -> None:
        entry = self.entry
        assert entry is not None
        if entry.stage == "staff_no":
            self._show(
                "info",
                f"键盘登录：输入工号 {entry.staff_no or '_'}，按回车确认（. 删除一位，其他键取消）",
            )
        else:
            self._show(
                "info",
                f"工号 {entry.staff_no}：输入密码 {'●' * len(entry.pin) or '_'}，按回车登录",
            )

    def _end(self) -> None:
        self.entry = None
        self.deadline = None
        self._typing(False)

"""What the window-side screens say, derived from the engine's messages (pure, no Qt).

Every screen renders from these models, built from the retained window state
(``hall/{hall}/window/{w}/state``), the board and the catalogue, so a screen
that restarts shows the truth at once and the wording is tested once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from counter.settings import STAFF_STATUSES, CounterSettings

STATUS_ZH = {"serving": "办理中", "idle": "空闲", "paused": "暂停服务", "closed": "未开放"}
WEEKDAYS_ZH = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")
RATING_ZH = {1: "非常满意", 2: "满意", 3: "基本满意", 4: "不满意", 5: "非常不满意"}


@dataclass(frozen=True)
class WindowModel:
    window: str
    name: str  # "3号窗口"
    department: str
    items: tuple[str, ...]
    status: str  # closed | idle | serving | paused
    pause_reason: str
    clerk_name: str
    staff_no: str
    photo: str
    staff_status: str  # 去向牌: 在岗 / 暂离 / 外出 / 学习 / 休假, or ""
    code: str  # the current ticket, or ""
    called: bool  # called and not yet started
    call_count: int
    waiting: int
    waiting_codes: tuple[str, ...]
    last_finished: Mapping[str, Any] | None

    @property
    def status_text(self) -> str:
        return STATUS_ZH.get(self.status, self.status)

    @property
    def status_line(self) -> str:
        """办理中 / 空闲 / 暂停服务：系统故障 / 未开放."""
        if self.status == "paused" and self.pause_reason:
            return f"暂停服务：{self.pause_reason}"
        return self.status_text

    @property
    def recalled(self) -> bool:
        """The current number was called again (重呼) and the citizen has not come yet."""
        return bool(self.code) and self.called and self.call_count > 1

    @property
    def number_label(self) -> str:
        """Over the number: 当前号码, or 再次呼叫（第2次） while a recalled number waits."""
        if self.recalled:
            return f"再次呼叫（第{self.call_count}次）"
        return "当前号码"

    @property
    def headline(self) -> str:
        """The big sentence under the number."""
        if self.status == "closed":
            return "本窗口暂未开放，请到其他窗口办理"
        if self.status == "paused":
            return f"暂停服务：{self.pause_reason}" if self.pause_reason else "暂停服务，请稍候"
        if self.code and self.called:
            return call_sentence(self.code, self.name)
        if self.code:
            return f"{self.code} 号正在办理"
        return "空闲，请取号等候叫号"

    @property
    def staff_line(self) -> str:
        return f"工号 {self.staff_no}" if self.staff_no else ""

    def led_lines(self, count: int) -> tuple[str, ...]:
        """One or two lines for an LED strip (short: a strip holds few characters)."""
        if self.status == "closed":
            second = "暂未开放"
        elif self.status == "paused":
            second = f"暂停 {self.pause_reason}" if self.pause_reason else "暂停服务"
        elif self.code and self.called:
            second = f"请{self.code}号办理"
        elif self.code:
            second = f"{self.code} 办理中"
        else:
            second = f"空闲 等候{self.waiting}人"
        if count >= 2:
            first = f"{self.name} {self.department}".strip()
            return (first, second)
        return (f"{self.name} {second}",)


def call_sentence(code: str, window_name: str) -> str:
    """请 A001 号到 3号窗口 办理 (the same words the voice says)."""
    return f"请 {code} 号到{window_name}办理"


def window_model(state: Mapping[str, Any]) -> WindowModel:
    clerk = state.get("clerk") or {}
    current = state.get("current") or {}
    return WindowModel(
        window=str(state.get("window", "")),
        name=str(state.get("name") or f"{state.get('window', '')}号窗口"),
        department=str(state.get("department") or ""),
        items=tuple(str(i) for i in state.get("items") or ()),
        status=str(state.get("status", "closed")),
        pause_reason=str(state.get("pause_reason") or ""),
        clerk_name=str(clerk.get("name") or ""),
        staff_no=str(clerk.get("staff_no") or ""),
        photo=str(clerk.get("photo") or ""),
        staff_status=str(state.get("staff_status") or ""),
        code=str(current.get("code") or ""),
        called=current.get("status") == "called",
        call_count=int(current.get("call_count") or 0),
        waiting=int(state.get("waiting") or 0),
        waiting_codes=tuple(state.get("waiting_codes") or ()),
        last_finished=state.get("last_finished"),
    )


NOTICE_LABEL = "重要通知"  # the hall manager's notice (hall web's console, cmd post_notice)
ALERTS_LABEL = "提醒"  # the console's alerts on the board (alerts.show_on_board)
MAX_BOARD_ALERTS = 10


@dataclass(frozen=True)
class Notice:
    """The hall manager's notice, shown on the board and every window display until
    ``until``."""

    text: str
    until: datetime

    def expired(self, now: datetime) -> bool:
        return self.until <= comparable_now(now, self.until)


def comparable_now(now: datetime, other: datetime) -> datetime:
    """``now`` in the form ``other`` can be compared with (aware or naive local time)."""
    if other.tzinfo is None and now.tzinfo is not None:
        return now.astimezone().replace(tzinfo=None)
    if other.tzinfo is not None and now.tzinfo is None:
        return now.astimezone()
    return now


def notice_of(payload: Mapping[str, Any], now: datetime) -> Notice | None:
    """The manager's notice of a window state or the board (``"notice": {"text", "until"}``),
    or None: none posted, taken down (null), expired, malformed, or an engine older than
    hall web that sends no such field."""
    raw = payload.get("notice")
    if not isinstance(raw, Mapping):
        return None
    text = raw.get("text")
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        until = datetime.fromisoformat(str(raw.get("until")))
    except ValueError:
        return None  # without its end a notice could stay up for ever: not shown
    notice = Notice(" ".join(text.split()), until)
    return None if notice.expired(now) else notice


def alerts_of(board: Mapping[str, Any]) -> tuple[str, ...]:
    """The console's alerts the board shows (Chinese lines), or none."""
    raw = board.get("alerts")
    if not isinstance(raw, list | tuple):
        return ()
    lines = (" ".join(a.split()) for a in raw if isinstance(a, str))
    return tuple(line for line in lines if line)[:MAX_BOARD_ALERTS]


# The devices whose presence the board watches, in Chinese (hall.device_config's roles).
DEVICE_ROLE_ZH = {
    "kiosk": "取号机",
    "caller": "叫号器",
    "display": "显示屏",
    "board": "大厅大屏",
    "evaluator": "评价器",
    "engine": "排队主机",
    "web": "网页服务",
}
DEVICE_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
WINDOW_NO = re.compile(r"^[0-9]{1,3}[A-Za-z]?$")
OFFLINE_LABEL = "设备离线"


def presence_of(payload: Any) -> tuple[str, str, bool] | None:
    """``(device, role, online)`` of a presence message, or None when it is not one
    (``{"device", "role", "status": "online" | "offline"}``, sync.mqtt's)."""
    if not isinstance(payload, Mapping):
        return None
    device, role, status = payload.get("device"), payload.get("role", ""), payload.get("status")
    if not isinstance(device, str) or not DEVICE_ID.match(device):
        return None
    if not isinstance(role, str) or len(role) > 32 or status not in ("online", "offline"):
        return None
    return device, role, status == "online"


def device_window(device: str, role: str) -> str:
    """The window of a window's device (``caller-3`` → ``3``, as counter.app names them),
    or ""."""
    _, _, window = device.rpartition("-")
    if role in ("caller", "display", "evaluator") and WINDOW_NO.match(window):
        return window
    return ""


def device_name(device: str, role: str, window_names: Mapping[str, str]) -> str:
    """What the hall calls a device: 3号窗口叫号器 (a window's ``caller-3``), 取号机 kiosk-1."""
    kind = DEVICE_ROLE_ZH.get(role, "设备")
    window = device_window(device, role)
    if window:
        return f"{window_names.get(window) or f'{window}号窗口'}{kind}"
    return f"{kind} {device}"


def empty_model(window: str) -> WindowModel:
    """Before the first state arrives (the broker is not reachable yet)."""
    return window_model({"window": window, "status": "closed"})


def wait_text(minutes: int | None) -> str:
    if minutes is None:
        return "—"
    if minutes <= 0:
        return "无需等候"
    if minutes < 60:
        return f"约{minutes}分钟"
    hours, rest = divmod(minutes, 60)
    return f"约{hours}小时{rest}分" if rest else f"约{hours}小时"


def clock_text(now: datetime) -> tuple[str, str]:
    """("2026年11月23日 星期一", "09:30:05")."""
    return (
        f"{now.year}年{now.month}月{now.day}日 {WEEKDAYS_ZH[now.weekday()]}",
        now.strftime("%H:%M:%S"),
    )


class WindowSide:
    """What every window-side screen of one window starts with (the caller, the evaluator):
    its hall link, its window, the settings, and the model before the first state."""

    qtlink: Any
    window_id: str
    settings: CounterSettings
    model: WindowModel
    state: dict[str, Any] | None

    def _attach(self, qtlink: Any, window_id: str, settings: CounterSettings | None) -> None:
        self.qtlink = qtlink
        self.window_id = window_id
        self.settings = settings or CounterSettings()
        self.model = empty_model(window_id)
        self.state = None


# ---------------------------------------------------------------------- 去向牌

STAFF_NOBODY = "暂无工作人员"
STAFF_PHONE = re.compile(r"^[0-9+() -]{3,24}$")  # an office phone (shown on the 去向牌)


@dataclass(frozen=True)
class StaffCard:
    """One window's 去向牌: who works there (department, name, photo, office phone) and
    where they are (在岗 / 暂离 / 外出 / 学习 / 休假)."""

    window: str
    window_name: str
    department: str
    name: str  # "" when nobody is logged in at the window
    staff_no: str
    photo: str
    phone: str
    status: str  # 在岗 … 休假, or "" (nobody)

    @property
    def present(self) -> bool:
        return bool(self.name or self.staff_no)

    @property
    def status_text(self) -> str:
        return self.status or ("在岗" if self.present else "未开放")

    @property
    def title(self) -> str:
        return self.name or (f"工号 {self.staff_no}" if self.staff_no else "暂无人员")

    @property
    def where(self) -> str:
        """3号窗口 · 综合受理."""
        return " · ".join(part for part in (self.window_name, self.department) if part)

    @property
    def contact(self) -> str:
        """工号 1003  电话 0755-12345678."""
        parts = [f"工号 {self.staff_no}" if self.staff_no else "", self.phone_text]
        return "  ".join(part for part in parts if part)

    @property
    def phone_text(self) -> str:
        return f"电话 {self.phone}" if self.phone else ""


def _text(value: Any, limit: int = 40) -> str:
    return " ".join(str(value).split())[:limit] if isinstance(value, str | int) else ""


def staff_directory(catalog: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The catalogue's staff (``[{id, name, staff_no, department, photo, phone}]``) by id
    and by 工号."""
    out: dict[str, Mapping[str, Any]] = {}
    staff = catalog.get("staff")
    for entry in staff if isinstance(staff, list) else ():
        if isinstance(entry, Mapping):
            for key in ("id", "staff_no"):
                if entry.get(key) is not None:
                    out.setdefault(str(entry[key]), entry)
    return out


def staff_card(state: Mapping[str, Any], directory: Mapping[str, Mapping[str, Any]]) -> StaffCard:
    """A window's 去向牌 from its state (the clerk logged in, the status) and the
    catalogue's staff list (the office phone, a photo the state lacks)."""
    m = window_model(state)
    clerk = state.get("clerk") if isinstance(state.get("clerk"), Mapping) else {}
    assert isinstance(clerk, Mapping)
    entry = directory.get(str(clerk.get("id", ""))) or directory.get(m.staff_no) or {}
    phone = _text(entry.get("phone") or clerk.get("phone") or "", 24)
    present = bool(m.clerk_name or m.staff_no)
    status = m.staff_status if m.staff_status in STAFF_STATUSES else ""
    return StaffCard(
        window=m.window,
        window_name=m.name,
        department=_text(clerk.get("department") or entry.get("department") or m.department),
        name=_text(m.clerk_name or entry.get("name") or "") if present else "",
        staff_no=_text(m.staff_no) if present else "",
        photo=_text(m.photo or entry.get("photo") or "", 300) if present else "",
        phone=phone if present and STAFF_PHONE.fullmatch(phone) else "",
        status=(status or "在岗") if present else "",
    )


def staff_cards(
    windows: Mapping[str, Mapping[str, Any]], catalog: Mapping[str, Any], limit: int = 24
) -> list[StaffCard]:
    """Every window's 去向牌, in window order (2 before 10)."""
    directory = staff_directory(catalog)
    ids = sorted(windows, key=lambda k: (len(k), k))[:limit]
    return [staff_card(windows[i], directory) for i in ids]

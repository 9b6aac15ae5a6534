"""The caller's rules without Qt: which commands each window state allows, the keypad
login being typed (工号, Enter, PIN, Enter), and the engine's refusals in Chinese.

``CallerWindow`` draws what this says and forwards key presses and timer ticks to it;
tests drive it with a ``FakeClock``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
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
    "finish_case",
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
        "finish_case": bool(m.code and not m.called),
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


# ---------------------------------------------------------------------- the case (办件)

CASE_NO_PATTERN = re.compile(r"^[0-9A-Za-z-]{1,40}$")  # 办件编号 from the business system
CASE_NO_MAX = 40
CASE_NO_ERROR = "办件编号只能由数字、字母和“-”组成，最多40位，请核对后重新录入或扫码"
PRIORITY_REASONS_ZH = {
    "elderly": "老年人",
    "disabled": "残疾人",
    "pregnant": "孕妇",
    "military": "军人",
}
MAX_SHOWN = 20  # at most this many cases, transfers, items from one window state
TEXT_MAX = 40  # a name from the wire is cut to this many characters


class CaseInputError(ValueError):
    """What the clerk typed or scanned cannot be sent; ``str()`` is the Chinese message."""


def clean_case_no(text: str) -> str | None:
    """The 办件编号 typed or scanned (spaces and a scanner's control characters around it
    dropped), None when the field is empty; CaseInputError when it is not a case number."""
    value = "".join(ch for ch in str(text) if ch.isprintable()).strip()
    if not value:
        return None
    if not CASE_NO_PATTERN.fullmatch(value):
        raise CaseInputError(CASE_NO_ERROR)
    return value


@dataclass(frozen=True)
class CaseLine:
    """One finished case of the current ticket, as the caller lists it."""

    case_id: str
    item: str
    item_name: str
    case_no: str
    finished_at: str  # "09:41"
    rated: bool

    @property
    def text(self) -> str:
        number = f"办件编号 {self.case_no}" if self.case_no else "无办件编号"
        rated = "已评价" if self.rated else "待评价"
        return f"✔ {self.finished_at} 已办结  {self.item_name}\n    {number}  {rated}"


@dataclass(frozen=True)
class CurrentTicket:
    """The window's current ticket as the clerk needs it: what for, who first, how long."""

    code: str
    status: str  # called | serving
    queue: str
    item: str  # the ticket's item id, or ""
    item_names: tuple[str, ...]  # its item plus the items of its cases
    priority: str  # normal | green | appointment
    flag: str  # 绿色通道（老年人） / 预约 / ""
    waited_min: int | None
    transfers: tuple[str, ...]  # 09:05 从队列 A 综合受理 转至 3号窗口
    cases: tuple[CaseLine, ...]

    @property
    def waited_text(self) -> str:
        return "" if self.waited_min is None else f"已等候 {self.waited_min} 分钟"


def _short(value: Any) -> str:
    return " ".join(str(value).split())[:TEXT_MAX] if value is not None else ""


def clock_of(value: Any) -> str:
    """An ISO time from the engine as the clerk reads it ("09:41"), "" when unreadable."""
    try:
        return datetime.fromisoformat(str(value)).strftime("%H:%M")
    except ValueError:
        return ""


def _names(catalog: Mapping[str, Any], key: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for entry in catalog.get(key) or ():
        if isinstance(entry, Mapping) and entry.get("id") is not None:
            out[str(entry["id"])] = _short(entry.get("name") or entry["id"])
    return out


@dataclass(frozen=True)
class CatalogNames:
    """The catalogue's names by id (items, queues, windows), read once per catalogue: a
    caller applies a window state after every call at its window, the catalogue changes
    only with the hall's config."""

    items: dict[str, str]
    queues: dict[str, str]
    windows: dict[str, str]


def names_of(catalog: Mapping[str, Any]) -> CatalogNames:
    return CatalogNames(
        _names(catalog, "items"), _names(catalog, "queues"), _names(catalog, "windows")
    )


def _flag(current: Mapping[str, Any]) -> tuple[str, str]:
    priority = str(current.get("priority") or "normal")
    reason = str(current.get("priority_reason") or "")
    if priority == "green" or reason in PRIORITY_REASONS_ZH:
        zh = PRIORITY_REASONS_ZH.get(reason)
        return "green", f"绿色通道（{zh}）" if zh else "绿色通道"
    if priority == "appointment" or current.get("appointment") is True or reason == "appointment":
        return "appointment", "预约"
    return "normal", ""


def _waited(current: Mapping[str, Any], now: datetime | None) -> int | None:
    raw = current.get("waited_min")
    if isinstance(raw, int | float) and not isinstance(raw, bool) and 0 <= raw < 100_000:
        return int(raw)
    if now is None:
        return None
    try:  # an engine without waited_min: from the ticket's issue time
        issued = datetime.fromisoformat(str(current.get("issued_at")))
    except ValueError:
        return None
    if issued.tzinfo is None and now.tzinfo is not None:
        now = now.replace(tzinfo=None)
    elif issued.tzinfo is not None and now.tzinfo is None:
        return None
    minutes = int((now - issued).total_seconds() // 60)
    return minutes if minutes >= 0 else None


def transfer_line(
    t: Mapping[str, Any], queue_names: Mapping[str, str], window_names: Mapping[str, str]
) -> str:
    """09:05 从 A 综合受理 转至 3号窗口 (a transfer of the current ticket)."""

    def queue(q: Any) -> str:
        q = _short(q)
        return f"{q} {queue_names[q]}" if q in queue_names else f"队列 {q}"

    source = f"从 {queue(t['from_queue'])} " if t.get("from_queue") else ""
    if t.get("to_window"):
        w = _short(t["to_window"])
        target = window_names.get(w) or f"{w}号窗口"
    elif t.get("to_queue"):
        target = queue(t["to_queue"])
    else:
        target = "—"
    when = clock_of(t.get("at"))
    return f"{when} {source}转至 {target}".strip()


def current_ticket(
    state: Mapping[str, Any], catalog: Mapping[str, Any] | CatalogNames, now: datetime | None = None
) -> CurrentTicket | None:
    """The window state's current ticket with names from the catalogue (or its
    :func:`names_of`), or None.

    Tolerates an engine older than the case fields (none of them) and a hostile payload
    (wrong types are dropped, lists and texts bounded)."""
    current = state.get("current")
    if not isinstance(current, Mapping) or not current.get("code"):
        return None
    known = catalog if isinstance(catalog, CatalogNames) else names_of(catalog)
    items, queues, windows = known.items, known.queues, known.windows
    item = _short(current.get("item") or "")
    names: list[str] = []

    def add(item_id: Any, name: Any = None) -> None:
        text = _short(name) or items.get(_short(item_id), _short(item_id))
        if text and text not in names:
            names.append(text)

    if item:
        add(item)
    for extra in list(current.get("items") or ())[:MAX_SHOWN]:
        if isinstance(extra, Mapping):
            add(extra.get("id") or extra.get("item"), extra.get("name") or extra.get("item_name"))
        elif isinstance(extra, str):
            add(extra)
    cases = []
    raw_cases = state.get("cases")
    for c in list(raw_cases if isinstance(raw_cases, list) else ())[:MAX_SHOWN]:
        if not isinstance(c, Mapping):
            continue
        case_item = _short(c.get("item") or "")
        line = CaseLine(
            case_id=_short(c.get("case_id") or ""),
            item=case_item,
            item_name=_short(c.get("item_name")) or items.get(case_item, case_item or "—"),
            case_no=_short(c.get("case_no") or ""),
            finished_at=clock_of(c.get("finished_at")),
            rated=c.get("rated") in (True, 1),
        )
        cases.append(line)
        add(case_item, line.item_name)
    transfers = tuple(
        transfer_line(t, queues, windows)
        for t in list(current.get("transfers") or ())[:MAX_SHOWN]
        if isinstance(t, Mapping)
    )
    priority, flag = _flag(current)
    return CurrentTicket(
        code=_short(current["code"]),
        status=str(current.get("status") or ""),
        queue=_short(current.get("queue") or ""),
        item=item,
        item_names=tuple(names),
        priority=priority,
        flag=flag,
        waited_min=_waited(current, now),
        transfers=transfers,
        cases=tuple(cases),
    )


def item_choices(catalog: Mapping[str, Any], ticket: CurrentTicket | None) -> list[tuple[str, str]]:
    """The hall's items for 办结本件 as (id, name): the ticket's queue first, the ticket's
    own item at the top."""
    entries = [
        (str(i["id"]), _short(i.get("name") or i["id"]), str(i.get("queue") or ""))
        for i in catalog.get("items") or ()
        if isinstance(i, Mapping) and i.get("id") is not None
    ]
    if ticket is not None:
        entries.sort(key=lambda e: (e[0] != ticket.item, e[2] != ticket.queue))
    return [(ident, name) for ident, name, _queue in entries]


def default_item(catalog: Mapping[str, Any], ticket: CurrentTicket | None) -> str | None:
    """The item 办结本件 starts on: the ticket's, else the first of its queue."""
    if ticket is None:
        return None
    choices = item_choices(catalog, ticket)
    known = {ident for ident, _name in choices}
    if ticket.item and (ticket.item in known or not known):
        return ticket.item
    return choices[0][0] if choices else None


def finish_case_args(
    ticket: CurrentTicket | None, item: str | None, case_text: str, catalog: Mapping[str, Any]
) -> dict[str, str]:
    """The ``finish_case`` arguments, or CaseInputError with what to do instead."""
    if ticket is None or ticket.status != "serving":
        raise CaseInputError("请先开始办理当前号码，再办结本件")
    args: dict[str, str] = {}
    known = {ident for ident, _name in item_choices(catalog, ticket)}
    if item:
        if known and item not in known:
            raise CaseInputError("所选事项不是本大厅的事项，请重新选择")
        args["item"] = item
    case_no = clean_case_no(case_text)
    if case_no is not None:
        args["case_no"] = case_no
    return args


def finish_args(ticket: CurrentTicket | None, item: str | None, case_text: str) -> dict[str, str]:
    """The ``finish`` arguments (办结: the whole ticket), or CaseInputError.

    A ticket with no case finished yet gets one for its own item with the typed
    办件编号; a number typed for another item or after the cases were finished would
    be lost, so the clerk is told to press 办结本件 first."""
    case_no = clean_case_no(case_text)
    if ticket is None or case_no is None:
        return {}
    if ticket.cases:
        raise CaseInputError(f"办件编号 {case_no} 尚未办结：请先按“办结本件”，或清空编号后再办结")
    if item and ticket.item and item != ticket.item:
        raise CaseInputError("所选事项不是本号的事项：请先按“办结本件”，再按“办结”")
    return {"case_no": case_no}

"""The hall's configuration: queues, items, windows, staff, hours, policy, limits.

Declared once, as frozen dataclasses whose field types say what each key
accepts (type, range, format, the allowed words); :func:`parse_hall_config`
checks plain data (YAML or JSON, or the retained config the center pushes
down) against them with :func:`hall.core.schema.check` and then checks the
cross-references (an item's queue exists, a window's queues exist, a device's
window exists, no id twice).  Every problem is reported at once in one
:class:`ConfigError`, each with its path (``queues[0].daily_cap``) and, for a
misspelt key or word, the one that was probably meant.

A new field declared here is checked like the others without more code.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import Field

from hall.core import schema
from hall.core.pins import PinHashText
from hall.core.schema import (
    Bool,
    ClockTime,
    Day,
    Name,
    Problem,
    Section,
    Text,
)


class ConfigError(schema.ConfigError):
    """The hall configuration is invalid; ``problems`` says every path at fault."""

    user_message = "大厅配置有误，请按提示修改"


#: An id that may become part of an MQTT topic (the contract's ``id``).
Id = Annotated[str, Field(strict=True, pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
Positive = Annotated[int, Field(strict=True, gt=0)]
AtLeastOne = Annotated[int, Field(strict=True, ge=1)]
NonNegative = Annotated[int, Field(strict=True, ge=0)]
Minutes = Annotated[float, Field(strict=True, gt=0)]
Seconds = Annotated[float, Field(strict=True, ge=0)]
Weekday = Annotated[int, Field(strict=True, ge=1, le=7)]  # ISO: Monday = 1 ... Sunday = 7

ItemKind = Literal["即办件", "承诺件"]  # on the spot, or within a promised time
WindowKind = Literal["comprehensive", "specialised"]  # 综合窗口, 专窗
Role = Literal["kiosk", "caller", "display", "board", "evaluator", "engine", "monitor", "web"]
PolicyStep = Literal["green", "appointment", "longest_wait"]
QueuePreference = Literal["longest_wait", "queue_order"]

ROLES: tuple[str, ...] = Role.__args__  # type: ignore[attr-defined]
WINDOW_ROLES = ("caller", "evaluator")  # a device that must name its window


@schema.schema
@dataclass(frozen=True)
class Queue:
    id: Id
    name: Name
    prefix: Annotated[str, Field(strict=True, pattern=r"^[A-Z0-9]{1,4}$")]  # A -> A001
    first_number: AtLeastOne = 1
    last_number: Annotated[int, Field(strict=True, ge=1, le=99999)] = 999
    daily_cap: Positive | None = None
    avg_service_min: Minutes = 8.0
    name_en: Text = ""


#: A standard code of the 好差评 platform (事项编码, 实施编码, 部门编码).
Code = Annotated[str, Field(strict=True, pattern=r"^[0-9A-Za-z-]{1,64}$")]
#: 区划代码: 12 digits (6, the county's, allowed).
AreaCode = Annotated[str, Field(strict=True, pattern=r"^([0-9]{6}|[0-9]{12})$")]
#: 办件编号 from the business system.
CASE_NO_FORM = r"^[0-9A-Za-z-]{1,40}$"


@schema.schema
@dataclass(frozen=True)
class ItemCodes:
    """An item's standard codes for the 好差评 platform."""

    item_code: Code  # 事项编码 (基本编码)
    impl_code: Code  # 实施编码
    dept_code: Code  # 部门编码


@schema.schema
@dataclass(frozen=True)
class Item:
    """A service item (事项) with its guide for 一次性告知."""

    id: Id
    name: Name
    queue: Id
    department: Text = ""
    kind: ItemKind = "即办件"
    requires_id: Bool = False
    legal_days: NonNegative | None = None  # 法定时限 (working days)
    promised_days: NonNegative | None = None  # 承诺时限: at most the legal one
    fee: Text = "不收费"
    materials: tuple[Name, ...] = ()
    # Where the citizen is called is derived from the windows that serve the queue
    # (:func:`item_location`); a free text here may only name those windows (the check
    # refuses any other window number).  A floor or an area goes in location_note.
    location: Text = ""
    legal_basis: Text = ""
    name_en: Text = ""
    codes: ItemCodes | None = None  # the 好差评 platform's codes
    location_note: Text = ""  # 二楼东侧: shown with the derived windows
    # English values for the kiosk's English mode (the check reports the missing ones)
    materials_en: tuple[Name, ...] = ()  # one per material, in the same order (else unused)
    fee_en: Text = ""
    legal_basis_en: Text = ""
    department_en: Text = ""
    location_note_en: Text = ""


@schema.schema
@dataclass(frozen=True)
class Window:
    id: Id
    name: Name
    queues: Annotated[tuple[Id, ...], Field(min_length=1)]
    department: Text = ""
    kind: WindowKind = "comprehensive"
    # The words after the number in the derived locations (4—5号社保窗口); empty:
    # 综合窗口 for a comprehensive window, the department's short name + 专窗 otherwise.
    label: Text = ""
    name_en: Text = ""


@schema.schema
@dataclass(frozen=True)
class Staff:
    """A clerk of the hall (the center sends the staff list with the hall config).

    A clerk logs in at a caller with the 工号 and a PIN; the PIN is here only as its
    salted hash (``hall.core.pins``: ``hall provision --hash-pin`` makes one), checked
    with the rest of the hall config.  A clerk without one cannot log in.
    """

    id: Id
    name: Name
    staff_no: Name  # 工号
    department: Text = ""
    photo: Text = ""
    phone: Text = ""
    pin_hash: PinHashText | None = field(default=None, repr=False)


@schema.schema
@dataclass(frozen=True)
class Device:
    """A device allowed on the hall plane and what it may command."""

    id: Id
    role: Role
    window: Id | None = None


class Extended(NamedTuple):
    """延时服务: an extra session on one day (``{date, start, end}`` in the file)."""

    date: Day
    start: ClockTime
    end: ClockTime


Session = tuple[ClockTime, ClockTime]  # ["09:00", "12:00"]


@schema.schema
@dataclass(frozen=True)
class Hours:
    weekdays: tuple[Weekday, ...] = (1, 2, 3, 4, 5)
    sessions: tuple[Session, ...] = ((time(9), time(12)), (time(13), time(17)))
    stop_issuing_before_close_min: NonNegative = 15
    holidays: frozenset[Day] = frozenset()
    extra_workdays: frozenset[Day] = frozenset()  # 调休: weekend days that are worked
    extended: tuple[Extended, ...] = ()  # 延时服务
    # Tickets in the break between two sessions (lunch), called when the next one starts.
    issue_during_break: Bool = True


@schema.schema
@dataclass(frozen=True)
class Policy:
    order: tuple[PolicyStep, ...] = ("green", "appointment", "longest_wait")
    max_priority_in_row: AtLeastOne = 3  # then one normal ticket, so normal never starves
    queue_preference: QueuePreference = "longest_wait"  # or the window's first non-empty queue
    appointment_early_min: NonNegative = 15
    appointment_late_min: NonNegative = 15
    recall_cooldown_s: Seconds = 10.0
    no_show_after_calls: AtLeastOne = 3
    late_requeue_position: AtLeastOne = 3  # a late no-show returns as the Nth waiting
    on_the_spot_limit_min: AtLeastOne = 30  # 即办件 must finish within this


@schema.schema
@dataclass(frozen=True)
class Limits:
    per_person_active_per_queue: AtLeastOne = 1
    per_person_daily: AtLeastOne = 5
    id_required_for_all: Bool = False


@schema.schema
@dataclass(frozen=True)
class StaffLogin:
    """How clerks log in at a window's caller (工号 + PIN, checked by the engine)."""

    max_failures: AtLeastOne = 5  # wrong PINs in a row lock the 工号 (and raise an alarm) ...
    lockout_min: Minutes = 15.0  # ... for this long
    # no command from the window's caller for this long (and no citizen called or being
    # served there): the clerk is logged out.  0: never.
    idle_logout_min: Annotated[float, Field(strict=True, ge=0)] = 30.0


DEFAULT_TICKET_URL = "http://hall.local/t/{token}"  # the hall's guest network (hall web)
#: A "few ahead" threshold of the citizen's page and the ticket_progress events.
AheadThreshold = Annotated[int, Field(strict=True, ge=1, le=50)]
#: A manager's login name at the console.
Account = Annotated[str, Field(strict=True, pattern=r"^[a-z0-9._-]{2,32}$")]
AlertMinutes = Annotated[float, Field(strict=True, ge=0)]  # 0: the rule is off
AlertCount = Annotated[int, Field(strict=True, ge=0)]  # 0: the rule is off


@schema.schema
@dataclass(frozen=True)
class Web:
    """The web role (``hall web``): the citizen's page the ticket's QR opens."""

    # The QR on the ticket: must hold {token}; {hall} is allowed.
    ticket_url: Annotated[str, Field(strict=True, min_length=8, max_length=200)] = (
        DEFAULT_TICKET_URL
    )
    # "few ahead" thresholds, descending: ticket_progress "ahead" events, the page's sound.
    remind_ahead: Annotated[tuple[AheadThreshold, ...], Field(max_length=5)] = (5, 2)


@schema.schema
@dataclass(frozen=True)
class Manager:
    """A hall manager's console account (hall web's /console); the password only hashed
    (``hall.core.pins.hash_password``: the scrypt form of the staff PINs)."""

    id: Id
    name: Name
    account: Account
    password_hash: PinHashText | None = field(default=None, repr=False)


@schema.schema
@dataclass(frozen=True)
class Alerts:
    """The console's alert rules (0 / false switches one off)."""

    waiting_over: AlertCount = 20  # a queue with more than N waiting
    longest_wait_min: AlertMinutes = 30.0  # a queue whose longest wait exceeds M minutes
    no_open_window: Bool = True  # people waiting and no open window serves the queue
    idle_window_min: AlertMinutes = 5.0  # an open window idle for N min while its queues wait
    clerk_away_min: AlertMinutes = 15.0  # a window paused / clerk away longer than N min
    on_the_spot_over: Bool = True  # a 即办件 served longer than policy.on_the_spot_limit_min
    bad_rating: Bool = True  # a 不满意/非常不满意 rating not yet acknowledged by a manager
    show_on_board: Bool = False  # also show the alerts' Chinese lines on the hall board


#: The common national categories of a bad review (差评原因).
DEFAULT_REASONS: tuple[str, ...] = (
    "服务态度差",
    "办事效率低",
    "业务不熟练",
    "一次性告知不到位",
    "材料要求多",
    "多次跑腿",
    "环境设施差",
    "其他",
)
Reason = Annotated[str, Field(strict=True, min_length=1, max_length=40)]


@schema.schema
@dataclass(frozen=True)
class Haochaping:
    """好差评: ratings per case, the bad-review reasons and the follow-up loop."""

    # true: the config check refuses an item without codes and a hall without area_code
    require_codes: Bool = False
    reasons: Annotated[tuple[Reason, ...], Field(min_length=1, max_length=20)] = DEFAULT_REASONS
    follow_up_days: Annotated[int, Field(strict=True, ge=1, le=60)] = 15  # working days
    remind_days_before: Annotated[int, Field(strict=True, ge=0, le=30)] = 3  # 0: no reminder
    tablet_comment: Bool = True  # the tablet offers an optional comment


@schema.schema
@dataclass(frozen=True)
class HallHeader:
    id: Id
    name: Name
    area_code: AreaCode | None = None  # 区划代码
    name_en: Text = ""


@schema.schema
@dataclass(frozen=True)
class HallDocument:
    """The hall config as written in the file (``hall: {id, name}`` on top)."""

    hall: HallHeader
    queues: Annotated[tuple[Queue, ...], Field(min_length=1)]
    items: tuple[Item, ...]
    windows: Annotated[tuple[Window, ...], Field(min_length=1)]
    staff: tuple[Staff, ...] = ()
    devices: tuple[Device, ...] = ()
    hours: Section[Hours] = field(default_factory=Hours)
    policy: Section[Policy] = field(default_factory=Policy)
    limits: Section[Limits] = field(default_factory=Limits)
    staff_login: Section[StaffLogin] = field(default_factory=StaffLogin)
    notices: tuple[Name, ...] = ()
    web: Section[Web] = field(default_factory=Web)
    managers: tuple[Manager, ...] = ()
    alerts: Section[Alerts] = field(default_factory=Alerts)
    haochaping: Section[Haochaping] = field(default_factory=Haochaping)
    version: AtLeastOne = 1
    notices_en: tuple[Name, ...] = ()  # one per notice, in the same order (else unused)


@dataclass(frozen=True)
class HallConfig:
    hall_id: str
    hall_name: str
    queues: tuple[Queue, ...]
    items: tuple[Item, ...]
    windows: tuple[Window, ...]
    staff: tuple[Staff, ...] = ()
    devices: tuple[Device, ...] = ()
    hours: Hours = field(default_factory=Hours)
    policy: Policy = field(default_factory=Policy)
    limits: Limits = field(default_factory=Limits)
    staff_login: StaffLogin = field(default_factory=StaffLogin)
    notices: tuple[str, ...] = ()
    web: Web = field(default_factory=Web)
    managers: tuple[Manager, ...] = ()
    alerts: Alerts = field(default_factory=Alerts)
    version: int = 1
    area_code: str | None = None
    haochaping: Haochaping = field(default_factory=Haochaping)
    hall_name_en: str = ""
    notices_en: tuple[str, ...] = ()

    def queue(self, queue_id: str) -> Queue:
        for q in self.queues:
            if q.id == queue_id:
                return q
        raise KeyError(queue_id)

    def item(self, item_id: str) -> Item:
        for i in self.items:
            if i.id == item_id:
                return i
        raise KeyError(item_id)

    def window(self, window_id: str) -> Window:
        for w in self.windows:
            if w.id == window_id:
                return w
        raise KeyError(window_id)

    def staff_member(self, staff_id: str) -> Staff | None:
        return next((s for s in self.staff if s.id == staff_id), None)

    def clerk(self, staff_no: str) -> Staff | None:
        """The clerk who logs in with ``staff_no`` (工号; their id is accepted too)."""
        return next((s for s in self.staff if s.staff_no == staff_no), None) or (
            self.staff_member(staff_no)
        )

    def device(self, device_id: str) -> Device | None:
        return next((d for d in self.devices if d.id == device_id), None)

    def manager(self, manager_id: str) -> Manager | None:
        return next((m for m in self.managers if m.id == manager_id), None)

    def manager_account(self, account: str) -> Manager | None:
        return next((m for m in self.managers if m.account == account), None)

    def items_of(self, queue_id: str) -> tuple[Item, ...]:
        return tuple(i for i in self.items if i.queue == queue_id)


# --------------------------------------------------------------------------- locations

#: The words that trail a department's name and are dropped in a window's label
#: (人社局 -> 人社专窗, 公积金中心 -> 公积金专窗).
_DEPARTMENT_ENDINGS = ("管理中心", "服务中心", "中心", "局", "办", "所", "站")
#: Window numbers in a free text: 4号, 4—5号, 1、2、3号, 3号和5号 (each chain ends in 号).
_NUMBERS = re.compile(r"\d+(?:\s*(?:[—–~～至到、,，/]|-|和|及)\s*\d+)*\s*号")
_RANGE = re.compile(r"(\d+)\s*(?:[—–~～至到]|-)\s*(\d+)")


def window_label(window: Window) -> str:
    """The words after a window's number in a location: its ``label``, else 综合窗口
    (comprehensive) or the department's short name and 专窗."""
    if window.label:
        return window.label
    if window.kind == "comprehensive":
        return "综合窗口"
    dept = window.department
    for ending in _DEPARTMENT_ENDINGS:
        if dept.endswith(ending) and len(dept) > len(ending):
            dept = dept[: -len(ending)]
            break
    return f"{dept}专窗"


def serving_windows(windows: Iterable[Window], queue_id: str) -> tuple[Window, ...]:
    """The windows whose ``queues`` include ``queue_id`` (comprehensive ones included)."""
    return tuple(w for w in windows if queue_id in w.queues)


def _runs(numbers: list[int], dash: str, sep: str) -> str:
    """1, 2, 3, 5 -> 1—3、5: consecutive numbers as one range."""
    parts: list[str] = []
    start = prev = numbers[0]
    for n in [*numbers[1:], None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        parts.append(str(start) if start == prev else f"{start}{dash}{prev}")
        if n is not None:
            start = prev = n
    return sep.join(parts)


def queue_location(windows: Iterable[Window], queue_id: str) -> tuple[str, str]:
    """Where a ticket of ``queue_id`` is called, derived from the windows that serve it:
    ``("1—3号综合窗口、4—5号社保窗口", "Windows 1–5")``; ``("", "")`` without any.

    Windows with a number for an id are grouped by label (in the order of their
    lowest number) with consecutive numbers as ranges; others are named as they are.
    """
    serving = serving_windows(windows, queue_id)
    numbered = sorted((int(w.id), w) for w in serving if w.id.isdigit())
    named = [w for w in serving if not w.id.isdigit()]
    groups: dict[str, list[int]] = {}
    for n, w in numbered:
        groups.setdefault(window_label(w), []).append(n)
    zh = [f"{_runs(ns, '—', '、')}号{label}" for label, ns in groups.items()]
    zh += [w.name for w in named]
    en: list[str] = []
    if numbered:
        numbers = [n for n, _ in numbered]
        word = "Window" if len(numbers) == 1 else "Windows"
        en.append(f"{word} {_runs(numbers, '–', ', ')}")
    en += [w.name_en or w.name for w in named]
    return "、".join(zh), ", ".join(en)


def item_location(config: HallConfig, item: Item) -> tuple[str, str]:
    """The location the kiosk shows and prints for ``item``: the derived windows, with
    the item's ``location_note`` (a floor, an area) in brackets after them."""
    zh, en = queue_location(config.windows, item.queue)
    note = item.location_note or _note_of(item.location)
    if note:
        zh = f"{zh}（{note}）" if zh else note
    note_en = item.location_note_en
    if note_en:
        en = f"{en} ({note_en})" if en else note_en
    return zh, en


def _note_of(free_text: str) -> str:
    """A free-text location without any window number is a note (二楼东侧); one that
    names windows is replaced by the derived text (the check keeps it consistent)."""
    return "" if _NUMBERS.search(free_text) else free_text


def named_window_numbers(text: str) -> set[int]:
    """The window numbers a free text names: 4—5号窗口 -> {4, 5}; 二楼 has none."""
    found: set[int] = set()
    for chain in _NUMBERS.findall(text):
        for a, b in _RANGE.findall(chain):
            lo, hi = sorted((int(a), int(b)))
            found.update(range(lo, min(hi, lo + 999) + 1))  # a typo must not explode
        found.update(int(n) for n in re.findall(r"\d+", _RANGE.sub("", chain)))
    return found


def _location_problems(doc: HallDocument) -> Iterator[Problem]:
    """A free-text location may only name the windows that serve the item's queue,
    each of them (the kiosk shows the derived windows: a contradiction is refused)."""
    for n, it in enumerate(doc.items):
        named = named_window_numbers(it.location)
        if not named:
            continue
        serving = serving_windows(doc.windows, it.queue)
        numbers = {int(w.id) for w in serving if w.id.isdigit()}
        derived, _en = queue_location(doc.windows, it.queue)
        shown = ", ".join(str(x) for x in sorted(numbers)) or "none"
        wrong = sorted(named - numbers)
        missing = sorted(numbers - named)
        if wrong or missing:
            said = []
            if wrong:
                said.append(f"names window {', '.join(map(str, wrong))} that does not serve it")
            if missing:
                said.append(f"leaves out window {', '.join(map(str, missing))}")
            yield Problem(
                f"items[{n}].location",
                f"item {it.id!r} ({it.name}) says {it.location!r} but queue {it.queue} is "
                f"served by windows {shown} ({derived or 'none'}): it {' and '.join(said)}; "
                "leave location out (it is derived from the windows) and put a floor or "
                "an area in location_note",
            )


def english_gaps(config: HallConfig) -> list[str]:
    """Every text shown to citizens that has no English value: the kiosk's English mode
    shows the Chinese one there.  A report (each line with its path), not a refusal."""
    gaps: list[str] = []

    def need(path: str, zh: str, en: object) -> None:
        if zh and not en:
            gaps.append(f"{path}: no English for {zh!r}")

    def aligned(path: str, what: str, zh: tuple[str, ...], en: tuple[str, ...]) -> None:
        if en and len(en) != len(zh):
            gaps.append(
                f"{path}: {len(en)} English {what} for {len(zh)} (one each, in the same "
                "order): not shown"
            )
        else:
            need(path, "、".join(zh), en)

    need("hall.name_en", config.hall_name, config.hall_name_en)
    for n, q in enumerate(config.queues):
        need(f"queues[{n}].name_en", q.name, q.name_en)
    for n, it in enumerate(config.items):
        at = f"items[{n}]"
        need(f"{at}.name_en", it.name, it.name_en)
        need(f"{at}.department_en", it.department, it.department_en)
        need(f"{at}.fee_en", it.fee, it.fee_en or _KNOWN_EN.get(it.fee))
        need(f"{at}.legal_basis_en", it.legal_basis, it.legal_basis_en)
        aligned(f"{at}.materials_en", "materials", it.materials, it.materials_en)
        need(
            f"{at}.location_note_en",
            it.location_note or _note_of(it.location),
            it.location_note_en,
        )
    for n, w in enumerate(config.windows):
        need(f"windows[{n}].name_en", w.name, w.name_en)
    aligned("notices_en", "notices", config.notices, config.notices_en)
    return gaps


def materials_en(item: Item) -> tuple[str, ...]:
    """An item's materials in English, one per material; none when they are not one
    each (a list of materials changed without its English: the report says so)."""
    return item.materials_en if len(item.materials_en) == len(item.materials) else ()


def notices_en(config: HallConfig) -> tuple[str, ...]:
    """The notices in English, one per notice, or none (as :func:`materials_en`)."""
    return config.notices_en if len(config.notices_en) == len(config.notices) else ()


#: English for the schema's Chinese defaults (an item's fee is 不收费 unless it says).
_KNOWN_EN = {"不收费": "Free of charge"}


def fee_en(item: Item) -> str:
    """An item's fee in English: its ``fee_en``, or that of the default 不收费."""
    return item.fee_en or _KNOWN_EN.get(item.fee, "")


# --------------------------------------------------------------------------- rules


def _unique(section: str, key: str, values: Iterable[str]) -> Iterator[Problem]:
    first: dict[str, int] = {}
    for n, value in enumerate(values):
        if value in first:
            yield Problem(
                f"{section}[{n}].{key}",
                f"duplicate {key} {value!r} (also {section}[{first[value]}])",
            )
        else:
            first[value] = n


def _reference(path: str, what: str, value: str, known: Iterable[str]) -> Iterator[Problem]:
    known = list(known)
    if value not in known:
        yield Problem(path, f"no {what} {value!r}", schema.did_you_mean(value, known))


def _cross_references(doc: HallDocument) -> Iterator[Problem]:
    """No id twice; every queue, window and range that one entry names exists."""
    yield from _unique("queues", "id", (q.id for q in doc.queues))
    yield from _unique("queues", "prefix", (q.prefix for q in doc.queues))
    yield from _unique("items", "id", (i.id for i in doc.items))
    yield from _unique("windows", "id", (w.id for w in doc.windows))
    yield from _unique("staff", "id", (s.id for s in doc.staff))
    yield from _unique("staff", "staff_no", (s.staff_no for s in doc.staff))
    yield from _unique("devices", "id", (d.id for d in doc.devices))
    yield from _unique("managers", "id", (m.id for m in doc.managers))
    yield from _unique("managers", "account", (m.account for m in doc.managers))
    url = doc.web.ticket_url
    if "{token}" not in url:
        yield Problem("web.ticket_url", "must contain {token} (the ticket's own page)")
    else:
        try:
            url.format(token="t", hall="h")
        except (KeyError, IndexError, ValueError):
            yield Problem("web.ticket_url", "only {token} and {hall} may be filled in")
    ahead = doc.web.remind_ahead
    if list(ahead) != sorted(set(ahead), reverse=True):
        yield Problem("web.remind_ahead", "thresholds are listed from the largest down, once each")
    queue_ids = [q.id for q in doc.queues]
    window_ids = [w.id for w in doc.windows]
    for n, q in enumerate(doc.queues):
        if q.first_number > q.last_number:
            yield Problem(
                f"queues[{n}].first_number",
                f"the numbers run from first_number to last_number ({q.last_number}); "
                f"got {q.first_number}",
            )
    for n, it in enumerate(doc.items):
        yield from _reference(f"items[{n}].queue", "queue", it.queue, queue_ids)
        if (
            it.legal_days is not None
            and it.promised_days is not None
            and it.promised_days > it.legal_days
        ):
            yield Problem(
                f"items[{n}].promised_days",
                f"the promised time ({it.promised_days} days) is longer than the legal "
                f"time limit ({it.legal_days} days)",
            )
    yield from _location_problems(doc)
    for n, w in enumerate(doc.windows):
        for k, queue_id in enumerate(w.queues):
            yield from _reference(f"windows[{n}].queues[{k}]", "queue", queue_id, queue_ids)
        for k, dup in enumerate(w.queues):
            if dup in w.queues[:k]:
                yield Problem(f"windows[{n}].queues[{k}]", f"queue {dup!r} is listed twice")
    for n, d in enumerate(doc.devices):
        if d.window is not None:
            yield from _reference(f"devices[{n}].window", "window", d.window, window_ids)
        elif d.role in WINDOW_ROLES:
            yield Problem(f"devices[{n}].window", f"missing: a {d.role} belongs to a window")
    for n, (start, end) in enumerate(doc.hours.sessions):
        if end <= start:
            yield Problem(f"hours.sessions[{n}]", "a session must end after it starts")
    for n, e in enumerate(doc.hours.extended):
        if e.end <= e.start:
            yield Problem(f"hours.extended[{n}]", "a session must end after it starts")
    both = doc.hours.holidays & doc.hours.extra_workdays
    for day in sorted(both):
        yield Problem("hours.extra_workdays", f"{day} is also a holiday")
    hcp = doc.haochaping
    if hcp.remind_days_before >= hcp.follow_up_days:
        yield Problem(
            "haochaping.remind_days_before",
            f"the reminder comes before the deadline: less than follow_up_days "
            f"({hcp.follow_up_days})",
        )
    for n, reason in enumerate(hcp.reasons):
        if reason in hcp.reasons[:n]:
            yield Problem(f"haochaping.reasons[{n}]", f"reason {reason!r} is listed twice")
    if hcp.require_codes:
        if doc.hall.area_code is None:
            yield Problem(
                "hall.area_code", "missing: haochaping.require_codes needs the hall's 区划代码"
            )
        for n, it in enumerate(doc.items):
            if it.codes is None:
                yield Problem(
                    f"items[{n}].codes",
                    f"missing for item {it.id!r} ({it.name}): haochaping.require_codes needs "
                    "its item_code, impl_code and dept_code",
                )


# --------------------------------------------------------------------------- parsing


def parse_hall_config(data: Any, *, source: str = "") -> HallConfig:
    """Validate plain data and build a :class:`HallConfig`, or raise :class:`ConfigError`."""
    if not isinstance(data, dict):
        raise ConfigError(
            [Problem("", "the hall config must be a mapping (hall:, queues:, ...)")],
            source=source,
        )
    doc = schema.check(
        HallDocument, data, source=source, rules=(_cross_references,), error=ConfigError
    )
    return HallConfig(
        hall_id=doc.hall.id,
        hall_name=doc.hall.name,
        queues=doc.queues,
        items=doc.items,
        windows=doc.windows,
        staff=doc.staff,
        devices=doc.devices,
        hours=doc.hours,
        policy=doc.policy,
        limits=doc.limits,
        staff_login=doc.staff_login,
        notices=doc.notices,
        web=doc.web,
        managers=doc.managers,
        alerts=doc.alerts,
        version=doc.version,
        area_code=doc.hall.area_code,
        haochaping=doc.haochaping,
        hall_name_en=doc.hall.name_en,
        notices_en=doc.notices_en,
    )


def read_document(path: str | Path) -> Any:
    """The plain data of a YAML or JSON file (``ConfigError`` when it does not parse)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    if path.suffix in (".yaml", ".yml"):
        import yaml

        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError([Problem("", f"not valid YAML: {exc}")], source=str(path)) from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError([Problem("", f"not valid JSON: {exc}")], source=str(path)) from exc


def check_hall_document(data: Any) -> str:
    """A hall config pushed by the center, checked as the engine will load it: its hall
    id, or ``ValueError`` naming every problem (the sync agent's ``hall_check``)."""
    try:
        return parse_hall_config(data).hall_id
    except ConfigError as exc:
        raise ValueError(f"hall config: {exc}") from None


def load_hall_config(path: str | Path) -> HallConfig:
    """Read a YAML or JSON file and parse it; the error names the file."""
    return parse_hall_config(read_document(path), source=str(path))


__all__ = [
    "CASE_NO_FORM",
    "DEFAULT_REASONS",
    "DEFAULT_TICKET_URL",
    "Alerts",
    "ConfigError",
    "Device",
    "Extended",
    "HallConfig",
    "HallDocument",
    "Haochaping",
    "Hours",
    "Item",
    "ItemCodes",
    "Limits",
    "Manager",
    "Policy",
    "Queue",
    "Staff",
    "StaffLogin",
    "Web",
    "Window",
    "check_hall_document",
    "english_gaps",
    "fee_en",
    "item_location",
    "load_hall_config",
    "materials_en",
    "named_window_numbers",
    "notices_en",
    "parse_hall_config",
    "queue_location",
    "serving_windows",
    "window_label",
]

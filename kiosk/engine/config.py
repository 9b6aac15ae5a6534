"""The hall's configuration: queues, items, windows, staff, hours, policy, limits.

Declared as frozen dataclasses and parsed from plain data (YAML or JSON, or
the retained config the center pushes down).  ``parse_hall_config`` rejects
bad input with :class:`ConfigError` naming the path of the bad key and, for a
misspelt key, the key that was probably meant.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field, fields
from datetime import date, time
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """The hall configuration is invalid; ``path`` says where."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


@dataclass(frozen=True)
class Queue:
    id: str
    name: str
    prefix: str
    first_number: int = 1
    last_number: int = 999
    daily_cap: int | None = None
    avg_service_min: float = 8.0
    name_en: str = ""


@dataclass(frozen=True)
class Item:
    """A service item (事项) with its guide for 一次性告知."""

    id: str
    name: str
    queue: str
    department: str = ""
    kind: str = "即办件"  # 即办件 (on the spot) or 承诺件 (promised time)
    requires_id: bool = False
    legal_days: int | None = None
    promised_days: int | None = None
    fee: str = "不收费"
    materials: tuple[str, ...] = ()
    location: str = ""
    legal_basis: str = ""
    name_en: str = ""


@dataclass(frozen=True)
class Window:
    id: str
    name: str
    queues: tuple[str, ...]
    department: str = ""
    kind: str = "comprehensive"  # comprehensive (综合窗口) or specialised (专窗)


@dataclass(frozen=True)
class Staff:
    id: str
    name: str
    staff_no: str
    department: str = ""
    photo: str = ""
    phone: str = ""


@dataclass(frozen=True)
class Device:
    """A device allowed on the hall plane and what it may command."""

    id: str
    role: str  # kiosk, caller, display, board, evaluator, engine, monitor
    window: str | None = None


@dataclass(frozen=True)
class Hours:
    weekdays: tuple[int, ...] = (1, 2, 3, 4, 5)  # ISO weekday numbers, Monday = 1
    sessions: tuple[tuple[time, time], ...] = ((time(9), time(12)), (time(13), time(17)))
    stop_issuing_before_close_min: int = 15
    holidays: frozenset[date] = frozenset()
    extra_workdays: frozenset[date] = frozenset()  # 调休: weekend days that are worked
    extended: tuple[tuple[date, time, time], ...] = ()  # 延时服务


@dataclass(frozen=True)
class Policy:
    order: tuple[str, ...] = ("green", "appointment", "longest_wait")
    max_priority_in_row: int = 3  # then one normal ticket, so normal never starves
    queue_preference: str = "longest_wait"  # or "queue_order": first non-empty queue of the window
    appointment_early_min: int = 15
    appointment_late_min: int = 15
    recall_cooldown_s: float = 10.0
    no_show_after_calls: int = 3
    late_requeue_position: int = 3  # a late no-show returns as the Nth waiting
    on_the_spot_limit_min: int = 30  # 即办件 must finish within this


@dataclass(frozen=True)
class Limits:
    per_person_active_per_queue: int = 1
    per_person_daily: int = 5
    id_required_for_all: bool = False


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
    notices: tuple[str, ...] = ()
    version: int = 1

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

    def device(self, device_id: str) -> Device | None:
        return next((d for d in self.devices if d.id == device_id), None)

    def items_of(self, queue_id: str) -> tuple[Item, ...]:
        return tuple(i for i in self.items if i.queue == queue_id)


# --------------------------------------------------------------------------- parsing


def _check_keys(path: str, data: dict[str, Any], allowed: set[str], required: set[str]) -> None:
    for key in data:
        if key not in allowed:
            close = difflib.get_close_matches(key, sorted(allowed), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConfigError(f"{path}.{key}" if path else key, f"unknown key{hint}")
    for key in required:
        if key not in data:
            raise ConfigError(path, f"missing required key '{key}'")


def _dataclass_from(
    cls: type, path: str, data: Any, *, required: set[str], **overrides: Any
) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(path, f"expected a mapping, got {type(data).__name__}")
    names = {f.name for f in fields(cls)}
    _check_keys(path, data, names, required)
    kwargs: dict[str, Any] = {}
    for f in fields(cls):
        if f.name in overrides:
            kwargs[f.name] = overrides[f.name]
        elif f.name in data:
            value = data[f.name]
            if isinstance(value, list):
                value = tuple(value)
            kwargs[f.name] = value
    try:
        obj = cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(path, str(exc)) from exc
    _check_types(path, obj)
    return obj


_SIMPLE: dict[str, type | tuple[type, ...]] = {
    "str": str,
    "int": int,
    "float": (int, float),
    "bool": bool,
}


def _check_types(path: str, obj: Any) -> None:
    for f in fields(obj):
        value = getattr(obj, f.name)
        type_name = str(f.type)
        if type_name in _SIMPLE and not isinstance(value, _SIMPLE[type_name]):
            raise ConfigError(f"{path}.{f.name}", f"expected {type_name}, got {value!r}")
        if type_name == "int" and isinstance(value, bool):
            raise ConfigError(f"{path}.{f.name}", f"expected int, got {value!r}")
        if type_name.startswith("tuple[str") and not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{path}.{f.name}", "expected a list of strings")


def _parse_time(path: str, value: Any) -> time:
    try:
        return time.fromisoformat(str(value))
    except ValueError as exc:
        raise ConfigError(path, f"expected a time like 09:00, got {value!r}") from exc


def _parse_date(path: str, value: Any) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise ConfigError(path, f"expected a date like 2026-10-01, got {value!r}") from exc


def _parse_hours(data: Any) -> Hours:
    path = "hours"
    if not isinstance(data, dict):
        raise ConfigError(path, "expected a mapping")
    _check_keys(
        path,
        data,
        {
            "weekdays",
            "sessions",
            "stop_issuing_before_close_min",
            "holidays",
            "extra_workdays",
            "extended",
        },
        set(),
    )
    sessions = []
    for i, s in enumerate(data.get("sessions", [["09:00", "12:00"], ["13:00", "17:00"]])):
        start = _parse_time(f"{path}.sessions[{i}]", s[0])
        end = _parse_time(f"{path}.sessions[{i}]", s[1])
        if end <= start:
            raise ConfigError(f"{path}.sessions[{i}]", "a session must end after it starts")
        sessions.append((start, end))
    extended = []
    for i, e in enumerate(data.get("extended", [])):
        p = f"{path}.extended[{i}]"
        if not isinstance(e, dict):
            raise ConfigError(p, "expected {date, start, end}")
        extended.append(
            (
                _parse_date(p, e.get("date")),
                _parse_time(p, e.get("start")),
                _parse_time(p, e.get("end")),
            )
        )
    weekdays = tuple(data.get("weekdays", (1, 2, 3, 4, 5)))
    if not all(isinstance(d, int) and 1 <= d <= 7 for d in weekdays):
        raise ConfigError(f"{path}.weekdays", "expected ISO weekday numbers 1 (Monday) to 7")
    stop = data.get("stop_issuing_before_close_min", 15)
    if not isinstance(stop, int) or stop < 0:
        raise ConfigError(f"{path}.stop_issuing_before_close_min", "expected minutes >= 0")
    return Hours(
        weekdays=weekdays,
        sessions=tuple(sessions),
        stop_issuing_before_close_min=stop,
        holidays=frozenset(_parse_date(f"{path}.holidays", d) for d in data.get("holidays", [])),
        extra_workdays=frozenset(
            _parse_date(f"{path}.extra_workdays", d) for d in data.get("extra_workdays", [])
        ),
        extended=tuple(extended),
    )


def parse_hall_config(data: Any) -> HallConfig:
    """Validate plain data and build a :class:`HallConfig`, or raise :class:`ConfigError`."""
    if not isinstance(data, dict):
        raise ConfigError("", "the hall config must be a mapping")
    _check_keys(
        "",
        data,
        {
            "hall",
            "queues",
            "items",
            "windows",
            "staff",
            "devices",
            "hours",
            "policy",
            "limits",
            "notices",
            "version",
        },
        {"hall", "queues", "items", "windows"},
    )
    hall = data["hall"]
    if not isinstance(hall, dict) or not hall.get("id") or not hall.get("name"):
        raise ConfigError("hall", "needs 'id' and 'name'")
    _check_keys("hall", hall, {"id", "name"}, {"id", "name"})

    queues = tuple(
        _dataclass_from(Queue, f"queues[{i}]", q, required={"id", "name", "prefix"})
        for i, q in enumerate(data["queues"])
    )
    items = tuple(
        _dataclass_from(Item, f"items[{i}]", it, required={"id", "name", "queue"})
        for i, it in enumerate(data["items"])
    )
    windows = tuple(
        _dataclass_from(Window, f"windows[{i}]", w, required={"id", "name", "queues"})
        for i, w in enumerate(data["windows"])
    )
    staff = tuple(
        _dataclass_from(Staff, f"staff[{i}]", s, required={"id", "name", "staff_no"})
        for i, s in enumerate(data.get("staff", []))
    )
    devices = tuple(
        _dataclass_from(Device, f"devices[{i}]", d, required={"id", "role"})
        for i, d in enumerate(data.get("devices", []))
    )
    policy = _dataclass_from(Policy, "policy", data.get("policy", {}), required=set())
    limits = _dataclass_from(Limits, "limits", data.get("limits", {}), required=set())
    hours = _parse_hours(data.get("hours", {}))
    notices = data.get("notices", [])
    if not isinstance(notices, list) or not all(isinstance(n, str) for n in notices):
        raise ConfigError("notices", "expected a list of strings")
    version = data.get("version", 1)
    if not isinstance(version, int):
        raise ConfigError("version", "expected an integer")

    cfg = HallConfig(
        hall_id=str(hall["id"]),
        hall_name=str(hall["name"]),
        queues=queues,
        items=items,
        windows=windows,
        staff=staff,
        devices=devices,
        hours=hours,
        policy=policy,
        limits=limits,
        notices=tuple(notices),
        version=version,
    )
    _cross_check(cfg)
    return cfg


def _unique(path: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            raise ConfigError(path, f"duplicate id '{i}'")
        seen.add(i)


def _cross_check(cfg: HallConfig) -> None:
    _unique("queues", [q.id for q in cfg.queues])
    _unique("queues (prefix)", [q.prefix for q in cfg.queues])
    _unique("items", [i.id for i in cfg.items])
    _unique("windows", [w.id for w in cfg.windows])
    _unique("staff", [s.id for s in cfg.staff])
    _unique("devices", [d.id for d in cfg.devices])
    queue_ids = {q.id for q in cfg.queues}
    for n, q in enumerate(cfg.queues):
        if not (0 < q.first_number <= q.last_number):
            raise ConfigError(f"queues[{n}]", "number range must satisfy 0 < first <= last")
        if not q.prefix.isalnum():
            raise ConfigError(f"queues[{n}].prefix", "a prefix is letters or digits, like A")
    for n, it in enumerate(cfg.items):
        if it.queue not in queue_ids:
            raise ConfigError(f"items[{n}].queue", f"no queue '{it.queue}'")
        if it.kind not in ("即办件", "承诺件"):
            raise ConfigError(f"items[{n}].kind", "expected 即办件 or 承诺件")
    for n, w in enumerate(cfg.windows):
        if not w.queues:
            raise ConfigError(f"windows[{n}].queues", "a window serves at least one queue")
        for queue_id in w.queues:
            if queue_id not in queue_ids:
                raise ConfigError(f"windows[{n}].queues", f"no queue '{queue_id}'")
        if w.kind not in ("comprehensive", "specialised"):
            raise ConfigError(f"windows[{n}].kind", "expected comprehensive or specialised")
    window_ids = {w.id for w in cfg.windows}
    roles = {"kiosk", "caller", "display", "board", "evaluator", "engine", "monitor"}
    for n, d in enumerate(cfg.devices):
        if d.role not in roles:
            raise ConfigError(f"devices[{n}].role", f"expected one of {sorted(roles)}")
        if d.role in ("caller", "evaluator") and d.window not in window_ids:
            raise ConfigError(f"devices[{n}].window", f"no window '{d.window}'")
    p = cfg.policy
    for n, step in enumerate(p.order):
        if step not in ("green", "appointment", "longest_wait"):
            raise ConfigError(f"policy.order[{n}]", "expected green, appointment or longest_wait")
    if p.queue_preference not in ("longest_wait", "queue_order"):
        raise ConfigError("policy.queue_preference", "expected longest_wait or queue_order")
    if p.max_priority_in_row < 1 or p.no_show_after_calls < 1 or p.late_requeue_position < 1:
        raise ConfigError(
            "policy",
            "max_priority_in_row, no_show_after_calls and late_requeue_position must be at least 1",
        )


def load_hall_config(path: str | Path) -> HallConfig:
    """Read a YAML or JSON file and parse it."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    if path.suffix in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(str(path), f"not valid YAML: {exc}") from exc
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(str(path), f"not valid JSON: {exc}") from exc
    return parse_hall_config(data)

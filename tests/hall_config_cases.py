"""Broken hall configs made from the model itself: for every field the hall config
declares, a wrong type, and for every field with a range or a form, a value outside it;
plus every cross-reference left dangling.  A field added to ``kiosk/engine/config.py``
gets its cases without a change here.

Each case is ``(id, document, path)``: the demo hall with one thing wrong, and the path
the refusal must name.  The engine's parser and the center's config push share them.
"""

from __future__ import annotations

import copy
import dataclasses
import typing
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
import yaml

from kiosk.engine import config as hc

DEMO_PATH = Path(__file__).resolve().parents[1] / "assets" / "halls" / "demo.yaml"


def demo() -> dict[str, Any]:
    data = yaml.safe_load(DEMO_PATH.read_text(encoding="utf-8"))
    # one of each optional record, so each of their fields is reached
    data["hours"]["extended"] = [{"date": "2026-11-28", "start": "09:00", "end": "12:00"}]
    return data


# where one record of each declared type sits in the demo document
SECTIONS: list[tuple[type, str, tuple[str | int, ...]]] = [
    (hc.HallDocument, "", ()),
    (hc.HallHeader, "hall", ("hall",)),
    (hc.Queue, "queues[0]", ("queues", 0)),
    (hc.Item, "items[0]", ("items", 0)),
    (hc.ItemCodes, "items[0].codes", ("items", 0, "codes")),
    (hc.Window, "windows[0]", ("windows", 0)),
    (hc.Staff, "staff[0]", ("staff", 0)),
    (hc.Device, "devices[1]", ("devices", 1)),  # a caller: it has a window
    (hc.Hours, "hours", ("hours",)),
    (hc.Extended, "hours.extended[0]", ("hours", "extended", 0)),
    (hc.Policy, "policy", ("policy",)),
    (hc.Limits, "limits", ("limits",)),
    (hc.StaffLogin, "staff_login", ("staff_login",)),
    (hc.Web, "web", ("web",)),
    (hc.Manager, "managers[0]", ("managers", 0)),
    (hc.Alerts, "alerts", ("alerts",)),
    (hc.Haochaping, "haochaping", ("haochaping",)),
]


def fields_of(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls, include_extras=True)
    if dataclasses.is_dataclass(cls):
        return {f.name: hints[f.name] for f in dataclasses.fields(cls)}
    return {name: hints[name] for name in cls._fields}  # a NamedTuple


def _parts(tp: Any) -> tuple[Any, list[Any]]:
    """The bare type and the constraints (annotated_types, FieldInfo metadata) on it."""
    meta: list[Any] = []
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp, *extra = get_args(tp)
            for m in extra:
                meta.extend(getattr(m, "metadata", [m]))
        elif origin in (Union, getattr(__import__("types"), "UnionType", Union)):
            args = [a for a in get_args(tp) if a is not type(None)]
            tp = args[0]
        else:
            return tp, meta


def wrong_type(tp: Any) -> Any:
    """A value of the wrong type for ``tp`` (what a typo or a careless edit gives)."""
    bare, _ = _parts(tp)
    origin = get_origin(bare)
    if origin is Literal:
        return "nonsense"
    if origin in (tuple, frozenset, list, dict):
        return 5
    if dataclasses.is_dataclass(bare) or bare is hc.Extended:
        return "x"
    return {
        str: 5,
        int: "fifty",
        float: "soon",
        bool: "yes",
        time: "9am",
        date: "someday",
    }[bare]


def out_of_range(tp: Any) -> list[tuple[str, Any]]:
    """Values just outside each range or form ``tp`` declares."""
    bare, meta = _parts(tp)
    found: list[tuple[str, Any]] = []
    for m in meta:
        if isinstance(m, annotated_types.Gt):
            found.append((f"gt{m.gt}", m.gt))
        elif isinstance(m, annotated_types.Ge):
            found.append((f"ge{m.ge}", m.ge - 1))
        elif isinstance(m, annotated_types.Le):
            found.append((f"le{m.le}", m.le + 1))
        elif isinstance(m, annotated_types.MinLen):
            found.append(("empty", [] if get_origin(bare) is tuple else ""))
        elif getattr(m, "pattern", None):
            found.append(("form", "has spaces/#"))
    if get_origin(bare) is tuple:  # the element's own range
        (element, *_rest) = get_args(bare)
        found += [(f"[0]{name}", [value]) for name, value in out_of_range(element)]
    return found


def _put(data: dict[str, Any], where: tuple[str | int, ...], key: str, value: Any) -> None:
    target: Any = data
    for part in where:
        target = target[part]
    target[key] = value


def _path(base: str, key: str) -> str:
    return f"{base}.{key}" if base else key


def wrong_type_cases() -> list[tuple[str, dict[str, Any], str]]:
    cases = []
    for cls, base, where in SECTIONS:
        for name, tp in fields_of(cls).items():
            data = demo()
            _put(data, where, name, wrong_type(tp))
            cases.append((f"{_path(base, name)}=wrong-type", data, _path(base, name)))
            bare, _ = _parts(tp)
            if get_origin(bare) in (tuple, frozenset) and not dataclasses.is_dataclass(
                _parts(get_args(bare)[0])[0]
            ):  # a list of plain values: one of them wrong
                data = demo()
                _put(data, where, name, [wrong_type(get_args(bare)[0])])
                path = _path(base, name) + "[0]"
                cases.append((f"{path}=wrong-type", data, path))
    return cases


def range_cases() -> list[tuple[str, dict[str, Any], str]]:
    cases = []
    for cls, base, where in SECTIONS:
        for name, tp in fields_of(cls).items():
            for label, value in out_of_range(tp):
                data = demo()
                _put(data, where, name, value)
                path = _path(base, name) + ("[0]" if label.startswith("[0]") else "")
                cases.append((f"{_path(base, name)}={label}", data, path))
    return cases


def _edit(change) -> dict[str, Any]:
    data = demo()
    change(data)
    return data


def reference_cases() -> list[tuple[str, dict[str, Any], str]]:
    """Dangling references, ids twice, and the checks across fields."""

    def twice(section: str, key: str):
        def change(d):
            d[section].append(copy.deepcopy(d[section][0]))
            if key != "id":
                d[section][-1]["id"] = "copy-of-first"

        return change

    return [
        ("item-queue", _edit(lambda d: d["items"][0].update(queue="Z")), "items[0].queue"),
        (
            "window-queue",
            _edit(lambda d: d["windows"][0]["queues"].append("Z")),
            "windows[0].queues[4]",
        ),
        (
            "device-window",
            _edit(lambda d: d["devices"][1].update(window="99")),
            "devices[1].window",
        ),
        (
            "caller-without-window",
            _edit(lambda d: d["devices"][1].pop("window")),
            "devices[1].window",
        ),
        ("queue-id-twice", _edit(twice("queues", "id")), "queues[4].id"),
        ("item-id-twice", _edit(twice("items", "id")), "items[10].id"),
        ("window-id-twice", _edit(twice("windows", "id")), "windows[6].id"),
        ("staff-id-twice", _edit(twice("staff", "id")), "staff[6].id"),
        ("staff-no-twice", _edit(twice("staff", "staff_no")), "staff[6].staff_no"),
        ("device-id-twice", _edit(twice("devices", "id")), "devices[12].id"),
        ("manager-id-twice", _edit(twice("managers", "id")), "managers[1].id"),
        ("manager-account-twice", _edit(twice("managers", "account")), "managers[1].account"),
        (
            "ticket-url-without-token",
            _edit(lambda d: d["web"].update(ticket_url="http://hall.local/q/{hall}")),
            "web.ticket_url",
        ),
        (
            "ticket-url-unknown-field",
            _edit(lambda d: d["web"].update(ticket_url="http://x/{token}/{ticket}")),
            "web.ticket_url",
        ),
        (
            "remind-ahead-ascending",
            _edit(lambda d: d["web"].update(remind_ahead=[2, 5])),
            "web.remind_ahead",
        ),
        (
            "prefix-twice",
            _edit(lambda d: d["queues"][1].update(prefix="A")),
            "queues[1].prefix",
        ),
        (
            "first-after-last",
            _edit(lambda d: d["queues"][0].update(first_number=500, last_number=100)),
            "queues[0].first_number",
        ),
        (
            "promised-over-legal",
            _edit(lambda d: d["items"][0].update(legal_days=5, promised_days=10)),
            "items[0].promised_days",
        ),
        (
            "session-backwards",
            _edit(lambda d: d["hours"].update(sessions=[["12:00", "09:00"]])),
            "hours.sessions[0]",
        ),
        (
            "unquoted-13:00",  # YAML reads it as 780
            _edit(lambda d: d["hours"].update(sessions=[["09:00", 780]])),
            "hours.sessions[0][1]",
        ),
        (
            "item-without-codes",  # the demo hall requires them (haochaping.require_codes)
            _edit(lambda d: d["items"][3].pop("codes")),
            "items[3].codes",
        ),
        (
            "hall-without-area-code",
            _edit(lambda d: d["hall"].pop("area_code")),
            "hall.area_code",
        ),
        (
            "reminder-after-deadline",
            _edit(lambda d: d["haochaping"].update(follow_up_days=3, remind_days_before=3)),
            "haochaping.remind_days_before",
        ),
        (
            "reason-twice",
            _edit(lambda d: d["haochaping"].update(reasons=["其他", "其他"])),
            "haochaping.reasons[1]",
        ),
        (
            "holiday-and-workday",
            _edit(lambda d: d["hours"]["extra_workdays"].append("2026-10-01")),
            "hours.extra_workdays",
        ),
    ]


def misspelt_key_cases() -> list[tuple[str, dict[str, Any], str, str]]:
    """A misspelt first key in each section: (id, document, path, the suggestion)."""
    cases = []
    for cls, base, where in SECTIONS:
        name = next(iter(fields_of(cls)))
        typo = name[:-1] + name[-1] * 2 if len(name) < 4 else name[:2] + name[3:]
        data = demo()
        target: Any = data
        for part in where:
            target = target[part]
        if name in target:
            target[typo] = target.pop(name)
        else:
            target[typo] = None
        prefix = base.rpartition("]")[2].lstrip(".") if "]" in base else base
        suggestion = f"'{prefix}.{name}'" if prefix else f"'{name}'"
        cases.append((f"{_path(base, typo)}", data, _path(base, typo), suggestion))
    return cases

"""The service catalogue as the kiosk sees it: categories, items, guides, live counts.

Pure: built from the engine's retained ``hall/{hall}/catalog`` and
``hall/{hall}/board`` payloads (plain dicts), no Qt, no I/O.  A category is
one of the engine's queues (户籍业务, 社保就业 …); its items carry the guide
for 一次性告知 (materials, promised time, fees, where to go, legal basis).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kiosk.engine.config import HallConfig


@dataclass(frozen=True)
class Item:
    """A service item as the catalogue carries it (the engine's
    ``kiosk.engine.config.Item``, the fields the kiosk shows), plus its texts in a
    language: the English value where the hall config has one, else the Chinese.

    ``location`` and ``location_en`` are the engine's, derived from the windows that
    serve the item's queue (``kiosk.engine.config.item_location``).  Plain data: the
    kiosk's first frame does not wait for the hall config's schema (pydantic).
    """

    id: str
    name: str
    queue: str
    department: str = ""
    kind: str = "即办件"  # 即办件 (on the spot) or 承诺件 (within promised_days)
    requires_id: bool = False
    legal_days: int | None = None  # 法定时限 (working days)
    promised_days: int | None = None  # 承诺时限
    fee: str = "不收费"
    materials: tuple[str, ...] = ()
    location: str = ""
    legal_basis: str = ""
    name_en: str = ""
    materials_en: tuple[str, ...] = ()  # one per material, in the same order (else unused)
    fee_en: str = ""
    location_en: str = ""

    def title(self, lang: str) -> str:
        return self.name_en if lang == "en" and self.name_en else self.name

    def where(self, lang: str) -> str:
        return self.location_en if lang == "en" and self.location_en else self.location

    def material_list(self, lang: str) -> tuple[str, ...]:
        """The materials in ``lang``: the English list when it names each one."""
        if lang == "en" and self.materials_en and len(self.materials_en) == len(self.materials):
            return self.materials_en
        return self.materials


@dataclass(frozen=True)
class Category:
    id: str
    name: str
    prefix: str
    name_en: str = ""

    def title(self, lang: str) -> str:
        return self.name_en if lang == "en" and self.name_en else self.name


@dataclass(frozen=True)
class QueueLoad:
    """Live figures from the board: how many wait, how long, how many windows."""

    waiting: int = 0
    est_wait_min: int | None = None
    open_windows: int | None = None


@dataclass(frozen=True)
class Catalog:
    hall: str
    hall_name: str
    version: int
    categories: tuple[Category, ...]
    items: tuple[Item, ...]
    notices: tuple[str, ...] = ()
    issuing: bool = True
    hours: tuple[tuple[str, str], ...] = ()
    weekdays: tuple[int, ...] = ()
    notices_en: tuple[str, ...] = ()  # the notices in English, one for each (or none)
    hall_name_en: str = ""
    issuing_reason: str = ""  # the engine's: why no tickets now (closing_soon, ...)
    calls_from: str = ""  # HH:MM when tickets issued in the midday break are called

    def notice_list(self, lang: str) -> tuple[str, ...]:
        if lang == "en" and self.notices_en and len(self.notices_en) == len(self.notices):
            return self.notices_en
        return self.notices

    def item(self, item_id: str) -> Item:
        for item in self.items:
            if item.id == item_id:
                return item
        raise KeyError(item_id)

    def category(self, queue_id: str) -> Category:
        for cat in self.categories:
            if cat.id == queue_id:
                return cat
        raise KeyError(queue_id)

    def items_of(self, queue_id: str) -> tuple[Item, ...]:
        return tuple(i for i in self.items if i.queue == queue_id)

    def common_items(self, wanted: Iterable[str], limit: int = 4) -> tuple[Item, ...]:
        """The shortcut items for the first screen: configured ones that exist,
        else the first item of each category."""
        known = {i.id: i for i in self.items}
        chosen = [known[i] for i in wanted if i in known]
        if not chosen:
            for cat in self.categories:
                first = self.items_of(cat.id)
                if first:
                    chosen.append(first[0])
        return tuple(chosen[:limit])

    def closed_reason(self, now: datetime) -> str:
        """Why no tickets at ``now`` by the published hours: ``before_open`` (before the
        day's first session), ``after_close`` (after its last), ``closing_soon`` (in the last
        session: issuing stopped before the close), ``lunch_break``, else ``""``."""
        if self.issuing_reason:  # the engine's word, kept current by its sweep
            return self.issuing_reason
        spans = [(a, b) for a, b in self.hours if len(a) == 5 and len(b) == 5]
        if not spans or (self.weekdays and now.isoweekday() not in self.weekdays):
            return ""
        t = f"{now:%H:%M}"
        if t < min(a for a, _ in spans):
            return "before_open"
        last = max(spans, key=lambda span: span[1])
        if t >= last[1]:
            return "after_close"
        if t >= last[0]:
            return "closing_soon"  # in the last session, yet not issuing: it stopped
        if not any(a <= t < b for a, b in spans):
            return "lunch_break"
        return ""

    def hours_text(self, lang: str = "zh") -> str:
        """``周一至周五 09:00-12:00 13:00-17:00`` for refusal messages."""
        if not self.hours:
            return ""
        days = _weekdays_en(self.weekdays) if lang == "en" else _weekdays_text(self.weekdays)
        spans = " ".join(f"{a}-{b}" for a, b in self.hours)
        return f"{days} {spans}".strip()


_DAY_NAMES = "一二三四五六日"


def _weekdays_text(days: tuple[int, ...]) -> str:
    if not days:
        return ""
    ordered = sorted(set(days))
    if ordered == list(range(ordered[0], ordered[-1] + 1)) and len(ordered) > 2:
        return f"周{_DAY_NAMES[ordered[0] - 1]}至周{_DAY_NAMES[ordered[-1] - 1]}"
    return "、".join(f"周{_DAY_NAMES[d - 1]}" for d in ordered if 1 <= d <= 7)


def _weekdays_en(days: tuple[int, ...]) -> str:
    names = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    ordered = sorted(d for d in set(days) if 1 <= d <= 7)
    if not ordered:
        return ""
    if ordered == list(range(ordered[0], ordered[-1] + 1)) and len(ordered) > 2:
        return f"{names[ordered[0] - 1]}-{names[ordered[-1] - 1]}"
    return ", ".join(names[d - 1] for d in ordered)


def fee_text(item: Item, lang: str = "zh") -> str:
    if lang == "en":
        if item.fee_en:
            return item.fee_en
        if item.fee in ("不收费", "免费", ""):
            return "Free of charge"
    return item.fee or "不收费"


def _opt_int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def parse_catalog(payload: Mapping[str, Any]) -> Catalog:
    """Build a :class:`Catalog` from the retained catalogue message (validated by
    the contract on the wire; unknown or missing optional fields get defaults)."""
    categories = tuple(
        Category(
            id=str(q["id"]),
            name=str(q["name"]),
            prefix=str(q.get("prefix", "")),
            name_en=str(q.get("name_en") or ""),
        )
        for q in payload.get("queues", [])
    )
    items = tuple(
        Item(
            id=str(i["id"]),
            name=str(i["name"]),
            queue=str(i["queue"]),
            name_en=str(i.get("name_en") or ""),
            department=str(i.get("department") or ""),
            kind=str(i.get("kind") or "即办件"),
            requires_id=bool(i.get("requires_id", False)),
            legal_days=_opt_int(i.get("legal_days")),
            promised_days=_opt_int(i.get("promised_days")),
            fee=str(i.get("fee") or "不收费"),
            materials=tuple(str(m) for m in i.get("materials") or ()),
            location=str(i.get("location") or ""),
            legal_basis=str(i.get("legal_basis") or ""),
            location_en=str(i.get("location_en") or ""),
            materials_en=tuple(str(m) for m in i.get("materials_en") or ()),
            fee_en=str(i.get("fee_en") or ""),
        )
        for i in payload.get("items", [])
    )
    hours = payload.get("hours") or {}
    return Catalog(
        hall=str(payload.get("hall", "")),
        hall_name=str(payload.get("hall_name", "")),
        version=int(payload.get("version", 0)),
        categories=categories,
        items=items,
        notices=tuple(str(n) for n in payload.get("notices") or ()),
        issuing=bool(payload.get("issuing", True)),
        hours=tuple((str(a), str(b)) for a, b in hours.get("sessions", [])),
        weekdays=tuple(int(d) for d in hours.get("weekdays", [])),
        notices_en=tuple(str(n) for n in payload.get("notices_en") or ()),
        hall_name_en=str(payload.get("hall_name_en") or ""),
        issuing_reason=str(payload.get("issuing_reason") or ""),
        calls_from=_clock_of(payload.get("calls_from")),
    )


def _clock_of(value: Any) -> str:
    """``13:00`` of an ISO datetime, ``""`` for anything else."""
    try:
        return f"{datetime.fromisoformat(str(value)):%H:%M}" if value else ""
    except ValueError:
        return ""


def catalog_from_config(cfg: HallConfig, now: datetime) -> Catalog:
    """The catalogue of a hall config as the kiosk receives it from the engine at ``now``
    (``hall ticket preview``: the configured hall without a running engine)."""
    # the engine's service (its contract, PyYAML) only here: the kiosk itself gets the
    # catalogue from the broker and starts without it
    from kiosk.engine.service import catalog_payload

    return parse_catalog(catalog_payload(cfg, now))


def parse_board(payload: Mapping[str, Any]) -> dict[str, QueueLoad]:
    """Waiting counts per queue id from the retained board."""
    out: dict[str, QueueLoad] = {}
    for q in payload.get("queues", []):
        out[str(q["id"])] = QueueLoad(
            waiting=int(q.get("waiting", 0)),
            est_wait_min=_opt_int(q.get("est_wait_min")),
            open_windows=_opt_int(q.get("open_windows")),
        )
    return out


def promised_text(item: Item, lang: str = "zh") -> str:
    """The promised time limit in words (即办件: on the spot)."""
    if lang == "en":
        if item.kind == "即办件" or not item.promised_days:
            return "On the spot"
        legal = f" (statutory {item.legal_days} working days)" if item.legal_days else ""
        return f"{item.promised_days} working days{legal}"
    if item.kind == "即办件" or not item.promised_days:
        return "即办件，当场办结"
    legal = f"（法定{item.legal_days}个工作日）" if item.legal_days else ""
    return f"承诺{item.promised_days}个工作日办结{legal}"


def guide_lines(item: Item, hall_name: str = "") -> tuple[str, ...]:
    """The guide (一次性告知) as printable lines, Chinese (the official text)."""
    lines = [f"办理事项：{item.name}"]
    if item.department:
        lines.append(f"受理部门：{item.department}")
    lines.append("所需材料：")
    if item.materials:
        lines += [f"  {n}. {m}" for n, m in enumerate(item.materials, 1)]
    else:
        lines.append("  请咨询窗口工作人员")
    lines.append(f"办理时限：{promised_text(item)}")
    lines.append(f"收费标准：{item.fee or '不收费'}")
    if item.location:
        lines.append(f"办理地点：{item.location}")
    if item.legal_basis:
        lines.append(f"设定依据：{item.legal_basis}")
    if item.requires_id:
        lines.append("办理本事项需携带本人有效身份证件")
    if hall_name:
        lines.append(hall_name)
    return tuple(lines)

"""The hall manager's console rules: alerts and the recommendation (窗口动态调整).

Plain Python over a snapshot of the hall that the engine reads in a few queries
(:class:`QueueLoad`, :class:`WindowLoad`, :class:`BadRating`), timed by the engine's
injected clock: no database, no MQTT, no Qt.  The engine keeps the alerts raised
(``alerts`` table), writes an ``alarm`` event when one is raised or cleared, and shows
them with the recommendation in ``overview``.

An alert's ``key`` is stable while its condition lasts (``longest_wait:A``,
``idle_window:5``, ``bad_rating:<rating_id>``): the console and the center follow one
alert from raised to cleared by it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from kiosk.engine.config import Alerts

ALERT_KINDS = (
    "waiting_over",
    "longest_wait",
    "no_open_window",
    "idle_window",
    "clerk_away",
    "on_the_spot_over",
    "bad_rating",
)
LEVEL_ZH = {4: "不满意", 5: "非常不满意"}
MAX_WINDOW_QUEUES = 10


@dataclass(frozen=True)
class QueueLoad:
    """One queue now: people waiting, the longest wait, service time, open windows."""

    id: str
    name: str
    name_en: str
    waiting: int
    longest_wait_min: float
    avg_service_min: float
    open_windows: int

    @property
    def label_en(self) -> str:
        return self.name_en or self.name

    @property
    def pressure(self) -> float:
        """Minutes of work waiting per open window (all of it when none is open)."""
        return self.waiting * self.avg_service_min / max(1, self.open_windows)


@dataclass(frozen=True)
class WindowLoad:
    """One window now, as the console shows it."""

    id: str
    name: str
    queues: tuple[str, ...]  # effective today
    status: str  # open / paused / closed (no clerk, or closed by a manager)
    closed_by_manager: bool = False
    has_clerk: bool = False
    busy: bool = False  # a citizen called or served there
    idle_min: float | None = None  # open with no citizen for this long
    away_min: float | None = None  # paused / clerk away for this long
    current_code: str | None = None
    current_over: bool = False  # a 即办件 served past policy.on_the_spot_limit_min
    served_min: float | None = None
    limit_min: int | None = None


@dataclass(frozen=True)
class BadRating:
    """A 不满意 / 非常不满意 rating whose follow-up (回访, 整改) is not closed yet."""

    rating_id: str
    code: str
    window: str
    window_name: str
    level: int
    deadline: str = ""  # the follow-up's deadline (ISO date)
    overdue: bool = False  # past the deadline: a new alert, even if the open one was seen


@dataclass(frozen=True)
class Alert:
    key: str
    kind: str
    text_zh: str
    text_en: str
    queue: str | None = None
    window: str | None = None

    def public(self, since: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "key": self.key,
            "kind": self.kind,
            "text_zh": self.text_zh,
            "text_en": self.text_en,
            "since": since,
        }
        if self.queue is not None:
            out["queue"] = self.queue
        if self.window is not None:
            out["window"] = self.window
        return out


@dataclass(frozen=True)
class Recommendation:
    text_zh: str
    text_en: str
    cmd: str  # set_window_queues | open_window
    window: str
    queues: tuple[str, ...] | None = None

    def public(self) -> dict[str, Any]:
        action: dict[str, Any] = {"cmd": self.cmd, "window": self.window}
        if self.queues is not None:
            action["queues"] = list(self.queues)
        return {"text_zh": self.text_zh, "text_en": self.text_en, "action": action}


def _m(minutes: float) -> int:
    return int(minutes)


def evaluate(
    rules: Alerts,
    queues: Sequence[QueueLoad],
    windows: Sequence[WindowLoad],
    ratings: Iterable[BadRating] = (),
    acknowledged: frozenset[str] = frozenset(),
) -> list[Alert]:
    """Every alert whose rule is crossed now (a bad rating acknowledged is followed up)."""
    out: list[Alert] = []
    waiting = {q.id: q.waiting for q in queues}
    for q in queues:
        if rules.waiting_over and q.waiting > rules.waiting_over:
            out.append(
                Alert(
                    f"waiting_over:{q.id}",
                    "waiting_over",
                    f"{q.name}等候 {q.waiting} 人，超过 {rules.waiting_over} 人",
                    f"{q.label_en}: {q.waiting} waiting (over {rules.waiting_over})",
                    queue=q.id,
                )
            )
        if rules.longest_wait_min and q.waiting and q.longest_wait_min > rules.longest_wait_min:
            out.append(
                Alert(
                    f"longest_wait:{q.id}",
                    "longest_wait",
                    f"{q.name}最长已等候 {_m(q.longest_wait_min)} 分钟，"
                    f"超过 {rules.longest_wait_min:g} 分钟",
                    f"{q.label_en}: longest wait {_m(q.longest_wait_min)} min "
                    f"(over {rules.longest_wait_min:g})",
                    queue=q.id,
                )
            )
        if rules.no_open_window and q.waiting and q.open_windows == 0:
            out.append(
                Alert(
                    f"no_open_window:{q.id}",
                    "no_open_window",
                    f"{q.name}有 {q.waiting} 人等候，没有开放的窗口",
                    f"{q.label_en}: {q.waiting} waiting and no open window",
                    queue=q.id,
                )
            )
    for w in windows:
        own_waiting = sum(waiting.get(q, 0) for q in w.queues)
        if (
            rules.idle_window_min
            and w.status == "open"
            and w.idle_min is not None
            and w.idle_min > rules.idle_window_min
            and own_waiting
        ):
            out.append(
                Alert(
                    f"idle_window:{w.id}",
                    "idle_window",
                    f"{w.name}已空闲 {_m(w.idle_min)} 分钟，仍有 {own_waiting} 人等候",
                    f"Window {w.id} idle for {_m(w.idle_min)} min while {own_waiting} wait",
                    window=w.id,
                )
            )
        if rules.clerk_away_min and w.away_min is not None and w.away_min > rules.clerk_away_min:
            out.append(
                Alert(
                    f"clerk_away:{w.id}",
                    "clerk_away",
                    f"{w.name}工作人员暂离已 {_m(w.away_min)} 分钟",
                    f"Window {w.id}: the clerk has been away for {_m(w.away_min)} min",
                    window=w.id,
                )
            )
        if rules.on_the_spot_over and w.current_over and w.current_code:
            out.append(
                Alert(
                    f"on_the_spot_over:{w.current_code}",
                    "on_the_spot_over",
                    f"{w.name} {w.current_code} 即办件已办理 {_m(w.served_min or 0)} 分钟，"
                    f"超过 {w.limit_min} 分钟时限",
                    f"Window {w.id}: {w.current_code}, an on-the-spot item, served for "
                    f"{_m(w.served_min or 0)} min (limit {w.limit_min})",
                    window=w.id,
                )
            )
    if rules.bad_rating:
        for r in ratings:
            key = f"bad_rating:{r.rating_id}" + (":overdue" if r.overdue else "")
            if key in acknowledged:
                continue
            level = LEVEL_ZH.get(r.level, "不满意")
            due = _date_zh(r.deadline)
            if r.overdue:
                zh = f"{r.window_name} {r.code}「{level}」评价的回访整改已超期（期限{due}）"
                en = (
                    f"Window {r.window}: the follow-up of {r.code}'s rating {r.level} of 5 "
                    f"is overdue (deadline {r.deadline})"
                )
            else:
                zh = f"{r.window_name} {r.code} 收到「{level}」评价，请跟进回访整改" + (
                    f"（期限{due}）" if due else ""
                )
                en = (
                    f"Window {r.window}: {r.code} was rated {r.level} of 5 "
                    "(dissatisfied); please follow up" + (f" by {r.deadline}" if r.deadline else "")
                )
            out.append(Alert(key, "bad_rating", zh, en, window=r.window))
    return out


def _date_zh(iso: str) -> str:
    """2026-12-14 -> 12月14日 ("" when it is not a date)."""
    parts = iso.split("-")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return ""
    return f"{int(parts[1])}月{int(parts[2])}日"


def _under_pressure(rules: Alerts, q: QueueLoad) -> bool:
    if not q.waiting:
        return False
    by_wait = bool(rules.longest_wait_min) and q.longest_wait_min > rules.longest_wait_min / 2
    by_count = bool(rules.waiting_over) and q.waiting > rules.waiting_over / 2
    return by_wait or by_count


def recommend(
    rules: Alerts, queues: Sequence[QueueLoad], windows: Sequence[WindowLoad]
) -> Recommendation | None:
    """The queue under most pressure and the best window to help it, or None.

    A queue counts once its longest wait is over half ``alerts.longest_wait_min`` or
    its waiting over half ``alerts.waiting_over``.  Reopening a window a manager closed
    that serves it comes first; else the open window not serving it whose own queues
    carry the least load (less than the queue's) is asked to serve it too.
    """
    candidates = [q for q in queues if _under_pressure(rules, q)]
    if not candidates:
        return None
    target = max(candidates, key=lambda q: (q.pressure, q.longest_wait_min))
    facts_zh = f"等候 {target.waiting} 人，最长 {_m(target.longest_wait_min)} 分钟"
    facts_en = f"{target.waiting} waiting, longest {_m(target.longest_wait_min)} min"
    for w in windows:
        if w.closed_by_manager and w.has_clerk and target.id in w.queues:
            return Recommendation(
                f"重新开放{w.name}办理{target.name}：{facts_zh}",
                f"Reopen window {w.id} for {target.label_en}: {facts_en}",
                "open_window",
                w.id,
            )
    by_id = {q.id: q for q in queues}
    helpers = []
    for w in windows:
        if w.status != "open" or target.id in w.queues or len(w.queues) >= MAX_WINDOW_QUEUES:
            continue
        load = sum(by_id[q].pressure for q in w.queues if q in by_id)
        if load < target.pressure:
            helpers.append((load, w.busy, w.id, w))
    if not helpers:
        return None
    _load, _busy, _id, best = min(helpers, key=lambda h: (h[0], h[1], h[2]))
    return Recommendation(
        f"开放{best.name}办理{target.name}：{facts_zh}",
        f"Let window {best.id} serve {target.label_en}: {facts_en}",
        "set_window_queues",
        best.id,
        (*best.queues, target.id),
    )


__all__ = [
    "ALERT_KINDS",
    "Alert",
    "BadRating",
    "QueueLoad",
    "Recommendation",
    "WindowLoad",
    "evaluate",
    "recommend",
]

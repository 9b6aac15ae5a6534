"""Opening hours: is the hall serving now, and may it still issue tickets?"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from kiosk.engine.config import Hours


@dataclass(frozen=True)
class IssueWindow:
    """Whether tickets may be issued at a moment, and why not."""

    allowed: bool
    reason: str = ""  # holiday, closed_day, before_open, lunch_break, closing_soon, after_close
    next_open: datetime | None = None
    # Issued in the break between two sessions (hours.issue_during_break): calling
    # resumes then, when the next session starts.  None while a session is going on.
    calls_from: datetime | None = None


def sessions_on(hours: Hours, day: date) -> list[tuple[time, time]]:
    """The serving sessions of a calendar day (empty on a holiday or a closed day)."""
    if day in hours.holidays:
        sessions: list[tuple[time, time]] = []
    elif day.isoweekday() in hours.weekdays or day in hours.extra_workdays:
        sessions = list(hours.sessions)
    else:
        sessions = []
    sessions += [(start, end) for d, start, end in hours.extended if d == day]
    return sorted(sessions)


def _next_open(hours: Hours, now: datetime) -> datetime | None:
    for offset in range(0, 30):
        day = now.date() + timedelta(days=offset)
        for start, _end in sessions_on(hours, day):
            candidate = datetime.combine(day, start, tzinfo=now.tzinfo)
            if candidate > now:
                return candidate
    return None


def issue_window(hours: Hours, now: datetime) -> IssueWindow:
    """May a ticket be issued at ``now``, and if not, why (the refusal's reason).

    Inside a session: yes, up to ``stop_issuing_before_close_min`` before the day's
    last close (``closing_soon`` from then until the close, ``after_close`` from the
    close on).  In the break between two sessions (lunch): yes when
    ``issue_during_break`` is on, for the next session (``calls_from``), else
    ``lunch_break``.  Before the first session: ``before_open``.
    """
    day = now.date()
    sessions = sessions_on(hours, day)
    if not sessions:
        reason = "holiday" if day in hours.holidays else "closed_day"
        return IssueWindow(False, reason, _next_open(hours, now))
    t = now.time()
    stop = timedelta(minutes=hours.stop_issuing_before_close_min)
    last_end = max(end for _start, end in sessions)
    closing = (datetime.combine(day, last_end) - stop).time()
    for start, end in sessions:
        if start <= t < end:
            # Issuing stops a while before the day's last close; before a lunch
            # break it goes on (the ticket is served after the break).
            if end == last_end and t >= closing:
                return IssueWindow(False, "closing_soon", _next_open(hours, now))
            return IssueWindow(True)
    if t < sessions[0][0]:
        return IssueWindow(False, "before_open", _next_open(hours, now))
    if t >= last_end:
        return IssueWindow(False, "after_close", _next_open(hours, now))
    resumes = _next_open(hours, now)  # today's next session: t is before the last close
    assert resumes is not None
    if resumes.time() >= closing:  # a cut-off before the afternoon even starts
        after = datetime.combine(day, last_end, tzinfo=now.tzinfo)
        return IssueWindow(False, "closing_soon", _next_open(hours, after))
    if hours.issue_during_break:
        return IssueWindow(True, calls_from=resumes)
    return IssueWindow(False, "lunch_break", resumes)


def is_serving(hours: Hours, now: datetime) -> bool:
    t = now.time()
    return any(start <= t < end for start, end in sessions_on(hours, now.date()))


def is_working_day(hours: Hours, day: date) -> bool:
    """A day the hall works: a weekday of ``hours.weekdays`` that is no holiday, or a 调休
    day (``extra_workdays``: a weekend day that is worked)."""
    if day in hours.holidays:
        return False
    return day.isoweekday() in hours.weekdays or day in hours.extra_workdays


def add_working_days(hours: Hours, day: date, n: int) -> date:
    """The ``n``-th working day after ``day`` on the hall calendar (weekends and holidays
    skipped, 调休 days counted); ``n`` = 0: ``day`` itself.  A negative ``n`` counts back."""
    step = 1 if n >= 0 else -1
    left = abs(n)
    current = day
    for _ in range(366 * 5):  # a calendar without working days must not loop forever
        if left == 0:
            return current
        current += timedelta(days=step)
        if is_working_day(hours, current):
            left -= 1
    raise ValueError("the hall calendar has no working days")


def working_days_between(hours: Hours, start: date, end: date) -> int:
    """Working days after ``start`` up to and including ``end`` (negative when ``end`` is
    before ``start``)."""
    if end == start:
        return 0
    step = 1 if end > start else -1
    count = 0
    current = start
    while current != end:
        current += timedelta(days=step)
        if is_working_day(hours, current):
            count += step
    return count

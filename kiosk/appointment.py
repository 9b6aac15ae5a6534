"""Appointment codes (预约码) scanned at the kiosk, and whether one may check in now.

Pure.  The appointment platform prints or shows a QR code holding::

    YY:<ref>:<item>:<start>        e.g.  YY:A7K2Q9:gjj-rent:2026-11-23T10:00

``ref`` is the booking reference (4-32 letters, digits or ``-``), ``item``
the catalogue item id, ``start`` the slot start as ISO 8601 local time (hall
time zone when no offset is given).  A short form ``YY:<ref>:<start>`` is
accepted when the citizen already chose the item on screen.  Check-in is
allowed from ``early_min`` before the slot until ``late_min`` after its start,
on the slot's day only; the engine then serves the ticket first in its slot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

PREFIX = "YY"
MAX_LENGTH = 160
_REF = re.compile(r"^[A-Za-z0-9-]{4,32}$")
_ITEM = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_START = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


class AppointmentError(ValueError):
    """A scanned code cannot be used; ``code`` picks the citizen's message."""

    def __init__(self, code: str, message: str, **data: object) -> None:
        super().__init__(message)
        self.code = code  # appointment_invalid | appointment_early | appointment_late | ...
        self.data = data


@dataclass(frozen=True)
class Appointment:
    ref: str
    start: datetime
    item: str | None = None

    def wire(self) -> dict[str, str]:
        """The ``appointment`` object of the engine's ``issue`` command."""
        return {"ref": self.ref, "start": self.start.isoformat(timespec="minutes")}


def is_appointment_code(text: str) -> bool:
    return text.strip().upper().startswith(PREFIX + ":")


def parse_code(text: str, tz: tzinfo) -> Appointment:
    """Parse a scanned code or raise :class:`AppointmentError` ("appointment_invalid")."""
    text = text.strip()
    if len(text) > MAX_LENGTH or not text.isascii() or not text.isprintable():
        raise AppointmentError("appointment_invalid", "appointment code too long or not ASCII")
    head, sep, rest = text.partition(":")
    if head.upper() != PREFIX or not sep:
        raise AppointmentError("appointment_invalid", "not an appointment code (no YY: prefix)")
    ref, sep, rest = rest.partition(":")
    if not sep or not _REF.match(ref):
        raise AppointmentError("appointment_invalid", "appointment reference malformed")
    item: str | None = None
    if not _START.match(rest):
        item, sep, rest = rest.partition(":")
        if not sep or not _ITEM.match(item):
            raise AppointmentError("appointment_invalid", "appointment item malformed")
    if not _START.match(rest):
        raise AppointmentError("appointment_invalid", "appointment start is not an ISO time")
    try:
        start = datetime.fromisoformat(rest)
    except ValueError:
        raise AppointmentError("appointment_invalid", "appointment start is not a time") from None
    if start.tzinfo is None:
        start = start.replace(tzinfo=tz)
    return Appointment(ref=ref.upper(), start=start, item=item)


def check_in(
    appointment: Appointment, now: datetime, *, early_min: int = 30, late_min: int = 15
) -> None:
    """Raise :class:`AppointmentError` unless the citizen may check in at ``now``."""
    start = appointment.start.astimezone(now.tzinfo) if now.tzinfo else appointment.start
    if start.date() != now.date():
        raise AppointmentError(
            "appointment_other_day", "the appointment is for another day", start=start
        )
    if now < start - timedelta(minutes=early_min):
        raise AppointmentError(
            "appointment_early",
            "too early to check in",
            start=start,
            opens=start - timedelta(minutes=early_min),
        )
    if now > start + timedelta(minutes=late_min):
        raise AppointmentError("appointment_late", "the appointment slot has passed", start=start)


def make_code(ref: str, start: datetime, item: str | None = None) -> str:
    """The code a platform would print (tests and the demo)."""
    when = start.replace(tzinfo=None).isoformat(timespec="minutes")
    return f"{PREFIX}:{ref}:{item}:{when}" if item else f"{PREFIX}:{ref}:{when}"

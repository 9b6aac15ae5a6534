"""From a choice on screen to the engine's ``issue`` command, and from its answer
to the ticket a citizen holds.  Pure: no Qt, no I/O.

What goes to the engine never contains an ID number or a full name: only the
salted ``person_key`` and the masked name (``kiosk.identify``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kiosk.appointment import Appointment
from kiosk.catalog import Catalog, Item
from kiosk.identify import Identity
from kiosk.texts import ASSISTED_HOLDER, PRIORITY_PRINT, tr

if TYPE_CHECKING:
    from drivers.printer import TicketData

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IssueRequest:
    """One citizen's request, as chosen on screen."""

    item: str
    identity: Identity | None = None
    priority_reason: str | None = None  # green channel: elderly/disabled/pregnant/military
    appointment: Appointment | None = None
    # 没带证件 / 代办, confirmed by staff: a one-off random key (it names nobody, so no
    # per-person limit counts it) and the holder line that tells the clerk
    assisted_key: str | None = None
    assisted_holder: str = ""

    def command(self) -> dict[str, Any]:
        """The ``issue`` command payload (see ``sync/asyncapi.yaml``)."""
        cmd: dict[str, Any] = {"cmd": "issue", "item": self.item}
        if self.identity is not None:
            cmd["person_key"] = self.identity.person_key
            if self.identity.masked_name:
                cmd["masked_name"] = self.identity.masked_name
        elif self.assisted_key is not None:
            cmd["person_key"] = self.assisted_key
            if self.assisted_holder:
                cmd["masked_name"] = self.assisted_holder
        if self.appointment is not None:
            cmd["appointment"] = self.appointment.wire()
        elif self.priority_reason is not None:
            cmd["priority_reason"] = self.priority_reason
        return cmd


def green_reason(
    identity: Identity | None, staff_reason: str | None, elderly_age: int
) -> str | None:
    """The green-channel reason for this visit: staff-confirmed first, else age."""
    if staff_reason is not None:
        return staff_reason
    if identity is not None and identity.elderly(elderly_age):
        return "elderly"
    return None


@dataclass(frozen=True)
class IssuedTicket:
    """What the engine issued, with everything the screen and the paper show."""

    ticket_id: str
    code: str
    queue_id: str
    queue_name: str
    item_id: str
    item_name: str
    item_name_en: str
    ahead: int
    est_wait_min: int
    issued_at: datetime
    hall_name: str
    masked_name: str | None
    priority: str
    priority_reason: str | None
    location: str
    qr_url: str = field(default="", repr=False)  # the follow page: it holds the ticket's token
    location_en: str = ""
    calls_from: datetime | None = None  # issued in the midday break: calling resumes then

    @property
    def assisted(self) -> bool:
        """Issued without a card, with staff help (the holder line says so)."""
        return self.masked_name == ASSISTED_HOLDER

    def where(self, lang: str) -> str:
        return self.location_en if lang == "en" and self.location_en else self.location

    @property
    def priority_label(self) -> str | None:
        if self.priority == "normal" or not self.priority_reason:
            return None
        return PRIORITY_PRINT.get(self.priority_reason)


def follow_url(result: dict[str, Any]) -> str:
    """The URL in the ticket's QR code: the engine's ``follow_url`` from the ``issue`` answer
    (the citizen's page, ``web.ticket_url`` of the hall config with the ticket's secret
    token).

    Fallback: an engine older than #13 sends none; the ticket then carries no QR (an
    address that nothing serves is worse than none), and the kiosk says so in its log.
    """
    url = result.get("follow_url")
    if isinstance(url, str) and url.startswith(("http://", "https://")) and len(url) <= 300:
        return url
    log.warning("the engine's issue answer has no follow_url: the ticket is printed without a QR")
    return ""


def issued_from_result(result: dict[str, Any], catalog: Catalog, *, now: datetime) -> IssuedTicket:
    """Build the ticket from the engine's ``issue`` answer and the catalogue."""
    t = result["ticket"]
    item_id = t.get("item") or ""
    try:
        item: Item | None = catalog.item(item_id)
    except KeyError:
        item = None
    try:
        queue_name = catalog.category(t["queue"]).name
    except KeyError:
        queue_name = t["queue"]
    try:
        issued_at = datetime.fromisoformat(t["issued_at"])
    except (KeyError, ValueError):
        issued_at = now
    calls_from: datetime | None = None
    raw = result.get("calls_from")
    if isinstance(raw, str) and len(raw) <= 40:
        try:
            calls_from = datetime.fromisoformat(raw)
        except ValueError:
            log.warning("the engine's calls_from %r is no datetime: not shown", raw)
    return IssuedTicket(
        ticket_id=t["id"],
        code=t["code"],
        queue_id=t["queue"],
        queue_name=queue_name,
        item_id=item_id,
        item_name=item.name if item else queue_name,
        item_name_en=(item.name_en if item else "") or "",
        ahead=int(result.get("ahead", 0)),
        est_wait_min=int(result.get("est_wait_min", 0)),
        issued_at=issued_at,
        hall_name=catalog.hall_name,
        masked_name=t.get("masked_name") or None,
        priority=t.get("priority", "normal"),
        priority_reason=t.get("priority_reason"),
        location=item.location if item else "",
        qr_url=follow_url(result),
        location_en=item.location_en if item else "",
        calls_from=calls_from,
    )


def preview_ticket(
    catalog: Catalog,
    item_id: str | None = None,
    *,
    now: datetime,
    qr_url: str = "",
    calls_from: datetime | None = None,
) -> IssuedTicket:
    """A made-up ticket of a configured hall's item (``hall ticket preview``): its hall
    name, queue, item and location, as the kiosk would print it."""
    item = catalog.item(item_id) if item_id else catalog.items[0]
    queue = catalog.category(item.queue)
    return IssuedTicket(
        ticket_id="preview",
        code=f"{queue.prefix}012",
        queue_id=queue.id,
        queue_name=queue.name,
        item_id=item.id,
        item_name=item.name,
        item_name_en=item.name_en,
        ahead=7,
        est_wait_min=15,
        issued_at=now,
        hall_name=catalog.hall_name,
        masked_name="张*三",
        priority="normal",
        priority_reason=None,
        location=item.location,
        qr_url=qr_url,
        location_en=item.location_en,
        calls_from=calls_from,
    )


TICKET_NOTES = ("请留意叫号，过号请到窗口说明。", "本号票当日有效。")


def ticket_notes(ticket: IssuedTicket) -> tuple[str, ...]:
    """The notes printed under the ticket: when calling resumes (a lunch ticket), that
    staff helped (no card), then the usual two."""
    notes: list[str] = []
    if ticket.calls_from is not None:
        notes.append(tr("calls_from", "zh", t=f"{ticket.calls_from:%H:%M}"))
    if ticket.assisted:
        notes.append(tr("assisted_label", "zh"))
    return (*notes, *TICKET_NOTES)


def ticket_data(ticket: IssuedTicket) -> TicketData:
    """The printer driver's :class:`~drivers.printer.TicketData` for this ticket."""
    from drivers.printer import TicketData

    return TicketData(
        hall_name=ticket.hall_name,
        number=ticket.code,
        queue_name=ticket.queue_name,
        item_name=ticket.item_name,
        ahead=ticket.ahead,
        est_wait_min=ticket.est_wait_min,
        issued_at=ticket.issued_at.replace(tzinfo=None),
        qr_payload=ticket.qr_url,
        masked_name=None if ticket.assisted else ticket.masked_name,
        window_hint=ticket.location or None,
        notes=ticket_notes(ticket),
        priority_label=ticket.priority_label,
    )

"""One citizen's visit at the kiosk: what was chosen and who they are.  Pure.

Everything personal lives here and nowhere else in the UI; :meth:`Session.clear`
forgets it all (after the ticket, on "home", after inactivity).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kiosk.appointment import Appointment
from kiosk.identify import Identity
from kiosk.ticketing import IssuedTicket


@dataclass
class Refused:
    code: str
    data: dict[str, Any] = field(default_factory=dict)
    message_zh: str = ""


@dataclass
class Session:
    identity: Identity | None = None
    staff_reason: str | None = None  # disabled / pregnant / military, confirmed by staff
    appointment: Appointment | None = None
    category: str | None = None  # queue id of the items screen
    item: str | None = None  # item of the guide screen
    pending_item: str | None = None  # waiting for a card before issuing
    ticket: IssuedTicket | None = None
    print_state: str = "printing"  # printing | ok | failed
    print_message: str = ""
    refusal: Refused | None = None
    guide_printed: bool | None = None
    # "green" (confirm a reason) | "service" (reprints) | "assisted" (no card, staff vouch)
    staff_mode: str = "green"
    assisted: bool = False  # staff confirmed a ticket without a card (没带证件 / 代办)
    identify_way: str | None = None  # the way tapped on the identify screen (its prompt)

    def clear(self) -> None:
        """Forget the person and their choices."""
        fresh = Session()
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(fresh, name))

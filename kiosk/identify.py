"""Who is taking the number: what the kiosk keeps from a card, and nothing more.

Pure.  A card read (resident ID via the SAM reader, or the citizen /
social-security card over PC/SC) becomes an :class:`Identity` at once and the
card object is dropped.  The ID number never leaves this module: it becomes a
salted ``person_key`` (``hall.core.privacy.person_key``) for the engine's
per-person limits; the name becomes ``masked_name`` (张*三).  The age decides
the elderly green channel (绿色通道).
"""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from drivers.citizencard import CitizenCard
    from drivers.idcard import IdCard

log = logging.getLogger(__name__)

GREEN_REASONS = ("elderly", "disabled", "pregnant", "military")


class IdentityError(ValueError):
    """A card was read but cannot identify a person (no usable number)."""


@dataclass(frozen=True, repr=False)
class Identity:
    """What the kiosk holds about the person in front of it, for one visit."""

    source: str  # "idcard" | "citizencard"
    person_key: str  # salted hash of the ID number (32 hex)
    masked_name: str  # 张*三; "" when the card carries no name
    age: int | None  # full years today; None when the birth date is unknown

    def elderly(self, threshold: int) -> bool:
        return self.age is not None and self.age >= threshold

    def __repr__(self) -> str:
        return f"Identity(source={self.source!r}, masked_name={self.masked_name!r}, age={self.age})"


def load_salt(path: str | os.PathLike[str]) -> bytes:
    """The hall's secret for person keys: the file's bytes (stripped).

    The file is made per hall by ``hall provision`` on the queue host (``/etc/hall/salt``,
    root-owned, readable by the ``hall`` group) and copied to each kiosk of the hall
    (``hall provision --person-salt-file``); it is never in the repository.
    """
    data = Path(path).read_bytes().strip()
    if len(data) < 8:
        raise ValueError(f"salt file {path} holds {len(data)} bytes; use at least 16 random bytes")
    return data


def ephemeral_salt() -> bytes:
    """A random person-key secret for a kiosk that has none configured.

    Per-person limits then hold only for tickets this kiosk issued since it started
    (another kiosk, or this one after a restart, makes other keys); the kiosk logs
    that as an error and reports it to staff.  Never a fixed value: a salt known
    from the source would let anyone holding a ``person_key`` search the ID numbers.
    """
    return secrets.token_bytes(32)


def _age(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def birth_from_id_number(number: str) -> date | None:
    """Birth date from an 18-digit resident ID number (digits 7-14), if it parses."""
    if len(number) != 18 or not number[:17].isdigit():
        return None
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def from_id_card(card: IdCard, salt: bytes, today: date) -> Identity:
    """Identity from a resident ID / residence permit / foreign permanent resident card."""
    number = card.id_number.strip()
    if not number:
        raise IdentityError("the card carries no ID number")
    try:
        age: int | None = card.age_on(today)
    except ValueError:
        born = birth_from_id_number(number)
        age = _age(born, today) if born else None
    name = card.name.strip() or card.english_name.strip()
    return Identity("idcard", _person_key(number, salt), _masked(name), age)


def from_citizen_card(card: CitizenCard, salt: bytes, today: date) -> Identity:
    """Identity from a social-security / citizen card: its SSN is the ID number."""
    number = card.ssn.strip()
    if not number:
        raise IdentityError("the citizen card carries no social security number")
    born = birth_from_id_number(number)
    return Identity(
        "citizencard",
        _person_key(number, salt),
        _masked(card.name),
        _age(born, today) if born else None,
    )


def _person_key(number: str, salt: bytes) -> str:
    # hall.core.privacy (its patterns) loads with the first card, or when the kiosk
    # settles after its first frame
    from hall.core.privacy import person_key

    return person_key(number, salt)


def _masked(name: str) -> str:
    from hall.core.privacy import mask_name

    masked = mask_name(name.strip())
    # The engine's contract forbids digits in masked_name; keep it short.
    return "".join(c for c in masked if not c.isdigit())[:20]

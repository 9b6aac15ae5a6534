"""The SSSE read sequence over any ``transmit(bytes) -> bytes`` channel.

Kept apart from PC/SC so the same code runs against the virtual card's applet
in unit tests and against pcscd in production.  Handles ``61xx`` (GET
RESPONSE, repeated while the card has more) and ``6Cxx`` (resend once with
the exact Le) and turns status words into the driver's named errors.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from drivers.citizencard import apdu
from drivers.citizencard.errors import CardReadFailed, PinRequired, WrongCard

log = logging.getLogger(__name__)

Transmit = Callable[[bytes], bytes]

# A card that keeps answering 61xx forever must not hang the kiosk.
MAX_GET_RESPONSE = 16


def exchange(transmit: Transmit, command: bytes) -> apdu.Response:
    """Send one command; follow ``6Cxx`` once and ``61xx`` until the data is complete."""
    response = apdu.Response.from_bytes(transmit(command))
    exact = response.sw.exact_le
    if exact is not None:
        log.debug("card asked for Le=%d (SW %s), resending", exact, response.sw)
        command = apdu.with_le(command, exact)
        response = apdu.Response.from_bytes(transmit(command))
    data = response.data
    for _ in range(MAX_GET_RESPONSE):
        more = response.sw.more_data
        if more is None:
            return apdu.Response(data, response.sw)
        log.debug("card has %d more bytes, GET RESPONSE", more)
        response = apdu.Response.from_bytes(transmit(apdu.get_response(more)))
        if response.sw.exact_le is not None:  # some cards correct GET RESPONSE's Le too
            response = apdu.Response.from_bytes(transmit(apdu.get_response(response.sw.exact_le)))
        data += response.data
    raise CardReadFailed(
        f"card still answered 61xx after {MAX_GET_RESPONSE} GET RESPONSE commands"
        f" (command {command[:4].hex(' ')})"
    )


def _check(response: apdu.Response, step: str) -> None:
    if response.sw.ok:
        return
    if response.sw.pin_required:
        raise PinRequired(
            f"card needs a PIN: {step} returned SW {response.sw}", sw=response.sw.value
        )
    raise CardReadFailed(f"{step} failed: SW {response.sw}", sw=response.sw.value)


def select_ssse(transmit: Transmit) -> None:
    """SELECT the social-security application; anything but success means wrong card."""
    response = exchange(transmit, apdu.SELECT_SSSE)
    if response.sw.ok:
        return
    if response.sw.pin_required:
        _check(response, "SELECT SSSE")
    raise WrongCard(
        f"not a social-security card: SELECT SSSE returned SW {response.sw}",
        sw=response.sw.value,
    )


def read_field(transmit: Transmit, spec: apdu.RecordSpec) -> bytes:
    """READ RECORD of one field (EF already selected); returns the TLV value."""
    response = exchange(transmit, spec.apdu)
    _check(response, f"READ RECORD {spec.record:02X} ({spec.field}) in file {spec.ef:04X}")
    try:
        return apdu.record_value(response.data, spec.record)
    except CardReadFailed as exc:
        raise CardReadFailed(f"{spec.field}: {exc}") from None


def read_card(transmit: Transmit) -> apdu.CitizenCard:
    """The whole sequence: SELECT SSSE, EF05 (id, card number), EF06 (SSN, name)."""
    select_ssse(transmit)
    values: dict[str, bytes] = {}
    current_ef: int | None = None
    for spec in apdu.RECORDS:
        if spec.ef != current_ef:
            _check(exchange(transmit, apdu.select_ef(spec.ef)), f"SELECT file {spec.ef:04X}")
            current_ef = spec.ef
        values[spec.field] = read_field(transmit, spec)
    card_id = apdu.decode_card_identifier(values["card_id"])
    return apdu.CitizenCard(
        card_number=apdu.decode_text(values["card_number"], field="card number"),
        region=apdu.region_of(card_id),
        ssn=apdu.decode_text(values["ssn"], field="social-security number").upper(),
        name=apdu.decode_name(values["name"]),
    )

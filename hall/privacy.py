"""Personal data masking and hashing: kept here for its callers; the code is
:mod:`hall.core.privacy` (the bottom floor, which drivers may import)."""

from __future__ import annotations

from hall.core.privacy import (
    COMPOUND_SURNAMES,
    UNMASKED_WARNING,
    RedactingStream,
    mask_address,
    mask_birth,
    mask_id,
    mask_name,
    mask_number,
    mask_person_name,
    mask_phone,
    person_key,
    redact,
    unredacted,
)

__all__ = [
    "COMPOUND_SURNAMES",
    "UNMASKED_WARNING",
    "RedactingStream",
    "mask_address",
    "mask_birth",
    "mask_id",
    "mask_name",
    "mask_number",
    "mask_person_name",
    "mask_phone",
    "person_key",
    "redact",
    "unredacted",
]

"""Personal data: masking for screens, tickets and MQTT; hashing for limits.

Rules (DOMAIN.md, reference/001 §5): a full ID number or name never appears
on a screen, a ticket, an MQTT payload or a log line.  Per-person limits use
a salted hash, never the number itself.
"""

from __future__ import annotations

import hashlib
import hmac
import re

# 18-digit resident ID (last may be X), 15-digit legacy ID, permit numbers.
_ID_RE = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8})(\d{3}[\dXx])(?![0-9A-Za-z])")
_PHONE_RE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")


def mask_id(number: str) -> str:
    """``320102199001011234`` -> ``3201**********1234`` (first 4, last 4 kept)."""
    number = (number or "").strip()
    if len(number) <= 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def mask_name(name: str) -> str:
    """``张三`` -> ``张*``; ``张小三`` -> ``张*三``; ``欧阳小明`` -> ``欧**明``.

    Latin names keep their first letter of each word: ``John Smith`` -> ``J*** S****``.
    """
    name = (name or "").strip()
    if not name:
        return ""
    if name.isascii():
        return " ".join(w[0] + "*" * (len(w) - 1) for w in name.split())
    if len(name) == 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_phone(phone: str) -> str:
    """``13812345678`` -> ``138****5678``."""
    phone = (phone or "").strip()
    if len(phone) < 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def person_key(id_number: str, salt: bytes) -> str:
    """A salted, keyed hash identifying a person for per-person limits."""
    normalized = id_number.strip().upper().encode()
    return hmac.new(salt, normalized, hashlib.sha256).hexdigest()[:32]


def redact(text: str) -> str:
    """Mask anything in free text that looks like an ID or mobile number."""
    text = _ID_RE.sub(lambda m: mask_id(m.group(0)), text)
    return _PHONE_RE.sub(lambda m: mask_phone(m.group(0)), text)

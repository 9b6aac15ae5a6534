"""Staff PINs: stored only as a salted slow hash, compared in constant time.

One module for every PIN of hall-edge: the kiosk's staff PIN (green channel,
re-print panel) and each clerk's login PIN (the hall config's staff list).

A stored PIN is one line of text that carries its own parameters::

    scrypt$n=16384,r=8,p=1$<salt, base64>$<hash, base64>

:func:`hash_pin` makes one with a fresh random salt (so the same PIN gives a
different string every time, and two kiosks with the same PIN cannot be told
apart from their files); :func:`verify_pin` recomputes the hash with the stored
salt and parameters and compares with :func:`hmac.compare_digest`.  The PIN
itself is never written anywhere and never logged.

Parameters are bounded (:func:`parse`): a stored string with a work factor too
small to be slow, or so large it would exhaust the device's memory, is refused
when the config is loaded, not when a clerk logs in.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

if TYPE_CHECKING:
    from pydantic import AfterValidator, BeforeValidator

__all__ = [
    "PASSWORD_MAX",
    "PASSWORD_MIN",
    "PinHash",
    "PinHashText",
    "check_hash",
    "check_password",
    "check_pin",
    "generate_pin",
    "hash_password",
    "hash_pin",
    "parse",
    "verify_password",
    "verify_pin",
]

SCHEME = "scrypt"
N, R, P = 2**14, 8, 1  # 16 MiB and ~50-100 ms per check on a kiosk PC
SALT_BYTES = 16
KEY_BYTES = 32
MIN_N, MAX_N = 2**10, 2**18
MAX_R, MAX_P = 16, 4
PIN_MIN, PIN_MAX = 4, 8
PASSWORD_MIN, PASSWORD_MAX = 8, 128  # a hall manager's console password

_FORM = re.compile(
    r"^scrypt\$n=(?P<n>[0-9]{1,7}),r=(?P<r>[0-9]{1,2}),p=(?P<p>[0-9]{1,2})"
    r"\$(?P<salt>[A-Za-z0-9+/=]{16,128})\$(?P<key>[A-Za-z0-9+/=]{16,128})$"
)


@dataclass(frozen=True)
class PinHash:
    """A parsed stored PIN: the scrypt parameters, the salt and the derived key."""

    n: int
    r: int
    p: int
    salt: bytes
    key: bytes

    def __str__(self) -> str:
        salt = base64.b64encode(self.salt).decode("ascii")
        key = base64.b64encode(self.key).decode("ascii")
        return f"{SCHEME}$n={self.n},r={self.r},p={self.p}${salt}${key}"

    def derive(self, pin: str) -> bytes:
        return _scrypt(pin, self.salt, self.n, self.r, self.p, len(self.key))


def _scrypt(pin: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    # scrypt needs 128 * r * n bytes (plus p blocks); hashlib refuses above 32 MiB by default
    maxmem = 128 * r * (n + p + 2) + (1 << 20)
    return hashlib.scrypt(
        pin.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=maxmem, dklen=length
    )


def check_pin(pin: Any) -> str:
    """``pin`` if it is 4-8 digits, else ``ValueError`` (the message never shows the PIN)."""
    if not isinstance(pin, str) or not pin.isascii() or not pin.isdigit():
        raise ValueError(f"a PIN is {PIN_MIN}-{PIN_MAX} digits (0-9)")
    if not PIN_MIN <= len(pin) <= PIN_MAX:
        raise ValueError(f"a PIN is {PIN_MIN}-{PIN_MAX} digits, this one has {len(pin)}")
    return pin


def generate_pin(digits: int = 6) -> str:
    """A random PIN of ``digits`` digits (``secrets``: not guessable from the time)."""
    if not PIN_MIN <= digits <= PIN_MAX:
        raise ValueError(f"a PIN has {PIN_MIN}-{PIN_MAX} digits")
    return "".join(str(secrets.randbelow(10)) for _ in range(digits))


def hash_pin(pin: str, *, n: int = N, r: int = R, p: int = P) -> str:
    """The stored form of ``pin`` (checked first: 4-8 digits), with a fresh random salt."""
    check_pin(pin)
    salt = secrets.token_bytes(SALT_BYTES)
    _check_parameters(n, r, p)
    return str(PinHash(n, r, p, salt, _scrypt(pin, salt, n, r, p, KEY_BYTES)))


def _check_parameters(n: int, r: int, p: int) -> None:
    if n & (n - 1) or not MIN_N <= n <= MAX_N:
        raise ValueError(f"scrypt n must be a power of two from {MIN_N} to {MAX_N}, got {n}")
    if not 1 <= r <= MAX_R:
        raise ValueError(f"scrypt r must be 1..{MAX_R}, got {r}")
    if not 1 <= p <= MAX_P:
        raise ValueError(f"scrypt p must be 1..{MAX_P}, got {p}")


def parse(stored: str) -> PinHash:
    """A stored PIN read back; ``ValueError`` names what is wrong with its form."""
    if not isinstance(stored, str):
        raise ValueError("a stored PIN is text like scrypt$n=16384,r=8,p=1$<salt>$<hash>")
    match = _FORM.match(stored.strip())
    if match is None:
        raise ValueError(
            "not a stored PIN: expected scrypt$n=16384,r=8,p=1$<salt>$<hash> as written by "
            "`hall provision` or `hall provision --hash-pin` (a PIN is never written in plain)"
        )
    n, r, p = int(match["n"]), int(match["r"]), int(match["p"])
    _check_parameters(n, r, p)
    try:
        salt = base64.b64decode(match["salt"], validate=True)
        key = base64.b64decode(match["key"], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the salt or hash of a stored PIN is not valid base64") from None
    if len(salt) < SALT_BYTES:
        raise ValueError(f"the salt of a stored PIN must be at least {SALT_BYTES} bytes")
    if len(key) < 16:
        raise ValueError("the hash of a stored PIN must be at least 16 bytes")
    return PinHash(n, r, p, salt, key)


def check_hash(stored: str) -> str:
    """``stored`` if it is a well-formed stored PIN (the schema's check), else ``ValueError``."""
    parse(stored)
    return stored.strip()


def verify_pin(pin: Any, stored: str | PinHash) -> bool:
    """Does ``pin`` match ``stored``?  Constant-time compare; a malformed PIN is just wrong.

    ``stored`` must be well-formed (:func:`parse` raises otherwise: configs are checked
    when loaded).  The work is the same whether the PIN is right or wrong.
    """
    target = stored if isinstance(stored, PinHash) else parse(stored)
    text = pin if isinstance(pin, str) and len(pin) <= 64 else ""
    ok_form = True
    try:
        check_pin(text)
    except ValueError:
        ok_form = False
    derived = target.derive(text)  # derived even for a malformed PIN: same time either way
    return hmac.compare_digest(derived, target.key) and ok_form


def check_password(password: Any) -> str:
    """``password`` if it is text of 8-128 characters, else ``ValueError`` (never showing it).

    A hall manager's console password (``managers[].password_hash``): stored in the same
    scrypt form as a PIN, so :func:`parse`, :func:`check_hash` and ``PinHashText`` read it.
    """
    if not isinstance(password, str):
        raise ValueError("a password is text")
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise ValueError(
            f"a password has {PASSWORD_MIN}-{PASSWORD_MAX} characters, this one has {len(password)}"
        )
    if password != password.strip() or any(not c.isprintable() for c in password):
        raise ValueError("a password has no leading or trailing blanks and no control characters")
    return password


def hash_password(password: str, *, n: int = N, r: int = R, p: int = P) -> str:
    """The stored form of a manager's ``password`` (checked first), fresh random salt."""
    check_password(password)
    _check_parameters(n, r, p)
    salt = secrets.token_bytes(SALT_BYTES)
    return str(PinHash(n, r, p, salt, _scrypt(password, salt, n, r, p, KEY_BYTES)))


def verify_password(password: Any, stored: str | PinHash) -> bool:
    """Does ``password`` match ``stored``?  Like :func:`verify_pin`: constant-time compare,
    the same work for a malformed password (it is just wrong)."""
    target = stored if isinstance(stored, PinHash) else parse(stored)
    text = password if isinstance(password, str) and len(password) <= PASSWORD_MAX else ""
    ok_form = True
    try:
        check_password(text)
    except ValueError:
        ok_form = False
    derived = target.derive(text)
    return hmac.compare_digest(derived, target.key) and ok_form


def _text(value: Any) -> Any:
    if not isinstance(value, str):
        # not "got 482913": a PIN written in plain by mistake must not reach a log line
        raise ValueError(
            "expected the stored form of a PIN (text like scrypt$n=16384,... as written by "
            "`hall provision` or `hall provision --hash-pin`), not a number"
        )
    return value


#: A stored PIN in a config file (``staff[].pin_hash``, ``staff_pin_hash``): text of the
#: form :func:`parse` reads, checked when the config loads.  Error messages never repeat
#: the value (it may be a PIN written in plain by mistake).
if TYPE_CHECKING:
    PinHashText = Annotated[str, BeforeValidator(_text), AfterValidator(check_hash)]
else:  # made on first use, with pydantic: checking a PIN does not load it

    def __getattr__(name: str) -> Any:
        if name != "PinHashText":
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        from pydantic import AfterValidator, BeforeValidator

        global PinHashText
        PinHashText = Annotated[str, BeforeValidator(_text), AfterValidator(check_hash)]
        return PinHashText

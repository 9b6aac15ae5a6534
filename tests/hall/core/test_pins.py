"""Staff and clerk PINs (hall.core.pins): a salted slow hash, never the PIN, compared in
constant time."""

from __future__ import annotations

import base64
import hmac

import pytest

from hall.core import pins

FAST = {"n": 2**10}  # the smallest accepted work factor: quick tests of the form


def test_a_stored_pin_carries_its_parameters_and_not_the_pin():
    stored = pins.hash_pin("482913")
    scheme, params, salt, key = stored.split("$")
    assert (scheme, params) == ("scrypt", "n=16384,r=8,p=1")
    assert len(base64.b64decode(salt)) == 16 and len(base64.b64decode(key)) == 32
    assert "482913" not in stored
    # nor in any encoding of the stored bytes
    raw = base64.b64decode(salt) + base64.b64decode(key)
    assert b"482913" not in raw and "482913".encode("utf-16-le") not in raw
    assert pins.verify_pin("482913", stored)
    assert not pins.verify_pin("482914", stored)


def test_the_same_pin_gives_a_different_hash_each_time():
    one, two = pins.hash_pin("1357", **FAST), pins.hash_pin("1357", **FAST)
    assert one != two
    assert one.split("$")[2] != two.split("$")[2]  # the salts differ
    assert one.split("$")[3] != two.split("$")[3]  # and so do the hashes
    assert pins.verify_pin("1357", one) and pins.verify_pin("1357", two)


def test_compare_is_constant_time(monkeypatch):
    calls = []
    real = hmac.compare_digest

    def recording(a, b):
        calls.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", recording)
    stored = pins.hash_pin("9876", **FAST)
    assert pins.verify_pin("9876", stored)
    assert not pins.verify_pin("9875", stored)
    assert not pins.verify_pin("98", stored)  # malformed: still derived and compared
    assert not pins.verify_pin(None, stored)
    assert calls == [(32, 32)] * 4


@pytest.mark.parametrize("pin", ["", "123", "123456789", "12a4", "１２３４", None, 1234])
def test_only_four_to_eight_digits_are_a_pin(pin):
    with pytest.raises(ValueError) as caught:
        pins.check_pin(pin)
    if isinstance(pin, str) and pin:
        assert pin not in str(caught.value)  # the message never shows what was typed
    with pytest.raises(ValueError):
        pins.hash_pin(pin)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "stored",
    [
        "482913",  # a PIN in plain
        "scrypt$n=16384,r=8,p=1$short$short",
        "scrypt$n=1000,r=8,p=1$" + "A" * 24 + "$" + "A" * 44,  # not a power of two
        "scrypt$n=16,r=8,p=1$" + "A" * 24 + "$" + "A" * 44,  # too weak
        "scrypt$n=1048576,r=8,p=1$" + "A" * 24 + "$" + "A" * 44,  # too much memory
        "scrypt$n=16384,r=99,p=1$" + "A" * 24 + "$" + "A" * 44,
        "bcrypt$n=16384,r=8,p=1$" + "A" * 24 + "$" + "A" * 44,
    ],
)
def test_a_malformed_stored_pin_is_refused(stored):
    with pytest.raises(ValueError):
        pins.parse(stored)


def test_generated_pins_are_digits_and_vary():
    made = {pins.generate_pin() for _ in range(50)}
    assert all(len(p) == 6 and p.isdigit() for p in made)
    assert len(made) > 40
    assert len(pins.generate_pin(8)) == 8


# -- the hall manager's console passwords (#13): the same stored form ---------------------------


def test_a_password_is_stored_like_a_pin_and_checked_in_constant_form():
    stored = pins.hash_password("hall-demo-2580", **FAST)
    assert stored.startswith("scrypt$n=1024,") and "hall-demo-2580" not in stored
    assert pins.check_hash(stored) == stored  # PinHashText reads it
    assert pins.verify_password("hall-demo-2580", stored)
    assert not pins.verify_password("hall-demo-2581", stored)
    assert not pins.verify_password(None, stored)
    assert not pins.verify_password("x" * 1000, stored)
    assert not pins.verify_pin("hall-demo-2580", stored)  # a PIN check never accepts it


@pytest.mark.parametrize(
    "password", ["", "short", "1234567", " padded-pass ", "tab\there-x", 12345678]
)
def test_a_password_has_eight_printable_characters_or_more(password):
    with pytest.raises(ValueError) as caught:
        pins.hash_password(password, **FAST)  # type: ignore[arg-type]
    if isinstance(password, str) and password:
        assert password not in str(caught.value)


def test_a_pin_is_still_only_digits():
    with pytest.raises(ValueError):
        pins.hash_pin("hall-demo-2580")

"""The citizen / social-security card through a real pcscd + vpcd reader."""

from __future__ import annotations

import pytest

from drivers.citizencard.vcard import CardContents
from hall.core.privacy import person_key

pytestmark = [pytest.mark.broker, pytest.mark.pcsc]

SALT = b"test-hall-salt-0123456789"


def test_citizen_card_identifies_the_person(make_kiosk, reader_name, vcard):
    kiosk = make_kiosk(citizencard=reader_name)
    kiosk.qtbot.waitUntil(
        lambda: kiosk.status()["parts"].get("citizencard", {}).get("state") == "ok", timeout=8000
    )
    kiosk.tap("category-C")
    kiosk.tap("item-mz-dibao")
    kiosk.tap("take")
    kiosk.wait_screen("identify")
    ssn = "320102194501010015"
    vcard.insert(CardContents(name="周建华", ssn=ssn, card_number="T00000042"))
    kiosk.wait_screen("ticket", timeout=10_000)
    data = kiosk.wait_printed()
    row = kiosk.tickets()[0]
    assert row["person_key"] == person_key(ssn, SALT)
    assert (row["masked_name"], row["priority_reason"]) == ("周*华", "elderly")  # born 1945
    assert "周*华".encode("gb18030") in data and ssn.encode() not in data

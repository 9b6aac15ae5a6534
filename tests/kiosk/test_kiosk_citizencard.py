"""The citizen / social-security card through a real pcscd + vpcd reader."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from drivers.citizencard.pcscd import (
    VPCD_READER,
    pcscd_binary,
    pcscd_running,
    start_pcscd,
    stop_pcscd,
    wait_for_reader,
)
from drivers.citizencard.reader import wait_for_card
from drivers.citizencard.vcard import CardContents, VirtualCard
from hall.privacy import person_key

pytestmark = [pytest.mark.broker, pytest.mark.pcsc]

SALT = b"test-hall-salt-0123456789"


@pytest.fixture(scope="module")
def pcscd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if pcscd_binary() is None:
        pytest.skip("pcscd is not installed (Debian: apt-get install pcscd vsmartcard-vpcd)")
    proc = None
    if not pcscd_running():
        proc = start_pcscd(log_path=tmp_path_factory.mktemp("pcscd") / "pcscd.log")
    try:
        assert wait_for_reader(VPCD_READER, 15), "pcscd does not list the vpcd reader"
        yield VPCD_READER
    finally:
        if proc is not None:
            stop_pcscd(proc)


@pytest.fixture
def vcard(pcscd: str) -> Iterator[VirtualCard]:
    assert wait_for_card(pcscd, present=False, timeout=5), "a card already sits in vpcd"
    card = VirtualCard(retry_interval=0.05).start(inserted=False)
    yield card
    card.stop()


def test_citizen_card_identifies_the_person(make_kiosk, pcscd, vcard):
    kiosk = make_kiosk(citizencard=pcscd)
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

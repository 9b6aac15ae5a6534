"""CitizenCardReader through a real pcscd, vpcd reader and the virtual card."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from drivers.citizencard import (
    CardReadFailed,
    CitizenCard,
    CitizenCardReader,
    NoCard,
    NoReader,
    PinRequired,
    WrongCard,
    list_readers,
    wait_for_card,
)
from drivers.citizencard.vcard import CardContents, Mode, VirtualCard

pytestmark = pytest.mark.pcsc

InsertCard = Callable[..., VirtualCard]

H = bytes.fromhex
ZHANG_SAN = CitizenCard(
    card_number="T00000001", region="320100", ssn="110101199001010015", name="张三"
)


def test_vpcd_reader_is_listed(reader_name: str) -> None:
    assert reader_name in list_readers()


def test_normal_read(reader_name: str, insert: InsertCard) -> None:
    card = insert()
    assert CitizenCardReader(reader_name).read(timeout=2) == ZHANG_SAN
    commands = [c.hex().upper() for c, _ in card.transcript]
    assert commands == [
        "00A404000F7378312E73682EC9E7BBE1B1A3D5CF",
        "00A4000002EF05",
        "00B2010412",
        "00B207040B",
        "00A4000002EF06",
        "00B2080414",
        "00B2090420",
    ]


def test_reader_chosen_by_part_of_its_name_or_any(insert: InsertCard) -> None:
    insert()
    assert CitizenCardReader("virtual pcd 00 00").read(timeout=2).name == "张三"
    assert CitizenCardReader().read(timeout=2) == ZHANG_SAN  # any reader with a card


def test_61xx_path(reader_name: str, insert: InsertCard) -> None:
    card = insert(mode=Mode.GET_RESPONSE)
    assert CitizenCardReader(reader_name).read(timeout=2) == ZHANG_SAN
    exchanges = [(c.hex().upper(), r.hex().upper()) for c, r in card.transcript]
    assert ("00B2090420", "6110") in exchanges
    assert ("00C0000010", "00" * 16 + "9000") in exchanges


def test_6cxx_path(reader_name: str, insert: InsertCard) -> None:
    card = insert(mode=Mode.WRONG_LE)
    assert CitizenCardReader(reader_name).read(timeout=2) == ZHANG_SAN
    assert (H("00B2090420"), H("6C06")) in card.transcript
    assert (H("00B2090406"), H("0904D5C5C8FD9000")) in card.transcript


def test_pin_required(reader_name: str, insert: InsertCard) -> None:
    insert(mode=Mode.PIN_REQUIRED)
    with pytest.raises(PinRequired) as info:
        CitizenCardReader(reader_name).read(timeout=2)
    assert info.value.sw == 0x6982
    assert info.value.reader == reader_name
    assert info.value.user_message == "此卡需要输入密码，请到人工窗口办理"


def test_wrong_card(reader_name: str, insert: InsertCard) -> None:
    insert(mode=Mode.WRONG_CARD)
    with pytest.raises(WrongCard, match="SELECT SSSE returned SW 6A82") as info:
        CitizenCardReader(reader_name).read(timeout=2)
    assert info.value.user_message == "此卡不是社会保障卡/市民卡，请更换卡片"


def test_no_card(reader_name: str, vcard: VirtualCard) -> None:
    started = time.monotonic()
    with pytest.raises(NoCard, match=r"no card in Virtual PCD 00 00 after 0\.3s") as info:
        CitizenCardReader(reader_name).read(timeout=0.3)
    assert 0.25 <= time.monotonic() - started < 3
    assert info.value.user_message == "请插入社会保障卡/市民卡"


def test_unknown_reader_name(reader_name: str) -> None:
    with pytest.raises(NoReader, match="no reader matches 'ACS ACR39U'") as info:
        CitizenCardReader("ACS ACR39U").read(timeout=0.1)
    message = str(info.value)
    assert "Virtual PCD 00 00" in message  # says which readers exist
    assert "systemctl status pcscd" in message
    assert "USB cable" in message
    assert info.value.user_message == "读卡器未连接，请联系工作人员"


def test_card_inserted_while_waiting(reader_name: str, vcard: VirtualCard) -> None:
    vcard.insert()  # pcscd notices it during the read's wait
    assert CitizenCardReader(reader_name).read(timeout=5) == ZHANG_SAN


def test_each_insertion_is_a_new_card(
    reader_name: str, insert: InsertCard, remove: Callable[[], None]
) -> None:
    reader = CitizenCardReader(reader_name, timeout=2)
    insert()
    assert reader.read().name == "张三"
    remove()
    with pytest.raises(NoCard):
        reader.read(timeout=0.1)
    insert(CardContents(name="李四", card_number="T00000002"))
    assert reader.read().to_json_dict(mask=False)["name"] == "李四"


def test_wait_for_card_times_out(reader_name: str, vcard: VirtualCard) -> None:
    assert wait_for_card(reader_name, present=True, timeout=0.2) is False
    assert wait_for_card(reader_name, present=False, timeout=0.2) is True


def test_removal_in_the_middle_is_a_read_failure_or_no_card(
    reader_name: str, insert: InsertCard
) -> None:
    """Pulling the card out between two reads: the next read fails with a named error."""
    card = insert()
    reader = CitizenCardReader(reader_name)
    card.remove()
    with pytest.raises((CardReadFailed, NoCard)):
        reader.read(timeout=0.2)

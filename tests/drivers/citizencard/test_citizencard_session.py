"""The read sequence against the virtual card's applet (no pcscd): bytes on the wire."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from drivers.citizencard import apdu
from drivers.citizencard.errors import CardReadFailed, PinRequired, WrongCard
from drivers.citizencard.session import MAX_GET_RESPONSE, exchange, read_card
from drivers.citizencard.vcard import CardContents, Mode, SsseApplet

H = bytes.fromhex
ZHANG_SAN = apdu.CitizenCard(
    card_number="T00000001", region="320100", ssn="110101199001010015", name="张三"
)


class Wire:
    """The applet behind a transmit function that records each exchange as hex."""

    def __init__(self, applet: SsseApplet) -> None:
        self.applet = applet
        self.log: list[tuple[str, str]] = []

    def __call__(self, command: bytes) -> bytes:
        response = self.applet.process(command)
        self.log.append((command.hex().upper(), response.hex().upper()))
        return response

    @property
    def commands(self) -> list[str]:
        return [c for c, _ in self.log]


def wire(mode: Mode = Mode.NORMAL, contents: CardContents | None = None) -> Wire:
    return Wire(SsseApplet(contents or CardContents(), mode))


def test_normal_read() -> None:
    w = wire()
    assert read_card(w) == ZHANG_SAN
    assert w.log == [
        ("00A404000F7378312E73682EC9E7BBE1B1A3D5CF", "6F11840F7378312E73682EC9E7BBE1B1A3D5CF9000"),
        ("00A4000002EF05", "9000"),
        ("00B2010412", "0110320100D15600000568B6F3BC2A7501809000"),
        ("00B207040B", "07095430303030303030319000"),
        ("00A4000002EF06", "9000"),
        ("00B2080414", "08123131303130313139393030313031303031359000"),
        ("00B2090420", "091ED5C5C8FD" + "00" * 26 + "9000"),
    ]


def test_61xx_is_followed_by_get_response_until_done() -> None:
    w = wire(Mode.GET_RESPONSE)
    assert read_card(w) == ZHANG_SAN
    name_exchanges = w.log[-3:]
    assert name_exchanges == [
        ("00B2090420", "6110"),  # 32 bytes, handed out 16 at a time
        ("00C0000010", "091ED5C5C8FD" + "00" * 10 + "6110"),
        ("00C0000010", "00" * 16 + "9000"),
    ]
    assert w.commands.count("00C0000010") >= 4


def test_6cxx_resends_with_the_exact_le() -> None:
    w = wire(Mode.WRONG_LE)
    assert read_card(w) == ZHANG_SAN
    assert w.log[-2:] == [
        ("00B2090420", "6C06"),  # name stored unpadded: 6 bytes
        ("00B2090406", "0904D5C5C8FD9000"),
    ]


def test_pin_required() -> None:
    w = wire(Mode.PIN_REQUIRED)
    with pytest.raises(PinRequired) as info:
        read_card(w)
    assert info.value.sw == 0x6982
    assert info.value.user_message == "此卡需要输入密码，请到人工窗口办理"
    assert "6982" in str(info.value)
    assert w.log[-1] == ("00B2080414", "6982")


def test_wrong_card() -> None:
    w = wire(Mode.WRONG_CARD)
    with pytest.raises(WrongCard) as info:
        read_card(w)
    assert info.value.sw == 0x6A82
    assert "not a social-security card" in str(info.value)
    assert info.value.user_message == "此卡不是社会保障卡/市民卡，请更换卡片"
    assert len(w.log) == 1


def test_other_people() -> None:
    li_si = CardContents(
        name="欧阳小明", ssn="11010119900307002X", card_number="T00000002", region="410100"
    )
    assert read_card(wire(contents=li_si)) == apdu.CitizenCard(
        card_number="T00000002", region="410100", ssn="11010119900307002X", name="欧阳小明"
    )


def test_lowercase_x_in_ssn_is_normalised() -> None:
    contents = CardContents(ssn="11010119900307002x")
    assert read_card(wire(contents=contents)).ssn == "11010119900307002X"


def scripted(replies: dict[str, str]) -> Callable[[bytes], bytes]:
    """A card that answers fixed hex replies per command (hex), 6D00 otherwise."""

    def transmit(command: bytes) -> bytes:
        return H(replies.get(command.hex().upper(), "6D00"))

    return transmit


def test_card_that_never_stops_saying_61xx() -> None:
    transmit = scripted({"00B207040B": "6101", "00C0000001": "306101"})
    with pytest.raises(CardReadFailed, match=f"after {MAX_GET_RESPONSE} GET RESPONSE"):
        exchange(transmit, apdu.CARD_NUMBER.apdu)


def test_get_response_answered_with_6cxx() -> None:
    transmit = scripted({"00B207040B": "6105", "00C0000005": "6C02", "00C0000002": "07009000"})
    assert exchange(transmit, apdu.CARD_NUMBER.apdu).data == H("0700")


def test_record_not_found_is_a_read_failure() -> None:
    transmit = scripted(
        {
            apdu.SELECT_SSSE.hex().upper(): "9000",
            "00A4000002EF05": "9000",
            "00B2010412": "6A83",
        }
    )
    with pytest.raises(CardReadFailed, match=r"READ RECORD 01 \(card_id\) in file EF05.*6A83"):
        read_card(transmit)


def test_record_with_the_wrong_tag_names_the_field() -> None:
    transmit = scripted(
        {
            apdu.SELECT_SSSE.hex().upper(): "9000",
            "00A4000002EF05": "9000",
            "00B2010412": "0110320100D15600000500000000000000009000",
            "00B207040B": "0809543030303030303031" + "9000",
        }
    )
    with pytest.raises(CardReadFailed, match="card_number: expected record 07"):
        read_card(transmit)


def test_select_ef_refused_for_security_is_pin_required() -> None:
    transmit = scripted({apdu.SELECT_SSSE.hex().upper(): "9000", "00A4000002EF05": "6982"})
    with pytest.raises(PinRequired, match="SELECT file EF05"):
        read_card(transmit)


def test_applet_answers_unknown_instructions_and_classes() -> None:
    applet = SsseApplet(CardContents())
    assert applet.process(H("00840000")) == H("6D00")
    assert applet.process(H("80B2010412")) == H("6E00")
    assert applet.process(H("00B2")) == H("6700")
    assert applet.process(H("00B2010412")) == H("6986")  # no EF selected
    assert applet.process(H("00A4000002EF05")) == H("6A82")  # SSSE not selected yet
    assert applet.process(H("00C0000010")) == H("6985")  # nothing pending


def test_applet_reads_by_short_file_identifier() -> None:
    applet = SsseApplet(CardContents())
    applet.process(apdu.SELECT_SSSE)
    # P2 = 2C: SFI 5 (EF05), record number in P1
    assert applet.process(H("00B2072C0B")) == H("07095430303030303030319000")

"""The pure codec: APDU bytes, status words, TLV records, field decoding."""

from __future__ import annotations

import json

import pytest

from drivers.citizencard import apdu
from drivers.citizencard.errors import CardReadFailed, RecordFormatError

H = bytes.fromhex


# -- commands, as docs/protocols/citizencard.md writes them ----------------


def test_select_ssse_application() -> None:
    # 00 A4 04 00 0F "sx1.sh." + 社会保障 (GBK)
    assert H("00A404000F7378312E73682EC9E7BBE1B1A3D5CF") == apdu.SELECT_SSSE


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (apdu.SELECT_EF05, "00A4000002EF05"),
        (apdu.SELECT_EF06, "00A4000002EF06"),
        (apdu.CARD_ID.apdu, "00B2010412"),
        (apdu.CARD_NUMBER.apdu, "00B207040B"),
        (apdu.SSN.apdu, "00B2080414"),
        (apdu.NAME.apdu, "00B2090420"),
        (apdu.get_response(0x1E), "00C000001E"),
        (apdu.get_response(256), "00C0000000"),
    ],
)
def test_command_bytes(command: bytes, expected: str) -> None:
    assert command == H(expected)


def test_records_are_read_from_the_right_files() -> None:
    layout = [(r.field, r.ef, r.record) for r in apdu.RECORDS]
    assert layout == [
        ("card_id", 0xEF05, 0x01),
        ("card_number", 0xEF05, 0x07),
        ("ssn", 0xEF06, 0x08),
        ("name", 0xEF06, 0x09),
    ]


@pytest.mark.parametrize(
    ("command", "le", "expected"),
    [
        ("00B2090420", 0x06, "00B2090406"),  # case 2: Le replaced (6C06)
        ("00C0000010", 0x03, "00C0000003"),
        ("00840000", 0x08, "0084000008"),  # case 1: Le added
        ("00A4000002EF05", 0x0A, "00A4000002EF050A"),  # case 3: Le added
        ("00A4000002EF0500", 0x0A, "00A4000002EF050A"),  # case 4: Le replaced
    ],
)
def test_with_le(command: str, le: int, expected: str) -> None:
    assert apdu.with_le(H(command), le) == H(expected)


@pytest.mark.parametrize("bad", ["00B2", "00A4000005EF05"])
def test_with_le_rejects_malformed_apdus(bad: str) -> None:
    with pytest.raises(ValueError):
        apdu.with_le(H(bad), 1)


def test_builders_reject_out_of_range_values() -> None:
    with pytest.raises(ValueError):
        apdu.read_record(0, 0x10)
    with pytest.raises(ValueError):
        apdu.read_record(1, 257)
    with pytest.raises(ValueError):
        apdu.select_aid(b"")
    with pytest.raises(ValueError):
        apdu.select_ef(0x10000)


# -- status words --------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "data", "value", "ok"),
    [
        ("9000", "", 0x9000, True),
        ("07095430303030303030319000", "0709543030303030303031", 0x9000, True),
        ("6982", "", 0x6982, False),
        ("6A82", "", 0x6A82, False),
    ],
)
def test_response_split(raw: str, data: str, value: int, ok: bool) -> None:
    response = apdu.Response.from_bytes(H(raw))
    assert response.data == H(data)
    assert response.sw.value == value
    assert response.sw.ok is ok
    assert response.to_bytes() == H(raw)


def test_response_shorter_than_status_word() -> None:
    with pytest.raises(RecordFormatError, match="shorter than a status word"):
        apdu.Response.from_bytes(H("90"))


@pytest.mark.parametrize(
    ("sw", "more", "exact", "pin"),
    [
        ("611E", 0x1E, None, False),
        ("6100", 256, None, False),
        ("6C06", None, 6, False),
        ("6C00", None, 256, False),
        ("6982", None, None, True),
        ("6983", None, None, True),
        ("9000", None, None, False),
    ],
)
def test_status_word_flags(sw: str, more: int | None, exact: int | None, pin: bool) -> None:
    status = apdu.StatusWord(*H(sw))
    assert status.more_data == more
    assert status.exact_le == exact
    assert status.pin_required is pin


@pytest.mark.parametrize(
    ("sw", "meaning"),
    [
        ("9000", "success"),
        ("6982", "security status not satisfied (PIN required)"),
        ("6A82", "file or application not found"),
        ("6A83", "record not found"),
        ("611E", "30 more bytes available (GET RESPONSE)"),
        ("6C06", "wrong Le, exact length is 6"),
        ("63C2", "verification failed, 2 tries left"),
        ("9F99", "unknown status"),
    ],
)
def test_status_word_meaning(sw: str, meaning: str) -> None:
    assert apdu.describe_sw(*H(sw)) == meaning


def test_status_word_str_for_logs() -> None:
    assert str(apdu.StatusWord(0x6A, 0x82)) == "6A82 (file or application not found)"


# -- TLV records ---------------------------------------------------------------


def test_card_number_record() -> None:
    # tag 07, length 09, "T00000001"
    assert apdu.record_value(H("0709543030303030303031"), 0x07) == b"T00000001"


def test_record_padding_after_value_is_ignored() -> None:
    assert apdu.parse_record(H("0702414200000000")) == apdu.Record(0x07, b"AB")


@pytest.mark.parametrize(
    ("raw", "tag", "value"),
    [
        ("0900", 0x09, ""),
        ("0981020102", 0x09, "0102"),
        ("09820002AABB", 0x09, "AABB"),
    ],
)
def test_record_lengths(raw: str, tag: int, value: str) -> None:
    assert apdu.parse_record(H(raw)) == apdu.Record(tag, H(value))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "too short"),
        ("07", "too short"),
        ("070A5430", "length 10 but only 2 value bytes"),
        ("0781", "truncated"),
        ("0783000001", "unsupported length byte 83"),
    ],
)
def test_malformed_records(raw: str, message: str) -> None:
    with pytest.raises(RecordFormatError, match=message):
        apdu.parse_record(H(raw))


def test_record_with_the_wrong_tag() -> None:
    with pytest.raises(RecordFormatError, match="expected record 08, card returned tag 07"):
        apdu.record_value(H("0709543030303030303031"), 0x08)


def test_record_errors_are_read_failures() -> None:
    assert issubclass(RecordFormatError, CardReadFailed)


def test_malformed_record_message_never_holds_the_value() -> None:
    name = "张三".encode("gbk")
    with pytest.raises(RecordFormatError) as info:
        apdu.parse_record(bytes([0x09, 0x1E]) + name)
    assert name.hex() not in str(info.value).replace(" ", "").lower()


def test_encode_record_round_trip() -> None:
    for value in (b"", b"x" * 0x7F, b"y" * 0x80, b"z" * 0x1FF):
        assert apdu.parse_record(apdu.encode_record(0x09, value)) == apdu.Record(0x09, value)


# -- field decoding -------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "D5C5C8FD" + "00" * 26,  # 张三, 00 padded
        "D5C5C8FD" + "FF" * 26,  # FF padded
        "D5C5C8FD" + "20" * 26,  # space padded
        "2020D5C5C8FD0000",  # leading spaces too
        "D5C5C8FDA1A1",  # full-width space (GBK A1A1)
    ],
)
def test_gbk_name_padding(raw: str) -> None:
    assert apdu.decode_name(H(raw)) == "张三"


def test_gbk_name_with_four_characters() -> None:
    assert apdu.decode_name("欧阳小明".encode("gbk") + b"\x00" * 22) == "欧阳小明"


def test_name_outside_gbk_falls_back_to_gb18030() -> None:
    raw = "张䶮".encode("gb18030")  # 䶮 (U+4DAE) needs GB18030's four-byte form
    assert apdu.decode_name(raw) == "张䶮"


def test_name_that_is_not_gbk() -> None:
    with pytest.raises(RecordFormatError, match="name: not GBK"):
        apdu.decode_name(H("D5"))


def test_encode_name_pads_to_the_record_width() -> None:
    assert apdu.encode_name("张三") == H("D5C5C8FD") + bytes(26)
    with pytest.raises(ValueError):
        apdu.encode_name("张" * 16)


def test_text_fields() -> None:
    assert apdu.decode_text(b"T00000001") == "T00000001"
    assert apdu.decode_text(b"11010119900307002X\x00\x00") == "11010119900307002X"
    with pytest.raises(RecordFormatError, match="ssn: not ASCII"):
        apdu.decode_text(H("3131D5C5"), field="ssn")
    with pytest.raises(RecordFormatError, match="control characters"):
        apdu.decode_text(b"12\n34")


def test_card_identifier_binary_is_hex_and_region_its_first_six_digits() -> None:
    raw = H("320100D1560000050102030405060708")
    identifier = apdu.decode_card_identifier(raw)
    assert identifier == "320100D1560000050102030405060708"
    assert apdu.region_of(identifier) == "320100"


def test_card_identifier_stored_as_ascii() -> None:
    assert apdu.decode_card_identifier(b"410100D156000005") == "410100D156000005"


def test_card_identifier_without_region() -> None:
    with pytest.raises(RecordFormatError, match="region code"):
        apdu.region_of("FFFFFF00")


# -- the card object --------------------------------------------------------------

CARD = apdu.CitizenCard(
    card_number="T00000001", region="320100", ssn="110101199001010015", name="张三"
)


def test_repr_and_str_are_masked() -> None:
    for text in (repr(CARD), str(CARD), f"{CARD}", repr([CARD])):
        assert "110101199001010015" not in text
        assert "张三" not in text
        assert "T00000001" not in text
    assert repr(CARD) == (
        "CitizenCard(card_number='T000*0001', region='320100',"
        " ssn='1101**********0015', name='张*')"
    )


def test_json_dict_masked_by_default() -> None:
    assert CARD.to_json_dict() == {
        "card_number": "T000*0001",
        "region": "320100",
        "ssn": "1101**********0015",
        "name": "张*",
    }


def test_json_dict_full_for_the_technician() -> None:
    data = CARD.to_json_dict(mask=False)
    assert json.loads(json.dumps(data, ensure_ascii=False)) == {
        "card_number": "T00000001",
        "region": "320100",
        "ssn": "110101199001010015",
        "name": "张三",
    }


def test_card_is_frozen() -> None:
    with pytest.raises(AttributeError):
        CARD.name = "李四"  # type: ignore[misc]

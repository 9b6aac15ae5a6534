"""What a card holds: the three text-block layouts, nations, check digits, masking."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.idcard.card import (
    NATIONS,
    build_read_data,
    id_check_digit,
    id_check_digit_ok,
    parse_read_data,
    parse_text_block,
)
from drivers.idcard.errors import IdCardError, InvalidCard
from drivers.idcard.sim import DEMO_WLT, fake_id_number, make_card


def ucs2(text: str, width: int) -> bytes:
    """A field as the card stores it: UCS-2LE, padded with spaces to ``width`` bytes."""
    raw = text.encode("utf-16-le")
    return raw + " ".encode("utf-16-le") * ((width - len(raw)) // 2)


def resident_block(**fields: str) -> bytes:
    """A resident text block assembled by hand from docs/protocols/idcard.md's byte offsets."""
    f = {
        "name": "张三",
        "sex": "1",
        "nation": "01",
        "birth": "19900307",
        "address": "北京市东城区示例街道测试路1号",
        "id_number": "110101199003071233",
        "authority": "北京市公安局东城分局",
        "valid_from": "20200101",
        "valid_to": "20400101",
    } | fields
    block = (
        ucs2(f["name"], 30)  # 0-30
        + ucs2(f["sex"], 2)  # 30-32
        + ucs2(f["nation"], 4)  # 32-36
        + ucs2(f["birth"], 16)  # 36-52
        + ucs2(f["address"], 70)  # 52-122
        + ucs2(f["id_number"], 36)  # 122-158
        + ucs2(f["authority"], 30)  # 158-188
        + ucs2(f["valid_from"], 16)  # 188-204
        + ucs2(f["valid_to"], 16)  # 204-220
        + ucs2("", 36)  # 220-256 reserved; 248-250 = card type (spaces: resident)
    )
    assert len(block) == 256
    return block


def test_resident_card_parses_from_a_hand_built_block() -> None:
    card = parse_text_block(resident_block())
    assert card.card_type == "resident"
    assert (card.name, card.sex, card.nation, card.birth) == ("张三", "男", "汉", "19900307")
    assert card.address == "北京市东城区示例街道测试路1号"
    assert card.id_number == "110101199003071233"
    assert card.authority == "北京市公安局东城分局"
    assert (card.valid_from, card.valid_to) == ("20200101", "20400101")
    assert card.pass_number == "" and card.issue_count is None


def test_long_term_card_and_female_and_x_check_digit() -> None:
    card = parse_text_block(
        resident_block(sex="2", nation="03", id_number="11010519491231002X", valid_to="长期")
    )
    assert (card.sex, card.nation, card.valid_to) == ("女", "回", "长期")
    assert card.id_number.endswith("X")
    assert not card.expired_on(dt.date(2099, 1, 1))


def test_nul_padding_is_accepted_like_spaces() -> None:
    block = resident_block().replace(" ".encode("utf-16-le"), b"\x00\x00")
    assert parse_text_block(block).name == "张三"


def test_permit_layout_pass_number_and_issue_count() -> None:
    block = bytearray(resident_block(nation="", id_number=fake_id_number("810000", "19851120")))
    block[220:238] = ucs2("H12345678", 18)  # pass number
    block[238:242] = ucs2("03", 4)  # issue count
    block[248:250] = ucs2("J", 2)  # card type
    card = parse_text_block(bytes(block))
    assert card.card_type == "permit"
    assert (card.pass_number, card.issue_count, card.nation) == ("H12345678", 3, "")


def test_foreign_permanent_resident_card_layout() -> None:
    block = (
        ucs2("TEST, JOHN SAMPLE", 120)  # 0-120 English name
        + ucs2("1", 2)  # 120-122 sex
        + ucs2("USA110080051501", 30)  # 122-152 permanent residence number
        + ucs2("USA", 6)  # 152-158 nationality
        + ucs2("测试约翰", 30)  # 158-188 Chinese name
        + ucs2("20200101", 16)  # 188-204 valid from
        + ucs2("20300101", 16)  # 204-220 valid to
        + ucs2("19800515", 16)  # 220-236 birth
        + ucs2("", 4)  # 236-240 version
        + ucs2("1100", 8)  # 240-248 authority code
        + ucs2("I", 2)  # 248-250 card type
        + ucs2("", 6)
    )
    card = parse_text_block(block)
    assert card.card_type == "foreign"
    assert (card.english_name, card.name, card.nationality) == (
        "TEST, JOHN SAMPLE",
        "测试约翰",
        "USA",
    )
    assert (card.id_number, card.birth, card.sex) == ("USA110080051501", "19800515", "男")
    assert (card.valid_from, card.valid_to, card.authority) == ("20200101", "20300101", "1100")
    assert card.address == "" and card.nation == ""


@pytest.mark.parametrize("kind", ["resident", "permit", "foreign"])
def test_builder_cards_round_trip_through_the_text_block(kind: str) -> None:
    card = make_card(kind)
    parsed = parse_text_block(card.to_text_block())
    assert parsed == dataclasses.replace(card, photo_wlt=b"")


def test_type_mark_is_at_bytes_248_to_250() -> None:
    assert make_card("resident").to_text_block()[248:250] == b"\x20\x00"
    assert make_card("permit").to_text_block()[248:250] == b"J\x00"
    assert make_card("foreign").to_text_block()[248:250] == b"I\x00"


# --------------------------------------------------------------------------- nations


def test_nation_table_is_gb3304() -> None:
    assert len([c for c in NATIONS if int(c) <= 56]) == 56
    assert [NATIONS[c] for c in ("01", "02", "05", "08", "10", "29", "43", "56")] == [
        "汉",
        "蒙古",
        "维吾尔",
        "壮",
        "朝鲜",
        "柯尔克孜",
        "乌孜别克",
        "基诺",
    ]
    assert NATIONS["97"] == "其他" and NATIONS["98"] == "外国血统"
    assert len(set(NATIONS.values())) == len(NATIONS)


@pytest.mark.parametrize("code", sorted(NATIONS))
def test_every_nation_code_parses(code: str) -> None:
    assert parse_text_block(resident_block(nation=code)).nation == NATIONS[code]


# --------------------------------------------------------------------------- check digit


@pytest.mark.parametrize(
    "number",
    ["11010519491231002X", "440524188001010014", "110101199003071233"],  # GB 11643 examples
)
def test_valid_check_digits(number: str) -> None:
    assert id_check_digit_ok(number)
    assert id_check_digit(number[:17]) == number[17]


@pytest.mark.parametrize(
    "number",
    ["110105194912310021", "44052418800101001", "4405241880010100140", "A40524188001010014"],
)
def test_invalid_numbers(number: str) -> None:
    assert not id_check_digit_ok(number)


def test_fake_numbers_carry_valid_check_digits() -> None:
    assert id_check_digit_ok(fake_id_number("320102", "19450101", "999"))


def test_bad_check_digit_is_a_named_error_that_masks_the_number() -> None:
    with pytest.raises(InvalidCard) as info:
        parse_text_block(resident_block(id_number="110101199003071234"))
    assert "MOD 11-2" in str(info.value)
    assert "110101199003071234" not in str(info.value)
    assert info.value.user_message == "身份证信息无效，请到人工窗口办理"


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"sex": "3"}, "sex"),
        ({"birth": "19901332"}, "birth"),
        ({"birth": "1990"}, "birth"),
        ({"valid_to": "永久"}, "valid_to"),
        ({"id_number": "1101011990030712"}, "MOD 11-2"),
    ],
)
def test_broken_fields_are_invalid_cards(fields: dict[str, str], words: str) -> None:
    with pytest.raises(InvalidCard, match=words):
        parse_text_block(resident_block(**fields))


def test_unknown_card_type_and_wrong_size() -> None:
    block = bytearray(resident_block())
    block[248:250] = ucs2("Y", 2)
    with pytest.raises(InvalidCard, match="card type"):
        parse_text_block(bytes(block))
    with pytest.raises(InvalidCard, match="255 bytes"):
        parse_text_block(resident_block()[:255])


# --------------------------------------------------------------------------- read reply


def test_read_reply_data_with_and_without_fingerprint() -> None:
    text = resident_block()
    data = build_read_data(text, DEMO_WLT, with_fingerprint=False)
    assert data[:4] == bytes.fromhex("0100 0400")  # text_len 256, photo_len 1024
    card = parse_read_data(data)
    assert card.photo_wlt == DEMO_WLT and card.fingerprint is None and card.photo is None

    fp = bytes([7]) * 1024
    data = build_read_data(text, DEMO_WLT, fp, with_fingerprint=True)
    assert data[:6] == bytes.fromhex("0100 0400 0400")
    assert parse_read_data(data, with_fingerprint=True).fingerprint == fp


def test_read_reply_lengths_must_add_up() -> None:
    data = build_read_data(resident_block(), DEMO_WLT, with_fingerprint=False)
    with pytest.raises(InvalidCard, match="add up"):
        parse_read_data(data[:-1])


# --------------------------------------------------------------------------- privacy


def test_repr_and_str_do_not_reveal_the_person(caplog: pytest.LogCaptureFixture) -> None:
    card = make_card("resident", name="欧阳小明")
    text = repr(card)
    assert "欧阳小明" not in text and card.id_number not in text
    assert card.address not in text and card.birth not in text
    assert "欧**明" in text and "1101**********" in text
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("got %s", card)
    assert card.id_number not in caplog.text and "欧阳小明" not in caplog.text


def test_masked_view_and_json() -> None:
    card = make_card("permit")
    masked = card.masked()
    assert masked.name == "李*"
    assert masked.id_number == card.id_number[:4] + "*" * 10 + card.id_number[-4:]
    assert masked.pass_number != card.pass_number and masked.birth == "1985****"
    assert masked.photo_wlt == b"" and masked.photo is None
    full = card.to_json_dict(mask=False)
    assert full["id_number"] == card.id_number and full["issue_count"] == 1
    assert card.to_json_dict()["name"] == "李*"  # masked by default
    assert json.loads(json.dumps(full, ensure_ascii=False)) == full
    assert "pass_number" not in make_card("resident").to_json_dict(mask=False)
    assert make_card("foreign").to_json_dict(mask=False)["nationality"] == "USA"


def test_birth_date_and_age_for_the_green_channel() -> None:
    card = make_card("resident", birth="19560307")
    assert card.birth_date == dt.date(1956, 3, 7)
    assert card.age_on(dt.date(2026, 3, 6)) == 69
    assert card.age_on(dt.date(2026, 3, 7)) == 70
    assert card.id_number[6:14] == "19560307"


def test_expiry_includes_the_last_day() -> None:
    card = make_card("resident", valid_to="20260101")
    assert not card.expired_on(dt.date(2026, 1, 1))
    assert card.expired_on(dt.date(2026, 1, 2))


# --------------------------------------------------------------------------- fuzzing


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=256, max_size=256))
def test_parser_raises_only_its_own_errors_on_noise(block: bytes) -> None:
    # The named errors are the contract; any other exception fails the test.
    with contextlib.suppress(IdCardError):
        parse_text_block(block)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["resident", "permit", "foreign"]),
    st.integers(0, 255),
    st.integers(0, 255),
)
def test_parser_on_a_card_with_one_byte_damaged(kind: str, where: int, value: int) -> None:
    block = bytearray(make_card(kind).to_text_block())
    block[where] = value
    try:
        card = parse_text_block(bytes(block))
    except IdCardError:
        return
    assert card.card_type in ("resident", "permit", "foreign")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=1400), st.booleans())
def test_read_reply_parser_raises_only_its_own_errors(data: bytes, fingerprint: bool) -> None:
    with contextlib.suppress(IdCardError):
        parse_read_data(data, with_fingerprint=fingerprint)


def test_age_of_a_masked_card_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        make_card().masked().age_on(dt.date(2026, 1, 1))

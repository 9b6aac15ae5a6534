"""Fuzzing: whatever bytes a card returns, the driver raises only its own errors."""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.citizencard import apdu
from drivers.citizencard.errors import CitizenCardError, RecordFormatError
from drivers.citizencard.session import read_card
from drivers.citizencard.vcard import CardContents, SsseApplet

FUZZ = settings(max_examples=200, deadline=None)


@FUZZ
@given(st.binary(max_size=300))
def test_parse_record_raises_only_record_format_error(data: bytes) -> None:
    try:
        record = apdu.parse_record(data)
    except RecordFormatError:
        return
    assert record.tag == data[0]
    assert len(record.value) <= len(data) - 2


@FUZZ
@given(st.integers(0, 255), st.binary(max_size=600), st.binary(max_size=8))
def test_encode_then_parse_gives_the_value_back(tag: int, value: bytes, pad: bytes) -> None:
    assert apdu.parse_record(apdu.encode_record(tag, value) + pad) == apdu.Record(tag, value)


@FUZZ
@given(st.binary(max_size=64))
def test_field_decoders_raise_only_record_format_error(value: bytes) -> None:
    for decode in (apdu.decode_name, apdu.decode_text):
        try:
            text = decode(value)
        except RecordFormatError:
            continue
        assert text == text.strip()
    identifier = apdu.decode_card_identifier(value)
    with contextlib.suppress(RecordFormatError):
        assert apdu.region_of(identifier).isdigit()


@FUZZ
@given(st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), max_size=15))
def test_any_gbk_name_survives_the_card(name: str) -> None:
    assert apdu.decode_name(apdu.encode_name(name)) == name


STATUS = st.one_of(
    st.just(0x9000),
    st.integers(0x6100, 0x61FF),
    st.integers(0x6C00, 0x6CFF),
    st.sampled_from([0x6982, 0x6983, 0x6A82, 0x6A83, 0x6700]),
    st.integers(0, 0xFFFF),
)
REPLY = st.one_of(
    st.binary(max_size=2),  # not even a status word
    st.tuples(st.binary(max_size=40), STATUS).map(lambda r: r[0] + r[1].to_bytes(2, "big")),
)


@FUZZ
@given(st.lists(REPLY, min_size=1, max_size=40))
def test_read_sequence_against_a_card_answering_garbage(replies: list[bytes]) -> None:
    """A card replying random data and status words never crashes the read."""
    answers = iter(replies)

    def transmit(command: bytes) -> bytes:
        return next(answers, b"\x6f\x00")

    try:
        card = read_card(transmit)
    except CitizenCardError:
        return
    assert isinstance(card, apdu.CitizenCard)


@FUZZ
@given(
    st.sampled_from([r.record for r in apdu.RECORDS]),
    st.binary(max_size=40),
    st.sampled_from(["9000", "6282", "61", "6C"]),
)
def test_read_sequence_with_one_corrupted_record(record: int, value: bytes, sw: str) -> None:
    """A real card except for one record whose bytes are corrupted."""
    applet = SsseApplet(CardContents())

    def transmit(command: bytes) -> bytes:
        if command[1] == apdu.INS_READ_RECORD and command[2] == record:
            status = bytes.fromhex(sw + ("10" if len(sw) == 2 else ""))
            return value + status
        return applet.process(command)

    with contextlib.suppress(CitizenCardError):
        read_card(transmit)

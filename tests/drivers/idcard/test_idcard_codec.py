"""GA 467 framing: hex vectors, round trips, and streams that misbehave."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.idcard import codec
from drivers.idcard.codec import FrameDecoder, HostFrame, ReaderFrame
from drivers.idcard.errors import ChecksumError, FrameError, IdCardError, LengthError

H = bytes.fromhex

# Host commands as they go on the wire: preamble | LEN | CMD PARA | CHK
HOST_VECTORS = {
    "reset": H("AAAAAA9669 0003 10FF EC"),
    "status": H("AAAAAA9669 0003 11FF ED"),
    "sam_id": H("AAAAAA9669 0003 12FF EE"),
    "find": H("AAAAAA9669 0003 2001 22"),  # docs/protocols/idcard.md's example
    "select": H("AAAAAA9669 0003 2002 21"),
    "read": H("AAAAAA9669 0003 3001 32"),
    "read_fp": H("AAAAAA9669 0003 3010 23"),
}

# Reader replies: preamble | LEN | SW1 SW2 SW3 [data] | CHK
NO_CARD = H("AAAAAA9669 0004 000080 84")
FIND_OK = H("AAAAAA9669 0008 00009F 00000000 97")
SELECT_OK = H("AAAAAA9669 000C 000090 0000000000000000 9C")
BAD_CHECKSUM_REPLY = H("AAAAAA9669 0004 000010 14")  # "your frame's checksum was bad"


@pytest.mark.parametrize("name", sorted(HOST_VECTORS))
def test_host_commands_encode_to_the_documented_bytes(name: str) -> None:
    command = codec.COMMANDS_BY_NAME[name]
    assert command.frame().to_bytes() == HOST_VECTORS[name]
    assert HostFrame.from_bytes(HOST_VECTORS[name]).command is command


def test_find_card_vector_from_the_design() -> None:
    assert codec.FIND.frame().to_bytes().hex(" ").upper() == "AA AA AA 96 69 00 03 20 01 22"


@pytest.mark.parametrize(
    ("raw", "sw3", "status", "data"),
    [
        (NO_CARD, 0x80, "no_card", b""),
        (FIND_OK, 0x9F, "find_ok", bytes(4)),
        (SELECT_OK, 0x90, "ok", bytes(8)),
        (BAD_CHECKSUM_REPLY, 0x10, "checksum_error", b""),
    ],
)
def test_reader_replies_decode(raw: bytes, sw3: int, status: str, data: bytes) -> None:
    frame = ReaderFrame.from_bytes(raw)
    assert (frame.sw1, frame.sw2, frame.sw3, frame.data) == (0, 0, sw3, data)
    assert frame.status.name == status
    assert frame.to_bytes() == raw


def test_status_table_covers_the_documented_codes() -> None:
    names = {sw3: codec.status_for(sw3).name for sw3 in codec.STATUSES}
    assert names[0x90] == "ok" and names[0x9F] == "find_ok"
    assert names[0x80] == "no_card" and names[0x81] == "select_failed"
    assert names[0x41] == "read_failed"
    assert (names[0x10], names[0x11], names[0x21]) == (
        "checksum_error",
        "length_error",
        "command_error",
    )
    assert {names[0x31], names[0x32], names[0x33]} <= {"auth_error", "verify_error"}
    assert codec.status_for(0x55).name == "unknown"


def test_len_is_unsigned_big_endian_and_counts_the_checksum() -> None:
    # A 1288-byte read reply: LEN 05 08 (above 0x7F in the high byte would still be unsigned).
    frame = ReaderFrame(0, 0, 0x90, bytes(1284)).to_bytes()
    assert frame[5:7] == H("0508")
    assert len(frame) == 7 + 0x0508
    assert ReaderFrame.from_bytes(frame).data == bytes(1284)


def test_bad_checksum_is_a_named_error_with_the_bytes_in_hex() -> None:
    broken = NO_CARD[:-1] + b"\x85"
    with pytest.raises(ChecksumError) as info:
        ReaderFrame.from_bytes(broken)
    assert info.value.data_hex == "aa aa aa 96 69 00 04 00 00 80 85"
    assert "85" in str(info.value) and "84" in str(info.value)


def test_length_disagreeing_with_the_frame_is_a_named_error() -> None:
    with pytest.raises(LengthError) as info:
        ReaderFrame.from_bytes(H("AAAAAA9669 0005 000080 84"))  # LEN says 5, 4 follow
    assert info.value.data_hex.startswith("aa aa aa 96 69 00 05")


def test_error_hex_of_a_long_frame_keeps_only_header_and_tail() -> None:
    """A read reply's body is a person's data: it must not end up in a log line."""
    reply = ReaderFrame(0, 0, 0x90, "张三".encode("utf-16-le") * 200).to_bytes()
    broken = reply[:-1] + bytes([reply[-1] ^ 1])
    with pytest.raises(ChecksumError) as info:
        ReaderFrame.from_bytes(broken)
    assert "20 5f" not in info.value.data_hex  # 张 in UCS-2LE
    assert len(info.value.data_hex.split()) == 12


# --------------------------------------------------------------------------- streams


def decode_stream(chunks: list[bytes]) -> list[ReaderFrame | FrameError]:
    decoder = FrameDecoder(ReaderFrame)
    out: list[ReaderFrame | FrameError] = []
    for chunk in chunks:
        out += decoder.events(chunk)
    return out


def test_byte_at_a_time() -> None:
    stream = FIND_OK + SELECT_OK + NO_CARD
    out = decode_stream([bytes([b]) for b in stream])
    assert [f.to_bytes() for f in out if isinstance(f, ReaderFrame)] == [
        FIND_OK,
        SELECT_OK,
        NO_CARD,
    ]
    assert len(out) == 3


def test_frame_comes_out_exactly_when_its_last_byte_arrives() -> None:
    decoder = FrameDecoder(ReaderFrame)
    decoder.feed(FIND_OK[:-1])
    assert decoder.pop() is None
    decoder.feed(FIND_OK[-1:] + NO_CARD[:3])
    assert decoder.pop() == ReaderFrame(0, 0, 0x9F, bytes(4))
    assert decoder.pop() is None and decoder.pending == 3


def test_garbage_before_and_between_frames_is_skipped() -> None:
    garbage = H("00 FF AA AA 96 13 37 AA")  # contains preamble fragments
    out = decode_stream([garbage + FIND_OK + garbage + garbage + SELECT_OK])
    assert out == [ReaderFrame.from_bytes(FIND_OK), ReaderFrame.from_bytes(SELECT_OK)]


def test_preamble_prefix_split_across_chunks_is_kept() -> None:
    decoder = FrameDecoder(ReaderFrame)
    decoder.feed(H("13 37 AA AA"))
    assert decoder.pop() is None
    assert decoder.pending == 2 and decoder.skipped == 2
    decoder.feed(NO_CARD[2:])
    assert decoder.pop() == ReaderFrame(0, 0, 0x80)


def test_dropped_byte_gives_an_error_then_the_next_frame_decodes() -> None:
    # SELECT_OK loses a data byte on the wire: its LEN now reaches into the next
    # frame, the checksum fails, and the decoder finds FIND_OK's preamble again.
    lossy = SELECT_OK[:12] + SELECT_OK[13:]
    out = decode_stream([lossy, FIND_OK])
    assert isinstance(out[0], ChecksumError)
    assert out[-1] == ReaderFrame.from_bytes(FIND_OK)
    assert all(isinstance(e, FrameError) for e in out[:-1])


def test_impossible_length_is_rejected_and_the_stream_recovers() -> None:
    too_long = H("AAAAAA9669 FFFF 000090")  # 65535 > MAX_LEN
    too_short = H("AAAAAA9669 0002 00")  # shorter than SW1 SW2 SW3 CHK
    out = decode_stream([too_long + too_short + NO_CARD])
    assert [type(e) for e in out] == [LengthError, LengthError, ReaderFrame]
    assert isinstance(out[0], LengthError) and out[0].data_hex == "aa aa aa 96 69 ff ff"


def test_host_decoder_reads_what_the_simulator_sees() -> None:
    decoder = FrameDecoder(HostFrame)
    out = decoder.events(HOST_VECTORS["find"] + HOST_VECTORS["select"] + HOST_VECTORS["read"])
    assert [f.command.name for f in out if isinstance(f, HostFrame) and f.command] == [
        "find",
        "select",
        "read",
    ]


# --------------------------------------------------------------------------- fuzzing

frames = st.builds(
    ReaderFrame,
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(0, 255),
    st.binary(max_size=64),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=40), max_size=20))
def test_decoder_survives_any_bytes(chunks: list[bytes]) -> None:
    """Noise yields frames or named frame errors, never another exception."""
    decoder = FrameDecoder(ReaderFrame)
    for chunk in chunks:
        for event in decoder.events(chunk):
            assert isinstance(event, ReaderFrame | FrameError)
            if isinstance(event, FrameError):
                assert isinstance(event, IdCardError) and event.data_hex


@settings(max_examples=200, deadline=None)
@given(
    st.lists(frames, min_size=1, max_size=5),
    st.lists(st.binary(max_size=12).filter(lambda b: 0xAA not in b), max_size=5),
    st.data(),
)
def test_frames_survive_garbage_and_any_chunking(
    sent: list[ReaderFrame], garbage: list[bytes], data: st.DataObject
) -> None:
    stream = b""
    for i, frame in enumerate(sent):
        stream += (garbage[i] if i < len(garbage) else b"") + frame.to_bytes()
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    assert decode_stream(chunks) == sent


clean_frames = st.builds(
    ReaderFrame,
    st.integers(0, 0xA9),
    st.integers(0, 0xA9),
    st.integers(0, 0xA9),
    st.binary(max_size=64).filter(lambda b: 0xAA not in b),
)


@settings(max_examples=200, deadline=None)
@given(clean_frames, frames, st.integers(min_value=0))
def test_a_damaged_frame_never_takes_the_next_one_down_unnoticed(
    first: ReaderFrame, second: ReaderFrame, where: int
) -> None:
    wire = first.to_bytes()
    i = 7 + where % (len(wire) - 7)  # damage after the header
    damaged = wire[:i] + bytes([wire[i] ^ 0x5A]) + wire[i + 1 :]
    out = decode_stream([damaged, second.to_bytes()])
    assert isinstance(out[0], ChecksumError)
    assert [f for f in out if isinstance(f, ReaderFrame)] == [second]

"""The reader session against the SAM simulator on a real pty."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import serial

from drivers.idcard import codec
from drivers.idcard.codec import FrameDecoder, ReaderFrame
from drivers.idcard.errors import (
    CardReadFailed,
    NoCard,
    ProtocolError,
    ReaderDisconnected,
    ReaderNotFound,
    ReaderTimeout,
)
from drivers.idcard.reader import SamReader
from drivers.idcard.sim import DEMO_WLT, SamSimulator, make_card

H = bytes.fromhex

FIND = H("AAAAAA9669 0003 2001 22")
SELECT = H("AAAAAA9669 0003 2002 21")
READ = H("AAAAAA9669 0003 3001 32")
READ_FP = H("AAAAAA9669 0003 3010 23")


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[SamSimulator]:
    with SamSimulator(link_path=tmp_path / "hall-idcard") as s:
        yield s


@pytest.fixture
def reader(sim: SamSimulator) -> Iterator[SamReader]:
    r = SamReader(str(sim.link_path), timeout=0.3, read_timeout=0.6, retries=2)
    yield r
    r.close()


def wire(sim: SamSimulator) -> list[bytes]:
    """The host frames the simulator received, as bytes."""
    return [f.to_bytes() for f in sim.received()]


@pytest.mark.parametrize("kind", ["resident", "permit", "foreign"])
def test_read_card(sim: SamSimulator, reader: SamReader, kind: str) -> None:
    sim.insert(make_card(kind))
    card = reader.read_card()
    assert card == make_card(kind)
    assert card.photo_wlt == DEMO_WLT and card.photo is None
    assert wire(sim) == [FIND, SELECT, READ]


def test_no_card(sim: SamSimulator, reader: SamReader) -> None:
    with pytest.raises(NoCard) as info:
        reader.read_card()
    assert info.value.user_message == "未检测到身份证，请将身份证放在感应区"
    assert str(sim.link_path) in str(info.value)
    assert wire(sim) == [FIND]  # nothing selected or read


def test_find_select_and_read_one_by_one(sim: SamSimulator, reader: SamReader) -> None:
    assert reader.find_card() is False
    sim.insert(make_card())
    assert reader.find_card() is True
    reader.select_card()
    assert reader.read_card(find=False).name == "张三"


def test_reply_with_a_corrupted_checksum_is_asked_again(
    sim: SamSimulator, reader: SamReader
) -> None:
    sim.insert(make_card())
    sim.corrupt_checksum_next(command="read")
    assert reader.read_card().name == "张三"
    assert wire(sim) == [FIND, SELECT, READ, READ]


def test_reader_reporting_our_checksum_bad_is_sent_again(
    sim: SamSimulator, reader: SamReader
) -> None:
    sim.insert(make_card())
    sim.reply_status_next(codec.SW_CHECKSUM_ERROR, command="find")  # 00 00 10
    assert reader.read_card().name == "张三"
    assert wire(sim) == [FIND, FIND, SELECT, READ]


def test_persistent_checksum_complaints_end_in_a_protocol_error(
    sim: SamSimulator, reader: SamReader
) -> None:
    sim.reply_status_next(codec.SW_CHECKSUM_ERROR, 3)
    with pytest.raises(ProtocolError, match="rejected our 'find' frame"):
        reader.find_card()
    assert wire(sim) == [FIND] * 3


def test_garbage_before_every_reply_is_skipped(sim: SamSimulator, reader: SamReader) -> None:
    sim.garbage_before_reply = H("00 FF AA AA 96 13 37")
    sim.insert(make_card("permit"))
    assert reader.read_card().pass_number == "H12345678"
    assert wire(sim) == [FIND, SELECT, READ]


def test_byte_at_a_time(sim: SamSimulator, reader: SamReader) -> None:
    sim.byte_at_a_time = True
    sim.insert(make_card("foreign"))
    assert reader.read_card().english_name == "TEST, JOHN SAMPLE"
    assert wire(sim) == [FIND, SELECT, READ]


def test_lost_bytes_in_the_read_reply_are_recovered(sim: SamSimulator, reader: SamReader) -> None:
    sim.insert(make_card())
    sim.drop_bytes(3, command="read")
    assert reader.read_card().name == "张三"  # first read times out short, second is whole
    assert wire(sim) == [FIND, SELECT, READ, READ]


def test_one_silent_reader_moment_is_retried(sim: SamSimulator, reader: SamReader) -> None:
    sim.insert(make_card())
    sim.silence_next(command="select")
    assert reader.read_card().name == "张三"
    assert wire(sim) == [FIND, SELECT, SELECT, READ]


def test_a_silent_reader_is_a_timeout(sim: SamSimulator, reader: SamReader) -> None:
    sim.silence_next(3)
    with pytest.raises(ReaderTimeout) as info:
        reader.read_card()
    assert "'find'" in str(info.value) and str(sim.link_path) in str(info.value)
    assert "115200" in str(info.value)
    assert info.value.user_message == "身份证读卡器无响应，请联系工作人员"
    assert wire(sim) == [FIND] * 3


def test_a_failed_read_is_retried_from_find(sim: SamSimulator, reader: SamReader) -> None:
    sim.insert(make_card())
    sim.reply_status_next(codec.SW_READ_FAILED, command="read")
    assert reader.read_card().name == "张三"
    assert wire(sim) == [FIND, SELECT, READ, FIND, SELECT, READ]


@pytest.mark.parametrize("sw3", [0x41, 0x31, 0x32, 0x33])
def test_a_card_that_cannot_be_read(sim: SamSimulator, reader: SamReader, sw3: int) -> None:
    sim.insert(make_card())
    sim.reply_status_next(sw3, 3, command="read")
    with pytest.raises(CardReadFailed) as info:
        reader.read_card()
    assert info.value.sw3 == sw3
    assert info.value.user_message == "读卡失败，请重新放置身份证"
    assert sim.count("read") == 3


def test_unknown_status_is_a_protocol_error(sim: SamSimulator, reader: SamReader) -> None:
    sim.reply_status_next(codec.SW_COMMAND_ERROR, command="find")
    with pytest.raises(ProtocolError, match="SW3 21"):
        reader.find_card()


def test_port_missing(tmp_path: Path) -> None:
    missing = tmp_path / "hall-idcard"
    with pytest.raises(ReaderNotFound) as info:
        SamReader(str(missing)).read_card()
    message = str(info.value)
    assert str(missing) in message
    assert "/dev/hall-idcard" in message and "dialout" in message and "cable" in message
    assert info.value.user_message == "未连接身份证读卡器，请联系工作人员"


def test_pulled_cable_then_plugged_back(sim: SamSimulator, reader: SamReader) -> None:
    sim.insert(make_card())
    assert reader.read_card().name == "张三"
    sim.pull_cable()
    with pytest.raises(ReaderDisconnected) as info:
        reader.read_card()
    assert "Input/output error" in str(info.value) and str(sim.link_path) in str(info.value)
    assert not reader.is_open
    with pytest.raises(ReaderNotFound):
        reader.read_card()
    sim.plug_back()  # a new pty behind the same link, like udev re-creating the name
    assert reader.read_card().name == "张三"


def test_sam_id_status_and_reset(sim: SamSimulator, reader: SamReader) -> None:
    assert reader.sam_id() == "05.01-20200101-0000012345-0000067890"
    assert reader.status().name == "ok"
    reader.reset()
    assert [f.command.name for f in sim.received() if f.command] == ["sam_id", "status", "reset"]


def test_fingerprint_read(sim: SamSimulator) -> None:
    fp = bytes([0x42]) * 1024
    sim.insert(make_card(), fingerprint=fp)
    with SamReader(str(sim.link_path), timeout=0.3, fingerprint=True) as reader:
        card = reader.read_card()
    assert card.fingerprint == fp
    assert wire(sim) == [FIND, SELECT, READ_FP]
    assert "B" * 10 not in repr(card)


def test_halting_reader_says_no_card_after_a_read(tmp_path: Path) -> None:
    with SamSimulator(link_path=tmp_path / "r", halt_after_read=True) as sim:
        sim.insert(make_card())
        with SamReader(str(sim.link_path), timeout=0.3) as reader:
            reader.read_card()
            assert reader.find_card() is False
            sim.insert(make_card("permit"))
            assert reader.read_card().card_type == "permit"


# --------------------------------------------------------------------------- the simulator


@pytest.fixture
def raw_port(sim: SamSimulator) -> Iterator[serial.Serial]:
    port = serial.Serial(sim.port, 115200, timeout=0.05)
    yield port
    port.close()


def exchange(port: serial.Serial, data: bytes) -> ReaderFrame:
    port.write(data)
    decoder = FrameDecoder(ReaderFrame)
    for _ in range(100):  # at most 5 s
        decoder.feed(port.read(64))
        frame = decoder.pop()
        if frame is not None:
            return frame
    raise AssertionError("no reply from the simulator")


def test_simulator_answers_a_damaged_host_frame_like_a_sam(raw_port: serial.Serial) -> None:
    reply = exchange(raw_port, H("AAAAAA9669 0003 2001 23"))  # CHK should be 22
    assert reply.to_bytes() == H("AAAAAA9669 0004 000010 14")
    reply = exchange(raw_port, H("AAAAAA9669 0003 4242 03"))  # no such command
    assert reply.sw3 == codec.SW_COMMAND_ERROR
    reply = exchange(raw_port, FIND)
    assert reply.to_bytes() == H("AAAAAA9669 0004 000080 84")  # no card


def test_port_held_by_another_program(sim: SamSimulator, reader: SamReader) -> None:
    reader.open()
    with pytest.raises(ReaderNotFound, match="port busy"):
        SamReader(str(sim.link_path)).open()

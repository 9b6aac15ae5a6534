"""DLE EOT replies -> PrinterStatus.  Tables of real reply bytes, then fuzz."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.printer.status import (
    BadStatusReply,
    PrinterStatus,
    parse_status,
    status_reply,
)

OK = b"\x12"


@pytest.mark.parametrize(
    ("printer", "offline", "paper", "online", "paper_state", "cover", "error"),
    [
        # 10 04 01, 10 04 02, 10 04 04
        (OK, OK, OK, True, "ok", False, False),  # all clear
        (OK, OK, b"\x1e", True, "near_end", False, False),  # near-end bits 2+3
        (OK, OK, b"\x16", True, "near_end", False, False),  # only one near-end bit
        (b"\x1a", b"\x32", b"\x7e", False, "out", False, False),  # paper end: offline, stop
        (b"\x1a", OK, b"\x72", False, "out", False, False),  # end bits 5+6 without near end
        (b"\x1a", b"\x32", OK, False, "out", False, False),  # offline cause says paper end
        (b"\x1a", b"\x16", OK, False, "ok", True, False),  # cover open
        (b"\x1a", b"\x52", OK, False, "ok", False, True),  # error (cutter jam)
        (b"\x1a", OK, OK, False, "ok", False, False),  # offline, no cause given
        (b"\x16", b"\x1a", OK, True, "ok", False, False),  # drawer pin + FEED button: ignored
    ],
)
def test_status_table(
    printer: bytes,
    offline: bytes,
    paper: bytes,
    online: bool,
    paper_state: str,
    cover: bool,
    error: bool,
) -> None:
    st_ = parse_status(printer, offline, paper)
    assert st_ == PrinterStatus(online, paper_state, cover, error)  # type: ignore[arg-type]
    assert st_.printable == (online and paper_state != "out" and not cover and not error)


@pytest.mark.parametrize("bad", [b"", b"\x00", b"\xff", b"\x13", b"\x12\x12", b"\x92"])
def test_bytes_that_are_not_replies_are_refused(bad: bytes) -> None:
    with pytest.raises(BadStatusReply, match="DLE EOT 1"):
        parse_status(bad, OK, OK)


def test_describe_for_logs() -> None:
    assert parse_status(OK, OK, OK).describe() == "ok"
    assert parse_status(b"\x1a", b"\x32", b"\x7e").describe() == "paper out"
    assert parse_status(b"\x1a", b"\x16", OK).describe() == "cover open"
    assert parse_status(b"\x1a", OK, OK).describe() == "offline"
    assert PrinterStatus.unknown().describe() == "status unknown"
    assert PrinterStatus.unknown().printable


@given(st.binary(max_size=2), st.binary(max_size=2), st.binary(max_size=2))
@settings(max_examples=200, deadline=None)
def test_parser_never_fails_other_than_bad_reply(a: bytes, b: bytes, c: bytes) -> None:
    try:
        result = parse_status(a, b, c)
    except BadStatusReply:
        return
    assert result.paper in ("ok", "near_end", "out")


@given(
    paper=st.sampled_from(["ok", "near_end", "out"]),
    cover_open=st.booleans(),
    offline=st.booleans(),
    error=st.booleans(),
)
@settings(max_examples=100, deadline=None)
def test_simulator_replies_parse_back_to_its_state(
    paper: str, cover_open: bool, offline: bool, error: bool
) -> None:
    state = {"paper": paper, "cover_open": cover_open, "offline": offline, "error": error}
    replies = [status_reply(n, **state) for n in (1, 2, 4)]  # type: ignore[arg-type]
    result = parse_status(*replies)
    assert result.paper == paper
    assert result.cover_open == cover_open
    assert result.error == error
    assert result.online == (not (offline or cover_open or error or paper == "out"))

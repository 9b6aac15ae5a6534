"""ESC/POS bytes of tickets: exact where it matters, checked for what the paper shows."""

from __future__ import annotations

import dataclasses

import pytest
from escpos.printer import Dummy

from drivers.printer.charset import GB2312_LEADS, GB2312_TRAILS, gb2312_table
from drivers.printer.escpos_codec import (
    CJK_ON,
    CUT_FULL,
    INIT,
    build_lines,
    build_ticket,
    char_size,
    encode_text,
    qr_native,
    raster,
)
from drivers.printer.profiles import PROFILES, get_profile
from drivers.printer.stream import iter_ops
from drivers.printer.ticket import Line, sample_ticket

P58, P80, P80_NOCUT = PROFILES["58mm"], PROFILES["80mm"], PROFILES["80mm-nocut"]


def ops(data: bytes) -> list[str]:
    return [op.name for op in iter_ops(data)]


def test_one_chinese_line_exact_bytes() -> None:
    data = build_lines([Line("text", "请取号", align="center")], P58)
    assert data == bytes.fromhex(
        "1b40"  # ESC @ initialise
        "1c26"  # FS & Chinese mode
        "1b6101"  # ESC a 1 centre
        "c7eb c8a1 bac5"  # 请 取 号 in GB18030
        "0a"  # LF
        "1b6100"  # back to left
        "1b6404"  # ESC d 4: feed to the cutter
        "1d5600"  # GS V 0: full cut
    )


def test_sizes_and_bold_exact_bytes() -> None:
    data = build_lines([Line("text", "A012", size=(4, 4), align="center", bold=True)], P80)
    assert data.startswith(INIT + CJK_ON + bytes.fromhex("1b6101 1d2133 1b4501") + b"A012\n")
    assert char_size(1, 1) == b"\x1d!\x00" and char_size(2, 3) == b"\x1d!\x12"


def test_python_escpos_alone_prints_cjk_punctuation_as_question_marks() -> None:
    """Why the codec owns the Chinese path (docs/protocols/printer.md): the library's text()."""
    dummy = Dummy()
    dummy.text("，。：")
    assert dummy.output.endswith(b"???")


def test_cjk_punctuation_goes_as_gb18030_not_question_marks() -> None:
    data = build_lines([Line("text", "，。：")], P58)
    assert bytes.fromhex("a3ac a1a3 a3ba 0a") in data
    assert b"?" not in data
    assert encode_text("请", "gb2312") == bytes.fromhex("c7eb")


@pytest.mark.parametrize(
    ("text", "cells"),
    [
        ("1—3号窗口", "31 a1aa 33 bac5 b4b0 bfda"),  # EM DASH: the demo's window ranges
        ("阿卜杜·热合曼", "b0a2 b2b7 b6c5 a1a4 c8c8 bacf c2fc"),  # MIDDLE DOT of ID-card names
        ("“请”‘取’", "a1b0 c7eb a1b1 a1ae c8a1 a1af"),  # curly quotes
        ("、。，《》", "a1a2 a1a3 a3ac a1b6 a1b7"),
        ("…～　", "a1ad a1ab a1a1"),  # ellipsis, wave dash, ideographic space
    ],
)
def test_chinese_typography_prints_as_text_on_a_gb2312_font(text: str, cells: str) -> None:
    """Printers reach GB2312 through cp936: 0xA1AA is ``—`` and 0xA1A4 is ``·`` there,
    where Python's own gb2312 codec has U+2015 and U+30FB and refuses both."""
    assert encode_text(text, "gb2312") == bytes.fromhex(cells)
    assert encode_text(text, "gb18030") == text.encode("gb18030")  # GB18030 as it was
    data = build_lines([Line("text", text)], P58)
    assert "raster" not in ops(data) and bytes.fromhex(cells) + b"\n" in data


def test_gb2312_font_is_the_7445_cells_of_gb2312() -> None:
    table = gb2312_table()
    assert len(table) == 7445  # 6763 hanzi + 682 symbols
    for ch, cell in table.items():
        assert cell[0] in GB2312_LEADS and cell[1] in GB2312_TRAILS, (ch, cell)
        assert cell.decode("gb2312")  # a cell GB 2312 itself assigns
        assert cell.decode("cp936") == ch
    # cp936 is GB2312 everywhere except the two cells printers and Python disagree on
    differ = {cell: ch for ch, cell in table.items() if cell.decode("gb2312") != ch}
    assert differ == {b"\xa1\xa4": "·", b"\xa1\xaa": "—"}


@pytest.mark.parametrize(
    "ch",
    [
        "ⅰ",  # 0xA2A1: filled in by GBK inside GB2312 row 2
        "︵",  # 0xA6E0: GBK's vertical forms in row 6
        "ń",  # 0xA8BD: GBK's pinyin additions in row 8
        "―",  # U+2015: Python's gb2312 reading of 0xA1AA, a GBK extension cell
        "・",  # U+30FB: Python's gb2312 reading of 0xA1A4, not in GBK at all
    ],
)
def test_gbk_additions_are_not_in_a_gb2312_font(ch: str) -> None:
    assert encode_text(ch, "gb2312") is None
    assert encode_text(f"请{ch}", "gb18030") == f"请{ch}".encode("gb18030")


@pytest.mark.parametrize("rare", ["龘", "𠀀", "䶮", "😀", "𪚥"])
def test_character_outside_the_printer_charset_goes_raster(rare: str) -> None:
    line = Line("text", f"取号人：{rare}*")
    data = build_lines([line], P58)  # charset gb2312
    names = ops(data)
    assert "raster" in names and "text" not in names  # no '?', no bytes the font lacks
    # one 1x line = 48 bytes x 30 rows of dots + 8-byte GS v 0 header
    raster_op = next(op for op in iter_ops(data) if op.name == "raster")
    assert raster_op.n == 48 and len(raster_op.data) == 48 * 30


def test_charset_decides_per_line() -> None:
    lines = [Line("text", "请留意叫号"), Line("text", "龘")]
    gb2312 = ops(build_lines(lines, P58))
    gbk = ops(build_lines(lines, P58.with_(charset="gbk")))
    assert gb2312.count("raster") == 1 and gb2312.count("text") == 1
    assert gbk.count("raster") == 0 and gbk.count("text") == 2
    assert bytes.fromhex("fd93") in build_lines(lines, P58.with_(charset="gbk"))


@pytest.mark.parametrize("profile", ["58mm", "80mm"])
def test_sample_ticket_native_is_small_and_says_what_a_citizen_needs(profile: str) -> None:
    ticket = sample_ticket()
    data = build_ticket(ticket, profile)
    assert len(data) <= 1024
    assert data.startswith(INIT + CJK_ON)
    assert b"A012" in data
    assert "综合受理".encode("gb18030") in data
    assert "前面等候：7 人".encode("gb18030") in data
    assert b"2024-06-05 09:31" in data
    assert "raster" not in ops(data)
    # native QR: GS ( k store (fn 80 = 'P') with the payload, then print (fn 81 = 'Q')
    assert b"\x1d(k" in data
    assert b"1P0" + ticket.qr_payload.encode() in data
    assert data.index(b"1P0") < data.index(b"\x1d(k\x03\x001Q0")


def test_native_qr_bytes_come_from_python_escpos() -> None:
    assert qr_native("A012", 6) == bytes.fromhex(
        "1d286b0400314132 00"  # model 2
        "1d286b0300314306"  # module size 6
        "1d286b0300314531"  # error correction M
        "1d286b0700315030 41303132"  # store "A012"
        "1d286b0300315130"  # print
    )


def test_raster_ticket_is_tens_of_kilobytes() -> None:
    native = build_ticket(sample_ticket(), "80mm")
    rastered = build_ticket(sample_ticket(), "80mm", force_raster=True)
    assert 20_000 < len(rastered) < 100_000
    assert len(rastered) > 50 * len(native)
    assert "qr" not in ops(rastered)  # the QR went as pixels too


def test_printer_without_native_qr_gets_a_raster_qr() -> None:
    data = build_ticket(sample_ticket(), P80.with_(supports_qr=False))
    assert "qr" not in ops(data)
    assert "raster" in ops(data)


def test_cut_present_for_80mm() -> None:
    data = build_ticket(sample_ticket(), P80)
    assert data.endswith(b"\x1bd\x04" + CUT_FULL)
    assert ops(data).count("cut") == 1


def test_no_cut_for_nocut_profile_but_feed_to_tear_bar() -> None:
    """python-escpos's cut() would silently send nothing; we decide from the
    profile and feed the ticket past the tear bar instead."""
    assert P80_NOCUT.supports_cut is False
    data = build_ticket(sample_ticket(), P80_NOCUT)
    assert b"\x1dV" not in data
    assert "cut" not in ops(data)
    assert data.endswith(b"\x1bd" + bytes([P80_NOCUT.tear_feed_lines]))


def test_text_mode_is_reset_before_the_end() -> None:
    """The next print job (a reprint, a test page) starts in normal text mode."""
    data = build_lines([Line("text", "A", size=(2, 2), align="center", bold=True)], P80)
    assert data.endswith(b"A\n" + bytes.fromhex("1b6100 1d2100 1b4500 1b6404 1d5600"))


def test_control_characters_in_ticket_fields_are_neutralised() -> None:
    ticket = dataclasses.replace(sample_ticket(), item_name="社保\x1dV\x00卡")
    data = build_ticket(ticket, P58)
    assert ops(data).count("cut") == 1  # only the real one at the end


def test_raster_encoding_bits() -> None:
    from PIL import Image

    img = Image.new("L", (16, 2), 255)
    img.putpixel((0, 0), 0)
    img.putpixel((15, 1), 0)
    assert raster(img) == bytes.fromhex("1d763000 0200 0200 8000 0001")


def test_unknown_profile_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="known: 58mm"):
        get_profile("76mm")
    with pytest.raises(ValueError, match="charset"):
        P58.with_(charset="big5")

"""The ESC/POS renderer: tickets a person can look at, and garbage that never crashes it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageChops

from drivers.printer.charset import decode_text, encode_text, gb2312_table
from drivers.printer.escpos_codec import build_lines, build_ticket
from drivers.printer.profiles import PROFILES
from drivers.printer.render import render, render_png
from drivers.printer.stream import iter_ops, next_op
from drivers.printer.ticket import Line, sample_ticket


def demo_ticket():  # every optional line present, one rare character in the name
    return dataclasses.replace(
        sample_ticket(),
        priority_label="绿色通道",
        masked_name="龘*",
        guide_lines=(
            "办理社会保障卡补领需携带：",
            "1. 本人有效身份证件原件；",
            "2. 近期一寸白底彩色照片一张（电子照片亦可）。",
        ),
    )


def dark_ratio(img: Image.Image) -> float:
    hist = img.convert("L").histogram()
    return sum(hist[:128]) / (img.width * img.height)


def qr_box(img: Image.Image) -> tuple[int, int, int, int]:
    """Bounding box of the tallest run of rows that are densely dark in the middle
    (the QR code; text rows are sparse and short)."""
    gray = img.convert("L")
    rows = []
    for y in range(gray.height):
        row = gray.crop((0, y, gray.width, y + 1)).histogram()
        rows.append(sum(row[:128]))
    best = (0, 0)
    start = None
    for y, dark in enumerate([*rows, 0]):
        if dark > 0 and start is None:
            start = y
        elif dark == 0 and start is not None:
            if y - start > best[1] - best[0]:
                best = (start, y)
            start = None
    top, bottom = best
    band = gray.crop((0, top, gray.width, bottom)).point(lambda v: 255 if v < 128 else 0)
    left, _, right, _ = band.getbbox() or (0, 0, 0, 0)
    return left, top, right, bottom


@pytest.mark.parametrize(("profile", "dots"), [("58mm", 384), ("80mm", 576)])
def test_ticket_renders_to_paper_width_with_qr(profile: str, dots: int, screenshots: Path) -> None:
    data = build_ticket(demo_ticket(), profile)
    path = render_png(data, screenshots / f"ticket-{profile}.png", dots)
    with Image.open(path) as opened:
        img = opened.convert("L")
    assert img.width == dots
    assert 600 < img.height < 2000
    assert 0.03 < dark_ratio(img) < 0.5  # printed, not blank, not black
    left, top, right, bottom = qr_box(img)
    side = right - left
    module = 6 if profile == "58mm" else 8
    assert side == bottom - top  # square
    assert side % module == 0 and side // module >= 21  # whole modules, version >= 1
    assert abs((left + right) / 2 - dots / 2) <= module  # centred
    # finder pattern: the top-left module is dark, the next ring light then dark
    qr = img.convert("L").crop((left, top, right, bottom))
    assert qr.getpixel((module // 2, module // 2)) < 128
    assert qr.getpixel((module + module // 2, module + module // 2)) > 128
    assert qr.getpixel((3 * module, 3 * module)) < 128


def test_big_number_is_big(screenshots: Path) -> None:
    ticket = sample_ticket()
    img = render(build_ticket(ticket, "80mm"), 576)
    # render only the number line the same way and find its height on paper
    only_number = render(b"\x1b@\x1d!\x44A012\n", 576)
    box = ImageChops.invert(only_number.convert("L")).getbbox()
    assert box is not None
    assert box[3] - box[1] >= 80  # ~100 dots tall = 12 mm: readable from 2 m
    assert img.height > only_number.height


def test_chinese_typography_prints_as_text_on_a_gb2312_printer(screenshots: Path) -> None:
    """``—`` ``·`` quotes and book-title marks go as text and look as they should."""
    ticket = dataclasses.replace(
        sample_ticket(),
        window_hint="1—3号综合窗口",
        notes=("请携带“身份证”与《申请表》、照片。", "少数民族姓名如：买买提·艾力"),
    )
    for profile, dots in (("58mm", 384), ("80mm", 576)):
        data = build_ticket(ticket, profile)  # a GB2312 font
        assert "raster" not in [op.name for op in iter_ops(data)]
        assert "1—3号综合窗口".encode("gb18030") in data and b"\xa1\xa4" in data
        path = render_png(data, screenshots / f"ticket-typography-{profile}.png", dots)
        with Image.open(path) as opened:
            native = opened.convert("L")
        rastered = render(build_ticket(ticket, profile, force_raster=True), dots)
        assert ImageChops.difference(native, rastered).getbbox() is None


def test_raster_fallback_prints_exactly_like_native_text() -> None:
    """Same glyphs, same line spacing: a rastered line is indistinguishable."""
    for profile, dots in (("58mm", 384), ("80mm", 576)):
        native = render(build_ticket(sample_ticket(), profile), dots)
        rastered = render(build_ticket(sample_ticket(), profile, force_raster=True), dots)
        assert native.size == rastered.size
        assert ImageChops.difference(native, rastered).getbbox() is None


def test_text_wraps_at_paper_width_instead_of_clipping() -> None:
    img = render(b"\x1b@\x1c&" + "请".encode("gb18030") * 20 + b"\n", 384)
    assert img.height == 60  # 16 per line on 58 mm: two lines of 30 dots


def test_non_chinese_mode_decodes_code_page() -> None:
    assert render(b"\x1b@abc\n", 384).height == 30


def test_cut_is_drawn_and_unknown_commands_skipped() -> None:
    data = b"\x1b@\x1b\x99\x1d\x99\x1c\x99\x10\x04\x04Hello\n\x1dV\x00"
    names = [op.name for op in iter_ops(data)]
    assert names == ["init", "unknown", "unknown", "unknown", "status", "text", "lf", "cut"]
    assert render(data, 384).height > 30


def test_live_stream_waits_for_a_whole_command() -> None:
    head = b"\x1dv0\x00\x01\x00\x02\x00\xff"  # raster 1 byte x 2 rows, one byte missing
    assert next_op(head, 0, final=False) is None
    op, end = next_op(head + b"\x10", 0, final=False) or (None, 0)
    assert op is not None and op.name == "raster" and op.data == b"\xff\x10" and end == 10


commands = st.sampled_from(
    [
        b"\x1b@",
        b"\x1c&",
        b"\x1c.",
        b"\x1ba\x01",
        b"\x1d!\x77",
        b"\x1d!\x11",
        b"\x1bE\x01",
        b"\x1bd\x03",
        b"\n",
        b"\t",
        b"\x1dV\x00",
        b"\x1dV\x42\x05",
        "请，。".encode("gb18030"),
        b"\x1d(k\x03\x001C\x10",
        b"\x1d(k\x07\x001P0abcd",
        b"\x1d(k\x03\x001Q0",
        b"\x1dv0\x00\x02\x00\x03\x00\xaa\x55\xaa\x55\xaa\x55",
        b"\x1dv0\x00\xff\xff\xff\xff",
        b"\x10\x04\x04",
        b"\x1b*\x21\x02\x00",
        b"\x1dk\x04123",
    ]
)


@given(st.lists(st.one_of(commands, st.binary(max_size=24)), max_size=30))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_renderer_never_crashes_on_garbage(chunks: list[bytes]) -> None:
    data = b"".join(chunks)
    img = render(data, 384, max_height=4000)
    assert img.width == 384 and 1 <= img.height <= 4000
    # the tokenizer accounts for every byte exactly once
    assert b"".join(op.raw for op in iter_ops(data)) == data


# -- what the codec encodes, the renderer reads back ---------------------------------------------
CHARSETS = ("gb2312", "gbk", "gb18030")
GB2312_CHARS = sorted(gb2312_table())
any_char = st.characters(exclude_categories=("Cs", "Cc"))
printable = st.one_of(st.sampled_from(GB2312_CHARS), any_char)


def test_every_gb2312_character_reads_back() -> None:
    for ch in GB2312_CHARS:
        assert decode_text(encode_text(ch, "gb2312") or b"") == ch, hex(ord(ch))


@given(st.text(printable, max_size=40), st.sampled_from(CHARSETS))
@settings(max_examples=500, deadline=None)
def test_whatever_the_codec_encodes_the_renderer_decodes_to_the_same_text(
    text: str, charset: str
) -> None:
    raw = encode_text(text, charset)
    if raw is not None:
        assert decode_text(raw) == text
    for ch in text:  # one character the font lacks sends its line as pixels, never as text
        if encode_text(ch, charset) is None:
            assert raw is None


@given(st.text(printable, min_size=1, max_size=8), st.sampled_from(CHARSETS))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a_line_sent_as_text_renders_exactly_like_its_pixels(text: str, charset: str) -> None:
    """Through the whole renderer: text mode shows the glyphs the raster fallback draws."""
    profile = PROFILES["58mm"].with_(charset=charset)
    line = [Line("text", text.replace("\x7f", " "))]
    native = build_lines(line, profile)
    rastered = build_lines(line, profile, force_raster=True)
    assert ImageChops.difference(render(native, 384), render(rastered, 384)).getbbox() is None

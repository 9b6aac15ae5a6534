"""Ticket data and layout: pure, no bytes."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.printer.ticket import (
    LAYOUTS,
    Line,
    TicketData,
    clean_text,
    layout_for,
    layout_lines,
    sample_ticket,
    text_width,
    wrap,
)


def texts(lines: list[Line]) -> list[str]:
    return [line.text for line in lines if line.kind == "text"]


def test_sample_ticket_lines_say_number_queue_ahead_wait_and_time() -> None:
    lines = layout_lines(sample_ticket(), layout_for(58), 32)
    shown = texts(lines)
    assert "A012" in shown
    assert "综合受理" in shown
    assert "前面等候：7 人" in shown
    assert "预计等候：约 15 分钟" in shown
    assert "取号时间：2024-06-05 09:31" in shown
    assert "取号人：张*三" in shown
    assert [line.kind for line in lines].count("qr") == 1


def test_number_is_the_biggest_and_bold() -> None:
    for mm in (58, 80):
        lines = layout_lines(sample_ticket(), layout_for(mm), 32 if mm == 58 else 48)
        number = next(line for line in lines if line.text == "A012")
        assert number.bold and number.align == "center"
        assert number.size == max(line.size for line in lines)
        assert number.size[1] >= 4  # at least 96 dots = 12 mm tall


def test_optional_fields_leave_no_empty_lines() -> None:
    ticket = dataclasses.replace(
        sample_ticket(), est_wait_min=None, masked_name=None, window_hint=None, notes=()
    )
    shown = texts(layout_lines(ticket, layout_for(80), 48))
    assert not any(s.startswith(("预计等候", "取号人", "办理窗口")) for s in shown)
    assert "请留意叫号，过号需重新取号。" not in shown


def test_zero_wait_reads_as_about_to_be_called() -> None:
    ticket = dataclasses.replace(sample_ticket(), est_wait_min=0, ahead=0)
    shown = texts(layout_lines(ticket, layout_for(80), 48))
    assert "预计等候：即将叫号" in shown
    assert "前面等候：0 人" in shown


def test_priority_label_and_guide_lines_printed_when_given() -> None:
    ticket = dataclasses.replace(
        sample_ticket(), priority_label="绿色通道", guide_lines=("需携带：身份证原件",)
    )
    shown = texts(layout_lines(ticket, layout_for(58), 32))
    assert "【绿色通道】" in shown
    assert "一次性告知" in shown and "需携带：身份证原件" in shown


def test_every_line_fits_the_paper() -> None:
    ticket = dataclasses.replace(
        sample_ticket(),
        item_name="不动产登记（二手房买卖转移登记及抵押权首次登记合并办理）",
        guide_lines=("申请人需携带本人有效身份证件、不动产权证书、买卖合同、完税证明，" * 2,),
    )
    for mm, columns in ((58, 32), (80, 48)):
        for line in layout_lines(ticket, layout_for(mm), columns):
            assert text_width(line.text) * line.size[0] <= columns or line.kind == "qr"


@pytest.mark.parametrize(
    ("text", "columns", "expected"),
    [
        ("请留意叫号", 6, ["请留意", "叫号"]),
        ("abc def ghi", 8, ["abc def", "ghi"]),
        ("过号需重新取号，谢谢", 14, ["过号需重新取", "号，谢谢"]),  # no line starts with ，
        ("", 10, [""]),
    ],
)
def test_wrap(text: str, columns: int, expected: list[str]) -> None:
    assert wrap(text, columns) == expected


def test_control_characters_cannot_reach_the_printer() -> None:
    assert clean_text("社保\x1b@\x1dV\x00卡") == "社保 @ V 卡"


def test_ticket_data_refuses_unmasked_names_and_bad_numbers() -> None:
    base = sample_ticket()
    with pytest.raises(ValueError, match="mask_name"):
        dataclasses.replace(base, masked_name="张小三")
    with pytest.raises(ValueError):
        dataclasses.replace(base, ahead=-1)
    with pytest.raises(ValueError):
        dataclasses.replace(base, number=" ")
    assert dataclasses.replace(base, masked_name="*").masked_name == "*"


def test_layouts_declared_for_both_paper_widths() -> None:
    assert set(LAYOUTS) == {58, 80}
    assert layout_for(76) is LAYOUTS[58]
    assert layout_for(80) is LAYOUTS[80]
    assert isinstance(sample_ticket(datetime(2025, 1, 2, 8, 0)), TicketData)


@given(st.text(max_size=80), st.integers(min_value=2, max_value=48))
@settings(max_examples=200, deadline=None)
def test_wrap_never_overflows_and_keeps_every_character(text: str, columns: int) -> None:
    text = clean_text(text)
    lines = wrap(text, columns)
    assert all(text_width(line) <= columns for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")

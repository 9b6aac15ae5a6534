"""What the screens say for each window state (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from counter.texts import (
    clock_text,
    device_name,
    device_window,
    presence_of,
    wait_text,
    window_model,
)
from hall.ui.voice.clips import ALL_CLIPS

BASE = {
    "window": "3",
    "name": "3号窗口",
    "department": "综合受理",
    "waiting": 4,
    "clerk": {"id": "1003", "name": "陈静", "staff_no": "1003", "photo": ""},
}


@pytest.mark.parametrize(
    ("state", "status_line", "headline", "led2", "led1"),
    [
        (
            {"status": "closed", "clerk": None},
            "未开放",
            "本窗口暂未开放，请到其他窗口办理",
            "暂未开放",
            "3号窗口 暂未开放",
        ),
        (
            {"status": "idle"},
            "空闲",
            "空闲，请取号等候叫号",
            "空闲 等候4人",
            "3号窗口 空闲 等候4人",
        ),
        (
            {"status": "serving", "current": {"code": "A001", "status": "called", "call_count": 1}},
            "办理中",
            "请 A001 号到3号窗口办理",
            "请A001号办理",
            "3号窗口 请A001号办理",
        ),
        (
            {"status": "serving", "current": {"code": "A001", "status": "serving"}},
            "办理中",
            "A001 号正在办理",
            "A001 办理中",
            "3号窗口 A001 办理中",
        ),
        (
            {"status": "paused", "pause_reason": "系统故障"},
            "暂停服务：系统故障",
            "暂停服务：系统故障",
            "暂停 系统故障",
            "3号窗口 暂停 系统故障",
        ),
    ],
)
def test_each_status_reads_right(state, status_line, headline, led2, led1):
    m = window_model({**BASE, **state})
    assert m.status_line == status_line
    assert m.headline == headline
    assert m.led_lines(2) == ("3号窗口 综合受理", led2)
    assert m.led_lines(1) == (led1,)


def test_waits_and_clock():
    assert [wait_text(m) for m in (None, 0, 8, 60, 75)] == [
        "—",
        "无需等候",
        "约8分钟",
        "约1小时",
        "约1小时15分",
    ]
    from datetime import datetime

    assert clock_text(datetime(2026, 11, 23, 9, 30, 5)) == ("2026年11月23日 星期一", "09:30:05")


def test_the_voice_readme_lists_every_clip():
    readme = (Path(__file__).resolve().parents[2] / "assets" / "voice" / "README.md").read_text(
        encoding="utf-8"
    )
    missing = [c.name for c in ALL_CLIPS if f"`{c.name}.wav`" not in readme]
    assert missing == []


def test_a_presence_message_and_the_devices_name():
    assert presence_of({"device": "caller-3", "role": "caller", "status": "offline"}) == (
        "caller-3",
        "caller",
        False,
    )
    assert presence_of({"device": "kiosk-1", "status": "online"}) == ("kiosk-1", "", True)
    for bad in (
        {"device": "x" * 65, "status": "offline"},
        {"device": "a/b", "status": "offline"},
        {"device": "caller-3", "status": "gone"},
        {"device": "caller-3", "role": 3, "status": "offline"},
        "offline",
        None,
    ):
        assert presence_of(bad) is None, bad
    names = {"3": "3号窗口（综合）"}
    assert device_name("caller-3", "caller", names) == "3号窗口（综合）叫号器"
    assert device_name("display-12", "display", names) == "12号窗口显示屏"
    assert device_name("kiosk-1", "kiosk", names) == "取号机 kiosk-1"
    assert device_name("caller-x", "caller", names) == "叫号器 caller-x"
    assert device_window("evaluator-5A", "evaluator") == "5A"
    assert device_window("board-1", "board") == ""

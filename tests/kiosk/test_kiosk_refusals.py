"""Every refusal is kind and says what to do next; a refusal issues and prints nothing."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import yaml

from drivers.idcard import make_card
from hall.ui.qt import QLabel
from kiosk.appointment import make_code
from kiosk.engine.config import HallConfig, parse_hall_config

pytestmark = pytest.mark.broker

DEMO = Path(__file__).resolve().parents[2] / "assets" / "halls" / "demo.yaml"


def refused(kiosk, title: str) -> str:
    kiosk.wait_screen("message")
    text = kiosk.texts()
    assert title in text, text
    return text


def test_outside_hours_says_when_to_come_back(kiosk, engine_service, snap):
    kiosk.clock.set(datetime(2026, 11, 23, 17, 30))
    engine_service.publish_catalog()  # the engine tells the kiosks: no tickets now
    kiosk.qtbot.waitUntil(lambda: kiosk.has("not-issuing", QLabel))
    assert "今日已下班，工作时间：周一至周五 09:00-12:00 13:00-17:00" in kiosk.texts()
    assert "即将" not in kiosk.texts()  # after closing it never says "about to close"
    snap(kiosk, "home-after-close-normal-portrait")
    kiosk.tap("common-gjj-query")
    kiosk.tap("take")
    text = refused(kiosk, "今日已下班")
    assert "工作时间：周一至周五 09:00-12:00 13:00-17:00" in text
    assert "下次取号时间：11月24日 09:00" in text
    assert "即将" not in text
    snap(kiosk, "message-after-close-normal-portrait")
    assert kiosk.tickets() == []
    assert kiosk.printer.tickets == []
    assert kiosk.voice.history[-1] == "outside_hours"
    kiosk.tap("refusal-home")
    kiosk.wait_screen("home")


@pytest.mark.parametrize(
    ("when", "banner", "title", "name"),
    [
        ((8, 20), "尚未开始取号", "还未开始取号", "before-open"),
        ((16, 50), "即将下班，已停止取号", "即将停止取号", "closing-soon"),
    ],
    ids=["before-open", "closing-soon"],
)
def test_the_words_before_opening_and_at_closing(
    kiosk, engine_service, snap, when, banner, title, name
):
    kiosk.clock.set(datetime(2026, 11, 23, *when))
    engine_service.publish_catalog()
    kiosk.qtbot.waitUntil(lambda: kiosk.has("not-issuing", QLabel))
    assert banner in kiosk.texts()
    kiosk.tap("common-gjj-query")
    kiosk.tap("take")
    text = refused(kiosk, title)
    assert "今天 09:00" in text if name == "before-open" else "11月24日 09:00" in text
    snap(kiosk, f"message-{name}-normal-portrait")
    assert kiosk.tickets() == []


class TestDailyCap:
    @pytest.fixture
    def hall_config(self) -> HallConfig:
        data = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
        for queue in data["queues"]:
            if queue["id"] == "D":
                queue["daily_cap"] = 1
        return parse_hall_config(data)

    def test_daily_cap_reached(self, kiosk, snap):
        kiosk.tap("common-gjj-query")
        kiosk.tap("take")
        kiosk.wait_screen("ticket")
        kiosk.wait_printed()
        kiosk.tap("done")
        kiosk.tap("common-gjj-query")
        kiosk.tap("take")
        text = refused(kiosk, "该业务今天的号已取完")
        assert "请下个工作日再来" in text
        snap(kiosk, "message-daily-cap-normal-portrait")
        assert len(kiosk.tickets()) == 1 and len(kiosk.printer.tickets) == 1


def test_already_holding_a_ticket(kiosk):
    kiosk.swipe(make_card("resident"))
    kiosk.qtbot.waitUntil(lambda: kiosk.window.session.identity is not None)
    kiosk.tap("category-A")
    kiosk.tap("item-hj-proof")
    kiosk.tap("take")
    kiosk.wait_screen("ticket")
    kiosk.wait_printed()
    kiosk.tap("done")
    kiosk.lift()
    kiosk.swipe(make_card("resident"))  # the same person comes back for queue A
    kiosk.qtbot.waitUntil(lambda: kiosk.window.session.identity is not None)
    kiosk.tap("category-A")
    kiosk.tap("item-hj-residence")
    kiosk.tap("take")
    text = refused(kiosk, "您已经取过该业务的号")
    assert "等候叫号即可" in text
    assert len(kiosk.tickets()) == 1
    assert kiosk.voice.history[-1] == "already_have"


def test_unreadable_card_says_how_to_retry(kiosk, snap):
    kiosk.tap("category-A")
    kiosk.tap("item-hj-birth")
    kiosk.tap("take")
    kiosk.wait_screen("identify")
    kiosk.sam.reply_status_next(0x41, count=3, command="read")  # every read attempt fails
    kiosk.swipe(make_card("resident"))
    text = refused(kiosk, "卡片没有读取成功")
    assert "平放在感应区" in text
    snap(kiosk, "message-card-unreadable-normal-portrait")
    kiosk.tap("refusal-main")  # 去刷卡
    kiosk.wait_screen("identify")
    kiosk.lift()
    kiosk.swipe(make_card("resident"))
    kiosk.wait_screen("ticket")
    kiosk.wait_printed()
    assert kiosk.tickets()[0]["masked_name"] == "张*"


@pytest.mark.parametrize("size", [(1080, 1920), (1920, 1080)], ids=["portrait", "landscape"])
def test_a_card_without_a_number_is_refused(make_kiosk, snap, size):
    kiosk = make_kiosk(size)
    kiosk.tap("elderly-big")
    kiosk.tap("category-A")
    kiosk.tap("item-hj-birth")
    kiosk.tap("take")
    kiosk.wait_screen("identify")
    kiosk.swipe(make_card("resident", id_number=""))
    text = refused(kiosk, "这张卡片无法用于取号")
    assert "请使用本人有效的居民身份证或社保卡" in text
    tag = "portrait" if size[1] > size[0] else "landscape"
    snap(kiosk, f"message-card-invalid-elderly-{tag}")
    assert kiosk.tickets() == []


def test_lost_link_refuses_kindly_and_shows_it(kiosk, broker, snap):
    broker.kill()
    kiosk.qtbot.waitUntil(lambda: kiosk.has("link-state"), timeout=8000)
    assert "网络中断" in kiosk.texts()
    snap(kiosk, "home-link-down-normal-portrait")
    kiosk.tap("common-gjj-query")
    kiosk.tap("take")
    text = refused(kiosk, "暂时无法取号")
    assert "请稍等片刻再试" in text
    snap(kiosk, "message-link-down-normal-portrait")
    assert kiosk.status()["parts"]["link"]["state"] == "offline"


@pytest.mark.parametrize(
    ("code", "title", "next_step"),
    [
        (
            make_code("AB12CD", datetime(2026, 11, 23, 11, 0), "gjj-query"),
            "还没到预约签到时间",
            "请在 10:30 以后再来签到",
        ),
        (
            make_code("AB12CD", datetime(2026, 11, 23, 9, 0), "gjj-query"),
            "预约时段已过",
            "可以取普通号",
        ),
        (
            make_code("AB12CD", datetime(2026, 11, 25, 9, 30), "gjj-query"),
            "预约日期不是今天",
            "11月25日",
        ),
        ("YY:AB12CD:no-such-item:2026-11-23T09:30", "无法识别该预约码", "预约二维码"),
        ("https://example.org/not-ours", "无法识别该预约码", "取普通号"),
        (make_code("AB12CD", datetime(2026, 11, 23, 9, 30)), "请先选择预约的事项", "再扫描"),
    ],
    ids=["early", "late", "other-day", "unknown-item", "not-ours", "no-item"],
)
def test_appointment_codes_that_cannot_check_in(kiosk, code, title, next_step):
    kiosk.scan(code)
    text = refused(kiosk, title)
    assert next_step in text
    assert kiosk.tickets() == []


def test_late_appointment_offers_a_normal_ticket(kiosk):
    kiosk.scan(make_code("AB12CD", datetime(2026, 11, 23, 8, 30), "rs-card"))
    refused(kiosk, "预约时段已过")
    kiosk.tap("refusal-main")  # 取普通号
    kiosk.wait_screen("guide")
    kiosk.tap("take")
    kiosk.wait_screen("ticket")
    kiosk.wait_printed()
    assert [(r["item_id"], r["priority"]) for r in kiosk.tickets()] == [("rs-card", "normal")]

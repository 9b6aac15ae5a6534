"""The states a citizen meets beyond the main walk, each saved as a screenshot (and
checked readable whole by ``snap``): the card read at the first screen (and 大字模式 by
itself for an older citizen), the green channel after the staff PIN, a way to identify
tapped, the no-card path with staff (没带证件 / 代办), a lunch ticket, English in
大字模式 and in landscape."""

from __future__ import annotations

import pytest

from drivers.idcard import make_card
from hall.ui.qt import QLabel

pytestmark = pytest.mark.broker

PORTRAIT, LANDSCAPE = (1080, 1920), (1920, 1080)
GB = "gb18030"


def enter_pin(k) -> None:
    for key in k.staff_pin:
        k.tap(f"key-{key}")
    k.tap("key-confirm")


def test_a_card_at_the_first_screen(kiosk, snap):
    k = kiosk
    k.swipe(make_card("resident", name="王小明", birth="19900307"))
    k.qtbot.waitUntil(lambda: k.has("identity", QLabel))
    assert "王*明 您好" in k.texts() and "王小明" not in k.texts()
    assert not k.window.theme.elderly  # 36 years old: the mode stays
    snap(k, "home-idread-normal-portrait")
    k.lift()

    # the next citizen is 70: 大字模式 and the green channel come by themselves
    k.swipe(make_card("resident", name="李秀英", birth="19560310"))
    k.qtbot.waitUntil(lambda: k.window.theme.elderly)
    assert "李*英 您好" in k.texts() and "绿色通道（老年人）" in k.texts()
    assert k.widget("elderly-big").text() == "标准模式"
    snap(k, "home-idread-elderly-auto-portrait")
    k.tap("common-gjj-query")
    k.tap("take")
    k.wait_screen("ticket")
    k.qtbot.waitUntil(lambda: k.window.session.print_state == "ok")
    assert k.window.theme.elderly
    k.tap("done")  # the visit ends, and 大字模式 with it
    k.wait_screen("home")
    assert not k.window.theme.elderly and k.widget("elderly-big").text() == "大字模式"


def test_the_big_mode_button_is_as_large_as_the_largest_text(make_kiosk):
    for size in (PORTRAIT, LANDSCAPE):
        k = make_kiosk(size)
        for _mode in ("normal", "elderly"):
            texts = [w for w in k.window.findChildren(QLabel) if w.isVisible() and w.text()]
            largest = max(w.font().pixelSize() for w in texts)
            assert k.widget("elderly-big").font().pixelSize() >= largest
            k.tap("elderly-big")


@pytest.mark.parametrize("size", [PORTRAIT, LANDSCAPE], ids=["portrait", "landscape"])
def test_green_channel_after_the_staff_pin(make_kiosk, snap, size):
    k = make_kiosk(size)
    k.tap("common-gjj-query")
    k.tap("green-channel")
    k.wait_screen("staff")
    k.tap("reason-disabled")
    enter_pin(k)
    k.wait_screen("guide")
    assert "绿色通道（残疾人）" in k.texts()
    assert not k.has("green-channel")  # confirmed: no second button for it
    tag = "portrait" if size == PORTRAIT else "landscape"
    snap(k, f"guide-green-after-pin-normal-{tag}")
    k.tap("take")
    k.wait_screen("ticket")
    assert k.tickets()[0]["priority_reason"] == "disabled"


@pytest.mark.parametrize("elderly", [False, True], ids=["normal", "elderly"])
def test_no_card_with_staff_help(make_kiosk, snap, elderly):
    k = make_kiosk(PORTRAIT if not elderly else LANDSCAPE)
    tag = "elderly-landscape" if elderly else "normal-portrait"
    if elderly:
        k.tap("elderly-big")
    k.tap("category-A")
    k.tap("item-hj-birth")  # needs an ID card
    k.tap("take")
    k.wait_screen("identify")
    # the ways to identify act: a tap says how to present that card
    k.tap("way-idcard")
    assert "请把身份证平放在屏幕下方的感应区" in k.texts()
    assert k.voice.history[-1] == "swipe_id"
    snap(k, f"identify-way-idcard-{tag}")
    k.tap("way-qr")
    assert "预约二维码" in k.texts() and "请把身份证平放" not in k.texts()

    k.tap("no-card")
    k.wait_screen("staff")
    assert "号票不记录个人信息" in k.texts()
    assert not k.has("reason-disabled")  # no reason to choose: staff vouch for the visit
    snap(k, f"staff-nocard-{tag}")
    enter_pin(k)
    k.wait_screen("ticket")
    data = k.wait_printed()
    k.qtbot.waitUntil(lambda: k.window.session.print_state == "ok")
    assert "工作人员协助取号" in k.texts()
    snap(k, f"ticket-nocard-{tag}")
    row = k.tickets()[0]
    assert (row["item_id"], row["priority"], row["masked_name"]) == (
        "hj-birth",
        "normal",
        "协助取号",
    )
    assert "工作人员协助取号".encode(GB) in data and "取号人".encode(GB) not in data

    # a second citizen without a card, same queue: no per-person refusal (nobody's key)
    k.tap("done")
    k.tap("category-A")
    k.tap("item-hj-proof")
    k.tap("take")
    k.wait_screen("identify")  # a new visit: no card again
    k.tap("no-card")
    enter_pin(k)
    k.wait_screen("ticket")
    assert len(k.tickets()) == 2


def at_lunch(k, engine_service) -> None:
    """12:30 on the hall's clock: the real engine issues for the afternoon (the hall's
    ``hours.issue_during_break``, on by default) and its catalogue says so."""
    from datetime import datetime

    k.clock.set(datetime(2026, 11, 23, 12, 30))
    engine_service.publish_catalog()
    k.qtbot.waitUntil(lambda: getattr(k.window.catalog, "calls_from", "") == "13:00")


@pytest.mark.parametrize(
    ("size", "lang", "words"),
    [(PORTRAIT, "zh", "13:00 开始叫号"), (LANDSCAPE, "en", "Calling resumes at 13:00")],
    ids=["zh-portrait", "en-landscape"],
)
def test_a_lunch_ticket_says_when_calling_resumes(
    make_kiosk, engine_service, snap, size, lang, words
):
    k = make_kiosk(size)
    at_lunch(k, engine_service)
    if lang == "zh":
        assert "午间休息，照常取号，13:00 开始叫号" in k.texts()  # the first screen's banner
    if lang == "en":
        k.tap("lang")
    k.tap("common-gjj-query")
    k.tap("take")
    k.wait_screen("ticket")
    data = k.wait_printed()
    k.qtbot.waitUntil(lambda: k.window.session.print_state == "ok")
    assert words in k.texts()
    assert "13:00 开始叫号".encode(GB) in data  # the paper is Chinese
    issued = k.tickets()[-1]
    assert issued["code"].encode(GB) in data  # a real ticket of the engine, at 12:30
    tag = "english-landscape" if lang == "en" else "normal-portrait"
    snap(k, f"ticket-lunch-{tag}")


@pytest.mark.parametrize(
    ("size", "elderly"),
    [(PORTRAIT, True), (LANDSCAPE, False), (LANDSCAPE, True)],
    ids=["elderly-portrait", "normal-landscape", "elderly-landscape"],
)
def test_english_in_big_mode_and_landscape(make_kiosk, snap, size, elderly):
    k = make_kiosk(size)
    k.tap("lang")
    if elderly:
        k.tap("elderly-big")
    orientation = "portrait" if size == PORTRAIT else "landscape"
    tag = f"english-{'elderly' if elderly else 'normal'}-{orientation}"
    assert "Common services" in k.texts()
    assert ("Standard" if elderly else "Large text") in k.texts()
    snap(k, f"home-{tag}")
    k.tap("category-C")
    k.wait_screen("items")
    snap(k, f"items-{tag}")
    k.tap("item-mz-disabled")  # the longest English title of the demo hall
    k.wait_screen("guide")
    assert "Living allowance for disabled people in need" in k.texts()
    snap(k, f"guide-{tag}")
    k.tap("take")
    k.wait_screen("identify")
    snap(k, f"identify-{tag}")
    k.swipe(make_card("resident", name="Zhang San", birth="19800101"))
    k.wait_screen("ticket")
    k.qtbot.waitUntil(lambda: k.window.session.print_state == "ok")
    assert "Your number" in k.texts()
    snap(k, f"ticket-{tag}")


ENGLISH_CATALOG = {
    "hall": "demo-hall",
    "hall_name": "示范街道为民服务中心",
    "version": 1,
    "queues": [{"id": "D", "name": "公积金", "prefix": "D", "name_en": "Housing fund"}],
    "items": [
        {
            "id": "gjj-query",
            "name": "住房公积金个人账户查询",
            "name_en": "Housing fund account enquiry",
            "queue": "D",
            "fee": "每份5元",
            "fee_en": "5 yuan a copy",
            "location": "3号窗口",
            "location_en": "Window 3",
            "materials": ["居民身份证", "住房公积金联名卡"],
            "materials_en": ["Resident ID card", "Housing fund card"],
        },
        {"id": "gjj-rent", "name": "提取住房公积金", "queue": "D", "materials": ["租房合同"]},
    ],
    "notices": ["本中心工作时间：周一至周五"],
    "notices_en": ["Open Monday to Friday"],
}


@pytest.mark.parametrize("size", [PORTRAIT, LANDSCAPE], ids=["portrait", "landscape"])
def test_english_shows_the_catalogues_english_values(qtbot, screenshots, size):
    from kiosk_checks import layout_problems

    from kiosk.app import KioskWindow

    window = KioskWindow(None, catalog=ENGLISH_CATALOG)
    qtbot.addWidget(window)
    window.resize(*size)
    window.show()
    qtbot.waitExposed(window)
    window.set_language("en")

    def texts() -> str:
        return "\n".join(w.text() for w in window.findChildren(QLabel) if w.isVisible())

    assert "Open Monday to Friday" in texts() and "本中心" not in texts()
    window.open_item("gjj-query")
    shown = texts()
    for english in ("Resident ID card", "Housing fund card", "Window 3", "5 yuan a copy"):
        assert english in shown
    assert "3号窗口" not in shown and "居民身份证" not in shown
    assert not layout_problems(window)
    tag = "portrait" if size == PORTRAIT else "landscape"
    window.grab().save(str(screenshots / f"kiosk-guide-english-values-normal-{tag}.png"))
    window.open_item("gjj-rent")  # no English in the config: the Chinese, not a blank
    assert "租房合同" in texts()
    window.close_down()

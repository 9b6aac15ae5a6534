"""Idle to printed ticket through the real widgets, against the real engine and printer sim."""

from __future__ import annotations

import pytest

from drivers.idcard import make_card
from hall.core.privacy import person_key
from kiosk.appointment import make_code

pytestmark = pytest.mark.broker

SALT = b"test-hall-salt-0123456789"
GB = "gb18030"


def test_common_item_takes_two_taps_and_prints(kiosk):
    kiosk.tap("common-gjj-query")
    kiosk.wait_screen("guide")
    kiosk.tap("take")
    kiosk.wait_screen("ticket")
    data = kiosk.wait_printed()

    rows = kiosk.tickets()
    assert [(r["code"], r["item_id"], r["priority"]) for r in rows] == [
        ("D001", "gjj-query", "normal")
    ]
    assert len(kiosk.taps) == 2
    assert b"D001" in data
    assert "示范街道为民服务中心".encode(GB) in data
    assert "住房公积金个人账户查询".encode(GB) in data
    assert "前面等候：0 人".encode(GB) in data
    # the QR opens the citizen's page: the engine's follow_url with the ticket's token
    assert f"http://hall.local/t/{rows[0]['token']}".encode() in data
    kiosk.qtbot.waitUntil(lambda: kiosk.window.session.print_state == "ok")
    assert "D001" in kiosk.texts() and "取号成功" in kiosk.texts()
    assert kiosk.voice.history[-1] == "take_ticket"


def test_category_then_item_is_three_taps(kiosk):
    kiosk.tap("category-B")
    kiosk.wait_screen("items")
    kiosk.tap("item-rs-card")
    kiosk.wait_screen("guide")
    assert "本人居民身份证" in kiosk.texts()  # the guide comes before the ticket
    kiosk.tap("take")
    kiosk.wait_screen("ticket")
    data = kiosk.wait_printed()
    assert len(kiosk.taps) == 3
    assert b"B001" in data and "社会保障卡申请".encode(GB) in data
    assert [r["item_id"] for r in kiosk.tickets()] == ["rs-card"]


def test_item_needing_id_asks_for_a_swipe_and_keeps_the_number_private(kiosk):
    card = make_card("resident")  # 张三, born 1990
    number = card.id_number
    kiosk.tap("category-A")
    kiosk.tap("item-hj-birth")
    kiosk.tap("take")
    kiosk.wait_screen("identify")
    assert "请刷身份证" in kiosk.texts()
    kiosk.swipe(card)
    del card
    kiosk.wait_screen("ticket")
    data = kiosk.wait_printed()

    row = kiosk.tickets()[0]
    assert row["person_key"] == person_key(number, SALT)
    assert row["masked_name"] == "张*"
    assert row["priority"] == "normal"
    dump = "\n".join(kiosk.engine.conn.iterdump())
    assert number not in dump and "张三" not in dump
    assert "张*".encode(GB) in data and "张三".encode(GB) not in data
    assert number.encode() not in data
    kiosk.qtbot.waitUntil(lambda: kiosk.window.session.print_state == "ok")
    assert "张*" in kiosk.texts() and "张三" not in kiosk.texts()
    assert "swipe_id" in kiosk.voice.history and "take_ticket" in kiosk.voice.history


@pytest.mark.parametrize(("threshold", "expected"), [(65, "elderly"), (80, None)])
def test_elderly_green_channel_from_birth_date(make_kiosk, kiosk_settings, threshold, expected):
    kiosk = make_kiosk(settings=kiosk_settings.with_(elderly_age=threshold))
    kiosk.swipe(make_card("resident", name="李秀英", birth="19490310"))  # 77 on the day
    kiosk.qtbot.waitUntil(lambda: kiosk.window.session.identity is not None)
    assert "李*英 您好" in kiosk.texts()
    assert ("绿色通道（老年人）" in kiosk.texts()) == (expected is not None)
    assert kiosk.window.theme.elderly  # 大字模式 by itself (60 and over), green or not
    kiosk.tap("category-B")
    kiosk.tap("item-rs-card")
    kiosk.tap("take")
    kiosk.wait_screen("ticket")
    data = kiosk.wait_printed()
    row = kiosk.tickets()[0]
    assert row["priority_reason"] == expected
    assert row["priority"] == ("green" if expected else "normal")
    assert ("绿色通道".encode(GB) in data) == (expected is not None)


def test_staff_confirmed_green_channel(kiosk):
    kiosk.tap("common-gjj-query")
    kiosk.tap("green-channel")
    kiosk.wait_screen("staff")
    kiosk.tap("key-1")
    kiosk.tap("key-confirm")
    assert "请先选择类别" in kiosk.texts()
    kiosk.tap("reason-pregnant")
    for key in "1111":
        kiosk.tap(f"key-{key}")
    kiosk.tap("key-confirm")
    assert "密码不正确" in kiosk.texts()
    assert kiosk.window.session.staff_reason is None
    for key in kiosk.staff_pin:
        kiosk.tap(f"key-{key}")
    kiosk.tap("key-confirm")
    kiosk.wait_screen("guide")
    assert "绿色通道（孕妇）" in kiosk.texts()
    kiosk.tap("take")
    kiosk.wait_screen("ticket")
    data = kiosk.wait_printed()
    row = kiosk.tickets()[0]
    assert (row["priority"], row["priority_reason"]) == ("green", "pregnant")
    assert "绿色通道 孕妇".encode(GB) in data


def test_appointment_check_in_by_scanning(kiosk):
    start = kiosk.clock.now().replace(hour=9, minute=45)
    kiosk.scan(make_code("AB12CD", start, "gjj-query"))
    kiosk.wait_screen("ticket")
    data = kiosk.wait_printed()
    row = kiosk.tickets()[0]
    assert (row["priority"], row["priority_reason"], row["item_id"]) == (
        "appointment",
        "appointment",
        "gjj-query",
    )
    assert row["appointment_start"].startswith("2026-11-23T09:45")
    assert "预约优先".encode(GB) in data


def test_appointment_for_an_item_needing_id_asks_for_the_card(kiosk):
    start = kiosk.clock.now().replace(hour=10, minute=0)
    kiosk.scan(make_code("ZX9-881", start, "gjj-rent"))
    kiosk.wait_screen("identify")
    kiosk.swipe(make_card("resident"))
    kiosk.wait_screen("ticket")
    kiosk.wait_printed()
    row = kiosk.tickets()[0]
    assert (row["priority"], row["item_id"], row["masked_name"]) == (
        "appointment",
        "gjj-rent",
        "张*",
    )


def test_short_appointment_code_on_the_guide_screen(kiosk):
    kiosk.tap("common-rs-card")
    kiosk.wait_screen("guide")
    kiosk.scan(make_code("QQ77", kiosk.clock.now().replace(minute=40)))
    kiosk.wait_screen("ticket")
    kiosk.wait_printed()
    assert [(r["item_id"], r["priority"]) for r in kiosk.tickets()] == [("rs-card", "appointment")]


def test_swipe_on_the_first_screen_carries_the_person_through(kiosk):
    kiosk.swipe(make_card("resident", name="赵敏", birth="19880101"))
    kiosk.qtbot.waitUntil(lambda: "赵* 您好" in kiosk.texts())
    kiosk.tap("category-A")
    kiosk.tap("item-hj-proof")
    kiosk.tap("take")  # no identify screen: the person is known
    kiosk.wait_screen("ticket")
    kiosk.wait_printed()
    assert kiosk.tickets()[0]["masked_name"] == "赵*"


def test_language_toggle_and_elderly_mode(kiosk):
    title = kiosk.widget("common-gjj-query").title
    normal_px = title.font().pixelSize()
    kiosk.tap("lang")
    assert "Housing fund account enquiry" in kiosk.texts()
    assert "Household registration" in kiosk.texts()
    kiosk.tap("elderly-big")
    big = kiosk.widget("common-gjj-query")
    assert big.title.font().pixelSize() >= normal_px * 1.3
    assert kiosk.window.theme.elderly
    kiosk.tap("lang")
    assert "住房公积金个人账户查询" in kiosk.texts()
    kiosk.tap("common-gjj-query")
    take = kiosk.widget("take")
    assert take.height() >= 240  # a big target in 大字模式


def test_guessing_the_staff_pin_locks_it_and_alerts_staff(kiosk):
    now = [1000.0]
    kiosk.window.monotonic = lambda: now[0]
    kiosk.tap("common-gjj-query")
    kiosk.tap("green-channel")
    kiosk.wait_screen("staff")
    kiosk.tap("reason-disabled")

    def enter(pin: str) -> None:
        for key in pin:
            kiosk.tap(f"key-{key}")
        kiosk.tap("key-confirm")

    for guess in ("0000", "1234", "1111", "9999"):
        enter(guess)
        assert "密码不正确" in kiosk.texts()
    enter("4321")  # the fifth wrong guess locks the PIN
    assert "密码错误次数过多" in kiosk.texts()
    enter(kiosk.staff_pin)  # even the right PIN waits out the lock
    assert "密码错误次数过多" in kiosk.texts()
    assert kiosk.window.session.staff_reason is None
    assert kiosk.status()["parts"]["staff_pin"]["state"] == "locked"
    now[0] += 301
    enter(kiosk.staff_pin)
    kiosk.wait_screen("guide")
    assert "绿色通道（残疾人）" in kiosk.texts()


def test_without_a_staff_pin_the_staff_panel_is_refused(
    make_kiosk, kiosk_settings, monkeypatch, caplog
):
    from hall.ui.qt import Qt

    kiosk = make_kiosk(settings=kiosk_settings.with_(staff_pin_hash=None))
    kiosk.tap("common-gjj-query")
    kiosk.tap("green-channel")
    kiosk.wait_screen("staff")
    assert "未设置工作人员密码，请联系技术人员用 hall provision 设置" in kiosk.texts()
    assert not kiosk.has("key-1") and not kiosk.has("reason-disabled")  # nothing to type into
    assert "no staff PIN is configured" in caplog.text
    # the re-print panel (press and hold the hall name) is refused the same way
    kiosk.window.go_home()
    monkeypatch.setattr("kiosk.app.STAFF_HOLD_MS", 0)
    hall = kiosk.widget("hall-name")
    kiosk.qtbot.mousePress(hall, Qt.MouseButton.LeftButton)
    kiosk.qtbot.mouseRelease(hall, Qt.MouseButton.LeftButton)
    kiosk.wait_screen("staff")
    assert "未设置工作人员密码" in kiosk.texts() and not kiosk.has("key-confirm")
    # and no PIN at all opens it, not even one that once was the demo's
    for pin in ("", "0000", kiosk.staff_pin):
        assert kiosk.window.confirm_staff(None, pin) == (
            "未设置工作人员密码，请联系技术人员用 hall provision 设置"
        )
    assert kiosk.window.session.staff_reason is None


def test_the_staff_pin_is_checked_against_its_hash_in_constant_time(kiosk, monkeypatch):
    import hmac

    compared = []
    real = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: compared.append(1) or real(a, b))
    kiosk.tap("common-gjj-query")
    kiosk.tap("green-channel")
    kiosk.wait_screen("staff")
    kiosk.tap("reason-military")
    assert kiosk.window.confirm_staff("military", "0000") is not None
    assert kiosk.window.confirm_staff("military", kiosk.staff_pin) is None
    assert compared == [1, 1]
    assert kiosk.window.session.staff_reason == "military"


def test_the_take_button_says_issuing_at_once_without_rebuilding_the_guide(kiosk, screenshots):
    kiosk.tap("common-gjj-query")
    kiosk.wait_screen("guide")
    guide = kiosk.window.screen_widget()
    shown = guide._content
    take = kiosk.widget("take")
    kiosk.window.take_ticket()  # the tap's work; the answer needs the event loop
    assert take.text() == "正在取号，请稍候…" and not take.isEnabled()
    kiosk.window.grab().save(str(screenshots / "kiosk-guide_taking.png"))
    assert guide._content is shown and kiosk.widget("take") is take  # updated in place
    kiosk.wait_screen("ticket")
    kiosk.wait_printed()


def test_the_ticket_screens_qr_code_reads_as_the_tickets_follow_page(kiosk):
    import zxingcpp
    from PIL import Image

    from hall.ui.qt import QImage, QLabel

    kiosk.tap("common-gjj-query")
    kiosk.tap("take")
    kiosk.wait_screen("ticket")
    kiosk.wait_printed()
    ticket = kiosk.window.session.ticket
    assert ticket is not None and ticket.qr_url
    shown = kiosk.widget("qr", QLabel).pixmap().toImage()
    gray = shown.convertToFormat(QImage.Format.Format_Grayscale8)
    image = Image.frombuffer(
        "L",
        (gray.width(), gray.height()),
        bytes(gray.constBits()),
        "raw",
        "L",
        gray.bytesPerLine(),
        1,
    )
    codes = [c.text for c in zxingcpp.read_barcodes(image)]
    assert codes == [ticket.qr_url]  # what a phone held to the screen opens

"""Paper out or printer offline: the citizen sees the number, staff are told, and the
ticket can be printed again; the guide prints on request."""

from __future__ import annotations

import pytest

from hall.ui.qt import Qt

pytestmark = pytest.mark.broker

GB = "gb18030"


def take(kiosk, item: str = "gjj-query") -> None:
    kiosk.tap(f"common-{item}")
    kiosk.wait_screen("guide")
    kiosk.tap("take")
    kiosk.wait_screen("ticket")


def test_paper_out_keeps_the_number_and_reprints_when_paper_is_back(kiosk):
    kiosk.printer.set_paper("out")
    take(kiosk)
    kiosk.qtbot.waitUntil(lambda: kiosk.window.session.print_state == "failed")
    text = kiosk.texts()
    assert "D001" in text and "打印机缺纸" in text and "您的号码已保留" in text
    assert kiosk.printer.tickets == []  # nothing swallowed
    assert [r["code"] for r in kiosk.tickets()] == ["D001"]  # the number exists
    status = kiosk.status()
    assert status["parts"]["printer"]["state"] == "paper_out"
    assert status["unprinted_tickets"] == ["D001"] and status["ok"] is False
    assert kiosk.voice.history[-1] == "paper_out"

    kiosk.printer.set_paper("ok")  # staff load a new roll
    kiosk.tap("retry-print")
    data = kiosk.wait_printed()
    assert b"D001" in data
    kiosk.qtbot.waitUntil(lambda: kiosk.window.session.print_state == "ok")
    assert "取号成功" in kiosk.texts()
    kiosk.qtbot.waitUntil(lambda: kiosk.status()["unprinted_tickets"] == [])
    assert kiosk.status()["parts"]["printer"]["state"] == "ok"


def test_staff_status_knows_the_paper_is_out_when_the_citizen_is_told(kiosk):
    """The printer's state reaches the status file before the ticket's outcome reaches
    the screen: staff never read 正常 while the citizen reads 打印机缺纸."""
    seen: list[str] = []
    printing = kiosk.window.printing
    printing.ticket_printed.connect(lambda *_a: seen.append(printing.health.state("printer")))
    kiosk.printer.set_paper("out")
    take(kiosk)
    kiosk.qtbot.waitUntil(lambda: kiosk.window.session.print_state == "failed")
    assert seen == ["paper_out"]
    assert kiosk.status()["parts"]["printer"]["state"] == "paper_out"


def test_a_reprint_from_the_center_of_the_ticket_on_screen_prints_it_once(kiosk):
    """The center reprints the ticket a citizen still looks at (its print failed): the
    printer's "ok" must not also start the screen's own retry (two tickets)."""
    kiosk.printer.set_paper("out")
    take(kiosk)
    kiosk.qtbot.waitUntil(lambda: kiosk.window.session.print_state == "failed")
    [ticket_id] = list(kiosk.window.printing.unprinted)
    kiosk.printer.set_paper("ok")
    job = kiosk.window.printing.reprint_job(ticket_id)
    assert job is not None
    kiosk.qtbot.waitUntil(job.done)
    kiosk.qtbot.waitUntil(lambda: kiosk.window.session.print_state == "ok")
    # every job the GUI's slots started since is on the printer's one thread: wait for it
    barrier = kiosk.window.printing._submit(lambda: None)
    assert barrier is not None
    kiosk.qtbot.waitUntil(barrier.done)
    assert len(kiosk.printer.tickets) == 1


def test_ticket_prints_by_itself_once_the_printer_is_back(kiosk):
    kiosk.printer.set_offline(True)
    take(kiosk)
    kiosk.qtbot.waitUntil(lambda: kiosk.window.session.print_state == "failed")
    assert "打印机暂停工作" in kiosk.texts()
    assert kiosk.status()["parts"]["printer"]["state"] == "offline"
    kiosk.printer.set_offline(False)
    kiosk.window.printing.poll()  # the periodic status poll
    data = kiosk.wait_printed()
    assert b"D001" in data
    kiosk.qtbot.waitUntil(lambda: kiosk.window.session.print_state == "ok")


def test_staff_panel_reprints_after_the_citizen_left(kiosk, monkeypatch, snap):
    kiosk.printer.set_paper("out")
    take(kiosk)
    kiosk.qtbot.waitUntil(lambda: kiosk.window.session.print_state == "failed")
    kiosk.tap("done")
    kiosk.wait_screen("home")
    assert "D001" not in kiosk.texts()

    monkeypatch.setattr("kiosk.app.STAFF_HOLD_MS", 0)  # press and hold the hall name
    hall = kiosk.widget("hall-name")
    kiosk.qtbot.mousePress(hall, Qt.MouseButton.LeftButton)
    kiosk.qtbot.mouseRelease(hall, Qt.MouseButton.LeftButton)
    kiosk.wait_screen("staff")
    for key in kiosk.staff_pin:
        kiosk.tap(f"key-{key}")
    kiosk.tap("key-confirm")
    kiosk.qtbot.waitUntil(lambda: kiosk.has("reprint-D001"))
    assert "打印机缺纸" in kiosk.texts()
    snap(kiosk, "staff-service-normal-portrait")
    kiosk.printer.set_paper("ok")
    kiosk.tap("reprint-D001")
    assert b"D001" in kiosk.wait_printed()
    kiosk.qtbot.waitUntil(lambda: kiosk.has("no-reprints"))


def test_guide_prints_on_request(kiosk):
    kiosk.tap("category-A")
    kiosk.tap("item-hj-birth")
    kiosk.tap("print-guide")
    data = kiosk.wait_printed()
    for text in ("一次性告知", "婚生子女出生申报", "出生医学证明原件", "结婚证", "不收费"):
        assert text.encode(GB) in data, text
    kiosk.qtbot.waitUntil(lambda: kiosk.has("guide-note"))
    assert "告知单已打印" in kiosk.texts()
    assert kiosk.tickets() == []  # a guide is not a ticket


def test_printer_trouble_is_announced_before_taking_a_number(kiosk):
    kiosk.printer.set_paper("out")
    kiosk.window.printing.poll()
    kiosk.qtbot.waitUntil(lambda: kiosk.status()["parts"]["printer"]["state"] == "paper_out")
    # the status file hears first (the printer's thread); the screen once the GUI has it
    kiosk.qtbot.waitUntil(lambda: not kiosk.window.printing.usable)
    kiosk.tap("common-rs-card")
    kiosk.wait_screen("guide")
    assert kiosk.has("printer-warning")
    assert "取号后请记下屏幕上的号码" in kiosk.texts()


@pytest.mark.parametrize("charset", ["gb2312", "gb18030"])
def test_every_item_of_the_demo_hall_prints_as_text_within_a_kilobyte(kiosk, charset, screenshots):
    """The tickets citizens get: each with a masked name, people ahead, the item's
    location (``1—3号综合窗口``: an EM DASH) and the QR, as the kiosk app prints them."""
    from drivers.idcard import make_card
    from drivers.printer.charset import decode_text
    from drivers.printer.render import render_png
    from drivers.printer.stream import iter_ops

    printer = kiosk.window.printing.printer
    printer.profile = printer.profile.with_(charset=charset)
    catalog = kiosk.window.catalog
    for queue in catalog.categories:  # a busy morning: people already waiting everywhere
        for _ in range(12):
            kiosk.engine.issue(queue_id=queue.id)
    names = ["欧阳晓明", "李娜", "王建国", "陈静", "刘小华", "赵敏", "孙丽华", "周文"]
    for n, item in enumerate(catalog.items):
        name = names[n % len(names)]
        kiosk.swipe(make_card("resident", name=name, birth=f"1980{n + 1:02d}15"))
        kiosk.qtbot.waitUntil(lambda name=name: f"{name[0]}*" in kiosk.texts())
        kiosk.tap(f"category-{item.queue}")
        kiosk.wait_screen("items")
        kiosk.tap(f"item-{item.id}")
        kiosk.wait_screen("guide")
        kiosk.tap("take")
        kiosk.wait_screen("ticket")
        data = kiosk.wait_printed(n + 1)
        kiosk.lift()
        kiosk.tap("done")
        kiosk.wait_screen("home")

        ops = list(iter_ops(data))
        assert [op.name for op in ops if op.name == "raster"] == [], item.id
        assert len(data) <= 1024, (item.id, len(data))
        text = "\n".join(decode_text(op.raw) for op in ops if op.name == "text")
        row = kiosk.tickets()[-1]
        assert row["item_id"] == item.id and row["masked_name"] in text
        assert row["masked_name"] != name and name not in text
        assert item.name in text and f"办理窗口：{item.location}" in text
        ahead = 12 + sum(i.queue == item.queue for i in catalog.items[:n])
        assert f"前面等候：{ahead} 人" in text
        # the QR opens the citizen's page: the hall's ticket_url with the ticket's token
        follow = f"http://hall.local/t/{row['token']}".encode()
        assert any(op.name == "qr" for op in ops) and follow in data
        assert row["id"].encode() not in data
        if item.id == "hj-residence":  # the ticket of issue 19, to look at
            render_png(data, screenshots / f"ticket-kiosk-{item.id}-{charset}.png", 576)

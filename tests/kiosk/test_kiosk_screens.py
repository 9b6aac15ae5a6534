"""Every screen in both modes (normal / 大字模式) and both orientations, saved as
screenshots (artifacts/screenshots/kiosk-<screen>-<mode>-<orientation>.png) for a
person to look at; each walk also checks what the screen says."""

from __future__ import annotations

import pytest
from kiosk_checks import layout_problems

from drivers.idcard import make_card
from hall.ui.qt import QLabel, QPushButton

PORTRAIT, LANDSCAPE = (1080, 1920), (1920, 1080)

pytestmark = pytest.mark.broker

CASES = [
    pytest.param(mode, orientation, id=f"{mode}-{orientation}")
    for mode in ("normal", "elderly")
    for orientation in ("portrait", "landscape")
]


def busy_hall(engine_service) -> None:
    """A few citizens waiting, so the live counts are not all zero."""
    items = ("hj-proof", "hj-proof", "rs-card", "rs-proof", "rs-card", "mz-dibao", "gjj-query")
    for n, item in enumerate(items):
        engine_service.engine.issue(item_id=item, person_key=f"{n:032x}")
    engine_service.publish_board()


@pytest.mark.parametrize(("mode", "orientation"), CASES)
def test_every_screen(make_kiosk, engine_service, snap, mode, orientation):
    busy_hall(engine_service)
    kiosk = make_kiosk(PORTRAIT if orientation == "portrait" else LANDSCAPE)
    k = kiosk
    k.qtbot.waitUntil(lambda: k.window.loads.get("A") and k.window.loads["A"].waiting == 2)
    if mode == "elderly":
        k.tap("elderly-big")
        assert k.window.theme.elderly
    tag = f"{mode}-{orientation}"

    snap(k, f"home-{tag}")
    assert "等候 2 人" in k.texts()  # queue A, live from the board
    assert "政务公开" in k.texts()

    k.tap("category-A")
    k.wait_screen("items")
    snap(k, f"items-{tag}")

    k.tap("item-hj-birth")
    k.wait_screen("guide")
    snap(k, f"guide-{tag}")
    assert "出生医学证明原件" in k.texts()

    k.tap("take")
    k.wait_screen("identify")
    snap(k, f"identify-{tag}")

    birth = "19500808" if mode == "elderly" else "19900307"
    k.swipe(make_card("resident", name="王小明", birth=birth))
    k.wait_screen("ticket")
    k.wait_printed()
    k.qtbot.waitUntil(lambda: k.window.session.print_state == "ok")
    snap(k, f"ticket-{tag}")
    assert "王*明" in k.texts() and "王小明" not in k.texts()

    # the same person again for the same queue: a kind refusal
    k.tap("done")
    k.wait_screen("home")
    k.lift()
    k.tap("category-A")
    k.tap("item-hj-birth")
    k.tap("take")
    k.wait_screen("identify")
    k.swipe(make_card("resident", name="王小明", birth=birth))
    k.wait_screen("message")
    snap(k, f"message-{tag}")
    assert "您已经取过该业务的号" in k.texts()
    k.lift()

    k.tap("refusal-home")
    k.wait_screen("home")
    k.tap("common-gjj-query")
    k.tap("green-channel")
    k.wait_screen("staff")
    k.tap("reason-disabled")
    k.tap("key-1")
    k.tap("key-2")
    snap(k, f"staff-{tag}")

    k.tap("back")
    k.wait_screen("guide")
    k.printer.set_paper("out")
    k.tap("take")
    k.wait_screen("ticket")
    k.qtbot.waitUntil(lambda: k.window.session.print_state == "failed", timeout=8000)
    snap(k, f"ticket-paperout-{tag}")
    assert "打印机缺纸" in k.texts()


def test_english_screens(make_kiosk, engine_service, snap):
    busy_hall(engine_service)
    k = make_kiosk(PORTRAIT)
    k.tap("lang")
    snap(k, "home-english-portrait")
    assert "Housing fund" in k.texts() and "Common services" in k.texts()
    k.tap("common-rs-card")
    k.wait_screen("guide")
    snap(k, "guide-english-portrait")
    assert "Social security card application" in k.texts()
    k.tap("take")
    k.wait_screen("ticket")
    k.wait_printed()
    k.qtbot.waitUntil(lambda: k.window.session.print_state == "ok")
    snap(k, "ticket-english-portrait")
    assert "Your number" in k.texts()


def test_starting_without_the_hall_says_so(qtbot, screenshots):
    from kiosk.app import KioskWindow

    window = KioskWindow(None)
    qtbot.addWidget(window)
    window.resize(*PORTRAIT)
    window.show()
    qtbot.waitExposed(window)
    # what is happening, not a choice with nothing to choose
    assert window.findChild(QLabel, "connecting").text() == "正在连接排队服务…"
    state = window.findChild(QLabel, "connecting-state")
    assert "正在连接大厅服务器" in state.text() and "请选择业务" not in state.text()
    first = state.text()
    qtbot.waitUntil(lambda: window.findChild(QLabel, "connecting-state").text() != first)
    assert window.findChild(QPushButton, "elderly").isVisible()  # no big one without items
    window.monotonic = lambda: window.flow.started + 60  # a minute without the server
    window.redraw()
    assert "连接中断，正在重试" in window.findChild(QLabel, "connecting-state").text()
    assert not layout_problems(window)
    window.grab().save(str(screenshots / "kiosk-connecting-normal-portrait.png"))
    window.take_ticket("gjj-query")
    assert window.screen_name == "message"
    window.close_down()

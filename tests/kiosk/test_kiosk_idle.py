"""After inactivity the kiosk returns to the first screen and forgets the person:
nothing on screen, nothing in memory."""

from __future__ import annotations

import gc

import pytest

from drivers.idcard import IdCard, make_card
from hall.ui.qt import QLabel

pytestmark = pytest.mark.broker


def all_texts(window) -> str:
    """Every label of the window, shown or hidden."""
    return "\n".join(w.text() for w in window.findChildren(QLabel))


def test_inactivity_forgets_the_person(make_kiosk, kiosk_settings):
    kiosk = make_kiosk(settings=kiosk_settings.with_(idle_timeout_s=0.6))
    kiosk.tap("lang")
    kiosk.tap("elderly-big")
    kiosk.swipe(make_card("resident", name="欧阳小明", birth="19500101"))
    kiosk.qtbot.waitUntil(lambda: kiosk.window.session.identity is not None)
    kiosk.tap("common-gjj-query")
    kiosk.wait_screen("guide")
    assert "欧**明" in kiosk.texts()

    # nobody touches the screen: back to the start (no sleep: wait for the screen)
    kiosk.qtbot.waitUntil(
        lambda: kiosk.window.screen_name == "home" and not kiosk.window.idle_timer.isActive(),
        timeout=5000,
    )
    kiosk.qtbot.wait(1)  # one event-loop pass: dropped screens are deleted
    window = kiosk.window
    assert window.session.identity is None and window.session.item is None
    assert window.lang == "zh" and not window.theme.elderly
    assert "欧**明" not in all_texts(window)
    assert "欢迎办事" in kiosk.texts()
    gc.collect()
    assert [o for o in gc.get_objects() if isinstance(o, IdCard)] == []


def test_ticket_screen_returns_to_the_start(make_kiosk, kiosk_settings):
    kiosk = make_kiosk(settings=kiosk_settings.with_(ticket_timeout_s=0.5))
    kiosk.swipe(make_card("resident", name="孙丽华"))
    kiosk.qtbot.waitUntil(lambda: kiosk.window.session.identity is not None)
    kiosk.tap("common-gjj-query")
    kiosk.tap("take")
    kiosk.wait_screen("ticket")
    kiosk.wait_printed()
    assert "孙*华" in kiosk.texts()
    kiosk.wait_screen("home", timeout=5000)
    kiosk.qtbot.wait(1)
    assert kiosk.window.session.ticket is None
    assert "D001" not in all_texts(kiosk.window) and "孙*华" not in all_texts(kiosk.window)


def test_touches_keep_the_visit_alive(make_kiosk, kiosk_settings):
    kiosk = make_kiosk(settings=kiosk_settings.with_(idle_timeout_s=30))
    kiosk.tap("category-A")
    timer = kiosk.window.idle_timer
    assert timer.isActive() and timer.interval() == 30_000
    kiosk.tap("home")
    assert not timer.isActive()  # idle already: nothing to forget

"""去向牌 in the engine: set by the caller, reset by login / resume / logout, persisted."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from clerks import DEMO_PIN

from hall.core.clock import FakeClock
from kiosk.engine.config import load_hall_config
from kiosk.engine.engine import QueueEngine
from kiosk.engine.errors import EngineError
from kiosk.engine.store import open_db

DEMO = Path(__file__).resolve().parents[2] / "assets" / "halls" / "demo.yaml"


@pytest.fixture
def engine(tmp_path):
    e = QueueEngine(
        load_hall_config(DEMO),
        tmp_path / "engine.db",
        clock=FakeClock(datetime(2026, 11, 23, 9, 30)),
    )
    yield e
    e.close()


def status(engine, window="3"):
    return engine.window_view(window)["staff_status"]


def test_staff_status_is_derived_until_the_clerk_sets_it(engine):
    assert status(engine) is None  # closed window: nobody
    engine.login("3", "1003", DEMO_PIN)
    assert status(engine) == "在岗"
    engine.set_staff_status("3", "外出")
    assert status(engine) == "外出"
    engine.pause("3", "外出办事")
    assert status(engine) == "外出"  # what the clerk said wins over the derived 暂离
    engine.resume("3")
    assert status(engine) == "在岗"  # back at the window
    engine.set_staff_status("3", "学习")
    engine.logout("3")
    assert status(engine) is None
    engine.login("3", "1003", DEMO_PIN)
    assert status(engine) == "在岗"


def test_staff_status_needs_a_logged_in_clerk_and_a_known_status(engine):
    with pytest.raises(EngineError) as closed:
        engine.set_staff_status("3", "休假")
    assert closed.value.code == "window_closed"
    engine.login("3", "1003", DEMO_PIN)
    with pytest.raises(EngineError) as bad:
        engine.set_staff_status("3", "摸鱼")
    assert bad.value.code == "bad_request"


def test_staff_status_survives_a_restart_and_is_an_outbox_event(engine, tmp_path):
    engine.login("3", "1003", DEMO_PIN)
    engine.set_staff_status("3", "暂离")
    kinds = [r[0] for r in engine.conn.execute("SELECT kind FROM outbox ORDER BY seq")]
    assert kinds[-1] == "staff_status"
    engine.close()
    again = QueueEngine(
        load_hall_config(DEMO),
        tmp_path / "engine.db",
        clock=FakeClock(datetime(2026, 11, 23, 9, 31)),
    )
    assert status(again) == "暂离"
    again.close()


def test_a_version_1_database_gains_the_column(tmp_path):
    path = tmp_path / "old.db"
    conn = open_db(path)
    conn.execute("ALTER TABLE windows DROP COLUMN staff_status")
    conn.execute("PRAGMA user_version=1")
    conn.close()
    conn = open_db(path)
    columns = [r[1] for r in conn.execute("PRAGMA table_info(windows)")]
    assert "staff_status" in columns
    assert conn.execute("PRAGMA user_version").fetchone()[0] >= 2
    conn.close()


# ---------------------------------------------------------------------- the 去向牌 shown (#14)


def test_the_staff_card_of_a_window_from_the_engine_and_the_catalogue(engine):
    from counter.texts import staff_card, staff_cards

    catalog = {
        "staff": [
            {"id": "1003", "name": "陈静", "staff_no": "1003", "department": "综合受理",
             "photo": "assets/staff/1003.png", "phone": "0755-86001003"},
        ]
    }  # fmt: skip
    nobody = staff_card(engine.window_view("3"), {})
    assert (nobody.present, nobody.title, nobody.status_text) == (False, "暂无人员", "未开放")
    assert nobody.where == "3号窗口 · 综合受理" and nobody.phone == ""
    engine.login("3", "1003", DEMO_PIN)
    engine.set_staff_status("3", "学习")
    cards = staff_cards({"3": engine.window_view("3"), "1": engine.window_view("1")}, catalog)
    assert [c.window for c in cards] == ["1", "3"]
    card = cards[1]
    assert (card.title, card.staff_no, card.department) == ("陈静", "1003", "综合受理")
    assert (card.status_text, card.phone_text) == ("学习", "电话 0755-86001003")
    assert card.photo == "assets/staff/1003.png"  # the catalogue's, when the state has none
    engine.logout("3")
    assert not staff_card(engine.window_view("3"), {}).present

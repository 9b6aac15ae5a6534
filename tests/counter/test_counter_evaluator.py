"""The five-button evaluator on a real hall plane: USB keys and touch, reasons, unrated, restart."""

from __future__ import annotations

import uuid

import pytest
from clerks import DEMO_PIN

from counter.evaluator import EvaluatorWindow
from counter.ratings_store import Rating, RatingsStore
from counter.settings import CounterSettings, EvaluatorSettings
from hall.ui.qt import QLabel, QPushButton, Qt

pytestmark = pytest.mark.broker
WAIT = 5000


def engine_ratings(engine_service):
    rows = engine_service.engine.conn.execute(
        "SELECT rating_id, ticket_id, window_id, clerk_id, item_id, level, reasons, contact "
        "FROM ratings ORDER BY received_at, rowid"
    ).fetchall()
    return [dict(r) for r in rows]


def screen_texts(widget) -> list[str]:
    return [w.text() for w in widget.findChildren(QLabel) + widget.findChildren(QPushButton)]


@pytest.fixture
def evaluator(qtbot, qtlink, tmp_path, hall_clock):
    made = []

    def make(settings=None, db="evaluator.db", link=True):
        ev = EvaluatorWindow(
            qtlink("evaluator-1") if link else None,
            "1",
            tmp_path / db,
            settings=settings,
            clock=hall_clock,
        )
        qtbot.addWidget(ev)
        ev.resize(1280, 800)
        made.append(ev)
        return ev

    yield make
    for ev in made:
        ev.shutdown()


def test_a_usb_press_is_stored_before_thanks_and_reaches_the_engine_once(
    qtbot, hall, evaluator, keyboard, engine_service, screenshots
):
    hall.cmd("1", {"cmd": "login", "clerk": "1001", "pin": DEMO_PIN})
    ev = evaluator(CounterSettings(evaluator=EvaluatorSettings(thanks_s=0.5)))
    qtbot.waitUntil(lambda: ev.idle_name.text() == "王晓燕", timeout=WAIT)
    assert ev.idle_staff.text() == "工号 1001" and ev.idle_summary.text() == "今日暂无评价"
    ev.grab().save(str(screenshots / "counter-evaluator_idle.png"))
    buttons = keyboard("evaluator")
    ev.keys_from(buttons.path, opener=buttons.open)
    qtbot.waitUntil(lambda: buttons.grabbed, timeout=WAIT)

    code = hall.serve("1", "1001")
    qtbot.waitUntil(lambda: ev.page == "prompt", timeout=WAIT)
    assert ev.prompt_title.text() == "请对本次服务进行评价"
    assert ev.prompt_info.text() == f"{code} 号 · 1号窗口 · 王晓燕（工号 1001）"
    assert [ev.level_buttons[i].text() for i in range(1, 6)] == [
        "1\n非常满意",
        "2\n满意",
        "3\n基本满意",
        "4\n不满意",
        "5\n非常不满意",
    ]
    ev.grab().save(str(screenshots / "counter-evaluator_prompt.png"))

    stored_when_thanked = []
    ev.page_changed.connect(
        lambda page: page == "thanks" and stored_when_thanked.append(ev.store.counts())
    )
    with qtbot.waitSignal(ev.rating_acked, timeout=WAIT) as acked:
        buttons.press("KEY_2")
    assert stored_when_thanked and sum(stored_when_thanked[0].values()) == 1
    assert ev.thanks_info.text() == "您的评价：满意"
    ev.grab().save(str(screenshots / "counter-evaluator_thanks.png"))
    rating, duplicate = acked.args
    assert not duplicate
    rows = engine_ratings(engine_service)
    assert len(rows) == 1
    row = rows[0]
    assert (row["rating_id"], row["window_id"], row["clerk_id"], row["item_id"], row["level"]) == (
        rating.rating_id,
        "1",
        "1001",
        "gjj-query",
        2,
    )
    assert ev.store.counts() == {"acked": 1}
    qtbot.waitUntil(lambda: ev.page == "idle", timeout=WAIT)  # after thanks_s
    assert ev.idle_summary.text() == "今日评价 1 次 · 满意率 100%"


def test_a_key_storm_gives_one_rating(qtbot, hall, evaluator, keyboard, engine_service):
    ev = evaluator()
    buttons = keyboard("evaluator-storm")
    ev.keys_from(buttons.path, opener=buttons.open)
    qtbot.waitUntil(lambda: buttons.grabbed, timeout=WAIT)
    hall.serve("1", "1001")
    qtbot.waitUntil(lambda: ev.page == "prompt", timeout=WAIT)
    with qtbot.waitSignal(ev.rating_acked, timeout=WAIT):
        for key in ("KEY_1", "KEY_5", "KEY_3", "KEY_1", "KEY_2"):
            buttons.press(key)
    qtbot.waitUntil(lambda: ev.ignored_presses >= 3, timeout=WAIT)
    rows = engine_ratings(engine_service)
    assert [r["level"] for r in rows] == [1]


def test_unhappy_asks_reasons_and_a_masked_phone(
    qtbot, hall, evaluator, engine_service, screenshots
):
    ev = evaluator()
    hall.serve("1", "1001")
    qtbot.waitUntil(lambda: ev.page == "prompt", timeout=WAIT)
    qtbot.mouseClick(ev.level_buttons[4], Qt.MouseButton.LeftButton)
    assert ev.page == "reasons"
    assert ev.store.counts() == {"draft": 1}  # the press is durable already
    for b in ev.reason_buttons:
        if b.text() in ("等候时间太长", "告知不清楚"):
            qtbot.mouseClick(b, Qt.MouseButton.LeftButton)
    pad = {b.objectName(): b for b in ev.findChildren(QPushButton)}
    for digit in "138123456789":
        qtbot.mouseClick(pad[f"pad_{digit}"], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(pad["pad_删除"], Qt.MouseButton.LeftButton)
    assert ev.phone_label.text() == "138****5678（11位）"
    assert not any("13812345678" in t for t in screen_texts(ev))
    ev.grab().save(str(screenshots / "counter-evaluator_reasons_phone.png"))
    with qtbot.waitSignal(ev.rating_acked, timeout=WAIT):
        qtbot.mouseClick(ev.submit_button, Qt.MouseButton.LeftButton)
    assert ev.page == "thanks" and ev.thanks_info.text() == "您的评价：不满意"
    (row,) = engine_ratings(engine_service)
    assert row["level"] == 4
    assert row["reasons"] == '["等候时间太长", "告知不清楚"]'
    assert row["contact"] == "13812345678"  # kept in full for the 回访 only


def test_nobody_presses_so_unrated_is_recorded_without_thanks(
    qtbot, hall, evaluator, engine_service, screenshots
):
    ev = evaluator(CounterSettings(evaluator=EvaluatorSettings(prompt_timeout_s=0.3)))
    pages = []
    ev.page_changed.connect(pages.append)
    hall.serve("1", "1001")
    with qtbot.waitSignal(ev.rating_acked, timeout=WAIT) as acked:
        qtbot.waitUntil(lambda: ev.page == "prompt", timeout=WAIT)
    assert acked.args[0].level is None
    assert pages == ["prompt", "idle"]
    assert [r["level"] for r in engine_ratings(engine_service)] == [None]
    qtbot.waitUntil(lambda: ev.page == "idle", timeout=WAIT)
    assert ev.idle_summary.text() == "今日暂无评价 · 未评价 1 次"  # not counted as a rating
    ev.grab().save(str(screenshots / "counter-evaluator_timeout_unrated.png"))


def test_a_second_finish_before_an_answer_leaves_the_first_unrated(
    qtbot, hall, evaluator, engine_service
):
    ev = evaluator()
    first = hall.serve("1", "1001")
    qtbot.waitUntil(lambda: ev.page == "prompt", timeout=WAIT)
    second = hall.serve("1", "1001")
    qtbot.waitUntil(lambda: ev.prompt_ticket and ev.prompt_ticket["code"] == second, timeout=WAIT)
    ev.rate(1)
    qtbot.waitUntil(lambda: len(engine_ratings(engine_service)) == 2, timeout=WAIT)
    levels = {r["ticket_id"]: r["level"] for r in engine_ratings(engine_service)}
    codes = {t: engine_service.engine._ticket(t).code for t in levels}
    assert {codes[t]: lv for t, lv in levels.items()} == {first: None, second: 1}


def test_start_up_resends_pending_and_prompts_only_fresh_unrated_finishes(
    qtbot, hall, evaluator, engine_service, hall_clock, tmp_path
):
    old = hall.serve("1", "1001")
    ticket = engine_service.engine.ticket_by_code(old)
    # What a crash left: a rating stored as a draft (the reasons page was open), never sent.
    store = RatingsStore(tmp_path / "evaluator.db")
    rid = str(uuid.uuid4())
    store.record(
        Rating(rid, ticket.id, "1", 5, "2026-11-23T09:30:00+08:00", code=old, clerk_id="1001"),
        draft=True,
    )
    store.close()
    ev = evaluator()
    qtbot.waitUntil(lambda: len(engine_ratings(engine_service)) == 1, timeout=WAIT)
    assert engine_ratings(engine_service)[0]["rating_id"] == rid
    assert ev.page == "idle"  # that ticket is rated: no prompt from the retained state
    ev.shutdown()

    fresh = hall.serve("1", "1001")  # finished while no evaluator ran
    ev2 = evaluator(db="evaluator.db")
    qtbot.waitUntil(lambda: ev2.page == "prompt", timeout=WAIT)
    assert ev2.prompt_ticket["code"] == fresh
    ev2.shutdown()

    hall_clock.advance(minutes=10)  # the citizen has long gone
    ev3 = evaluator(db="evaluator.db")
    qtbot.waitUntil(lambda: ev3.state is not None, timeout=WAIT)
    assert ev3.page == "idle"


def test_a_rating_the_engine_refuses_for_good_is_kept_not_retried(
    qtbot, hall, evaluator, engine_service, tmp_path
):
    store = RatingsStore(tmp_path / "evaluator.db")
    store.record(Rating(str(uuid.uuid4()), "no-such-ticket", "1", 3, "2026-11-23T09:30:00"))
    store.close()
    ev = evaluator()
    qtbot.waitUntil(lambda: ev.store.counts() == {"rejected": 1}, timeout=WAIT)
    (bad,) = [
        ev.store.get(r)
        for r in [ev.store._conn.execute("SELECT rating_id FROM ratings").fetchone()[0]]
    ]
    assert bad.last_error.startswith("not_found")
    assert engine_ratings(engine_service) == []

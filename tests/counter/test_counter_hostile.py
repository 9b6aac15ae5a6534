"""Every window-side app survives hostile messages on every topic it subscribes to (issue #10).

The window display, the hall board, the evaluator and the caller each run as
the real widget on the real broker with the real engine.  Every input of
``hostile.HOSTILE``, a few generated ones and contract-valid-looking payloads
with one field wrong (built from the engine's own retained message, so an app
that took one would show it) go onto each topic the app subscribes to, as
MQTT 5 and MQTT 3.1.1, retained and not.  Afterwards the app shows exactly what
it showed before (the same model and the same pixels), an app started while the
broker holds hostile retained messages comes up, a normal change through the
engine appears within the usual time, every rejection was counted, and the
link neither reconnected nor logged a traceback.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import pytest
from clerks import DEMO_PIN
from hostile import (
    FORGED_ITEM,
    HOSTILE,
    LinkWatch,
    Payloads,
    Picture,
    Storm,
    assert_calm,
    assert_counted,
    total,
    variants,
    wait_dropped,
    weather,
    wrong_board,
    wrong_catalog,
)

from counter.board import HallBoard
from counter.caller import CallerWindow
from counter.display import WindowDisplay
from counter.evaluator import EvaluatorWindow
from counter.settings import BoardSettings, CounterSettings, DisplaySettings, EvaluatorSettings
from hall.ui.qt import QPushButton, Qt
from sync import topics
from sync.inbound import REJECTS

pytestmark = pytest.mark.broker
HALL = "demo-hall"
WAIT = 5000  # ms: a normal change reaches a screen well within this on a loaded machine
FAST = CounterSettings(
    display=DisplaySettings(flash_s=0.4),  # a call flashes briefly: the screen settles fast
    board=BoardSettings(notice_s=3600),  # notices do not rotate during a test
    evaluator=EvaluatorSettings(prompt_timeout_s=600, thanks_s=0.3),
)
NOW = datetime(2026, 11, 23, 9, 30, 5)  # the board's clock: the same pixels every second


# --------------------------------------------------------------------------- payloads


def wrong_state(state: dict[str, Any]) -> Payloads:
    """The window's real state with one field of a wrong type or value."""
    return variants(
        state,
        [
            ("waiting", "many"),
            ("waiting", -1),
            ("waiting", 2.5),
            ("current", 5),
            ("current", {"code": "Z999"}),  # no status
            ("current", {"code": "<b>1</b>", "status": "called"}),
            ("current", {"code": "Z999", "status": "called", "call_count": "2"}),
            ("status", "exploded"),
            ("status", None),
            ("name", None),
            ("name", 3),
            ("clerk", ["陈静"]),
            ("clerk", {"name": None}),
            ("items", "住房公积金"),
            ("waiting_codes", [1, 2]),
            ("staff_status", "跑路"),
            ("pause_reason", {"text": "x"}),
            ("last_finished", "D001"),
            ("last_finished", {"ticket_id": "forged", "code": "Z999", "finished_at": 5}),
            ("updated_at", 20261123),
            ("hall", None),
            ("window", ""),
            ("status", ...),
            ("injected", "<script>"),
        ],
    )


# This file's own wrongs, on top of the ones hostile.wrong_catalog and wrong_board send to
# every role; the wrong board rows are made of queue A, the table's first row.
CATALOG_MORE = [
    ("items", [{**FORGED_ITEM, "promised_days": "3"}]),
    ("issuing", "yes"),
    ("windows", "x"),
    ("windows", [{"id": None}]),
]
BOARD_QUEUE = {"id": "A", "name": "综合", "waiting": 3}
BOARD_MORE = [
    ("recent_calls", [{"code": "Z999"}]),  # no window
    ("notices", [1, None]),
    ("hall", 5),
]


CALL = {
    "code": "Z999",
    "window": "3",
    "window_name": "3号窗口",
    "recall": False,
    "call_count": 1,
    "at": "2026-11-23T09:30:00+08:00",
}
WRONG_CALLS = variants(
    CALL,
    [
        ("code", 999),
        ("code", "<b>"),
        ("window", 3),
        ("window_name", None),
        ("recall", "yes"),
        ("call_count", "2"),
        ("at", None),
        ("window", ...),
        ("injected", "x"),
    ],
)


def leave_junk(storm: Storm, on: list[str]) -> None:
    """The broker keeps a hostile retained message on every topic in ``on``."""
    for topic in on:
        storm.v311.publish(topic, HOSTILE[0][1], retain=True)


def click(qtbot: Any, button: QPushButton) -> None:
    assert button.isEnabled(), f"{button.text()} is disabled"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


# --------------------------------------------------------------------------- the roles


def test_the_window_display_keeps_its_number_through_a_storm(
    qtbot, qtlink, hall, storm, retained, caplog
):
    caplog.set_level(logging.INFO)
    hall.cmd("3", {"cmd": "login", "clerk": "1003", "pin": DEMO_PIN})
    first = hall.issue("gjj-query")
    hall.cmd("3", {"cmd": "call_next"})
    hall.cmd("3", {"cmd": "start"})

    def display(device: str) -> WindowDisplay:
        d = WindowDisplay(qtlink(device), "3", "tv", settings=FAST)
        qtbot.addWidget(d)
        d.resize(960, 540)
        return d

    d = display("display-3")
    qtbot.waitUntil(lambda: d.model.code == first and not d.model.called, timeout=WAIT)
    assert d.model.headline == f"{first} 号正在办理" and not d.flashing

    def looks() -> tuple[Any, ...]:
        return (d.model, d.message, d.flashing, Picture(d))

    state_topic, calls_topic = topics.window_state(HALL, "3"), topics.call(HALL, "3")
    sends = {
        state_topic: HOSTILE + wrong_state(retained(state_topic)),
        calls_topic: HOSTILE + WRONG_CALLS,  # a forged call for window 3 among them
    }
    changed = "the display changed: a hostile message reached the screen"
    watch = weather(qtbot, storm, caplog, d.qtlink, looks, sends, changed)

    # A display started now gets the hostile retained messages first: it still comes up.
    leave_junk(storm, [state_topic, calls_topic])
    since = total()
    fresh = display("display-3b")
    assert not wait_dropped(qtbot, since, 2), "the retained hostile messages were not dropped"
    assert fresh.state is None and fresh.model.status == "closed"

    second = hall.issue("gjj-query")
    hall.cmd("3", {"cmd": "call_next"})
    for shown in (d, fresh):
        qtbot.waitUntil(
            lambda s=shown: s.model.code == second and s.model.called and s.flashing, timeout=WAIT
        )
    assert d.model.headline == f"请 {second} 号到3号窗口办理"
    watch.assert_untouched()
    assert_calm(caplog)
    for shown in (d, fresh):
        shown.shutdown()


def test_the_hall_board_keeps_its_table_through_a_storm(
    qtbot, qtlink, hall, storm, retained, caplog
):
    caplog.set_level(logging.INFO)
    for window, clerk in (("1", "1001"), ("3", "1003")):
        hall.cmd(window, {"cmd": "login", "clerk": clerk, "pin": DEMO_PIN})
    hall.issue(queue="A")
    hall.issue(queue="A")
    hall.issue("rs-card")
    hall.cmd("1", {"cmd": "call_next"})
    hall.cmd("3", {"cmd": "call_next"})

    def hall_board(device: str) -> HallBoard:
        b = HallBoard(qtlink(device), settings=FAST, now=lambda: NOW)
        qtbot.addWidget(b)
        b.resize(960, 540)
        return b

    board = hall_board("board-1")
    qtbot.waitUntil(
        lambda: (
            len(board.board.get("recent_calls", [])) == 2
            and board.windows.get("3", {}).get("current") is not None
            and board.hall_name == "示范街道为民服务中心"
        ),
        timeout=WAIT,
    )
    assert board.latest_sentence == "请 A002 号到3号窗口办理" and not board.flashing

    def looks() -> tuple[Any, ...]:
        return (
            board.board,
            board.windows,
            board.latest,
            board.hall_name,
            board.window_names,
            board.notices,
            board.notice_index,
            board.flashing,
            Picture(board),
        )

    board_topic, catalog_topic = topics.board(HALL), topics.catalog(HALL)
    state_topic, calls_topic = topics.window_state(HALL, "3"), topics.call(HALL, "3")
    sends = {
        board_topic: HOSTILE + wrong_board(retained(board_topic), BOARD_QUEUE, BOARD_MORE),
        catalog_topic: HOSTILE + wrong_catalog(retained(catalog_topic), CATALOG_MORE),
        state_topic: HOSTILE + wrong_state(retained(state_topic)),
        calls_topic: HOSTILE + WRONG_CALLS,
        topics.presence(HALL, "caller-5"): HOSTILE,  # an offline device is named on the board
    }
    changed = "the board changed: a hostile message reached the screen"
    watch = weather(qtbot, storm, caplog, board.qtlink, looks, sends, changed)
    every = list(sends)

    leave_junk(storm, every)
    since = total()
    fresh = hall_board("board-2")
    assert not wait_dropped(qtbot, since, len(every)), (
        "the retained hostile messages were not dropped"
    )
    assert fresh.board == {} and fresh.latest is None  # junk never reached it

    hall.cmd("3", {"cmd": "start"})
    hall.cmd("3", {"cmd": "call_next"})  # B001 goes to window 3 now
    for shown in (board, fresh):
        qtbot.waitUntil(
            lambda s=shown: (
                s.latest is not None
                and s.latest["code"] == "B001"
                and len(s.board.get("recent_calls", [])) == 3
            ),
            timeout=WAIT,
        )
    assert board.latest_sentence == "请 B001 号到3号窗口办理" and board.flashing
    watch.assert_untouched()
    assert_calm(caplog)
    for shown in (board, fresh):
        shown.shutdown()


def test_the_evaluator_keeps_its_prompt_through_a_storm(
    qtbot, qtlink, hall, storm, retained, caplog, tmp_path, hall_clock, engine_service
):
    caplog.set_level(logging.INFO)
    hall.cmd("1", {"cmd": "login", "clerk": "1001", "pin": DEMO_PIN})
    ev = EvaluatorWindow(
        qtlink("evaluator-1"), "1", tmp_path / "evaluator.db", settings=FAST, clock=hall_clock
    )
    qtbot.addWidget(ev)
    ev.resize(1024, 640)
    qtbot.waitUntil(lambda: ev.idle_name.text() == "王晓燕", timeout=WAIT)
    first = hall.serve("1", "1001")
    qtbot.waitUntil(lambda: ev.page == "prompt", timeout=WAIT)
    assert ev.prompt_info.text() == f"{first} 号 · 1号窗口 · 王晓燕（工号 1001）"

    def looks() -> tuple[Any, ...]:
        return (
            ev.page,
            ev.prompt_ticket,
            ev.prompt_info.text(),
            ev.answered,
            ev.model,
            ev.store.counts(),
            Picture(ev),
        )

    state_topic = topics.window_state(HALL, "1")
    sends = {state_topic: HOSTILE + wrong_state(retained(state_topic))}
    changed = "the evaluator changed: a hostile message reached it"
    watch = weather(qtbot, storm, caplog, ev.qtlink, looks, sends, changed)

    # The citizen still rates, and the next finished ticket prompts again.
    with qtbot.waitSignal(ev.rating_acked, timeout=WAIT):
        click(qtbot, ev.level_buttons[1])
    rated = engine_service.engine.conn.execute("SELECT ticket_id, level FROM ratings").fetchall()
    assert [r["level"] for r in rated] == [1]
    second = hall.serve("1", "1001")
    qtbot.waitUntil(
        lambda: ev.page == "prompt" and ev.prompt_ticket["code"] == second, timeout=WAIT
    )
    watch.assert_untouched()
    assert_calm(caplog)
    ev.shutdown()


def test_the_caller_keeps_its_screen_and_transfer_targets_through_a_storm(
    qtbot, qtlink, hall, storm, retained, caplog
):
    caplog.set_level(logging.INFO)

    def caller(device: str) -> CallerWindow:
        c = CallerWindow(qtlink(device), "3", settings=FAST)
        qtbot.addWidget(c)
        c.resize(1024, 768)
        return c

    c = caller("caller-3")
    qtbot.waitUntil(lambda: c.state is not None and c.transfer_target.count() > 1, timeout=WAIT)
    hall.cmd("3", {"cmd": "login", "clerk": "1003", "pin": DEMO_PIN})
    first, second = hall.issue("gjj-query"), hall.issue(queue="A")
    hall.cmd("3", {"cmd": "call_next"})
    qtbot.waitUntil(lambda: c.model.code == first and c.model.waiting == 1, timeout=WAIT)

    def looks() -> tuple[Any, ...]:
        targets = [
            (c.transfer_target.itemText(i), c.transfer_target.itemData(i))
            for i in range(c.transfer_target.count())
        ]
        buttons = [b.isEnabled() for b in c.findChildren(QPushButton)]
        return (
            c.model,
            c.current_label.text(),
            c.current_info.text(),
            c.clerk_label.text(),
            c.waiting_label.text(),
            [c.waiting_list.item(i).text() for i in range(c.waiting_list.count())],
            targets,
            buttons,
            c.message,
            Picture(c),
        )

    before = looks()
    assert before[1] == first and before[5] == [second]
    assert any(data == "window:1" for _text, data in before[6])
    state_topic, catalog_topic = topics.window_state(HALL, "3"), topics.catalog(HALL)
    sends = {
        state_topic: HOSTILE + wrong_state(retained(state_topic)),
        catalog_topic: HOSTILE + wrong_catalog(retained(catalog_topic), CATALOG_MORE),
    }
    changed = "the caller changed: a hostile message reached its screen"
    watch = weather(qtbot, storm, caplog, c.qtlink, looks, sends, changed)

    # The clerk goes on working with the screen's buttons.
    click(qtbot, c.start_button)
    qtbot.waitUntil(lambda: c.current_info.text().startswith("办理中"), timeout=WAIT)
    click(qtbot, c.call_button)
    qtbot.waitUntil(lambda: c.current_label.text() == second and c.model.called, timeout=WAIT)
    qtbot.waitUntil(lambda: c.message == f"{first} 已办结；已呼叫 {second}", timeout=WAIT)
    watch.assert_untouched()
    assert_calm(caplog)
    c.shutdown()


def test_no_link_restarts_or_logs_a_traceback_while_every_topic_is_stormed(
    qtbot, qtlink, hall, storm, caplog, tmp_path, hall_clock
):
    """All four apps at once, each on its own link: the whole storm, then a normal call."""
    caplog.set_level(logging.DEBUG)
    apps: list[Any] = [
        WindowDisplay(qtlink("display-3"), "3", "tv", settings=FAST),
        HallBoard(qtlink("board-1"), settings=FAST, now=lambda: NOW),
        EvaluatorWindow(
            qtlink("evaluator-3"), "3", tmp_path / "ev.db", settings=FAST, clock=hall_clock
        ),
        CallerWindow(qtlink("caller-3"), "3", settings=FAST),
    ]
    display, board, _evaluator, caller = apps
    for app in apps:
        qtbot.addWidget(app)
    qtbot.waitUntil(lambda: all(a.state is not None for a in apps if hasattr(a, "state")))
    qtbot.waitUntil(lambda: bool(board.board), timeout=WAIT)
    watches = [LinkWatch(a.qtlink) for a in apps]
    counted, since = REJECTS.snapshot(), total()
    caplog.clear()
    every = [
        topics.window_state(HALL, "3"),
        topics.board(HALL),
        topics.catalog(HALL),
        topics.call(HALL, "3"),
    ]
    subscribers = {every[0]: 4, every[1]: 1, every[2]: 2, every[3]: 2}
    n = sum(storm.send(topic, HOSTILE) * subscribers[topic] for topic in every)
    missing = wait_dropped(qtbot, since, n)
    assert not missing, missing
    for watch in watches:
        assert watch.reached() == [], "a hostile message reached a handler"
    assert_counted(counted)

    hall.cmd("3", {"cmd": "login", "clerk": "1003", "pin": DEMO_PIN})
    code = hall.issue("gjj-query")
    hall.cmd("3", {"cmd": "call_next"})
    qtbot.waitUntil(
        lambda: (
            display.model.code == code
            and caller.model.code == code
            and board.latest is not None
            and board.latest["code"] == code
        ),
        timeout=WAIT,
    )
    for watch in watches:
        watch.assert_untouched()
    assert_calm(caplog)
    link_errors = [
        r
        for r in caplog.records
        if r.name in ("sync.mqtt", "hall.ui.qtlink", "counter.fanout")
        and r.levelno >= logging.WARNING
    ]
    assert link_errors == [], [r.getMessage() for r in link_errors]
    for app in apps:
        app.shutdown()

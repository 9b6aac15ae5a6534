"""The kiosk survives hostile messages on the catalogue and the board (issue #10).

The real kiosk (real engine, real Mosquitto, printer and ID reader simulators)
subscribes to ``hall/{hall}/catalog`` and ``hall/{hall}/board``.  Every input of
``hostile.HOSTILE``, a few generated ones and contract-valid-looking catalogues
and boards with one field wrong (built from the engine's own retained messages,
so a kiosk that took one would show it) go onto both, as MQTT 5 and MQTT 3.1.1,
retained and not.  Afterwards the kiosk shows the valid catalogue exactly as
before, a citizen takes a ticket with two taps and gets it printed, the board's
next waiting count appears, every rejection was counted, and the kiosk's link
neither reconnected nor logged a traceback.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from hostile import (
    FORGED_ITEM,
    HOSTILE,
    LinkWatch,
    Picture,
    assert_calm,
    assert_counted,
    total,
    wait_dropped,
    weather,
    wrong_board,
    wrong_catalog,
)

from sync import topics
from sync.inbound import REJECTS

pytestmark = pytest.mark.broker
HALL = "demo-hall"
WAIT = 8000  # ms, as the kiosk's other tests
GB = "gb18030"
# The kiosk's own wrongs, on top of the ones hostile.wrong_catalog and wrong_board send to
# every role; the wrong board rows are made of queue D, whose waiting count the kiosk shows.
CATALOG_MORE = [
    ("queues", [{"id": 1, "name": "综合", "prefix": "A"}]),
    ("items", [{**FORGED_ITEM, "legal_days": "3"}]),
    ("items", [{"id": "fake", "queue": "A"}]),  # no name
    ("version", 1.5),
    ("hall_name", ["示范"]),
    ("issuing", "no"),
    ("hours", {"sessions": [["9点", "12点"]]}),
    ("hall", ...),
]
BOARD_QUEUE = {"id": "D", "name": "公积金", "waiting": 99}
BOARD_MORE = [("queues", [{**BOARD_QUEUE, "est_wait_min": "long"}])]


# --------------------------------------------------------------------------- the kiosk


def test_the_kiosk_keeps_the_valid_catalogue_and_issues_tickets_through_a_storm(
    kiosk, storm, retained, caplog, engine_service
):
    caplog.set_level(logging.INFO)
    window, qtbot = kiosk.window, kiosk.qtbot
    config = engine_service.engine.config
    assert window.catalog.hall_name == config.hall_name
    assert "住房公积金个人账户查询" in kiosk.texts()

    def looks() -> tuple[Any, ...]:
        return (
            window.catalog,
            window.loads,
            window.screen_name,
            kiosk.texts(),
            window.link_up,
            Picture(window),
        )

    catalog_topic, board_topic = topics.catalog(HALL), topics.board(HALL)
    sends = {
        catalog_topic: HOSTILE + wrong_catalog(retained(catalog_topic), CATALOG_MORE),
        board_topic: HOSTILE + wrong_board(retained(board_topic), BOARD_QUEUE, BOARD_MORE),
    }
    changed = "the kiosk changed: a hostile message reached its screens"
    watch = weather(qtbot, storm, caplog, window.link, looks, sends, changed)

    # The catalogue shown is the engine's, and a citizen takes a ticket in two taps.
    assert window.catalog.version == config.version
    assert window.catalog.hall_name == config.hall_name
    assert {i.id for i in window.catalog.items} == {i.id for i in config.items}
    kiosk.tap("common-gjj-query")
    kiosk.wait_screen("guide")
    kiosk.tap("take")
    kiosk.wait_screen("ticket")
    data = kiosk.wait_printed()
    assert b"D001" in data and "住房公积金个人账户查询".encode(GB) in data
    assert [r["code"] for r in kiosk.tickets()] == ["D001"]
    qtbot.waitUntil(lambda: window.loads["D"].waiting == 1, timeout=WAIT)  # the next board
    watch.assert_untouched()
    assert_calm(caplog)


def test_the_kiosks_link_restarts_nothing_and_logs_no_traceback(kiosk, storm, caplog):
    """The whole storm, the v5 half dressed as requests (response topic, correlation
    data): the kiosk's link keeps its threads and connection and logs no traceback."""
    caplog.set_level(logging.DEBUG)
    window, qtbot = kiosk.window, kiosk.qtbot
    watch = LinkWatch(window.link)
    counted, since = REJECTS.snapshot(), total()
    caplog.clear()
    n = sum(
        storm.send(topic, HOSTILE, reply_to=topics.reply(HALL, "kiosk-1"))
        for topic in (topics.catalog(HALL), topics.board(HALL))
    )
    missing = wait_dropped(qtbot, since, n)
    assert watch.reached() == [], "a hostile message reached a handler"
    assert not missing, missing
    assert_counted(counted)
    watch.assert_untouched()
    assert_calm(caplog)
    link_warnings = [
        r.getMessage()
        for r in caplog.records
        if r.name in ("sync.mqtt", "hall.ui.qtlink", "kiosk.app") and r.levelno >= logging.WARNING
    ]
    assert link_warnings == [], link_warnings
    kiosk.tap("common-rs-proof")
    kiosk.tap("take")
    kiosk.wait_screen("ticket")
    assert b"B001" in kiosk.wait_printed()

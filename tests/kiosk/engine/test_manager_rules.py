"""The console's alert rules and the recommendation (kiosk/engine/manager.py), as plain data,
and in the engine on the FakeClock: raised and cleared alarms to the outbox, the overview."""

from __future__ import annotations

import dataclasses
import json

import pytest
from clerks import DEMO_PIN

from kiosk.engine import manager as rules
from kiosk.engine.config import Alerts
from sync import contract

RULES = Alerts()  # waiting_over 20, longest_wait_min 30, idle 5, away 15


def queue(id="B", waiting=0, longest=0.0, service=10.0, open_windows=1, name="社保就业"):
    return rules.QueueLoad(id, name, "Social security", waiting, longest, service, open_windows)


def window(id="4", queues=("B",), status="open", **kw):
    return rules.WindowLoad(id, f"{id}号窗口", tuple(queues), status, has_clerk=True, **kw)


def kinds(alerts):
    return sorted(a.key for a in alerts)


def test_a_quiet_hall_raises_nothing():
    assert rules.evaluate(RULES, [queue(waiting=3, longest=10)], [window(busy=True)]) == []


def test_each_rule_raises_its_alert_with_a_stable_key():
    alerts = rules.evaluate(
        RULES,
        [queue("A", waiting=21, longest=31, open_windows=0, name="户籍业务"), queue("B", 2, 3)],
        [
            window("1", ("A",), idle_min=6.0),
            window("5", ("B",), status="paused", away_min=16.0),
            window(
                "3",
                ("B",),
                busy=True,
                current_code="B002",
                current_over=True,
                served_min=31.0,
                limit_min=30,
            ),
        ],
        [rules.BadRating("r-9", "B001", "4", "4号窗口", 5)],
    )
    assert kinds(alerts) == [
        "bad_rating:r-9",
        "clerk_away:5",
        "idle_window:1",
        "longest_wait:A",
        "no_open_window:A",
        "on_the_spot_over:B002",
        "waiting_over:A",
    ]
    text = {a.kind: a.text_zh for a in alerts}
    assert text["waiting_over"] == "户籍业务等候 21 人，超过 20 人"
    assert text["longest_wait"].startswith("户籍业务最长已等候 31 分钟")
    assert "非常不满意" in text["bad_rating"]
    assert all(a.text_en.isascii() or "号" in a.text_en for a in alerts)


def test_rules_set_to_zero_or_false_are_off():
    off = Alerts(waiting_over=0, longest_wait_min=0, no_open_window=False, idle_window_min=0,
                 clerk_away_min=0, on_the_spot_over=False, bad_rating=False)  # fmt: skip
    assert (
        rules.evaluate(
            off,
            [queue(waiting=99, longest=99, open_windows=0)],
            [window(idle_min=60.0, away_min=60.0, current_code="B1", current_over=True)],
            [rules.BadRating("r", "B001", "4", "4号窗口", 5)],
        )
        == []
    )


def test_an_idle_window_whose_queues_are_empty_is_no_alert():
    assert rules.evaluate(RULES, [queue("B", 0)], [window(idle_min=30.0)]) == []


def test_an_acknowledged_bad_rating_is_followed_up():
    bad = [rules.BadRating("r-1", "B001", "4", "4号窗口", 4)]
    assert kinds(rules.evaluate(RULES, [], [], bad)) == ["bad_rating:r-1"]
    assert rules.evaluate(RULES, [], [], bad, frozenset({"bad_rating:r-1"})) == []


def test_the_recommendation_lets_the_least_loaded_open_window_help():
    queues = [
        queue("A", waiting=2, longest=5, service=8, open_windows=2, name="户籍业务"),
        queue("B", waiting=23, longest=41, service=10, open_windows=1),
        queue("D", waiting=6, longest=12, service=6, open_windows=1, name="公积金"),
    ]
    windows = [
        window("1", ("A",)),
        window("2", ("A", "D")),
        window("4", ("B",), busy=True),
        window("6", ("C",), status="closed"),
    ]
    rec = rules.recommend(RULES, queues, windows)
    assert rec is not None
    assert rec.text_zh == "开放1号窗口办理社保就业：等候 23 人，最长 41 分钟"
    assert rec.text_en == "Let window 1 serve Social security: 23 waiting, longest 41 min"
    assert rec.public()["action"] == {
        "cmd": "set_window_queues",
        "window": "1",
        "queues": ["A", "B"],
    }


def test_a_window_a_manager_closed_is_reopened_first():
    queues = [queue("B", waiting=15, longest=20, open_windows=1)]
    windows = [
        window("1", ("A",)),
        dataclasses.replace(window("5", ("B",), status="closed"), closed_by_manager=True),
    ]
    rec = rules.recommend(RULES, queues, windows)
    assert rec is not None and rec.public()["action"] == {"cmd": "open_window", "window": "5"}
    assert rec.text_zh.startswith("重新开放5号窗口办理社保就业")


@pytest.mark.parametrize(
    "loads",
    [
        [queue("B", waiting=5, longest=10)],  # under half of both thresholds
        [queue("B", waiting=0)],
    ],
)
def test_no_recommendation_without_pressure(loads):
    assert rules.recommend(RULES, loads, [window("1", ("A",))]) is None


def test_no_recommendation_when_every_helper_is_as_busy():
    queues = [queue("A", waiting=12, longest=16, open_windows=1), queue("B", 40, 60)]
    assert rules.recommend(RULES, queues, [window("1", ("A",)), window("4", ("B",))])
    even = [queue("A", waiting=40, longest=60, open_windows=1), queue("B", 40, 60)]
    assert rules.recommend(RULES, even, [window("1", ("A",)), window("4", ("B",))]) is None
    alone = [queue("B", 40, 60)]
    assert rules.recommend(RULES, alone, [window("4", ("B",))]) is None


# -- in the engine ----------------------------------------------------------------------------


def alarms(engine):
    return [
        json.loads(r[0])
        for r in engine.conn.execute("SELECT payload FROM outbox WHERE kind='alarm' ORDER BY seq")
        if json.loads(r[0])["code"] == "hall_alert"
    ]


def test_an_alert_is_raised_once_and_cleared_when_it_is_over(engine, clock):
    engine.issue(queue_id="C")
    changes = engine.evaluate_alerts()
    assert [(c["state"], c["key"]) for c in changes] == [("raised", "no_open_window:C")]
    assert engine.evaluate_alerts() == []  # still true: not raised again
    clock.advance(minutes=31)
    assert [c["key"] for c in engine.evaluate_alerts()] == ["longest_wait:C"]
    overview = engine.overview()
    assert [a["key"] for a in overview["alerts"]] == ["no_open_window:C", "longest_wait:C"]
    assert overview["alerts"][0]["since"] == "2026-11-23T09:30:00+08:00"
    engine.login("6", "3001", DEMO_PIN)
    engine.call_next("6")
    cleared = engine.evaluate_alerts()
    assert sorted((c["state"], c["key"]) for c in cleared) == [
        ("cleared", "longest_wait:C"),
        ("cleared", "no_open_window:C"),
    ]
    for a in alarms(engine):
        assert contract.schema_errors("hallAlertAlarm", a) is None, a


def test_an_alerts_count_follows_the_queue_and_the_next_commit_is_durable(make_engine, demo_config):
    shown = make_engine(
        dataclasses.replace(
            demo_config, alerts=dataclasses.replace(demo_config.alerts, show_on_board=True)
        ),
        db="c.db",
    )
    shown.login("1", "1001", DEMO_PIN)  # window 1 serves 户籍业务 (A): no other alert
    for _ in range(21):
        shown.issue(queue_id="A")
    assert [c["key"] for c in shown.evaluate_alerts()] == ["waiting_over:A"]
    raised = len(alarms(shown))
    shown.issue(queue_id="A")
    assert shown.evaluate_alerts() == []  # the same alert: no event, its count follows
    assert shown.board_view()["alerts"] == ["户籍业务等候 22 人，超过 20 人"]
    assert len(alarms(shown)) == raised
    # the count's new text did not wait for the disk; the engine's commits still do
    assert shown.conn.execute("PRAGMA synchronous").fetchone()[0] == 2


def test_a_bad_rating_waits_for_a_manager(engine):
    engine.issue(queue_id="B")
    engine.login("4", "2001", DEMO_PIN)
    t = engine.call_next("4").ticket
    engine.start("4")
    engine.finish("4")
    engine.rate(window="4", rating_id="r-1", ticket_id=t.id, level=5)
    assert [c["key"] for c in engine.evaluate_alerts()] == ["bad_rating:r-1"]
    assert "非常不满意" in engine.overview()["alerts"][0]["text_zh"]
    engine.ack_alert("mgr-1", "bad_rating:r-1")
    assert [(c["state"], c["key"]) for c in engine.evaluate_alerts()] == [
        ("cleared", "bad_rating:r-1")
    ]
    assert engine.overview()["alerts"] == []
    assert engine.evaluate_alerts() == []  # followed up: it does not come back


def test_an_acknowledged_alert_leaves_the_console_while_it_lasts(engine):
    engine.issue(queue_id="C")
    engine.evaluate_alerts()
    engine.ack_alert("mgr-1", "no_open_window:C")
    assert engine.overview()["alerts"] == []
    with pytest.raises(Exception) as refused:
        engine.ack_alert("mgr-1", "longest_wait:Z")
    assert refused.value.code == "unknown_alert"


def test_alerts_on_the_board_only_when_the_config_says_so(make_engine, demo_config):
    quiet = make_engine(demo_config, db="a.db")
    quiet.issue(queue_id="C")
    quiet.evaluate_alerts()
    assert "alerts" not in quiet.board_view()
    shown = make_engine(
        dataclasses.replace(
            demo_config, alerts=dataclasses.replace(demo_config.alerts, show_on_board=True)
        ),
        db="b.db",
    )
    shown.issue(queue_id="C")
    shown.evaluate_alerts()
    assert shown.board_view()["alerts"] == ["民政救助有 1 人等候，没有开放的窗口"]


def test_the_overview_shows_windows_served_against_the_limit(engine, clock):
    engine.issue(item_id="rs-proof")  # 即办件
    engine.login("4", "2001", DEMO_PIN)
    engine.call_next("4")
    engine.start("4")
    clock.advance(minutes=32)
    w4 = next(w for w in engine.overview()["windows"] if w["id"] == "4")
    assert w4["status"] == "open" and w4["clerk"]["name"] == "赵敏"
    assert w4["current"] == {
        "code": "B001",
        "item_name": "出具个人社保参保缴费证明",
        "kind": "即办件",
        "status": "serving",
        "served_min": 32.0,
        "limit_min": 30,
        "over": True,
    }
    assert "on_the_spot_over:B001" in [c["key"] for c in engine.evaluate_alerts()]


def test_the_overview_recommends_and_its_action_applies(engine, clock):
    for _ in range(23):
        engine.issue(queue_id="B")
    engine.issue(queue_id="A")
    engine.login("1", "1001", DEMO_PIN)
    engine.login("4", "2001", DEMO_PIN)
    engine.set_window_queues("mgr-1", "1", ["A"])
    engine.call_next("1")
    engine.start("1")
    engine.finish("1")
    clock.advance(minutes=20)  # (the clerks stay within their idle logout)
    rec = engine.overview()["recommendation"]
    assert rec["action"] == {"cmd": "set_window_queues", "window": "1", "queues": ["A", "B"]}
    assert rec["text_zh"].startswith("开放1号窗口办理社保就业：等候 23 人")
    engine.set_window_queues("mgr-1", rec["action"]["window"], rec["action"]["queues"])
    assert engine.call_next("1").ticket.queue_id == "B"


def test_the_day_figures(engine, clock):
    engine.issue(queue_id="B")
    engine.issue(queue_id="B")
    engine.login("4", "2001", DEMO_PIN)
    clock.advance(minutes=10)
    t = engine.call_next("4").ticket
    engine.start("4")
    engine.finish("4")
    engine.rate(window="4", rating_id="r1", ticket_id=t.id, level=1)
    figures = engine.overview()["figures"]
    assert (figures["issued"], figures["served"], figures["waiting"]) == (2, 1, 1)
    assert figures["avg_wait_min"] == 10.0
    assert figures["ratings"]["1"] == 1 and figures["ratings"]["satisfied_pct"] == 100.0
    assert figures["waits_by_hour"] == {"B": [{"hour": 9, "avg_wait_min": 10.0, "count": 1}]}

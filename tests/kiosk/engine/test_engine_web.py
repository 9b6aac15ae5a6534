"""The engine side of hall web (#13), Qt-free on the FakeClock: the ticket's secret token and
its follow page, the citizen's progress, the manager's actions (窗口动态调整), the notice, and
the ticket_progress milestones sent upstream."""

from __future__ import annotations

import itertools
import json
import re
from datetime import timedelta

import pytest
from clerks import DEMO_PIN

from hall.demo_apps import DEMO_MANAGER_PASSWORD
from kiosk.engine.engine import QueueEngine
from kiosk.engine.errors import EngineError
from sync import contract

MANAGER = "mgr-1"


def token_of(issued) -> str:
    return issued.follow_url.rsplit("/", 1)[1]


def events(engine: QueueEngine, kind: str) -> list[dict]:
    return [
        json.loads(r[0])
        for r in engine.conn.execute(
            "SELECT payload FROM outbox WHERE kind=? ORDER BY seq", (kind,)
        )
    ]


def milestones(engine: QueueEngine, code: str) -> list[tuple]:
    return [
        (e["milestone"], e.get("ahead"), e.get("window"))
        for e in events(engine, "ticket_progress")
        if e["code"] == code
    ]


# -- the token and the follow page ------------------------------------------------------------


def test_each_ticket_gets_an_unguessable_follow_url(engine):
    issued = [engine.issue(queue_id="A") for _ in range(50)]
    tokens = [token_of(i) for i in issued]
    assert all(
        i.follow_url == f"http://hall.local/t/{t}" for i, t in zip(issued, tokens, strict=True)
    )
    assert len(set(tokens)) == 50  # distinct
    for t in tokens:  # token_urlsafe(16): 22 characters of 6 bits, 128 random bits
        assert re.fullmatch(r"[A-Za-z0-9_-]{22}", t)
    # nothing of one ticket's token tells the next one's
    assert not any(a[:8] == b[:8] for a, b in itertools.pairwise(tokens))


def test_the_token_is_in_no_public_view_or_log(engine, caplog):
    issued = engine.issue(queue_id="B", person_key="e" * 32, masked_name="张*")
    token = token_of(issued)
    engine.login("4", "2001", DEMO_PIN)
    called = engine.call_next("4").ticket
    views = [
        issued.ticket.public(),
        called.public(),
        engine.window_view("4"),
        engine.board_view(),
        engine.overview(),
        engine.ticket_status(called.id),
        engine.statistics(),
    ]
    assert token not in json.dumps(views, ensure_ascii=False)
    assert token not in repr(issued) and token not in repr(called)
    assert token not in caplog.text
    # upstream, only the ticket_progress events carry it (and no personal data)
    for r in engine.conn.execute("SELECT kind, payload FROM outbox"):
        if token in r[1]:
            assert r[0] == "ticket_progress"
            assert "e" * 32 not in r[1] and "张" not in r[1] and called.id not in r[1]


def test_the_ticket_url_comes_from_the_hall_config(make_engine, demo_config):
    import dataclasses

    web = dataclasses.replace(demo_config.web, ticket_url="https://center.example/{hall}/q/{token}")
    e = make_engine(dataclasses.replace(demo_config, web=web))
    issued = e.issue(queue_id="A")
    assert issued.follow_url == f"https://center.example/demo-hall/q/{token_of(issued)}"


def test_a_requeued_ticket_keeps_its_follow_url(engine, clock):
    first = engine.issue(queue_id="B")
    engine.login("4", "2001", DEMO_PIN)
    engine.call_next("4")
    engine.no_show("4")
    again = engine.requeue(first.ticket.code)
    assert again.follow_url == first.follow_url


# -- progress ---------------------------------------------------------------------------------


def test_progress_follows_the_ticket_from_waiting_to_done(engine, clock):
    issued = [engine.issue(item_id="rs-card") for _ in range(4)]
    mine = token_of(issued[3])
    view = engine.progress([mine])["tickets"][mine]
    assert (view["code"], view["status"], view["ahead"]) == ("B004", "waiting", 3)
    assert view["item_name"] == "社会保障卡申请" and view["queue_name"] == "社保就业"
    assert view["est_wait_min"] > 0 and view["window"] is None
    engine.login("4", "2001", DEMO_PIN)
    seen = []
    for _ in range(3):
        engine.call_next("4")
        engine.start("4")
        seen.append(engine.progress([mine])["tickets"][mine]["ahead"])
        engine.finish("4")
    assert seen == [2, 1, 0]  # the position falls as the window calls
    engine.call_next("4")
    view = engine.progress([mine])["tickets"][mine]
    assert (view["status"], view["window"], view["window_name"]) == ("called", "4", "4号窗口")
    assert view["ahead"] is None and view["est_wait_min"] is None and view["call_count"] == 1
    engine.start("4")
    engine.finish("4")
    view = engine.progress([mine])["tickets"][mine]
    assert (view["status"], view["window"], view["rated"]) == ("done", "4", False)


def test_progress_shows_nothing_personal(engine):
    issued = engine.issue(item_id="hj-birth", person_key="f" * 32, masked_name="李*")
    view = engine.progress([token_of(issued)])["tickets"][token_of(issued)]
    text = json.dumps(view, ensure_ascii=False)
    assert "李" not in text and "f" * 32 not in text and issued.ticket.id not in text
    assert set(view) == {
        "code", "queue", "queue_name", "queue_name_en", "item", "item_name", "item_name_en",
        "status", "ahead", "est_wait_min", "window", "window_name", "called_at", "call_count",
        "issued_at", "rated",
    }  # fmt: skip


def test_unknown_malformed_and_other_day_tokens_are_absent(engine, clock):
    yesterday = engine.issue(queue_id="A")
    clock.advance(timedelta(days=1).total_seconds())
    today = engine.issue(queue_id="A")
    out = engine.progress(
        [token_of(yesterday), token_of(today), "A" * 22, "short", "../../etc/passwd" * 2]
    )
    assert list(out["tickets"]) == [token_of(today)]
    assert out["business_date"] == "2026-11-24" and out["remind_ahead"] == [5, 2]
    with pytest.raises(EngineError) as refused:
        engine.progress(["A" * 22] * 101)
    assert refused.value.code == "bad_request"


def test_progress_for_a_hundred_tokens_is_one_ordered_query_per_queue(engine):
    tokens = [token_of(engine.issue(queue_id=q)) for q in ("A", "B", "C", "D") for _ in range(25)]
    statements: list[str] = []
    engine.conn.set_trace_callback(statements.append)
    try:
        out = engine.progress(tokens)
    finally:
        engine.conn.set_trace_callback(None)
    assert len(out["tickets"]) == 100
    assert [v["ahead"] for v in out["tickets"].values()].count(24) == 4
    ordered = [s for s in statements if "ORDER BY priority='normal', sort_key" in s]
    assert len(ordered) == 4  # one per queue, not one per ticket
    assert len(statements) < 30


# -- the manager's actions --------------------------------------------------------------------


def test_a_window_moved_to_another_queue_takes_its_ticket_at_the_next_call(engine):
    engine.issue(queue_id="A")
    b = engine.issue(queue_id="B")
    engine.login("1", "1001", DEMO_PIN)
    out = engine.set_window_queues(MANAGER, "1", ["B"])
    assert out == {"window": "1", "queues": ["B"]}
    assert engine.window_view("1")["queues"] == ["B"]
    assert engine.call_next("1").ticket.code == b.ticket.code
    assert engine.open_windows_for("B") == 1 and engine.open_windows_for("A") == 0
    action = events(engine, "manager_action")[-1]
    assert action["manager"] == MANAGER and action["action"] == "set_window_queues"
    assert action["window"] == "1" and action["queues"] == ["B"]
    assert contract.schema_errors("managerActionEvent", action) is None


def test_todays_window_queues_end_with_the_business_day(engine, clock):
    engine.set_window_queues(MANAGER, "4", ["C", "B"])
    engine.close_window(MANAGER, "5")
    assert engine.window_queues("4") == ("C", "B") and engine.closed_by_manager("5")
    clock.advance(timedelta(days=1).total_seconds())
    assert engine.window_queues("4") == ("B",) and not engine.closed_by_manager("5")


@pytest.mark.parametrize(
    ("queues", "code"),
    [
        ([], "bad_request"),
        (["Z"], "unknown_queue"),
        (["B", "B"], "bad_request"),
        ("B", "bad_request"),
    ],
)
def test_bad_window_queues_are_refused(engine, queues, code):
    with pytest.raises(EngineError) as refused:
        engine.set_window_queues(MANAGER, "4", queues)
    assert refused.value.code == code
    assert engine.window_queues("4") == ("B",)


def test_a_closed_window_calls_no_new_ticket_but_finishes_its_own(engine):
    engine.issue(queue_id="B")
    engine.issue(queue_id="B")
    engine.login("4", "2001", DEMO_PIN)
    engine.call_next("4")
    engine.start("4")
    engine.close_window(MANAGER, "4")
    with pytest.raises(EngineError) as refused:
        engine.call_next("4")
    assert refused.value.code == "window_closed"
    assert refused.value.message_zh == "本窗口已暂停叫号"
    view = engine.window_view("4")
    assert view["closed_by_manager"] is True and view["current"]["status"] == "serving"
    assert engine.open_windows_for("B") == 0  # no longer open for the estimates
    assert engine.finish("4").status == "done"
    engine.open_window(MANAGER, "4")
    assert engine.call_next("4").ticket.code == "B002"
    assert [a["action"] for a in events(engine, "manager_action")] == [
        "close_window",
        "open_window",
    ]


def test_a_moved_ticket_keeps_its_place(engine):
    engine.issue(queue_id="A")  # A001
    engine.issue(queue_id="B")  # B001
    engine.issue(queue_id="A")  # A002
    engine.issue(queue_id="B")  # B002
    moved = engine.move_ticket(MANAGER, "A001", "B")
    assert moved["ahead"] == 0 and moved["ticket"]["queue"] == "B"
    engine.login("4", "2001", DEMO_PIN)
    assert engine.call_next("4").ticket.code == "A001"  # issued first: first in B too
    with pytest.raises(EngineError) as refused:
        engine.move_ticket(MANAGER, "A001", "A")
    assert refused.value.code == "not_waiting"
    with pytest.raises(EngineError) as refused:
        engine.move_ticket(MANAGER, "A099", "A")
    assert refused.value.code == "not_found"


def test_an_unknown_manager_is_refused_and_nothing_changes(engine):
    before = engine.conn.execute("SELECT count(*) FROM outbox").fetchone()[0]
    for call in (
        lambda: engine.set_window_queues("nobody", "4", ["A"]),
        lambda: engine.close_window(None, "4"),
        lambda: engine.post_notice("mgr-2", "x"),
    ):
        with pytest.raises(EngineError) as refused:
            call()
        assert refused.value.code == "unknown_manager"
    assert engine.conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == before
    assert engine.window_queues("4") == ("B",)


def test_a_notice_shows_on_the_board_and_displays_until_it_expires(engine, clock):
    notice = engine.post_notice(MANAGER, "  系统升级，\n社保业务请到4号窗口  ", 30)
    assert notice["text"] == "系统升级， 社保业务请到4号窗口"
    shown = {"text": notice["text"], "until": "2026-11-23T10:00:00+08:00"}
    assert engine.board_view()["notice"] == shown
    assert engine.window_view("3")["notice"] == shown
    assert engine.overview()["notice"]["manager"] == MANAGER
    clock.advance(minutes=31)
    assert engine.board_view()["notice"] is None and engine.window_view("3")["notice"] is None
    engine.post_notice(MANAGER, "今天下午停电", 60)
    assert engine.post_notice(MANAGER, "") is None  # an empty text takes it down
    assert engine.notice() is None
    for text, minutes in (("x" * 81, 60), ("ok", 0), ("ok", 481), ("ok", True)):
        with pytest.raises(EngineError):
            engine.post_notice(MANAGER, text, minutes)


def test_manager_login_locks_after_wrong_passwords(engine, clock):
    assert engine.manager_login("manager", DEMO_MANAGER_PASSWORD) == {
        "manager": {"id": MANAGER, "name": "刘主任"}
    }
    for left in (4, 3, 2, 1):
        with pytest.raises(EngineError) as refused:
            engine.manager_login("manager", "wrong-password")
        assert (refused.value.code, refused.value.data["attempts_left"]) == ("login_failed", left)
        assert "wrong-password" not in str(refused.value.to_dict())
    with pytest.raises(EngineError) as refused:
        engine.manager_login("manager", "wrong-again")
    assert refused.value.code == "manager_locked"
    with pytest.raises(EngineError) as refused:  # even the right password, while locked
        engine.manager_login("manager", DEMO_MANAGER_PASSWORD)
    assert refused.value.code == "manager_locked" and refused.value.data["retry_after_s"] > 0
    alarm = events(engine, "alarm")[-1]
    assert (alarm["code"], alarm["state"], alarm["manager"]) == (
        "manager_locked",
        "raised",
        MANAGER,
    )
    clock.advance(minutes=16)
    assert engine.manager_login("manager", DEMO_MANAGER_PASSWORD)["manager"]["id"] == MANAGER
    assert events(engine, "alarm")[-1]["state"] == "cleared"
    with pytest.raises(EngineError) as refused:
        engine.manager_login("nobody", DEMO_MANAGER_PASSWORD)
    assert refused.value.code == "login_failed"


def test_an_unknown_account_is_answered_as_a_wrong_password_is(engine, clock):
    """Guessing account names learns nothing: the same countdown, then the same lock."""

    def answers(account: str) -> list[tuple[str, object]]:
        out = []
        for _ in range(6):
            with pytest.raises(EngineError) as refused:
                engine.manager_login(account, "wrong-password")
            out.append((refused.value.code, refused.value.data.get("attempts_left")))
        return out

    known, unknown = answers("manager"), answers("no-such-manager")
    assert known == unknown
    assert unknown[-2:] == [("manager_locked", None), ("manager_locked", None)]
    clock.advance(minutes=16)  # the lock ends for both alike
    with pytest.raises(EngineError) as refused:
        engine.manager_login("no-such-manager", "wrong-password")
    assert (refused.value.code, refused.value.data["attempts_left"]) == ("login_failed", 4)


# -- ticket_progress milestones ---------------------------------------------------------------


def test_ticket_progress_milestones_go_upstream_once(engine):
    for _ in range(9):
        engine.issue(queue_id="B")
    engine.login("4", "2001", DEMO_PIN)
    for _ in range(9):
        engine.call_next("4")
        engine.start("4")
        engine.finish("4")
    # B009 was issued with 8 ahead: within 5 after three calls, within 2 after six
    assert milestones(engine, "B009") == [
        ("issued", 8, None),
        ("ahead", 5, None),
        ("ahead", 2, None),
        ("called", None, "4"),
        ("finished", None, "4"),
    ]
    # B002 was issued with 1 ahead: already within both thresholds, no "ahead" event
    assert [m[0] for m in milestones(engine, "B002")] == ["issued", "called", "finished"]
    for e in events(engine, "ticket_progress"):
        assert contract.schema_errors("ticketProgressEvent", e) is None, e
        assert not {"masked_name", "person_key", "ticket_id"} & set(e)


def test_a_no_show_is_a_milestone(engine, clock):
    engine.issue(queue_id="B")
    engine.login("4", "2001", DEMO_PIN)
    engine.call_next("4")
    engine.no_show("4")
    assert [m[0] for m in milestones(engine, "B001")] == ["issued", "called", "no_show"]


def test_a_moved_ticket_is_reminded_in_its_new_queue(engine):
    for _ in range(8):
        engine.issue(queue_id="A")
    late = engine.issue(queue_id="B")
    assert milestones(engine, late.ticket.code) == [("issued", 0, None)]
    engine.move_ticket(MANAGER, "A008", "B")  # issued before B001: now first in B
    assert milestones(engine, "A008") == [("issued", 7, None), ("ahead", 0, None)]

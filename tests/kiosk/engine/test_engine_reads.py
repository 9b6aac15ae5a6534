"""What the engine reads once and keeps while nothing changed (the business date, the
manager's window changes, the notice: #16) is never kept past a change, a rollback
included."""

from __future__ import annotations

from datetime import timedelta

import pytest
from clerks import DEMO_PIN

from hall.core.db import transaction
from kiosk.engine.engine import QueueEngine

MANAGER = "mgr-1"


def test_a_managers_change_that_failed_leaves_the_window_serving_its_queues(engine, monkeypatch):
    b = engine.issue(queue_id="B")
    engine.issue(queue_id="C")
    engine.login("4", "2001", DEMO_PIN)
    assert engine.window_queues("4") == ("B",)  # read (and kept) before the change

    def fails(*_args, **_kwargs):
        assert engine.window_queues("4") == ("C",)  # written, not yet committed
        raise RuntimeError("the manager's event could not be stored")

    monkeypatch.setattr(engine, "_manager_action", fails)
    with pytest.raises(RuntimeError):
        engine.set_window_queues(MANAGER, "4", ["C"])
    assert engine.window_queues("4") == ("B",)
    assert engine.window_view("4")["queues"] == ["B"]
    assert engine.call_next("4").ticket.code == b.ticket.code


def test_a_part_of_a_group_undone_is_not_seen_by_the_next_part(engine):
    assert not engine.closed_by_manager("4")
    with transaction(engine.conn):  # a group commit: each command in its own savepoint
        with pytest.raises(RuntimeError), transaction(engine.conn):
            engine._set_window_day("4", closed=1)
            assert engine.closed_by_manager("4")
            raise RuntimeError("refused")
        assert not engine.closed_by_manager("4")
    assert not engine.closed_by_manager("4")


def test_what_the_engine_wrote_is_seen_at_once(engine: QueueEngine, clock):
    engine.post_notice(MANAGER, "今日系统升级，14:00后恢复", 30)
    assert engine.window_view("1")["notice"]["text"] == "今日系统升级，14:00后恢复"
    engine.set_window_queues(MANAGER, "4", ["C"])
    assert engine.window_view("4")["queues"] == ["C"]
    engine.conn.execute("DELETE FROM meta WHERE key='notice'")  # by hand, same connection
    assert engine.window_view("1")["notice"] is None
    clock.advance(timedelta(days=1).total_seconds())  # a new day: no write, yet a new date
    assert engine.business_date() == (clock.now().date()).isoformat()
    assert engine.window_view("4")["queues"] == ["B"]


def test_a_caller_changing_what_it_was_given_changes_nothing_kept(engine):
    engine.post_notice(MANAGER, "午间不停歇", 30)
    engine.window_view("1")["notice"]["text"] = "changed"
    engine.set_window_queues(MANAGER, "4", ["C"])
    engine._day_windows()["4"] = None
    assert engine.window_view("1")["notice"]["text"] == "午间不停歇"
    assert engine.window_queues("4") == ("C",)


def _waiting(engine: QueueEngine, window: str) -> tuple[int, list[str]]:
    view = engine.window_view(window)
    return view["waiting"], view["waiting_codes"]


def test_a_window_counts_its_queues_and_the_citizens_sent_to_it(engine):
    # windows 4 and 5 serve B; window 6 serves C
    b = [engine.issue(queue_id="B").ticket.code for _ in range(3)]
    green = engine.issue(queue_id="B", priority_reason="elderly").ticket.code
    c = engine.issue(queue_id="C").ticket.code
    assert _waiting(engine, "4") == (4, [green, *b])
    assert _waiting(engine, "6") == (1, [c])
    engine.login("6", "3001", DEMO_PIN)
    assert engine.call_next("6").ticket.code == c
    engine.start("6")
    engine.transfer("6", to_window="4")  # 首问负责: C's citizen goes to window 4 only
    count, codes = _waiting(engine, "4")
    assert count == 5 and codes[0] == green and c in codes
    assert _waiting(engine, "5") == (4, [green, *b])  # B's, not the one sent to 4
    assert _waiting(engine, "6") == (0, [])
    engine.login("4", "2001", DEMO_PIN)
    for _ in range(5):
        engine.call_next("4")
        engine.start("4")
    assert _waiting(engine, "4") == (0, []) and _waiting(engine, "5") == (0, [])
    assert engine.board_view()["queues"][1]["waiting"] == 0

"""What the engine reads once and keeps while nothing changed (the business date, the
manager's window changes, the notice: #16) is never kept past a change, a rollback
included."""

from __future__ import annotations

from datetime import timedelta

import pytest
from clerks import DEMO_PIN

from hall.core.db import reading, transaction
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


def test_the_boards_wait_follows_each_service_here_and_in_another_process(tmp_path):
    from clerks import TEST_PIN
    from engine_halls import MONDAY_0930, small_hall

    from hall.core.clock import FakeClock
    from kiosk.engine.config import parse_hall_config

    clock = FakeClock(MONDAY_0930)
    config = parse_hall_config(small_hall())  # A: 5 min a service until three are timed
    engine = QueueEngine(config, tmp_path / "e.db", clock=clock)
    other = QueueEngine(config, tmp_path / "e.db", clock=clock)  # a second process
    try:

        def board_wait() -> int:
            return next(q for q in engine.board_view()["queues"] if q["id"] == "A")["est_wait_min"]

        engine.login("1", "1", TEST_PIN)
        for _ in range(8):
            engine.issue(queue_id="A")
        configured = board_wait()
        for minutes in (2, 2, 2):  # three served in 2 minutes each: the average now
            engine.call_next("1")
            engine.start("1")
            clock.advance(minutes=minutes)
            engine.finish("1")
        assert board_wait() == 5 * 2 < configured  # 5 waiting x 2 min, one window
        other.call_next("1")
        other.start("1")
        clock.advance(minutes=14)
        other.finish("1")  # 2, 2, 2, 14: 5 min on average
        assert board_wait() == 4 * 5
    finally:
        other.close()
        engine.close()


def test_another_processs_commit_is_seen_at_once(make_engine):
    engine = make_engine()
    other = make_engine()  # the same database: an engine started twice by mistake
    assert engine.window_view("4")["waiting"] == 0 and engine.window_queues("4") == ("B",)
    code = other.issue(queue_id="B").ticket.code
    assert _waiting(engine, "4") == (1, [code])
    other.set_window_queues(MANAGER, "4", ["C"])
    assert engine.window_queues("4") == ("C",) and _waiting(engine, "4") == (0, [])


def test_a_read_pass_sees_one_moment_and_the_next_sees_anothers_commit(make_engine):
    """The states a call publishes are read in one snapshot (``reading``), asking SQLite
    once whether another connection wrote: a commit made meanwhile by an engine started
    twice by mistake is not half-seen in that pass, and is seen by the next one."""
    engine = make_engine()
    other = make_engine()
    first = other.issue(queue_id="B").ticket.code
    with reading(engine.conn):
        assert _waiting(engine, "4") == (1, [first])
        second = other.issue(queue_id="B").ticket.code  # committed during the pass
        assert _waiting(engine, "4") == (1, [first])  # the pass's moment, kept
        assert _waiting(engine, "5") == (1, [first])  # window 5 (also B) agrees
    assert _waiting(engine, "4") == (2, [first, second])
    assert _waiting(engine, "5") == (2, [first, second])
    with transaction(engine.conn):  # a write transaction: nobody else commits in it
        assert _waiting(engine, "4") == (2, [first, second])
    third = other.issue(queue_id="B").ticket.code
    assert _waiting(engine, "4") == (3, [first, second, third])

"""The number of people ahead printed on a ticket and shown on the citizen's page.

``QueueEngine._ahead`` counts on the waiting index alone (#16); these tests hold it
to the plain definition, one count over the waiting tickets, after random sequences
of issuing (normal and 绿色通道), calling, finishing and no-shows.
"""

from __future__ import annotations

import contextlib
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from clerks import TEST_PIN
from engine_halls import MONDAY_0930, small_hall
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hall.core.clock import FakeClock
from kiosk.engine.config import parse_hall_config
from kiosk.engine.engine import QueueEngine, Ticket
from kiosk.engine.errors import EngineError


def plain_ahead(engine: QueueEngine, t: Ticket) -> int:
    """The definition: waiting in the same queue and day, before ``t`` in calling order
    (a priority ticket is before every normal one; among equals, the sort key)."""
    row = engine.conn.execute("SELECT sort_key FROM tickets WHERE id=?", (t.id,)).fetchone()
    rows = engine.conn.execute(
        "SELECT id, priority, sort_key FROM tickets WHERE status='waiting' "
        "AND business_date=? AND queue_id=?",
        (t.business_date, t.queue_id),
    ).fetchall()
    mine_priority = t.priority != "normal"
    count = 0
    for r in rows:
        if r["id"] == t.id:
            continue
        theirs_priority = r["priority"] != "normal"
        jumps = theirs_priority and not mine_priority
        earlier = theirs_priority == mine_priority and r["sort_key"] < row["sort_key"]
        count += jumps or earlier
    return count


STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("issue"), st.sampled_from(["A", "B"]), st.booleans()),
        st.tuples(st.just("call"), st.sampled_from(["1", "2", "3"]), st.just(False)),
        st.tuples(st.just("finish"), st.sampled_from(["1", "2", "3"]), st.just(False)),
        st.tuples(st.just("no_show"), st.sampled_from(["1", "2", "3"]), st.just(False)),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=STEPS)
def test_ahead_is_the_count_of_tickets_before_after_any_sequence(steps):
    with tempfile.TemporaryDirectory() as tmp:
        engine = QueueEngine(
            parse_hall_config(small_hall()), Path(tmp) / "e.db", clock=FakeClock(MONDAY_0930)
        )
        try:
            for w in ("1", "2", "3"):
                engine.login(w, w, TEST_PIN)
            for kind, target, green in steps:
                if kind == "issue":
                    issued = engine.issue(
                        queue_id=target, priority_reason="military" if green else None
                    )
                    assert issued.ahead == plain_ahead(engine, issued.ticket)
                    continue
                try:
                    if kind == "call":
                        engine.call_next(target)
                    elif kind == "finish":
                        engine.start(target)
                        engine.finish(target)
                    else:
                        engine.no_show(target)
                except EngineError:
                    pass  # nothing waiting, or nothing called: the sequence goes on
                for r in engine.conn.execute("SELECT id FROM tickets WHERE status='waiting'"):
                    t = engine._ticket(r["id"])
                    assert engine._ahead(t) == plain_ahead(engine, t), t.code
        finally:
            engine.close()


def test_the_ahead_on_a_ticket_is_how_many_are_called_before_it(make_engine):
    """What a citizen notices: 前面还有 N 人, then N numbers are called before theirs."""
    engine = make_engine(small_hall())
    engine.login("3", "3", TEST_PIN)  # window 3 serves queue B only
    for n in range(6):
        engine.issue(queue_id="B", priority_reason="military" if n == 4 else None)
    mine = engine.issue(queue_id="B")
    engine.issue(queue_id="B", priority_reason="military")  # 绿色通道 after mine: before it
    called_before = 0
    while True:
        result = engine.call_next("3")
        assert result.ticket is not None
        if result.ticket.id == mine.ticket.id:
            break
        called_before += 1
        engine.start("3")  # served: the next call finishes it
    assert mine.ahead == 6  # the five normal and the one 绿色通道 ticket issued before
    assert called_before == mine.ahead + 1  # and the 绿色通道 ticket that came after


# -- a new ticket's people ahead from the waiting counts (#16) ---------------------------------

PRIORITIES = ["normal", "green", "appointment"]
MANAGERS = [{"id": "m1", "name": "主任", "account": "m1"}]  # moves tickets, never logs in
EVERY_STEP = st.lists(
    st.one_of(
        st.tuples(st.just("issue"), st.sampled_from(["A", "B"]), st.sampled_from(PRIORITIES)),
        st.tuples(
            st.sampled_from(["call", "finish", "no_show", "recall", "logout", "login"]),
            st.sampled_from(["1", "2", "3"]),
            st.just(""),
        ),
        st.tuples(st.just("transfer"), st.sampled_from(["1", "2", "3"]), st.sampled_from("AB123")),
        st.tuples(st.just("requeue"), st.integers(1, 6), st.sampled_from(["A", "B"])),
        st.tuples(st.just("move"), st.integers(1, 6), st.sampled_from(["A", "B"])),
        st.tuples(st.sampled_from(["restart", "next_day", "delete"]), st.just(""), st.just("")),
    ),
    min_size=1,
    max_size=50,
)


def counted(engine: QueueEngine) -> dict[tuple[str, str, str], int]:
    """The waiting tickets counted one by one, by (day, queue, priority)."""
    rows = engine.conn.execute(
        "SELECT business_date, queue_id, priority, count(*) FROM tickets "
        "WHERE status='waiting' GROUP BY business_date, queue_id, priority"
    )
    return {(r[0], r[1], r[2]): r[3] for r in rows}


def kept(engine: QueueEngine) -> dict[tuple[str, str, str], int]:
    """What the triggers kept (a group whose last ticket left is a zero)."""
    rows = engine.conn.execute("SELECT business_date, queue_id, priority, n FROM waiting_counts")
    return {(r[0], r[1], r[2]): r[3] for r in rows if r[3] != 0}


def _step(engine: QueueEngine, clock: FakeClock, kind: str, a: Any, b: Any) -> None:
    day = engine.business_date()
    if kind == "call":
        engine.call_next(a)
    elif kind == "finish":
        engine.start(a)
        engine.finish(a)
    elif kind == "no_show":
        engine.no_show(a)
    elif kind == "recall":
        for _ in range(4):  # past the unanswered calls allowed: a no-show
            engine.recall(a)
    elif kind == "logout":
        engine.logout(a)
    elif kind == "login":
        engine.login(a, a, TEST_PIN)
    elif kind == "transfer":
        to = {"to_queue": b} if b in "AB" else {"to_window": b}
        engine.transfer(a, **to)
    elif kind in ("requeue", "move"):
        rows = engine.conn.execute(
            "SELECT code FROM tickets WHERE business_date=? ORDER BY sort_key", (day,)
        ).fetchall()
        if rows:
            code = rows[a % len(rows)][0]
            if kind == "requeue":
                engine.requeue(code)
            else:
                engine.move_ticket("m1", code, b)
    elif kind == "delete":  # e.g. a technician's clean-up, outside the engine's commands
        engine.conn.execute(
            "DELETE FROM tickets WHERE id IN (SELECT id FROM tickets ORDER BY sort_key LIMIT 1)"
        )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=EVERY_STEP)
def test_a_new_tickets_ahead_and_wait_are_the_full_counts_after_any_sequence(steps):
    """Whatever happened before (calls, no-shows, re-queues, transfers, moves, logins, a
    restart, a new day, a row deleted by hand), the kept waiting counts are the counts of
    the waiting tickets, a new ticket's ahead is the plain count and its wait the estimate
    made from scratch."""
    with tempfile.TemporaryDirectory() as tmp:
        config = parse_hall_config(small_hall(managers=MANAGERS))
        clock = FakeClock(MONDAY_0930)
        engine = QueueEngine(config, Path(tmp) / "e.db", clock=clock)
        try:
            engine.login("1", "1", TEST_PIN)
            for kind, a, b in steps:
                if kind == "issue":
                    issued = engine.issue(
                        queue_id=a,
                        priority_reason="disabled" if b == "green" else None,
                        appointment_start=clock.now() if b == "appointment" else None,
                    )
                    assert issued.ahead == plain_ahead(engine, issued.ticket)
                    queue = engine.config.queue(a)
                    assert issued.est_wait_min == engine._estimate_minutes(queue, issued.ahead)
                elif kind == "restart":
                    engine.close()
                    engine = QueueEngine(config, Path(tmp) / "e.db", clock=clock)
                elif kind == "next_day":  # the next working day, this time
                    clock.jump(timedelta(days=3 if clock.now().isoweekday() == 5 else 1))
                else:  # refused (nothing to call, not a no-show, ...): the sequence goes on
                    with contextlib.suppress(EngineError):
                        _step(engine, clock, kind, a, b)
                clock.advance(minutes=1)
                assert kept(engine) == counted(engine)
        finally:
            engine.close()


def test_a_database_of_the_release_before_gets_its_waiting_counts(tmp_path):
    """Schema 6, tickets already waiting: migrating counts them, the next ticket's ahead
    counts them too."""
    import sqlite_utils

    from hall.core import db as core_db
    from kiosk.engine import store

    path = tmp_path / "e.db"
    old = core_db.connect(path)
    core_db.migrate(old, store.MIGRATIONS[:6], sqlite_utils.Database(old))
    old.close()
    engine = QueueEngine(parse_hall_config(small_hall()), path, clock=FakeClock(MONDAY_0930))
    try:
        for n in range(5):
            engine.issue(queue_id="A", priority_reason="elderly" if n == 2 else None)
        engine.conn.execute("DROP TRIGGER waiting_counts_issued")  # as schema 6 had none
        engine.conn.execute("DROP TRIGGER waiting_counts_left")
        engine.conn.execute("DROP TRIGGER waiting_counts_joined")
        engine.conn.execute("DROP TRIGGER waiting_counts_deleted")
        engine.conn.execute("DROP TABLE waiting_counts")
        engine.conn.execute("PRAGMA user_version=6")
    finally:
        engine.close()
    engine = QueueEngine(parse_hall_config(small_hall()), path, clock=FakeClock(MONDAY_0930))
    try:
        assert (
            kept(engine)
            == counted(engine)
            == {
                ("2026-11-23", "A", "normal"): 4,
                ("2026-11-23", "A", "green"): 1,
            }
        )
        assert engine.issue(queue_id="A").ahead == 5
    finally:
        engine.close()


def test_the_printed_wait_follows_the_windows_and_service_times_at_once(tmp_path):
    """An issue reads the estimate's inputs once and keeps them while only tickets are
    issued (#16); the next ticket's wait still changes with a login, a logout, a service
    time, a manager closing a window and a change another engine process committed."""
    clock = FakeClock(MONDAY_0930)
    config = parse_hall_config(small_hall(managers=MANAGERS))
    engine = QueueEngine(config, tmp_path / "e.db", clock=clock)
    other = QueueEngine(config, tmp_path / "e.db", clock=clock)  # a second process, by mistake
    try:
        engine.login("1", "1", TEST_PIN)
        for _ in range(3):
            engine.issue(queue_id="A")
        assert engine.issue(queue_id="A").est_wait_min == 24  # 3 ahead x 8 min, one window
        engine.login("2", "2", TEST_PIN)
        assert engine.issue(queue_id="A").est_wait_min == 16  # 4 x 8 over two windows
        for window in ("1", "2", "1"):  # three served in 2 minutes each: the average now
            engine.call_next(window)
            engine.start(window)
            clock.advance(minutes=2)
            engine.finish(window)
        assert engine.issue(queue_id="A").est_wait_min == 2  # 2 ahead x 2 min / 2 windows
        engine.close_window("m1", "2")
        assert engine.issue(queue_id="A").est_wait_min == 6  # 3 x 2 min, window 1 alone
        other.logout("1")  # no window open for A: all that serve it today share the wait
        assert engine.issue(queue_id="A").est_wait_min == 4  # ceil(4 x 2 / 2)
    finally:
        other.close()
        engine.close()

"""The number of people ahead printed on a ticket and shown on the citizen's page.

``QueueEngine._ahead`` counts on the waiting index alone (#16); these tests hold it
to the plain definition, one count over the waiting tickets, after random sequences
of issuing (normal and 绿色通道), calling, finishing and no-shows.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

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

"""The evaluator's ratings store: durable, one rating per ticket, drafts survive a crash."""

from __future__ import annotations

import uuid

import pytest

from counter.ratings_store import AlreadyRated, Rating, RatingsStore
from sync import contract, topics


def rating(ticket: str, level: int | None = 2, **kw) -> Rating:
    return Rating(
        str(uuid.uuid4()),
        ticket,
        "1",
        level,
        "2026-11-23T09:31:00+08:00",
        code="A001",
        clerk_id="1001",
        **kw,
    )


def test_the_store_is_wal_with_full_sync(tmp_path):
    store = RatingsStore(tmp_path / "ev.db")
    conn = store._conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    store.close()


def test_one_rating_per_ticket_and_pending_in_order(tmp_path):
    store = RatingsStore(tmp_path / "ev.db")
    first, second = rating("t1", 1), rating("t2", None)
    store.record(first)
    store.record(second)
    with pytest.raises(AlreadyRated):
        store.record(rating("t1", 5))
    assert [r.rating_id for r in store.pending()] == [first.rating_id, second.rating_id]
    store.mark_acked(first.rating_id, "2026-11-23T09:32:00+08:00")
    store.mark_failed(second.rating_id, "link_down: broker gone", permanent=False)
    assert [r.rating_id for r in store.pending()] == [second.rating_id]
    assert store.get(second.rating_id).attempts == 1
    assert store.counts() == {"acked": 1, "pending": 1}


def test_a_draft_left_by_a_crash_is_sent_after_restart(tmp_path):
    store = RatingsStore(tmp_path / "ev.db")
    draft = rating("t1", 5)
    store.record(draft, draft=True)
    assert store.pending() == []  # the reasons page is still open
    del store  # a crash: no close, no cleanup
    reopened = RatingsStore(tmp_path / "ev.db")
    (pending,) = reopened.pending()
    assert (pending.rating_id, pending.level, pending.reasons) == (draft.rating_id, 5, ())


def test_completing_a_draft_adds_reasons_and_contact(tmp_path):
    store = RatingsStore(tmp_path / "ev.db")
    draft = rating("t1", 4)
    store.record(draft, draft=True)
    store.complete(draft.rating_id, reasons=["等候时间太长"], contact="13812345678")
    (r,) = store.pending()
    assert r.reasons == ("等候时间太长",) and r.contact == "13812345678"


def test_the_rate_command_fits_the_contract(tmp_path):
    cmd = rating("t1", None, reasons=("其他",)).command()
    contract.validate(topics.command("demo-hall", "evaluator-1"), cmd)
    assert cmd["rating"]["level"] is None


def test_summary_counts_satisfied_among_rated(tmp_path):
    store = RatingsStore(tmp_path / "ev.db")
    for i, level in enumerate((1, 2, 4, None)):
        store.record(rating(f"t{i}", level))
    assert store.summary("1001", "2026-11-23") == {
        "count": 4,
        "rated": 3,
        "satisfied": 2,
        "satisfied_pct": 67,
    }
    assert store.summary("1001", "2026-11-24")["count"] == 0


def test_a_case_is_rated_once_and_a_ticket_with_two_cases_gets_two(tmp_path):
    store = RatingsStore(tmp_path / "ev.db")
    store.record(rating("t1", 1, case_id="c1", channel="tablet", comment="很好"))
    store.record(rating("t1", 3, case_id="c2", channel="tablet"))
    with pytest.raises(AlreadyRated, match="case c1"):
        store.record(rating("t1", 5, case_id="c1"))
    assert store.has_case("c1") and store.has_case("c2") and not store.has_case("c3")
    assert store.has_ticket("t1")
    assert [(r.case_id, r.channel, r.comment) for r in store.pending()] == [
        ("c1", "tablet", "很好"),
        ("c2", "tablet", ""),
    ]
    store.close()


def test_a_schema_1_store_is_migrated_keeping_its_ratings(tmp_path):
    import sqlite3

    from counter.ratings_store import SCHEMA

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA)
    conn.execute(
        "INSERT INTO ratings (rating_id, ticket_id, window_id, level, rated_at, state) "
        "VALUES ('r1', 't1', '1', 4, '2026-11-23T09:00:00', 'pending'), "
        "('r2', 't2', '1', 2, '2026-11-23T09:01:00', 'acked')"
    )
    conn.execute("PRAGMA user_version=1")
    conn.commit()
    conn.close()
    store = RatingsStore(path)
    assert store._conn.execute("PRAGMA user_version").fetchone()[0] == 2
    (r1,) = store.pending()
    assert (r1.rating_id, r1.level, r1.case_id, r1.channel, r1.comment) == (
        "r1",
        4,
        None,
        "evaluator",
        "",
    )
    assert store.counts() == {"pending": 1, "acked": 1}
    with pytest.raises(AlreadyRated):  # a ticket without cases: still once
        store.record(rating("t1", 1))
    store.record(rating("t1", 1, case_id="c1"))  # its case, after the engine's update
    store.close()


def test_the_rate_command_of_a_case_fits_the_contract(tmp_path):
    from sync.contract import _document

    props = _document()["components"]["schemas"]["command"]["properties"]["rating"]["properties"]
    if "case_id" not in props:
        pytest.skip("the contract's rating has no case_id yet (the engine's part of #14)")
    cmd = rating("t1", 2, case_id="c1", channel="tablet", comment="很好").command()
    contract.validate(topics.command("demo-hall", "evaluator-1"), cmd)
    assert (cmd["rating"]["case_id"], cmd["rating"]["channel"]) == ("c1", "tablet")

"""The outbox's bounds: health is shed oldest first, business events are never dropped."""

from __future__ import annotations

import sqlite3
from datetime import datetime

import pytest

from sync import health, outbox
from sync.outbox import RetentionPolicy

NOW = datetime(2026, 11, 23, 9, 30)


@pytest.fixture
def conn():
    c = sqlite3.connect(":memory:", isolation_level=None)
    outbox.ensure_schema(c)
    yield c
    c.close()


def fill(conn, kinds_and_ts):
    for kind, ts in kinds_and_ts:
        outbox.put(conn, kind, ts, {"pad": "x" * 50})


def rows(conn):
    return [(r[0], r[1]) for r in conn.execute("SELECT seq, kind FROM outbox ORDER BY seq")]


def test_existing_api_keeps_working(conn):
    eid = outbox.put(conn, "ticket_issued", "2026-11-23T09:30:00", {"code": "A001"})
    [event] = outbox.peek(conn, 10)
    assert event.id == eid and event.payload == {"code": "A001"} and outbox.count(conn) == 1
    assert event.envelope("engine", "demo-hall")["seq"] == 1
    with pytest.raises(ValueError, match="unknown outbox event kind"):
        outbox.put(conn, "nonsense", "", {})


def test_stream_id_is_made_once_per_database(conn):
    first = outbox.stream_id(conn)
    assert outbox.stream_id(conn) == first and len(first) == 36


def test_when_full_the_oldest_health_records_go_first_and_business_stays(conn):
    ts = "2026-11-23T09:00:00"
    fill(
        conn,
        [
            ("health", ts),
            ("ticket_issued", ts),
            ("health", ts),
            ("evaluation", ts),
            ("health", ts),
            ("ticket_called", ts),
        ],
    )
    r = outbox.enforce_retention(conn, RetentionPolicy(max_events=4), now=NOW)
    assert r.dropped_health == 2 and not r.full and r.alarm
    assert rows(conn) == [
        (2, "ticket_issued"),
        (4, "evaluation"),
        (5, "health"),
        (6, "ticket_called"),
    ]


def test_business_events_are_never_dropped_even_over_the_bound(conn):
    ts = "2026-11-23T09:00:00"
    fill(conn, [("ticket_issued", ts)] * 5 + [("health", ts)])
    r = outbox.enforce_retention(conn, RetentionPolicy(max_events=3), now=NOW)
    assert r.full and r.alarm and r.dropped_health == 1
    assert [k for _, k in rows(conn)] == ["ticket_issued"] * 5


def test_the_byte_bound_counts_payloads(conn):
    ts = "2026-11-23T09:00:00"
    fill(conn, [("health", ts)] * 10 + [("ticket_issued", ts)])
    size = outbox.backlog(conn).bytes // 11
    r = outbox.enforce_retention(conn, RetentionPolicy(max_bytes=size * 3), now=NOW)
    assert r.dropped_health == 8
    assert outbox.backlog(conn).bytes <= size * 3


def test_old_health_records_age_out_and_old_business_events_raise_an_alarm(conn):
    fill(
        conn,
        [
            ("health", "2026-10-01T09:00:00"),
            ("ticket_issued", "2026-10-01T09:00:00"),
            ("health", "2026-11-23T09:00:00"),
        ],
    )
    r = outbox.enforce_retention(conn, RetentionPolicy(max_age_s=7 * 86400), now=NOW)
    assert r.dropped_health == 1 and r.stale_business == 1 and r.alarm and not r.full
    assert [k for _, k in rows(conn)] == ["ticket_issued", "health"]


def test_events_the_broker_has_may_go_when_kept_only_for_the_center(conn):
    ts = "2026-11-23T09:00:00"
    fill(conn, [("ticket_issued", ts)] * 6)
    # ack=center keeps delivered events until the center confirms; under pressure
    # the broker's acknowledgement is enough, undelivered ones stay.
    r = outbox.enforce_retention(conn, RetentionPolicy(max_events=3), now=NOW, delivered_through=4)
    assert r.dropped_delivered == 3 and not r.full
    assert [s for s, _ in rows(conn)] == [4, 5, 6]


def test_backlog_describes_what_waits(conn):
    fill(conn, [("health", "2026-11-23T08:00:00"), ("ticket_issued", "2026-11-23T09:00:00")])
    b = outbox.backlog(conn)
    assert (b.events, b.business, b.health, b.first_seq, b.last_seq) == (2, 1, 1, 1, 2)
    assert b.oldest_ts == "2026-11-23T08:00:00"


def test_roles_report_component_status_for_the_heartbeat(conn, tmp_path):
    health.set_status(conn, "printer", "paper_out", "DLE EOT 4: paper end")
    health.set_status(conn, "reader", "present")
    health.record_error(conn, "card 110101199003077777 unreadable")
    snap = health.snapshot(
        conn,
        hall="demo-hall",
        device="kiosk-1",
        role="kiosk",
        db_path=tmp_path / "x.db",
        started_monotonic=0.0,
    )
    assert snap["components"]["printer"]["status"] == "paper_out"
    assert snap["components"]["reader"]["status"] == "present"
    assert "110101199003077777" not in snap["last_error"]["message"]  # masked
    assert snap["versions"]["hall-edge"] and snap["disk"]["free_bytes"] > 0
    from sync import contract

    contract.validate("hall/demo-hall/dev/kiosk-1/sync/health", snap)


def test_age_works_with_the_engines_aware_beijing_timestamps(conn):
    from zoneinfo import ZoneInfo

    fill(
        conn,
        [
            ("health", "2026-11-16T07:00:00+08:00"),  # 7 days + 2.5 h old
            ("health", "2026-11-16T10:00:00+08:00"),
        ],
    )  # 7 days - 0.5 h old
    now = datetime(2026, 11, 23, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    r = outbox.enforce_retention(conn, RetentionPolicy(max_age_s=7 * 86400), now=now)
    assert r.dropped_health == 1 and [s for s, _ in rows(conn)] == [2]

"""Migration 6 (#16): the indexes an issued ticket need not be written to are partial.

A database of the release before (schema 5, full indexes) opens, migrates, and the
queries that used the old indexes use the new ones and answer the same.  A new
database's pages are small; one made before keeps its own.
"""

from __future__ import annotations

import sqlite3

import sqlite_utils
from clerks import TEST_PIN
from engine_halls import small_hall

from hall.core import db as core_db
from kiosk.engine import store
from kiosk.engine.errors import EngineError


def _indexes(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}


def _plan(conn: sqlite3.Connection, sql: str, args: tuple[object, ...]) -> str:
    return " ".join(str(r[3]) for r in conn.execute("EXPLAIN QUERY PLAN " + sql, args))


def test_a_schema_5_database_migrates_to_the_partial_indexes(tmp_path):
    path = tmp_path / "engine.db"
    old = core_db.connect(path)
    core_db.migrate(old, store.MIGRATIONS[:5], sqlite_utils.Database(old))
    assert {"tickets_target", "tickets_person", "tickets_done"} <= _indexes(old)
    old.close()

    conn = store.open_db(path)
    try:
        assert core_db.user_version(conn) == len(store.MIGRATIONS) == 7
        names = _indexes(conn)
        assert not {"tickets_target", "tickets_person", "tickets_done"} & names
        assert {"tickets_to_window", "tickets_of_person", "tickets_queue_done"} <= names
        assert "tickets_to_window" in _plan(
            conn,
            "SELECT * FROM tickets WHERE status='waiting' AND target_window=? "
            "AND business_date=? ORDER BY sort_key LIMIT 1",
            ("1", "2026-11-23"),
        )
        assert "tickets_of_person" in _plan(
            conn,
            "SELECT queue_id, status FROM tickets WHERE business_date=? AND person_key=?",
            ("2026-11-23", "k"),
        )
        assert "tickets_queue_done" in _plan(
            conn,
            "SELECT started_at, finished_at FROM tickets WHERE queue_id=? AND status='done' "
            "AND started_at IS NOT NULL ORDER BY finished_at DESC LIMIT 20",
            ("A",),
        )
    finally:
        conn.close()


def test_the_rules_those_indexes_serve_still_hold(make_engine):
    """A ticket sent to a window is called there first; one person, one active ticket."""
    engine = make_engine(small_hall())
    engine.login("1", "1", TEST_PIN)
    engine.issue(queue_id="A")
    engine.issue(queue_id="A", person_key="p-1")
    try:
        engine.issue(queue_id="A", person_key="p-1")
    except EngineError as exc:
        assert exc.code == "person_active"
    else:
        raise AssertionError("a second active ticket for the same person was issued")
    engine.login("2", "2", TEST_PIN)
    first = engine.call_next("2").ticket
    assert first is not None
    engine.transfer("2", to_window="1")
    called = engine.call_next("1").ticket
    assert called is not None and called.code == first.code  # the transferred one first


def test_a_new_database_has_small_pages_and_one_made_before_keeps_its_own(tmp_path, make_engine):
    """#16: a new engine database is made with 1 KiB pages (an issue writes a few bytes in
    each of some 15 pages); a database of 4 KiB pages opens as it is, and issues."""
    new = store.open_db(tmp_path / "new.db")
    try:
        assert new.execute("PRAGMA page_size").fetchone()[0] == store.PAGE_SIZE == 1024
        assert new.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        new.close()
    old = core_db.connect(tmp_path / "old.db")  # what the release before made: 4 KiB pages
    core_db.migrate(old, store.MIGRATIONS[:6], sqlite_utils.Database(old))
    old.close()
    engine = make_engine(small_hall(), db="old.db")
    assert engine.conn.execute("PRAGMA page_size").fetchone()[0] == 4096
    assert core_db.user_version(engine.conn) == len(store.MIGRATIONS)
    assert [engine.issue(queue_id="A").ahead for _ in range(3)] == [0, 1, 2]

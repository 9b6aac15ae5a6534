"""hall.core.db: WAL, transactions that roll back, migrations by user_version."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import pytest

from hall.core import db


def test_connect_makes_the_folder_and_turns_wal_on(tmp_path):
    path = tmp_path / "var" / "lib" / "hall" / "x.db"
    conn = db.connect(path, synchronous="NORMAL", foreign_keys=True, rows=True)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.isolation_level is None  # autocommit: transactions are the caller's
        assert isinstance(conn.execute("SELECT 1 AS one").fetchone(), sqlite3.Row)
    finally:
        conn.close()
    conn = db.connect(path, wal=False)  # a second connection: WAL is the file's, it stays
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    finally:
        conn.close()


def test_a_transaction_commits_or_rolls_back_on_an_error(tmp_path):
    conn = db.connect(tmp_path / "t.db")
    conn.execute("CREATE TABLE t (v INTEGER)")
    with db.transaction(conn):
        conn.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(RuntimeError), db.transaction(conn):
        conn.execute("INSERT INTO t VALUES (2)")
        raise RuntimeError("half way")
    assert [r[0] for r in conn.execute("SELECT v FROM t")] == [1]
    assert not conn.in_transaction
    other = db.connect(tmp_path / "t.db")  # what was committed is seen by others
    assert [r[0] for r in other.execute("SELECT v FROM t")] == [1]
    other.close()
    conn.close()


def test_a_change_that_need_not_wait_for_the_disk_is_seen_at_once(tmp_path):
    conn = db.connect(tmp_path / "n.db")  # synchronous=FULL
    conn.execute("CREATE TABLE t (v INTEGER)")
    with db.transaction(conn, durable=False):
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL, this once
        conn.execute("INSERT INTO t VALUES (1)")
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # the next commit: FULL
    other = db.connect(tmp_path / "n.db")
    assert [r[0] for r in other.execute("SELECT v FROM t")] == [1]  # seen at once
    with pytest.raises(RuntimeError), db.transaction(conn, durable=False):
        conn.execute("INSERT INTO t VALUES (2)")
        raise RuntimeError("half way")
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2 and not conn.in_transaction
    # inside a durable group it is part of the group's commit
    with db.transaction(conn), db.transaction(conn, durable=False):
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2
        conn.execute("INSERT INTO t VALUES (3)")
    assert [r[0] for r in other.execute("SELECT v FROM t")] == [1, 3]
    other.close()
    conn.close()
    journal = db.connect(tmp_path / "j.db", wal=False)  # a rollback journal: stays durable
    journal.execute("PRAGMA journal_mode=DELETE")
    with db.transaction(journal, durable=False):
        assert journal.execute("PRAGMA synchronous").fetchone()[0] == 2
    journal.close()


def test_a_transaction_holds_the_write_lock_from_its_start(tmp_path):
    first = db.connect(tmp_path / "l.db")
    second = db.connect(tmp_path / "l.db", timeout=0.05)
    with (
        db.transaction(first),  # BEGIN IMMEDIATE
        pytest.raises(sqlite3.OperationalError, match="locked"),
    ):
        second.execute("BEGIN IMMEDIATE")
    first.close()
    second.close()


def _steps(log: list[str]):
    def v1(conn: sqlite3.Connection) -> None:
        log.append("v1")
        conn.execute("CREATE TABLE IF NOT EXISTS a (x)")

    def v2(conn: sqlite3.Connection) -> None:
        log.append("v2")
        conn.execute("CREATE TABLE IF NOT EXISTS b (y)")

    def v3(conn: sqlite3.Connection) -> None:
        log.append("v3")
        conn.execute("ALTER TABLE b ADD COLUMN z")

    return [v1, v2, v3]


def test_migrations_run_once_and_in_order_from_the_old_version(tmp_path):
    path = tmp_path / "m.db"
    log: list[str] = []
    old = db.connect(path)
    assert db.migrate(old, _steps(log)[:1], old) == 1  # the software of last year
    old.close()
    assert log == ["v1"]

    conn = db.connect(path)
    assert db.migrate(conn, _steps(log), conn) == 3
    assert log == ["v1", "v2", "v3"]
    assert db.user_version(conn) == 3
    assert db.migrate(conn, _steps(log), conn) == 3  # nothing left to run
    assert log == ["v1", "v2", "v3"]
    assert [r[1] for r in conn.execute("PRAGMA table_info(b)")] == ["y", "z"]
    conn.close()


def test_a_newer_database_is_refused_unless_allowed(tmp_path):
    conn = db.connect(tmp_path / "n.db")
    conn.execute("PRAGMA user_version=5")
    with pytest.raises(db.SchemaTooNew, match=r"ratings\.db has schema version 5.*\(3\)"):
        db.migrate(conn, _steps([]), conn, name="ratings.db")
    assert db.migrate(conn, _steps([]), conn, allow_newer=True) == 5
    assert db.user_version(conn) == 5
    conn.close()


def test_a_failed_step_keeps_the_version_before_it(tmp_path):
    conn = db.connect(tmp_path / "f.db")

    def broken(c: sqlite3.Connection) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    with pytest.raises(sqlite3.OperationalError):
        db.migrate(conn, [_steps([])[0], broken], conn)
    assert db.user_version(conn) == 1
    conn.close()


def test_the_engine_database_of_an_older_release_opens_and_is_migrated(tmp_path):
    from kiosk.engine import store

    path = tmp_path / "engine.db"
    conn = store.open_db(path)
    conn.execute("PRAGMA user_version=1")  # as release 1 left it: no staff_status column
    conn.close()
    conn = store.open_db(path)
    assert db.user_version(conn) == len(store.MIGRATIONS)
    assert "staff_status" in [r[1] for r in conn.execute("PRAGMA table_info(windows)")]
    conn.close()


@dataclass(frozen=True)
class Row:
    a: int
    b: tuple[str, ...]


def test_from_row_by_field_name_with_converted_values():
    conn = db.connect(":memory:", rows=True)
    row = conn.execute("SELECT 1 AS a, 'x,y' AS b, 9 AS extra").fetchone()
    assert db.from_row(Row, row, b=tuple(row["b"].split(","))) == Row(1, ("x", "y"))
    conn.close()


def test_a_read_pass_is_one_snapshot_that_writes_nothing(tmp_path):
    conn = db.connect(tmp_path / "r.db")
    other = db.connect(tmp_path / "r.db")
    conn.execute("CREATE TABLE t (x)")
    assert db.snapshot(conn) is None  # outside a transaction
    with db.reading(conn):
        mark = db.snapshot(conn)
        assert mark is not None
        assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 0
        with db.transaction(other):
            other.execute("INSERT INTO t VALUES (1)")
        assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 0  # its moment
        assert db.snapshot(conn) == mark  # the same transaction
        with db.reading(conn):  # nested: the same pass
            assert db.snapshot(conn) == mark
    assert not conn.in_transaction
    with pytest.raises(db.WriteInReadPass), db.reading(conn):
        conn.execute("INSERT INTO t VALUES (2)")  # undone at the pass's end
    assert not conn.in_transaction
    assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 1
    before = db.rollbacks()
    with pytest.raises(KeyError), db.reading(conn):
        conn.execute("INSERT INTO t VALUES (2)")  # a write, then the pass fails
        raise KeyError("boom")
    assert db.rollbacks() != before  # a memo of what the pass read is dropped
    assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 1
    with db.transaction(conn):  # writes again after the pass
        assert db.snapshot(conn) not in (None, mark)  # another transaction, another number
        conn.execute("INSERT INTO t VALUES (3)")
    assert other.execute("SELECT count(*) FROM t").fetchone()[0] == 2
    conn.close()
    other.close()

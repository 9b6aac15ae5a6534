"""SQLite as every hall database uses it: opening, transactions, migrations.

* :func:`connect`: autocommit mode (``isolation_level=None``: the caller opens
  transactions itself), WAL, a ``synchronous`` level, a busy timeout; the folder
  is made first.
* :func:`transaction`: ``BEGIN IMMEDIATE`` … ``COMMIT``, ``ROLLBACK`` on any
  exception, so a state change and its outbox event commit together; nested, a
  ``SAVEPOINT`` (a group commit's part).
* :func:`migrate`: numbered steps run in order from the database's
  ``PRAGMA user_version`` (step 1 takes a new database to version 1, …); each step
  runs once, and the version is written after it.  A step must be idempotent
  (``IF NOT EXISTS``): a crash after its DDL but before the version re-runs it.
* :func:`from_row`: a dataclass from a row whose columns are named as its fields.
* :func:`reading`: one snapshot for a pass of reads (a deferred ``BEGIN`` … ``COMMIT``).
* :func:`snapshot`: which transaction is open on a connection (a memo of reads keyed on
  ``PRAGMA data_version`` need not ask again within one).
* :func:`rollbacks`: how many rollbacks :func:`transaction` has made (a memo of reads
  keyed on a connection's ``total_changes`` also needs this: a rolled-back write does
  not move that count back).
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

__all__ = [
    "SchemaTooNew",
    "WriteInReadPass",
    "connect",
    "from_row",
    "migrate",
    "reading",
    "rollbacks",
    "snapshot",
    "transaction",
    "user_version",
]

T = TypeVar("T")

_rollback_ids = itertools.count(1)
_rollback_lock = threading.Lock()
_rollbacks = 0


def rollbacks() -> int:
    """A number that changes whenever :func:`transaction` rolls back (any connection)."""
    return _rollbacks


def _rolled_back() -> None:
    global _rollbacks
    with _rollback_lock:
        _rollbacks = next(_rollback_ids)


_begun_ids = itertools.count(1)
_begun: dict[int, int] = {}  # id(connection) -> the number of its last transaction begun


def _began(conn: sqlite3.Connection) -> None:
    with _rollback_lock:
        _begun[id(conn)] = next(_begun_ids)


def snapshot(conn: sqlite3.Connection) -> int | None:
    """A number naming the transaction open on ``conn`` (begun by :func:`transaction` or
    :func:`reading`), or None outside one.  Within one transaction ``conn`` sees one
    snapshot: another connection's commit is not seen until it ends (in a write
    transaction none can commit), so what ``PRAGMA data_version`` said in it holds to
    its end.  Each transaction begun on any connection gets a new number: a memo keyed
    on it never keeps a value past its transaction."""
    return _begun.get(id(conn)) if conn.in_transaction else None


@contextmanager
def reading(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One snapshot for a pass of reads (a burst's fifty window states read as of one
    moment): a deferred ``BEGIN`` … ``COMMIT``; inside a transaction already open on
    ``conn``, that one's.  Writers on other connections are not blocked (WAL).

    It writes nothing: a write made inside it is rolled back and raises
    :class:`WriteInReadPass` at its end.  (Not ``PRAGMA query_only``: setting it expires
    every prepared statement of the connection, and each was prepared again.)"""
    if conn.in_transaction:
        yield conn
        return
    conn.execute("BEGIN")
    _began(conn)
    changes = conn.total_changes
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if conn.total_changes != changes:
            _rolled_back()  # a memo keyed on total_changes must not keep what it read
        raise
    if conn.total_changes != changes:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        _rolled_back()
        raise WriteInReadPass("a change was made inside a read pass: it was rolled back")
    if conn.in_transaction:
        conn.execute("COMMIT")


class WriteInReadPass(sqlite3.ProgrammingError):
    """A change was made inside :func:`reading` (it was rolled back)."""


class SchemaTooNew(sqlite3.DatabaseError):
    """The database was written by newer software (its ``user_version`` is higher)."""


def connect(
    path: str | os.PathLike[str],
    *,
    synchronous: str = "FULL",
    timeout: float = 10.0,
    wal: bool = True,
    foreign_keys: bool = False,
    rows: bool = False,
    check_same_thread: bool = False,
    page_size: int | None = None,
) -> sqlite3.Connection:
    """Open ``path`` (``":memory:"`` too) in autocommit mode.

    ``synchronous``: ``FULL`` (a commit is on disk when it returns) or ``NORMAL``
    (with WAL, a power cut may lose the last commits but never corrupts).
    ``timeout``: seconds to wait for another connection's lock.  ``rows``:
    :class:`sqlite3.Row` rows (by column name).  ``page_size``: the page size of a
    database this creates (one already made keeps its own).
    """
    name = os.fspath(path)
    if name != ":memory:":
        Path(name).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(
        name, isolation_level=None, check_same_thread=check_same_thread, timeout=timeout
    )
    try:
        if rows:
            conn.row_factory = sqlite3.Row
        if page_size is not None:  # before WAL mode, which writes the first page
            conn.execute(f"PRAGMA page_size={int(page_size)}")
        if wal:
            conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={synchronous}")
        if foreign_keys:
            conn.execute("PRAGMA foreign_keys=ON")
    except BaseException:
        conn.close()
        raise
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection, *, durable: bool = True) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` … ``COMMIT``; rolls back on any exception (autocommit connections).

    Inside a transaction already open on ``conn`` (a group commit: several commands
    share one durable commit) it is a ``SAVEPOINT``: an exception undoes only this
    part, and its changes are durable when the outer transaction commits.

    ``durable=False``: a change that is derived again from what is durable (an alert's
    text, recomputed at every evaluation) commits without waiting for the disk
    (``synchronous=NORMAL`` for this commit, in WAL mode): every reader sees it at
    once, a crash may lose it, and the next durable commit writes it to disk with its
    own.  The order of commits on disk is kept: the WAL is written in order.  Outside
    WAL mode (a rollback journal, where NORMAL may corrupt the file on a power cut) the
    commit stays durable.
    """
    wal = not durable and conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    if wal and not conn.in_transaction:
        level = conn.execute("PRAGMA synchronous").fetchone()[0]
        conn.execute("PRAGMA synchronous=NORMAL")
        try:
            with transaction(conn) as same:
                yield same
        finally:
            conn.execute(f"PRAGMA synchronous={int(level)}")
        return
    if conn.in_transaction:
        conn.execute("SAVEPOINT nested")
        try:
            yield conn
        except BaseException:
            _rolled_back()
            conn.execute("ROLLBACK TO nested")
            conn.execute("RELEASE nested")
            raise
        conn.execute("RELEASE nested")
        return
    conn.execute("BEGIN IMMEDIATE")
    _began(conn)
    try:
        yield conn
    except BaseException:
        _rolled_back()
        if conn.in_transaction:  # a failed COMMIT may have rolled back already
            conn.execute("ROLLBACK")
        raise
    try:
        conn.execute("COMMIT")
    except BaseException:
        _rolled_back()
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(
    conn: sqlite3.Connection,
    steps: Sequence[Callable[[T], None]],
    on: T,
    *,
    name: str = "database",
    allow_newer: bool = False,
) -> int:
    """Run the ``steps`` the database has not had yet, each called with ``on``.

    Returns the schema version.  A database newer than ``steps`` raises
    :class:`SchemaTooNew` naming ``name``, unless ``allow_newer``.
    """
    version = user_version(conn)
    if version > len(steps) and not allow_newer:
        raise SchemaTooNew(
            f"{name} has schema version {version}, newer than this software "
            f"({len(steps)}): update hall-edge on this device"
        )
    for target, step in enumerate(steps[version:], start=version + 1):
        step(on)
        conn.execute(f"PRAGMA user_version={target}")
    return max(version, len(steps))


def from_row(cls: type[T], row: sqlite3.Row, **values: Any) -> T:
    """``cls`` built from ``row`` by field name; ``values`` give (converted) fields."""
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    return cls(**{f.name: values[f.name] if f.name in values else row[f.name] for f in fields})


def backup_to(source: Path | str, target: Path | str) -> None:
    """A consistent copy of the database ``source`` into ``target`` through SQLite's
    backup API (the commits still in its WAL included), ``source`` opened read-only."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()

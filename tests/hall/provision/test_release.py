"""The installed releases (hall.release): version order, the manifest check hall doctor
reports, the upgrade's backup and ``hall rollback``; the installer's refusal of another
Debian release.  The whole bundle on a blank Debian 12 is ``make bundle-test``."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from hall import release
from hall.doctor import OK, PROBLEM, SKIP, Doctor

ROOT = Path(__file__).resolve().parents[3]


def test_version_order():
    ordered = ["0.1.0.dev1", "0.1.0a1", "0.1.0rc1", "0.1.0", "0.1.1", "0.2", "0.10.0", "1.0"]
    keys = [release.version_key(v) for v in ordered]
    assert keys == sorted(keys)
    assert release.version_key("1.0") == release.version_key("1.0.0")
    with pytest.raises(ValueError):
        release.version_key("latest")


def make_release(root: Path, version: str, *, link: str | None = "current") -> Path:
    folder = root / "opt/hall-edge/releases" / version
    (folder / "venv/lib/site-packages/hall").mkdir(parents=True)
    (folder / "venv/lib/site-packages/hall/cli.py").write_text(f"# hall {version}\n")
    (folder / "venv/lib/site-packages/hall/__pycache__").mkdir()
    (folder / "venv/lib/site-packages/hall/__pycache__/cli.cpython-311.pyc").write_bytes(b"x")
    (folder / "BUNDLE.env").write_text(f"HALL_VERSION={version}\nDEBIAN_CODENAME=bookworm\n")
    release.write_manifest(folder)
    (folder / release.RELEASE_FILE).write_text(json.dumps({"version": version}))
    if link:
        os.symlink(f"releases/{version}", root / "opt/hall-edge" / link)
    return folder


def test_installed_version_and_none_in_a_checkout(tmp_path):
    rel = release.Releases(tmp_path)
    assert rel.installed_version() is None
    make_release(tmp_path, "0.1.0", link="previous")
    make_release(tmp_path, "0.1.1")
    assert rel.installed_version() == "0.1.1"
    assert rel.previous_version() == "0.1.0"
    assert release.read_bundle_env(rel.target(rel.current) / "BUNDLE.env")["HALL_VERSION"] == (
        "0.1.1"
    )


def release_check(root: Path):
    doctor = Doctor(root=root)
    return doctor.check_release()


def test_doctor_reports_the_version_and_a_modified_file(tmp_path):
    assert release_check(tmp_path).status == SKIP  # a git checkout: nothing to verify
    folder = make_release(tmp_path, "0.1.0")
    check = release_check(tmp_path)
    assert check.status == OK and "hall-edge 0.1.0" in check.summary, check
    # bytecode Python writes again is not a change; an edited module and a lost file are
    (folder / "venv/lib/site-packages/hall/__pycache__/cli.cpython-311.pyc").write_bytes(b"y")
    assert release_check(tmp_path).status == OK
    (folder / "venv/lib/site-packages/hall/cli.py").write_text("# patched by hand\n")
    (folder / "BUNDLE.env").unlink()
    check = release_check(tmp_path)
    assert check.status == PROBLEM
    assert "1 modified, 1 missing" in check.summary
    assert "modified: venv/lib/site-packages/hall/cli.py" in check.details
    assert "missing: BUNDLE.env" in check.details
    assert "./install" in check.fix


def test_a_change_that_kept_size_and_time_is_found_by_the_full_check(tmp_path):
    folder = make_release(tmp_path, "0.1.0")
    module = folder / "venv/lib/site-packages/hall/cli.py"
    stat = module.stat()  # as in the manifest
    os.utime(module, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert release.verify(folder).ok  # touched, same bytes: re-hashed, not a change
    module.write_text(module.read_text().replace("hall", "HALL"))  # same size
    os.utime(module, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert release.verify(folder).ok  # the quick check trusts size and time
    assert release.verify(folder, full=True).modified == ("venv/lib/site-packages/hall/cli.py",)
    assert Doctor(root=tmp_path, verify_files=True).check_release().status == PROBLEM


def make_db(path: Path, version: int, rows: int) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE IF NOT EXISTS t (n INTEGER)")
    conn.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(rows)])
    conn.execute(f"PRAGMA user_version={version}")
    conn.commit()
    conn.close()


def rows(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT count(*) FROM t").fetchone()[0])
    finally:
        conn.close()


def test_rollback_restores_only_what_the_older_version_cannot_read(tmp_path):
    data = tmp_path / "var/lib/hall"
    data.mkdir(parents=True)
    make_db(data / "engine.db", 5, 10)  # its software reads newer schemas
    make_db(data / "evaluator.db", 2, 4)
    make_db(data / "device.db", 1, 7)
    make_release(tmp_path, "0.1.0", link="previous")
    new = make_release(tmp_path, "0.1.1")
    backup = data / "backups/0.1.0-to-0.1.1"
    assert release.backup_databases(data, backup) == {"device.db": 1, "engine.db": 5,
                                                      "evaluator.db": 2}  # fmt: skip
    info = {
        "version": "0.1.1",
        "upgraded_from": "0.1.0",
        "backup": "/var/lib/hall/backups/0.1.0-to-0.1.1",
    }
    (new / release.RELEASE_FILE).write_text(json.dumps(info))
    # 0.1.1 migrated two of them and wrote on
    make_db(data / "engine.db", 6, 2)
    make_db(data / "evaluator.db", 3, 1)
    make_db(data / "device.db", 1, 3)
    out = io.StringIO()
    assert release.rollback(out, tmp_path, reprovision=False) == 0
    rel = release.Releases(tmp_path)
    assert (rel.installed_version(), rel.previous_version()) == ("0.1.0", "0.1.1")
    assert rows(data / "engine.db") == 12  # kept: nothing written since is lost
    assert rows(data / "device.db") == 10  # same schema: kept as it is
    assert rows(data / "evaluator.db") == 4  # the copy from before the migration
    kept = list(data.glob("evaluator.db.rolled-back-*"))
    assert len(kept) == 1 and rows(kept[0]) == 5  # the migrated one, never deleted
    assert "evaluator.db" in out.getvalue()
    # and forward again
    assert release.rollback(io.StringIO(), tmp_path, reprovision=False) == 0
    assert rel.installed_version() == "0.1.1"


def test_rollback_without_a_previous_version_refuses(tmp_path):
    with pytest.raises(release.ReleaseError, match="not installed from a bundle"):
        release.rollback(io.StringIO(), tmp_path)
    make_release(tmp_path, "0.1.0")
    with pytest.raises(release.ReleaseError, match="no previous version"):
        release.rollback(io.StringIO(), tmp_path)


def test_the_installer_refuses_another_debian_release(tmp_path):
    bundle = tmp_path / "hall-edge-0.1.0-trixie-amd64"
    bundle.mkdir()
    (bundle / "install").write_bytes((ROOT / "packaging/install").read_bytes())
    (bundle / "BUNDLE.env").write_text(
        "HALL_VERSION=0.1.0\nDEBIAN_CODENAME=sid-of-nowhere\nDEBIAN_RELEASE=99\nARCH=amd64\n"
    )
    if os.geteuid() != 0:
        pytest.skip("the installer checks root first")
    result = subprocess.run(
        ["bash", str(bundle / "install"), "--non-interactive"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "this bundle is for Debian 99 (sid-of-nowhere)" in result.stderr
    assert "nothing was installed" in result.stderr


def test_the_upgrade_backup_holds_the_outbox_events_still_in_the_wal(tmp_path):
    """Events committed by a running process (still in the WAL, not in the main file)
    are in the backup, and the live database is untouched."""
    from hall.core import db
    from sync import outbox

    data = tmp_path / "data"
    live = db.connect(data / "engine.db")
    live.execute("PRAGMA wal_autocheckpoint=0")  # as the engine runs: nothing checkpointed
    outbox.ensure_schema(live)
    ids = [outbox.put(live, "ticket_issued", "2026-12-03T09:00:00", {"n": n}) for n in range(5)]
    assert (data / "engine.db-wal").stat().st_size > 0
    versions = release.backup_databases(data, data / "backups" / "0.1.0-to-0.1.1")
    assert versions == {"engine.db": 0}
    copy = sqlite3.connect(data / "backups" / "0.1.0-to-0.1.1" / "engine.db")
    try:
        assert [r[0] for r in copy.execute("SELECT id FROM outbox ORDER BY seq")] == ids
    finally:
        copy.close()
    assert outbox.count(live) == 5
    live.close()

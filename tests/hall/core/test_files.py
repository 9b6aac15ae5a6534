"""hall.core.files: a file is replaced whole or not at all."""

from __future__ import annotations

import os
import stat

import pytest

from hall.core import files
from hall.core.files import atomic_write, replace_durably


def test_writes_bytes_and_text_and_creates_the_folder(tmp_path):
    target = tmp_path / "a" / "b" / "conf.yaml"
    assert atomic_write(target, "名字: 一\n")
    assert target.read_text(encoding="utf-8") == "名字: 一\n"
    assert atomic_write(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in target.parent.iterdir()) == ["conf.yaml"]


@pytest.mark.parametrize(
    ("step", "error"),
    [("replace", "No space left on device"), ("fsync", "Input/output error")],
)
def test_a_crash_mid_write_leaves_the_old_file_whole_and_no_temporary_file(
    tmp_path, monkeypatch, step, error
):
    target = tmp_path / "hall.yaml"
    target.write_bytes(b"old content")

    def crash(*args):
        raise OSError(5, error)

    monkeypatch.setattr(files.os, step, crash)  # the rename, or the fsync before it, fails
    with pytest.raises(OSError, match=error):
        atomic_write(target, b"new content that never lands", mode=0o600)
    assert target.read_bytes() == b"old content"
    assert [p.name for p in tmp_path.iterdir()] == ["hall.yaml"]


def test_mode_given_or_kept(tmp_path):
    target = tmp_path / "secret"
    atomic_write(target, "x", mode=0o640)
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    atomic_write(target, "y")  # no mode: the replaced file's is kept
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    atomic_write(target, "z", mode=0o600)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_a_new_file_without_a_mode_follows_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        atomic_write(tmp_path / "new", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o640


def test_group_is_set(tmp_path):
    gid = os.getgid()  # our own group: no root needed
    target = tmp_path / "g"
    atomic_write(target, "x", group=gid)
    assert target.stat().st_gid == gid


def test_only_if_changed_skips_an_identical_file(tmp_path):
    target = tmp_path / "unit.env"
    assert atomic_write(target, "A=1\n", mode=0o644, only_if_changed=True)
    before = target.stat().st_ino
    assert atomic_write(target, "A=1\n", mode=0o644, only_if_changed=True) is False
    assert target.stat().st_ino == before
    assert atomic_write(target, "A=1\n", mode=0o600, only_if_changed=True)  # the mode differs
    assert atomic_write(target, "A=2\n", mode=0o600, only_if_changed=True)
    assert target.read_text() == "A=2\n"
    assert atomic_write(target, "A=2\n")  # without the flag: always written


def test_replace_durably_moves_a_prepared_file(tmp_path):
    tmp = tmp_path / ".db.import"
    tmp.write_bytes(b"copy")
    (tmp_path / "db").write_bytes(b"old")
    replace_durably(tmp, tmp_path / "db")
    assert (tmp_path / "db").read_bytes() == b"copy"
    assert not tmp.exists()

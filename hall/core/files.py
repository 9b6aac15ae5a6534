"""Replacing a file whole: a reader (or a power cut) sees the old file or the new one.

:func:`atomic_write` writes a temporary file in the same folder, ``fsync``\\ s it,
renames it over the target and ``fsync``\\ s the folder, so the rename itself is on
disk too.  :func:`replace_durably` does the last two steps for a temporary file a
caller made some other way (e.g. SQLite's backup API).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

__all__ = ["atomic_write", "fsync_dir", "replace_durably"]


def atomic_write(
    path: str | os.PathLike[str],
    data: bytes | str,
    *,
    mode: int | None = None,
    group: int | None = None,
    only_if_changed: bool = False,
) -> bool:
    """Replace ``path`` with ``data`` (``str`` is written as UTF-8); creates the folder.

    ``mode``: the file's permission bits; ``None`` keeps those of the file it
    replaces (a new file gets ``0o666`` less the umask, as ``open()`` would).
    ``group``: the file's group id (changing it needs root).  ``only_if_changed``:
    write nothing and return False when the file already holds exactly ``data``
    with that mode and group (re-running changes no timestamps).  Returns True
    when the file was written.  On any error the old file is left whole and the
    temporary file is removed.
    """
    target = Path(path)
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    old_mode: int | None = None
    with contextlib.suppress(OSError):
        st = target.stat()
        old_mode = st.st_mode & 0o7777
        if (
            only_if_changed
            and (mode is None or old_mode == mode)
            and (group is None or st.st_gid == group)
            and target.read_bytes() == raw
        ):
            return False
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            keep = mode if mode is not None else old_mode
            if keep is not None:
                os.fchmod(f.fileno(), keep)
            if group is not None:
                os.fchown(f.fileno(), -1, group)
            os.fsync(f.fileno())
        _rename(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return True


def replace_durably(tmp: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    """``fsync`` ``tmp``, rename it over ``target`` (same folder) and ``fsync`` the folder."""
    fd = os.open(tmp, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    _rename(tmp, target)


def _rename(tmp: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    os.replace(tmp, target)
    fsync_dir(Path(target).parent)


def fsync_dir(folder: str | os.PathLike[str]) -> None:
    """Put a folder's entries (a rename, a new file) on disk."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

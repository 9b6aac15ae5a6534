"""Installed releases of hall-edge on a device: the switch to a new one, ``hall rollback``
and the check of the installed files (``hall doctor``).

The offline bundle's ``install`` (packaging/install) puts each version in its own
folder and hands over here (``python -m hall.release activate``)::

    /opt/hall-edge/releases/<version>/   venv/, share/voice/, BUNDLE.env,
                                         RELEASE.json, MANIFEST.json
    /opt/hall-edge/current  -> releases/<version>     (what runs)
    /opt/hall-edge/previous -> releases/<older>       (what `hall rollback` returns to)
    /opt/hall-edge/.venv    -> current/venv           (the path the units name)

An upgrade stops the hall units (where systemd runs), copies every database of
``/var/lib/hall`` with SQLite's backup API into ``/var/lib/hall/backups/<old>-to-<new>-<time>/``,
switches ``current``, runs the new version's migrations once, and provisions again with
the earlier answers.  Config (``/etc/hall``), databases (their outbox too) and the voice
pack (``/var/lib/hall/voice``) are never replaced.  ``MANIFEST.json`` holds the sha256 of
every installed file, written when the release was installed from the checked bundle.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from hall import device_config as dc
from hall.core.db import backup_to
from hall.core.version import __version__

OPT = "/opt/hall-edge"
VOICE_DIR = f"{dc.DATA_DIR}/voice"
BACKUPS = f"{dc.DATA_DIR}/backups"
RELEASE_FILE, MANIFEST_FILE = "RELEASE.json", "MANIFEST.json"
# Databases whose software reads a newer schema (kiosk.engine.store.migrate: allow_newer),
# so a rollback keeps them as they are; any other migrated one is restored from the backup.
READS_NEWER = frozenset({"engine.db"})
EXIT_OK, EXIT_ERROR, EXIT_REFUSED = 0, 1, 2


class ReleaseError(Exception):
    """The switch or rollback cannot go on (nothing was changed)."""


# ---------------------------------------------------------------- versions


def version_key(version: str) -> tuple[tuple[int, ...], int, int]:
    """A sort key for PEP 440-style versions of hall-edge: ``1.2.10`` > ``1.2.9`` >
    ``1.2.9rc1`` > ``1.2.9.dev3``.  ValueError for anything else."""
    match = re.fullmatch(r"(\d+(?:\.\d+)*)(?:(a|b|rc|\.dev)(\d+))?", version.strip())
    if not match:
        raise ValueError(f"not a version: {version!r}")
    release = tuple(int(part) for part in match.group(1).split("."))
    while len(release) > 1 and release[-1] == 0:
        release = release[:-1]
    rank = {None: 3, "rc": 2, "b": 1, "a": 0, ".dev": -1}[match.group(2)]
    return release, rank, int(match.group(3) or 0)


@dataclass(frozen=True)
class Releases:
    """The release folders under ``root`` (``/`` on the device)."""

    root: Path = Path("/")

    def path(self, device_path: str) -> Path:
        return self.root / device_path.lstrip("/")

    @property
    def opt(self) -> Path:
        return self.path(OPT)

    @property
    def current(self) -> Path:
        return self.opt / "current"

    @property
    def previous(self) -> Path:
        return self.opt / "previous"

    def target(self, link: Path) -> Path | None:
        """The release folder a link names (None: no link, or a release not whole)."""
        if not link.is_symlink():
            return None
        folder = (link.parent / os.readlink(link)).resolve()
        return folder if (folder / RELEASE_FILE).is_file() else None

    def info(self, folder: Path | None) -> dict[str, Any] | None:
        if folder is None:
            return None
        try:
            data = json.loads((folder / RELEASE_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def installed_version(self) -> str | None:
        """The version ``current`` names; None where hall-edge was not installed from a
        bundle (a git checkout)."""
        info = self.info(self.target(self.current))
        return str(info["version"]) if info and "version" in info else None

    def previous_version(self) -> str | None:
        info = self.info(self.target(self.previous))
        return str(info["version"]) if info and "version" in info else None


def read_bundle_env(path: Path) -> dict[str, str]:
    """``KEY=value`` lines of a bundle's BUNDLE.env."""
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        key, eq, value = line.partition("=")
        if eq and key.strip() and not key.startswith("#"):
            values[key.strip()] = value.strip().strip("'\"")
    return values


# ---------------------------------------------------------------- the manifest


def _hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files(folder: Path) -> list[Path]:
    """The files a manifest covers: every regular file, not the bytecode Python may
    write again at any time, not the release's own records, not through symlinks."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if path.is_symlink() or name.endswith(".pyc"):
                continue
            if path.parent == folder and name in (RELEASE_FILE, MANIFEST_FILE):
                continue
            found.append(path)
    return found


def write_manifest(folder: Path) -> int:
    """``MANIFEST.json``: each file's sha256, size and mtime (the sizes and times let
    ``hall doctor`` re-hash only the files that changed on disk)."""
    manifest = {}
    for path in _files(folder):
        stat = path.stat()
        manifest[path.relative_to(folder).as_posix()] = [
            _hash(path),
            stat.st_size,
            stat.st_mtime_ns,
        ]
    tmp = folder / f".{MANIFEST_FILE}.tmp"
    tmp.write_text(json.dumps(manifest, indent=0, sort_keys=True), encoding="utf-8")
    tmp.replace(folder / MANIFEST_FILE)
    return len(manifest)


@dataclass(frozen=True)
class Verified:
    files: int
    modified: tuple[str, ...]
    missing: tuple[str, ...]
    added: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not (self.modified or self.missing)


def verify(folder: Path, *, full: bool = False) -> Verified:
    """Each file of the release against its manifest: re-hashed when its size or mtime
    differs from the manifest's (``full``: every file, for a change that kept both).
    OSError/ValueError: no readable manifest."""
    manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
    if not isinstance(manifest, dict):
        raise ValueError(f"{folder / MANIFEST_FILE}: not a manifest")
    present = {p.relative_to(folder).as_posix(): p for p in _files(folder)}
    modified = []
    for name, entry in sorted(manifest.items()):
        path = present.get(name)
        if path is None:
            continue
        digest, size, mtime = entry
        stat = path.stat()
        touched = (stat.st_size, stat.st_mtime_ns) != (size, mtime)
        if (full or touched) and _hash(path) != digest:
            modified.append(name)
    missing = tuple(sorted(name for name in manifest if name not in present))
    added = tuple(sorted(name for name in present if name not in manifest))
    return Verified(len(manifest), tuple(modified), missing, added)


# ---------------------------------------------------------------- databases


def schema_versions(data: Path) -> dict[str, int]:
    versions = {}
    for db in sorted(data.glob("*.db")):
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            versions[db.name] = int(conn.execute("PRAGMA user_version").fetchone()[0])
        finally:
            conn.close()
    return versions


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy (SQLite's backup API: the WAL's commits too), owned like
    ``source``, replacing ``target`` only once complete."""
    tmp = target.with_name(f".{target.name}.copy")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    backup_to(source, tmp)
    stat = source.stat()
    with contextlib.suppress(PermissionError):
        os.chown(tmp, stat.st_uid, stat.st_gid)
    os.chmod(tmp, stat.st_mode & 0o777)
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            target.with_name(target.name + suffix).unlink()
    tmp.replace(target)


def backup_databases(data: Path, dest: Path) -> dict[str, int]:
    """Every ``*.db`` of ``data`` into ``dest``; their schema versions."""
    dest.mkdir(parents=True, exist_ok=False)
    for db in sorted(data.glob("*.db")):
        copy_database(db, dest / db.name)
    versions = schema_versions(dest)
    (dest / "schema.json").write_text(json.dumps(versions, sort_keys=True), encoding="utf-8")
    return versions


def migrate_databases(data: Path, out: TextIO) -> dict[str, int]:
    """This version's migrations on the databases it has them for (once: by
    ``PRAGMA user_version``); the others migrate when their service opens them."""
    from counter.ratings_store import RatingsStore
    from kiosk.engine import store

    engine = data / "engine.db"
    if engine.exists():
        conn = store.open_db(engine)
        conn.close()
    for name in ("evaluator.db",):
        if (data / name).exists():
            RatingsStore(data / name).close()
    after = schema_versions(data)
    print(f"  数据库版本 schema versions: {after}", file=out)
    return after


def restore_for_rollback(
    backup: Path, data: Path, stamp: str, out: TextIO, *, reads_newer: frozenset[str] = READS_NEWER
) -> list[str]:
    """Before going back to the release a backup was made for: a database migrated since
    (its schema newer than the backup's) that the older software cannot read goes back to
    the backup; the migrated one is kept beside it, never deleted.  The names restored."""
    before = json.loads((backup / "schema.json").read_text(encoding="utf-8"))
    now = schema_versions(data)
    restored = []
    for name, version in sorted(before.items()):
        live = data / name
        if not live.exists() or now.get(name, 0) <= version or name in reads_newer:
            continue
        kept = data / f"{name}.rolled-back-{stamp}"
        copy_database(live, kept)
        copy_database(backup / name, live)
        restored.append(name)
        print(
            f"  {name}: 已恢复升级前的备份 restored the copy from before the upgrade (schema "
            f"{now[name]} -> {version}); the newer one is kept as {kept.name}",
            file=out,
        )
    return restored


# ---------------------------------------------------------------- units


def systemd_running() -> bool:
    return Path("/run/systemd/system").is_dir()


def _units(root: Path) -> list[str]:
    try:
        return dc.units_for(dc.load(root / dc.DEVICE_CONFIG.lstrip("/")))
    except (OSError, ValueError, dc.ConfigError):
        return []


def _systemctl(action: str, units: list[str], out: TextIO) -> None:
    hall_units = [u for u in units if u.startswith("hall-")]
    if not hall_units:
        return
    if not systemd_running():
        print(
            f"  systemd 未运行 not running here: not run: systemctl {action} "
            f"{' '.join(hall_units)}",
            file=out,
        )
        return
    subprocess.run(["systemctl", action, *hall_units], check=False, timeout=120)


# ---------------------------------------------------------------- switching


def _stamp() -> str:
    return datetime.now().strftime("%Y%m%d-%H%M%S")


def _link(link: Path, target: Path) -> None:
    """Point ``link`` at ``target`` (relative) atomically."""
    tmp = link.with_name(f".{link.name}.new")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    os.symlink(os.path.relpath(target, link.parent), tmp)
    tmp.replace(link)


def _switch(rel: Releases, new: Path, old: Path | None) -> None:
    if old is not None and old != new:
        _link(rel.previous, old)
    _link(rel.current, new)
    venv = rel.opt / ".venv"
    if venv.exists() and not venv.is_symlink():  # a git checkout's venv: kept aside
        venv.rename(venv.with_name(f".venv.before-bundle-{_stamp()}"))
    if not venv.is_symlink():
        _link(venv, rel.current / "venv")


def _voice_pack(root: Path, release: Path, out: TextIO) -> None:
    """The bundled voice pack into /var/lib/hall/voice/default unless the device has one
    (a recorded pack stays); the release's default path points there."""
    pack = root / VOICE_DIR.lstrip("/") / "default"
    shipped = release / "share" / "voice" / "default"
    if not pack.exists() and shipped.is_dir():
        pack.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(shipped, pack)
        print(f"  语音包 voice pack installed in {VOICE_DIR}/default", file=out)
    import sysconfig

    site = Path(sysconfig.get_paths()["purelib"])
    if str(site).startswith(str(release)):
        link = site / "assets" / "voice" / "default"
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.is_symlink():
            os.symlink(Path("/") / VOICE_DIR.lstrip("/") / "default", link)


def activate(release: Path, provision_args: list[str], out: TextIO, root: Path = Path("/")) -> int:
    """Make ``release`` (installed by packaging/install) the running one."""
    rel = Releases(root)
    release = release.resolve()
    bundle = read_bundle_env(release / "BUNDLE.env")
    version = bundle["HALL_VERSION"]
    if version != __version__:
        raise ReleaseError(f"{release} holds {version} but this is hall-edge {__version__}")
    info = rel.info(release) if (release / RELEASE_FILE).exists() else None
    if info is None:
        files = write_manifest(release)
        info = {
            "version": version,
            "installed": datetime.now().isoformat(timespec="seconds"),
            "built": bundle.get("BUILT"),
            "files": files,
        }
    old = rel.target(rel.current)
    old_version = rel.installed_version()
    data = rel.path(dc.DATA_DIR)
    data.mkdir(parents=True, exist_ok=True)
    units = _units(root)
    upgrade = old is not None and old != release
    if upgrade and old_version and version_key(version) < version_key(old_version):
        raise ReleaseError(
            f"{version} is older than the installed {old_version}: to go back use "
            "`hall rollback` (the previous version is kept for it)"
        )
    if upgrade:
        print(f"升级 upgrading hall-edge {old_version} -> {version}", file=out)
        _systemctl("stop", units, out)
        backup = rel.path(BACKUPS) / f"{old_version}-to-{version}-{_stamp()}"
        info["upgraded_from"] = old_version
        info["backup"] = str(Path("/") / backup.relative_to(root))
        info["schema_before"] = backup_databases(data, backup)
        print(f"  数据库已备份 databases backed up in {info['backup']}", file=out)
    _write_info(release, info)
    _switch(rel, release, old)
    _voice_pack(root, release, out)
    info["schema_after"] = migrate_databases(data, out)
    _write_info(release, info)
    for db in data.glob("*.db"):  # the services run as hall
        _chown_like(db, data)
    args = provision_args
    if not args:
        args = ["--non-interactive"] if (root / dc.DEVICE_CONFIG.lstrip("/")).exists() else []
    from hall import cli

    code = cli.main(["provision", *args])
    if upgrade and code in (0, 5):
        _systemctl("start", _units(root), out)
    print(
        f"hall-edge {version} 已安装 installed in {release}"
        + (f" (previous: {old_version}, `hall rollback`)" if upgrade else ""),
        file=out,
    )
    return code


def _chown_like(path: Path, like: Path) -> None:
    stat = like.stat()
    with contextlib.suppress(PermissionError):
        os.chown(path, stat.st_uid, stat.st_gid)


def _write_info(release: Path, info: dict[str, Any]) -> None:
    tmp = release / f".{RELEASE_FILE}.tmp"
    tmp.write_text(json.dumps(info, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(release / RELEASE_FILE)


def rollback(out: TextIO, root: Path = Path("/"), *, reprovision: bool = True) -> int:
    """``hall rollback``: back to the previous release, the data kept."""
    rel = Releases(root)
    current, previous = rel.target(rel.current), rel.target(rel.previous)
    if current is None:
        raise ReleaseError(f"hall-edge was not installed from a bundle here (no {rel.current})")
    if previous is None:
        raise ReleaseError("no previous version on this box: nothing to roll back to")
    cur_info, prev_info = rel.info(current) or {}, rel.info(previous) or {}
    print(
        f"回退 rolling back hall-edge {cur_info.get('version')} -> {prev_info.get('version')}",
        file=out,
    )
    units = _units(root)
    _systemctl("stop", units, out)
    data = rel.path(dc.DATA_DIR)
    backup = cur_info.get("backup")
    if backup and cur_info.get("upgraded_from") == prev_info.get("version"):
        restore_for_rollback(rel.path(str(backup)), data, _stamp(), out)
    _link(rel.previous, current)
    _link(rel.current, previous)
    if reprovision and (root / dc.DEVICE_CONFIG.lstrip("/")).exists():
        # the units and files of the version now running
        subprocess.run(
            [
                str(previous / "venv" / "bin" / "hall"),
                "provision",
                "--non-interactive",
                "--no-broker-check",
                "--no-detect",
            ],
            check=False,
            timeout=300,
        )
    _systemctl("start", units, out)
    print(
        f"已回退 now running hall-edge {prev_info.get('version')}; "
        f"{cur_info.get('version')} is kept (`hall rollback` again returns to it)",
        file=out,
    )
    return EXIT_OK


# ---------------------------------------------------------------- commands


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "rollback",
        help="go back to the previously installed hall-edge version, keeping the data",
        description="Switches /opt/hall-edge/current back to the version installed before "
        "the last upgrade (kept on disk), restoring from the upgrade's backup only a "
        "database that version cannot read; the newer copy is kept beside it.",
    )
    p.add_argument("--root", default="/", help=argparse.SUPPRESS)
    p.set_defaults(func=main_rollback)


def main_rollback(args: argparse.Namespace) -> int:
    root = Path(args.root)
    if str(root) == "/" and os.geteuid() != 0:
        print("hall rollback: run as root (sudo hall rollback)", file=sys.stderr)
        return EXIT_ERROR
    try:
        return rollback(sys.stdout, root)
    except ReleaseError as exc:
        print(f"hall rollback: {exc}", file=sys.stderr)
        return EXIT_REFUSED


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m hall.release")
    sub = p.add_subparsers(dest="action", required=True)
    a = sub.add_parser("activate", help="make an installed release the running one")
    a.add_argument("--release", required=True)
    a.add_argument("provision", nargs=argparse.REMAINDER, help="hall provision's options")
    args = p.parse_args(argv)
    provision_args = args.provision[1:] if args.provision[:1] == ["--"] else args.provision
    try:
        return activate(Path(args.release), provision_args, sys.stdout)
    except ReleaseError as exc:
        print(f"hall-edge install: {exc}", file=sys.stderr)
        return EXIT_REFUSED


if __name__ == "__main__":
    sys.exit(main())

"""Writing a device's files (atomically, only what changed) and applying them: the hall
user and folders, secrets, the device config and the units' environment, units,
udev rules, the queue host's Mosquitto config and hall config, imported data; then
``systemctl enable --now`` where systemd runs the machine, or the list of what to run."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TextIO

from hall import device_config as dc
from hall.core.db import backup_to
from hall.core.files import replace_durably
from hall.core.net import parse_hostport
from hall.provision.hardware import local_udev_rule
from hall.provision.layout import (
    EXIT_CONFIG,
    INSTALLED_HALL,
    SOURCE,
    Layout,
    ProvisionError,
    hall_executable,
    lookup_id,
    systemd_running,
)
from hall.provision.wizard import Answers

log = logging.getLogger(__name__)


@dataclass
class Installer:
    """Writes the files of one device and runs (or lists) the commands that apply them."""

    layout: Layout
    out: TextIO
    run_commands: bool = True
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    commands: list[list[str]] = field(default_factory=list)
    skipped: list[list[str]] = field(default_factory=list)
    restart_broker: bool = False

    def write(
        self, device_path: str, text: str | bytes, *, mode: int = 0o644, group: str | None = None
    ) -> bool:
        target = self.layout.path(device_path)
        gid = lookup_id(self.layout.root, "group", group) if group else None
        if dc.write_atomic(target, text, mode=mode, group=gid):
            self.changed.append(device_path)
            return True
        self.unchanged.append(device_path)
        return False

    def copy_source(
        self,
        name: str,
        device_path: str,
        *,
        replace: dict[str, str] | None = None,
        mode: int = 0o644,
        group: str | None = None,
    ) -> bool:
        text = (SOURCE / name).read_text(encoding="utf-8")
        for old, new in (replace or {}).items():
            text = text.replace(old, new)
        return self.write(device_path, text, mode=mode, group=group)

    def run(self, command: list[str], *, what: str, shown: list[str] | None = None) -> bool:
        """Run ``command`` now if we may, else remember it for the report.  ``shown`` is
        what the report prints instead (a command carrying a password)."""
        display = shown or command
        if not self.run_commands or shutil.which(command[0]) is None:
            self.skipped.append(display)
            return False
        try:
            result = subprocess.run(
                command, capture_output=True, text=True, timeout=120, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            print(f"  ✗ {what}: {' '.join(display)}: {exc}", file=self.out)
            self.skipped.append(display)
            return False
        self.commands.append(display)
        if result.returncode != 0:
            print(
                f"  ✗ {what}: {' '.join(display)} exited {result.returncode}: "
                f"{(result.stderr or result.stdout).strip()[-500:]}",
                file=self.out,
            )
            return False
        return True

    def chown_hall(self, path: Path) -> None:
        uid = lookup_id(self.layout.root, "passwd", "hall")
        gid = lookup_id(self.layout.root, "group", "hall")
        if uid is not None and gid is not None and os.geteuid() == 0:
            os.chown(path, uid, gid)


def _root_flag(layout: Layout) -> list[str]:
    return [] if layout.live else [f"--root={layout.root}"]


def install(
    answers: Answers, layout: Layout, out: TextIO, *, import_data: Path | None = None
) -> Installer:
    config = answers.config
    inst = Installer(layout, out)
    # 1. the hall user and folders first: later files belong to its group
    inst.copy_source("sysusers.d/hall.conf", "/etc/sysusers.d/hall.conf")
    inst.copy_source("tmpfiles.d/hall.conf", "/etc/tmpfiles.d/hall.conf")
    inst.run(["systemd-sysusers", *_root_flag(layout), "hall.conf"], what="hall user")
    inst.run(
        ["systemd-tmpfiles", *_root_flag(layout), "--create", "hall.conf"], what="hall folders"
    )
    for folder in (dc.ETC_DIR, dc.DATA_DIR, f"{dc.DATA_DIR}/config"):
        layout.path(folder).mkdir(parents=True, exist_ok=True)
    # 2. secrets
    if answers.broker_password:
        inst.write(
            f"{dc.ETC_DIR}/broker.password",
            answers.broker_password + "\n",
            mode=0o640,
            group="hall",
        )
    if answers.center_password:
        inst.write(
            f"{dc.ETC_DIR}/center.password",
            answers.center_password + "\n",
            mode=0o640,
            group="hall",
        )
    engine_password_changed = False
    if config.runs_engine and config.role != "engine" and config.broker_username:
        secret = layout.path(dc.ENGINE_PASSWORD_FILE)
        if not secret.exists():
            engine_password_changed = inst.write(
                dc.ENGINE_PASSWORD_FILE, secrets.token_urlsafe(18) + "\n", mode=0o640, group="hall"
            )
    web_password_changed = False
    if config.web_device and config.broker_username:  # the web role this queue host runs
        secret = layout.path(dc.WEB_PASSWORD_FILE)
        if not secret.exists():
            web_password_changed = inst.write(
                dc.WEB_PASSWORD_FILE, secrets.token_urlsafe(18) + "\n", mode=0o640, group="hall"
            )
    # the hall's person salt: made once per hall on the queue host, the same on every kiosk
    salt_here = bool(config.salt_file) and layout.path(str(config.salt_file)).exists()
    if config.salt_file and answers.person_salt is not None:
        inst.write(config.salt_file, answers.person_salt + b"\n", mode=0o640, group="hall")
    elif config.salt_file and config.runs_engine and not salt_here:
        inst.write(config.salt_file, secrets.token_hex(32) + "\n", mode=0o640, group="hall")
    elif config.salt_file and not salt_here:
        print(
            f"  ! 缺少大厅盐值 no hall salt: copy the queue host's {config.salt_file} here "
            f"(hall provision --person-salt-file COPY); until then per-person limits count "
            "only this kiosk's tickets since it started",
            file=out,
        )
    # a kiosk's staff PIN: its hash only
    if answers.staff_pin_hash is not None:
        inst.write(dc.STAFF_PIN_FILE, answers.staff_pin_hash + "\n", mode=0o640, group="hall")
    # 3. the device config and the units' environment
    inst.write(dc.DEVICE_CONFIG, dc.dump(config))
    roles = dc.unit_roles(config)
    for role in roles:
        env = dc.unit_environment(config, role, root=layout.root)
        if role in dc.SCREEN_ROLES:
            env["HALL_APP"] = role
        inst.write(f"{dc.ETC_DIR}/{role}.env", dc.render_env(env), mode=0o640, group="hall")
    # 4. units (ExecStart: the hall script of this installation)
    exe = {INSTALLED_HALL: hall_executable()}
    for unit in (*dc.ROLE_UNIT.values(), dc.SYNC_UNIT):
        inst.copy_source(unit, f"/etc/systemd/system/{unit}", replace=exe)
    for role in dc.SCREEN_ROLES:
        drop_in = f"/etc/systemd/system/hall-{role}.service.d/cage.conf"
        if role == config.role and config.screen == "cage":
            inst.copy_source("cage.conf", drop_in, replace=exe)
            inst.copy_source("pam.d/hall-cage", "/etc/pam.d/hall-cage")
        elif layout.path(drop_in).exists():  # back to eglfs: the drop-in goes
            layout.path(drop_in).unlink()
            inst.changed.append(drop_in + " (removed)")
    # 5. udev: generic names and permissions, and this box's ports
    inst.copy_source("udev/99-hall.rules", "/etc/udev/rules.d/99-hall.rules")
    rules = local_rules(config, answers.udev, layout.path(LOCAL_RULES))
    if rules or layout.path(LOCAL_RULES).exists():
        inst.write(
            LOCAL_RULES,
            "# written by `hall provision`: which port holds which device on this box\n"
            + "".join(rule + "\n" for rule in rules),
        )
    # 6. the queue host's broker and hall config
    if config.runs_engine:
        _install_broker(inst, config, answers, engine_password_changed, web_password_changed)
        _install_hall_config(inst, config, answers)
    # 7. data from the box this one replaces
    if import_data is not None:
        import_databases(import_data, layout, out)
    for path in sorted(layout.data.glob("*.db")):
        inst.chown_hall(path)
    return inst


LOCAL_RULES = "/etc/udev/rules.d/98-hall-local.rules"


def configured_kinds(config: dc.DeviceConfig) -> set[str]:
    """The kinds of hardware this config names (the HALL_DEVICE tags of its udev rules)."""
    kinds = {
        kind
        for kind, value in (
            ("printer", config.hardware_printer),
            ("idcard", config.hardware_idcard),
            ("scanner", config.hardware_scanner),
        )
        if value
    }
    if config.hardware_keys:
        kinds.add("keypad" if config.role == "caller" else "evaluator")
    return kinds


def local_rules(
    config: dc.DeviceConfig, found: dict[str, dict[str, str]], existing: Path
) -> list[str]:
    """This box's udev lines: one per device found now; a device still configured but not
    seen this time (unplugged while re-provisioning) keeps its earlier line."""
    old: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for line in existing.read_text().splitlines():
            for kind in configured_kinds(config):
                if line.endswith(f'ENV{{HALL_DEVICE}}="{kind}"'):
                    old[kind] = line
    rules = dict(old)
    for kind, props in found.items():
        rule = local_udev_rule(kind, props)
        if rule:
            rules[kind] = rule
    return [rules[kind] for kind in sorted(rules)]


def _install_broker(
    inst: Installer,
    config: dc.DeviceConfig,
    answers: Answers,
    engine_password_changed: bool,
    web_password_changed: bool = False,
) -> None:
    layout = inst.layout
    replace: dict[str, str] = {}
    if config.broker_allow_anonymous:
        replace = {
            "allow_anonymous false": "allow_anonymous true",
            "password_file /etc/mosquitto/hall.passwd": "#password_file /etc/mosquitto/hall.passwd",
            "acl_file /etc/mosquitto/hall.acl": "#acl_file /etc/mosquitto/hall.acl",
        }
    port = parse_hostport(config.broker_address, 1883)[1]
    if port != 1883:
        replace["listener 1883"] = f"listener {port}"
    conf_changed = inst.copy_source(
        "mosquitto/hall.conf", "/etc/mosquitto/conf.d/hall.conf", replace=replace
    )
    acl_changed = inst.copy_source(
        "mosquitto/hall.acl", "/etc/mosquitto/hall.acl", mode=0o640, group="mosquitto"
    )
    passwd = layout.path("/etc/mosquitto/hall.passwd")
    accounts: list[tuple[str, str, bool]] = []
    if config.broker_username:
        own = dc.read_secret(config.broker_password_file, layout.root)
        if own:
            accounts.append((config.broker_username, own, bool(answers.broker_password)))
        if config.role != "engine":
            engine = dc.read_secret(dc.ENGINE_PASSWORD_FILE, layout.root)
            if engine:
                accounts.append((dc.ENGINE_USER, engine, engine_password_changed))
        if config.web_device:
            web = dc.read_secret(dc.WEB_PASSWORD_FILE, layout.root)
            if web:
                accounts.append((config.web_device, web, web_password_changed))
    if not passwd.exists():
        passwd.parent.mkdir(parents=True, exist_ok=True)
        passwd.touch(mode=0o640)
    present = {line.split(":", 1)[0] for line in passwd.read_text().splitlines() if ":" in line}
    passwd_changed = False
    for user, password, fresh in accounts:
        if user in present and not fresh:
            continue
        shown = ["mosquitto_passwd", "-b", "/etc/mosquitto/hall.passwd", user, "********"]
        if inst.run(
            ["mosquitto_passwd", "-b", str(passwd), user, password],
            what=f"broker account {user}",
            shown=shown,
        ):
            passwd_changed = True
            inst.changed.append(f"/etc/mosquitto/hall.passwd ({user})")
    # Mosquitto 2 reads it as its own user; mosquitto_passwd may have replaced the file
    os.chmod(passwd, 0o640)
    gid = lookup_id(layout.root, "group", "mosquitto")
    if gid is not None and os.geteuid() == 0:
        os.chown(passwd, 0, gid)
    if conf_changed or acl_changed or passwd_changed:
        inst.restart_broker = True


def _install_hall_config(inst: Installer, config: dc.DeviceConfig, answers: Answers) -> None:
    source = answers.hall_config_source
    target = inst.layout.path(config.engine_hall_config)
    if source is None:
        return
    data = Path(source).read_bytes()
    if target.exists() and target.read_bytes() != data:
        backup = target.with_name(f"{target.name}.before-{_stamp()}")
        shutil.copy2(target, backup)
        print(f"  原大厅配置已备份 previous hall config kept as {backup}", file=inst.out)
    if inst.write(config.engine_hall_config, data, mode=0o640, group="hall"):
        inst.chown_hall(target)


def _stamp() -> str:
    return datetime.now().strftime("%Y%m%d-%H%M%S")


def import_databases(source: Path, layout: Layout, out: TextIO) -> list[Path]:
    """Copy the ``*.db`` of a replaced box (a mounted disk or a backup folder) into
    ``/var/lib/hall`` with SQLite's backup API (consistent even with a WAL beside it).
    A database already here is kept under a dated name, never overwritten or deleted."""
    if not source.is_dir():
        raise ProvisionError(f"--import-data {source}: not a folder", EXIT_CONFIG)
    copied: list[Path] = []
    layout.data.mkdir(parents=True, exist_ok=True)
    for db in sorted(source.glob("*.db")):
        target = layout.data / db.name
        if target.exists():
            kept = target.with_name(f"{target.name}.before-{_stamp()}")
            with sqlite3.connect(target) as live, sqlite3.connect(kept) as copy:
                live.backup(copy)
            print(
                f"  本机原有 {target.name} 已保留为 kept this box's {target.name} as {kept.name}",
                file=out,
            )
        tmp = target.with_name(f".{target.name}.import")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        backup_to(db, tmp)
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                target.with_name(target.name + suffix).unlink()
        replace_durably(tmp, target)  # fsync the copy, rename, fsync the folder
        copied.append(target)
        print(f"  已导入 imported {db} -> {target}", file=out)
    if not copied:
        print(f"  ! {source} 中没有数据库 no *.db in {source}", file=out)
    return copied


def apply_units(inst: Installer, config: dc.DeviceConfig, old_units: list[str]) -> None:
    """Enable the device's units (and disable those of an earlier role)."""
    layout = inst.layout
    units = dc.units_for(config)
    obsolete = [u for u in old_units if u not in units and u.startswith("hall-")]
    udev_changed = any(p.startswith("/etc/udev/") for p in inst.changed)
    restart = [
        f"hall-{Path(p).stem}.service"
        for p in inst.changed
        if p.startswith(f"{dc.ETC_DIR}/") and p.endswith(".env")
    ]
    restart += [
        Path(p).name
        for p in inst.changed
        if p.startswith("/etc/systemd/system/hall-")
        and p.endswith(".service")
        and Path(p).name in units
    ]
    if inst.restart_broker and dc.BROKER_UNIT in units:
        restart.append(dc.BROKER_UNIT)
    # a new staff PIN or person salt: the kiosk reads them when it starts
    if dc.STAFF_PIN_FILE in inst.changed or (config.salt_file and config.salt_file in inst.changed):
        restart.append(dc.ROLE_UNIT["kiosk"])
    restart = list(dict.fromkeys(u for u in restart if u in units))
    live_systemd = layout.live and systemd_running()
    if layout.live and udev_changed:
        if Path("/run/udev/control").exists():
            inst.run(["udevadm", "control", "--reload"], what="udev rules")
            inst.run(
                [
                    "udevadm",
                    "trigger",
                    "--action=add",
                    "--subsystem-match=tty",
                    "--subsystem-match=input",
                    "--subsystem-match=usbmisc",
                    "--subsystem-match=usb",
                ],
                what="udev rules",
            )
            inst.run(["udevadm", "settle", "--timeout=10"], what="udev rules")
        else:
            inst.skipped.append(["udevadm", "control", "--reload"])
    if live_systemd:
        inst.run(["systemctl", "daemon-reload"], what="systemd")
        if obsolete:
            inst.run(["systemctl", "disable", "--now", *obsolete], what="old role's units")
        inst.run(["systemctl", "enable", "--now", *units], what="units")
        if restart:
            inst.run(["systemctl", "try-restart", *restart], what="changed units")
        return
    if not layout.live:
        # a tree: enable offline (symlinks), as image builders do
        if obsolete:
            inst.run(["systemctl", *_root_flag(layout), "disable", *obsolete], what="units")
        inst.run(
            [
                "systemctl",
                *_root_flag(layout),
                "enable",
                *[u for u in units if layout.path(f"/etc/systemd/system/{u}").exists()],
            ],
            what="units",
        )
    inst.skipped.append(["systemctl", "daemon-reload"])
    if obsolete:
        inst.skipped.append(["systemctl", "disable", "--now", *obsolete])
    inst.skipped.append(["systemctl", "enable", "--now", *units])

"""``hall doctor``: is this device healthy?  A clear report with a fix for every problem.

Checks (each one ``ok``, ``warn``, ``problem`` or ``skip``):

* ``config``   the device config is valid, the units' environment files match it,
               the files it names exist (passwords, salt, certificates), and on the
               queue host the hall config loads and lists this device;
* ``devices``  the configured hardware is there and answers (printer status and
               paper, the SAM reader's status, the PC/SC reader, input devices);
* ``broker``   the hall broker accepts this device's login (within a timeout);
* ``center``   the central broker does (a warning only: the hall works offline);
* ``web``      the web role (role web, or a queue host's web.device) answers
               ``GET /healthz`` on its configured local address, connected to the broker;
* ``clock``    the year is sane, NTP is synchronised (``timedatectl``, if it answers);
* ``disk``     free space where the data lives;
* ``outbox``   events waiting for the center, and how old the oldest is;
* ``versions`` hall-edge, Python, the libraries, the OS (and Mosquitto on the queue host,
               the web stack where the web role runs);
* ``units``    the units run (where systemd runs the machine).

Exit code 0 when nothing is a problem (warnings allowed), 1 otherwise;
``--json`` prints one JSON object instead of the report.
"""

from __future__ import annotations

import argparse
import errno
import http.client
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from hall import device_config as dc
from hall.core.version import __version__

OK, WARN, PROBLEM, SKIP = "ok", "warn", "problem", "skip"
MARKS = {OK: "✓", WARN: "!", PROBLEM: "✗", SKIP: "-"}
PACKAGES = (
    "PySide6-Essentials",
    "paho-mqtt",
    "pyserial",
    "evdev",
    "python-escpos",
    "pyscard",
    "sqlite-utils",
    "PyYAML",
    "pydantic",
)
WEB_PACKAGES = ("starlette", "uvicorn", "Jinja2", "sse-starlette")


@dataclass(frozen=True)
class Check:
    """One line of the report: what was checked, how it went, and what to do."""

    name: str
    status: str
    summary: str
    details: tuple[str, ...] = ()
    fix: str = ""
    fix_zh: str = ""


@dataclass
class Doctor:
    """What the checks look at; every source of facts can be replaced (tests)."""

    root: Path = Path("/")
    timeout: float = 3.0
    min_free_mb: int = 500
    warn_free_mb: int = 2000
    outbox_max_age_h: float = 24.0
    outbox_warn_events: int = 100_000
    now: Callable[[], datetime] = datetime.now
    timedatectl: Callable[[], dict[str, str] | None] | None = None
    pcsc_readers: Callable[[], list[str]] | None = None
    input_exists: Callable[[str], bool] | None = None
    systemd: bool | None = None  # None: look whether systemd runs this machine
    unit_state: Callable[[str], str] | None = None  # unit -> "active", "failed" ...
    verify_files: bool = False  # re-hash every installed file, not only those touched
    config: dc.DeviceConfig | None = field(default=None, init=False)

    def path(self, device_path: str) -> Path:
        return dc.host_path(self.root, device_path)

    @property
    def config_file(self) -> Path:
        return self.path(dc.DEVICE_CONFIG)

    def run(self, only: list[str] | None = None) -> list[Check]:
        checks: list[tuple[str, Callable[[], Check]]] = [
            ("config", self.check_config),
            ("devices", self.check_devices),
            ("broker", self.check_broker),
            ("center", self.check_center),
            ("web", self.check_web),
            ("clock", self.check_clock),
            ("disk", self.check_disk),
            ("outbox", self.check_outbox),
            ("versions", self.check_versions),
            ("release", self.check_release),
            ("units", self.check_units),
        ]
        results = []
        for name, check in checks:
            if name == "config" or not only or name in only:
                result = check()
                if not only or name in only:
                    results.append(result)
        return results

    # ------------------------------------------------------------------ config

    def check_config(self) -> Check:
        path = self.config_file
        try:
            self.config = dc.load(path)
        except FileNotFoundError:
            return Check(
                "config",
                PROBLEM,
                f"no device config at {path}",
                fix="run `hall provision` to set this device up",
                fix_zh="运行 hall provision 配置本设备",
            )
        except (dc.ConfigError, OSError) as exc:
            found = exc.problems if isinstance(exc, dc.ConfigError) else (str(exc),)
            return Check(
                "config",
                PROBLEM,
                f"device config {path} is invalid",
                details=tuple(found),
                fix="correct the keys above (or re-run `hall provision`)",
                fix_zh="按提示修改配置文件，或重新运行 hall provision",
            )
        c = self.config
        problems: list[str] = []
        warnings: list[str] = []
        for role in dc.unit_roles(c):
            env_path = self.path(f"{dc.ETC_DIR}/{role}.env")
            try:
                actual = dc.parse_env(env_path.read_text(encoding="utf-8"))
            except OSError:
                problems.append(f"{env_path} is missing")
                continue
            try:
                wanted = dc.unit_environment(c, role, root=self.root)
            except OSError as exc:
                problems.append(f"cannot read a file the config names: {exc}")
                continue
            actual.pop("HALL_APP", None)
            if actual != wanted:
                changed = sorted(
                    k for k in set(actual) | set(wanted) if actual.get(k) != wanted.get(k)
                )
                warnings.append(f"{env_path} does not match the config ({', '.join(changed)})")
        for key in (
            "salt_file",
            "broker.password_file",
            "broker.ca_file",
            "broker.cert_file",
            "broker.key_file",
            "center.password_file",
            "center.ca_file",
            "center.cert_file",
            "center.key_file",
        ):
            value = c.get(key)
            if value and not self.path(value).is_file():
                problems.append(f"{key}: {value} does not exist")
        if c.web_device and c.broker_username and not self.path(dc.WEB_PASSWORD_FILE).is_file():
            problems.append(f"web.device {c.web_device}: {dc.WEB_PASSWORD_FILE} does not exist")
        if c.role == "kiosk":
            problems += self._staff_pin_problems()
        if c.runs_engine:
            problems += self._hall_config_problems(c)
            warnings += self._english_gaps(c)
        summary = f"{c.role} {c.device} in hall {c.hall} ({path})"
        if problems:
            return Check(
                "config",
                PROBLEM,
                summary,
                tuple(problems + warnings),
                fix="re-run `hall provision` (copy the salt file from the queue host if it "
                "is missing)",
                fix_zh="重新运行 hall provision（缺少盐值文件时从排队主机复制）",
            )
        if warnings:
            return Check(
                "config",
                WARN,
                summary,
                tuple(warnings),
                fix="apply the config: `hall provision --non-interactive`",
                fix_zh="运行 hall provision --non-interactive 使配置生效",
            )
        return Check("config", OK, summary)

    def _staff_pin_problems(self) -> list[str]:
        """A kiosk without its staff PIN refuses the green channel and the re-print panel."""
        from hall.core import pins

        pin_file = self.path(dc.STAFF_PIN_FILE)
        try:
            pins.check_hash(pin_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return [
                f"no staff PIN ({dc.STAFF_PIN_FILE}): the green channel and the re-print "
                "panel are refused; set one with `hall provision --generate-staff-pin`"
            ]
        except (OSError, ValueError) as exc:
            return [f"{dc.STAFF_PIN_FILE}: {exc}"]
        return []

    def _english_gaps(self, c: dc.DeviceConfig) -> list[str]:
        """The citizen-facing texts of the hall config without an English value (the
        kiosk's English mode shows them in Chinese)."""
        from kiosk.engine.config import ConfigError, english_gaps, load_hall_config

        path = self.path(c.engine_hall_config)
        try:
            gaps = english_gaps(load_hall_config(path))
        except (ConfigError, OSError):
            return []  # reported as a problem by _hall_config_problems
        return [f"hall config {path}: {gap}" for gap in gaps]

    def _hall_config_problems(self, c: dc.DeviceConfig) -> list[str]:
        from kiosk.engine.config import ConfigError, load_hall_config

        path = self.path(c.engine_hall_config)
        try:
            hall = load_hall_config(path)
        except ConfigError as exc:  # every problem, each with its path in the file
            return [f"hall config {path}: {p}" for p in exc.problems]
        except OSError as exc:
            return [f"hall config {path}: {exc}"]
        problems = []
        if hall.hall_id != c.hall:
            problems.append(f"hall config {path} is for hall {hall.hall_id!r}, not {c.hall!r}")
        devices = _devices(path)
        if c.role != "engine" and devices is not None and c.device not in devices:
            problems.append(
                f"the hall config's devices list has no {c.device!r}: the engine will "
                "refuse its commands"
            )
        if c.web_device and devices is not None and devices.get(c.web_device) != "web":
            what = "has no" if c.web_device not in devices else "does not give role web to"
            problems.append(
                f"the hall config's devices list {what} {c.web_device!r} (web.device): the "
                f"engine will refuse the web role's commands; add {{id: {c.web_device}, "
                "role: web}"
            )
        return problems

    # ------------------------------------------------------------------ devices

    def check_devices(self) -> Check:
        c = self.config
        if c is None:
            return Check("devices", SKIP, "no valid device config")
        results: list[tuple[str, str]] = []  # (status, line)
        if c.hardware_printer:
            results.append(self._printer(c.hardware_printer))
        if c.hardware_idcard:
            results.append(self._idcard(c.hardware_idcard))
        if c.hardware_citizencard:
            results.append(self._citizencard(c.hardware_citizencard))
        for what, spec in (("scanner", c.hardware_scanner), ("keys", c.hardware_keys)):
            if spec:
                results.append(self._input(what, spec))
        lines = tuple(line for _, line in results)
        unready = dc.hardware_problems(c)  # the same check as hall provision
        if unready:
            return Check(
                "devices",
                PROBLEM,
                f"this {c.role} cannot serve as configured",
                tuple(str(p) for p in unready) + lines,
                fix="connect a ticket printer or an ID card reader and re-run `hall provision` "
                "(it detects them; or --printer SPEC / --idcard PORT)",
                fix_zh="连接热敏打印机或身份证阅读器，再运行 hall provision",
            )
        if not results:
            return Check("devices", SKIP, f"no hardware configured for role {c.role}")
        worst = _worst(s for s, _ in results)
        bad = sum(1 for s, _ in results if s != OK)
        summary = f"{len(results)} device(s), {bad} need attention" if bad else "all answer"
        if worst == OK:
            return Check("devices", OK, summary, lines)
        return Check(
            "devices",
            worst,
            summary,
            lines,
            fix="check the cable and power of each device marked above; `hall provision` "
            "detects and tests them again",
            fix_zh="检查上面标出的设备的连线和电源；可重新运行 hall provision 检测和测试",
        )

    def _printer(self, spec: str) -> tuple[str, str]:
        from drivers.printer.errors import PrinterError, PrinterNotFound
        from drivers.printer.printer import open_printer

        try:
            with open_printer(spec, status_timeout=self.timeout) as printer:
                status = printer.status()
        except PrinterNotFound as exc:
            if _busy(exc):
                return WARN, f"printer {spec}: in use by another program (hall-kiosk?)"
            return PROBLEM, f"printer {spec}: {exc}"
        except PrinterError as exc:
            return PROBLEM, f"printer {spec}: {exc}"
        line = f"printer {spec}: {status.describe()}"
        if not status.printable:
            return PROBLEM, line
        if status.paper == "near_end" or not status.verified:
            return WARN, line
        return OK, line

    def _idcard(self, port: str) -> tuple[str, str]:
        from drivers.idcard.errors import IdCardError, ReaderNotFound
        from drivers.idcard.reader import SamReader

        try:
            with SamReader(port, timeout=self.timeout, retries=1) as reader:
                reader.status()
                sam = reader.sam_id()
        except ReaderNotFound as exc:
            if "busy" in str(exc):
                return WARN, f"ID card reader {port}: in use by another program (hall-kiosk?)"
            return PROBLEM, f"ID card reader {port}: {exc}"
        except IdCardError as exc:
            return PROBLEM, f"ID card reader {port}: {exc}"
        return OK, f"ID card reader {port}: SAM {sam}"

    def _citizencard(self, reader: str) -> tuple[str, str]:
        readers = self.pcsc_readers() if self.pcsc_readers else _pcsc_readers()
        if readers is None:
            return PROBLEM, "citizen card: pcscd is not running (systemctl start pcscd.socket)"
        from drivers.citizencard.reader import match_readers

        wanted = None if reader == "any" else reader
        if not match_readers(readers, wanted):
            listed = ", ".join(readers) or "none"
            return PROBLEM, f"citizen card reader {reader!r} not attached (readers: {listed})"
        return OK, f"citizen card reader: {', '.join(match_readers(readers, wanted))}"

    def _input(self, what: str, spec: str) -> tuple[str, str]:
        if self.input_exists is not None:
            present = self.input_exists(spec)
        else:
            from drivers.keys.discovery import locate
            from drivers.keys.errors import KeyDeviceError

            try:
                locate(spec)
                present = True
            except KeyDeviceError:
                present = False
        if not present:
            return PROBLEM, f"{what} {spec}: not present (plugged in? udev rule installed?)"
        return OK, f"{what} {spec}: present"

    # ------------------------------------------------------------------ links

    def check_broker(self) -> Check:
        c = self.config
        if c is None:
            return Check("broker", SKIP, "no valid device config")
        user, password_file = c.broker_username, c.broker_password_file
        error = self._mqtt(
            c.broker_address,
            user,
            password_file,
            c.broker_ca_file,
            c.broker_cert_file,
            c.broker_key_file,
        )
        if error is None:
            return Check(
                "broker", OK, f"hall broker {c.broker_address} accepts {user or 'anonymous'}"
            )
        if c.runs_engine:
            fix = (
                "the hall broker runs on this box: `systemctl restart mosquitto`, then see "
                "`journalctl -u mosquitto`; accounts: /etc/mosquitto/hall.passwd"
            )
            fix_zh = "消息服务器在本机：systemctl restart mosquitto，并查看 journalctl -u mosquitto"
        else:
            fix = (
                "check the network cable and that the queue host is on; the password must "
                "match the queue host's /etc/mosquitto/hall.passwd"
            )
            fix_zh = "检查网线、排队主机是否开机；密码需与排队主机的 hall.passwd 一致"
        return Check(
            "broker", PROBLEM, f"hall broker {c.broker_address}: {error}", fix=fix, fix_zh=fix_zh
        )

    def check_center(self) -> Check:
        c = self.config
        if c is None:
            return Check("center", SKIP, "no valid device config")
        if not c.center_address:
            return Check("center", SKIP, "no center configured (nothing is sent upstream)")
        error = self._mqtt(
            c.center_address,
            c.center_username,
            c.center_password_file,
            c.center_ca_file,
            c.center_cert_file,
            c.center_key_file,
        )
        if error is None:
            return Check("center", OK, f"central broker {c.center_address} accepts this device")
        return Check(
            "center",
            WARN,
            f"central broker {c.center_address}: {error}",
            details=("the hall keeps working; events wait in the outbox",),
            fix="check the uplink, the center's address and this device's credentials",
            fix_zh="检查外网连接、中心地址和本设备的证书/密码（大厅业务不受影响）",
        )

    def check_web(self) -> Check:
        c = self.config
        if c is None:
            return Check("web", SKIP, "no valid device config")
        if not c.web_id:
            return Check("web", SKIP, "no web role on this box")
        url = health_url(c.web_listen)
        fix = (
            "`systemctl status hall-web`, why: `journalctl -u hall-web`; is another program "
            f"on the port (`ss -ltnp | grep {c.web_listen.rpartition(':')[2]}`)?"
        )
        fix_zh = (
            "查看 systemctl status hall-web 和 journalctl -u hall-web；检查端口是否被其他程序占用"
        )
        try:
            status, body = _get_health(url, self.timeout)
        except (OSError, ValueError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            return Check(
                "web",
                PROBLEM,
                f"web role {c.web_id}: nothing answers {url} ({reason})",
                fix=fix,
                fix_zh=fix_zh,
            )
        details = tuple(f"{key}: {body[key]}" for key in ("broker", "alive") if key in body)
        if status == 200:
            return Check("web", OK, f"web role {c.web_id} answers {url}", details)
        if status == 503 and body.get("broker") is False:
            return Check(
                "web",
                PROBLEM,
                f"web role {c.web_id} runs but is not connected to the hall broker",
                details,
                fix=f"its broker account {c.web_id} (the queue host's hall.passwd) and the "
                "broker check above; then `systemctl restart hall-web`",
                fix_zh="检查网页服务的消息服务器账号和上面的 broker 检查，然后重启 hall-web",
            )
        return Check(
            "web",
            PROBLEM,
            f"web role {c.web_id}: {url} answered HTTP {status}",
            details,
            fix=fix + "; `systemctl restart hall-web`",
            fix_zh=fix_zh + "，然后重启 hall-web",
        )

    def _mqtt(
        self,
        address: str,
        user: str | None,
        password_file: str | None,
        ca: str | None,
        cert: str | None,
        key: str | None,
    ) -> str | None:
        """None if the broker accepts the login, else why not."""
        from hall.core.net import parse_hostport
        from sync.client import BrokerAddress, CenterLinkError, close, connect, new_client
        from sync.mqtt import TlsSettings

        host, port = parse_hostport(address)
        try:
            password = dc.read_secret(password_file, self.root)
        except OSError as exc:
            return f"cannot read the password file: {exc}"
        tls = TlsSettings(ca, cert, key) if ca else None
        client = new_client(
            BrokerAddress(host, port, user, password, tls), f"hall-doctor-{os.getpid()}"
        )
        client.connect_timeout = self.timeout
        try:
            connect(
                client,
                BrokerAddress(host, port, user, password, tls),
                session_expiry_s=0,
                timeout=self.timeout,
            )
        except CenterLinkError as exc:
            return str(exc).replace("central broker ", "broker ")
        finally:
            close(client)
        return None

    # ------------------------------------------------------------------ machine

    def check_clock(self) -> Check:
        now = self.now()
        if not 2024 <= now.year <= 2099:
            return Check(
                "clock",
                PROBLEM,
                f"the clock says {now:%Y-%m-%d %H:%M}",
                fix="set the time (`timedatectl set-time`, or NTP: `timedatectl set-ntp true`); "
                "replace the RTC battery if it resets at power-off",
                fix_zh="设置系统时间（timedatectl），开机后时间复位请更换主板电池",
            )
        info = self.timedatectl() if self.timedatectl else _timedatectl()
        if info is None:
            unknown = "NTP status unknown (timedatectl unavailable)"
            return Check("clock", OK, f"{now:%Y-%m-%d %H:%M}; {unknown}")
        details = tuple(f"{k}: {info[k]}" for k in ("Timezone", "NTP") if k in info)
        if info.get("NTPSynchronized") != "yes":
            return Check(
                "clock",
                WARN,
                f"{now:%Y-%m-%d %H:%M}, not synchronised with NTP",
                details,
                fix="`timedatectl set-ntp true`; the queue host can serve time to the hall LAN",
                fix_zh="运行 timedatectl set-ntp true 开启网络校时",
            )
        return Check("clock", OK, f"{now:%Y-%m-%d %H:%M}, NTP synchronised", details)

    def check_disk(self) -> Check:
        folder = self.path(dc.DATA_DIR)
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        try:
            usage = shutil.disk_usage(folder)
        except OSError as exc:
            return Check("disk", PROBLEM, f"cannot read free space of {folder}: {exc}")
        free_mb = usage.free // (1 << 20)
        pct = 100.0 * usage.free / usage.total if usage.total else 0.0
        summary = f"{free_mb} MB free ({pct:.0f} %) at {folder}"
        if free_mb < self.min_free_mb or pct < 5:
            return Check(
                "disk",
                PROBLEM,
                summary,
                fix="free space: `journalctl --vacuum-size=100M`, remove old files in "
                "/var/lib/hall/*.before-*; never delete the databases",
                fix_zh="清理磁盘空间（日志、旧备份），不要删除数据库文件",
            )
        if free_mb < self.warn_free_mb:
            return Check("disk", WARN, summary, fix="keep an eye on it", fix_zh="磁盘空间偏少")
        return Check("disk", OK, summary)

    def check_outbox(self) -> Check:
        c = self.config
        if c is None:
            return Check("outbox", SKIP, "no valid device config")
        db = self.path(dc.sync_db(c))
        if not db.exists():
            return Check("outbox", SKIP, f"no device database yet ({db})")
        from sync import outbox

        try:
            conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=self.timeout)
            try:
                backlog = outbox.backlog(conn)
            finally:
                conn.close()
        except sqlite3.Error as exc:
            if "no such table" in str(exc):
                return Check("outbox", SKIP, f"{db} has no outbox yet")
            return Check(
                "outbox",
                PROBLEM,
                f"cannot read {db}: {exc}",
                fix="check the file's owner (hall) and the disk",
                fix_zh="检查数据库文件权限和磁盘",
            )
        summary = f"{backlog.events} events waiting ({backlog.business} business)"
        if backlog.events == 0:
            return Check("outbox", OK, "empty: everything was delivered")
        if not c.center_address:
            return Check(
                "outbox",
                WARN,
                summary + "; no center is configured, so they stay here",
                fix="configure the center (`hall provision --center HOST:PORT`)",
                fix_zh="尚未配置中心服务器，事件暂存本机",
            )
        age = _age_hours(backlog.oldest_ts, self.now())
        if age is not None:
            summary += f", oldest {age:.1f} h old"
        if age is not None and age > self.outbox_max_age_h:
            return Check(
                "outbox",
                PROBLEM,
                summary,
                fix="events are not reaching the center: `systemctl status hall-sync`, "
                "`journalctl -u hall-sync`, and the center check above",
                fix_zh="事件未能上传中心：检查 hall-sync 服务和中心连接",
            )
        if backlog.events > self.outbox_warn_events:
            return Check(
                "outbox", WARN, summary, fix="the uplink is slow or was down", fix_zh="上传积压较多"
            )
        return Check("outbox", OK, summary)

    def check_versions(self) -> Check:
        from importlib import metadata

        details = [f"hall-edge {__version__}", f"Python {platform.python_version()}"]
        missing = []
        for package in PACKAGES:
            try:
                details.append(f"{package} {metadata.version(package)}")
            except metadata.PackageNotFoundError:
                missing.append(package)
        if self.config is not None and self.config.web_id:
            for package in WEB_PACKAGES:
                try:
                    details.append(f"{package} {metadata.version(package)}")
                except metadata.PackageNotFoundError:
                    missing.append(package)
        details.append(f"OS {_os_name()}")
        if self.config is not None and self.config.runs_engine:
            details.append(f"mosquitto {_mosquitto_version() or 'not installed'}")
        if sys.version_info < (3, 11) or missing:
            what = f"missing: {', '.join(missing)}" if missing else "Python older than 3.11"
            return Check(
                "versions",
                PROBLEM,
                what,
                tuple(details),
                fix="reinstall from the bundle: `sudo HALL_REINSTALL=1 ./install` in the "
                "unpacked hall-edge bundle (a development checkout: `make setup`)",
                fix_zh="在解压的安装包目录运行 sudo HALL_REINSTALL=1 ./install 重新安装",
            )
        return Check("versions", OK, f"hall-edge {__version__}", tuple(details))

    def check_release(self) -> Check:
        """The installed bundle release: its version and any file changed since install."""
        from hall import release

        rel = release.Releases(self.root)
        folder = rel.target(rel.current)
        if folder is None:
            return Check("release", SKIP, "not installed from a bundle (a development checkout)")
        version = rel.installed_version()
        previous = rel.previous_version()
        try:
            result = release.verify(folder, full=self.verify_files)
        except (OSError, ValueError) as exc:
            return Check(
                "release",
                PROBLEM,
                f"hall-edge {version}: cannot read its manifest: {exc}",
                fix="install the bundle again: `sudo HALL_REINSTALL=1 ./install`",
                fix_zh="安装清单缺失，请重新运行安装包",
            )
        details = [f"installed {version} in {folder}", f"previous: {previous or 'none'}"]
        if str(self.root) == "/" and version != __version__:
            details.append(f"this hall command is {__version__}, not the installed {version}")
        if not result.ok:
            changed = [f"modified: {n}" for n in result.modified] + [
                f"missing: {n}" for n in result.missing
            ]
            return Check(
                "release",
                PROBLEM,
                f"hall-edge {version}: {len(result.modified)} modified, "
                f"{len(result.missing)} missing of {result.files} files",
                (*details, *changed[:20], *(["…"] if len(changed) > 20 else [])),
                fix="install the same bundle again: `sudo HALL_REINSTALL=1 ./install`",
                fix_zh="已安装文件被改动，请用同一安装包重新安装",
            )
        return Check(
            "release",
            OK,
            f"hall-edge {version}, {result.files} files as installed",
            tuple(details),
        )

    def check_units(self) -> Check:
        c = self.config
        live = str(self.root) == "/"
        running = self.systemd if self.systemd is not None else Path("/run/systemd/system").is_dir()
        if c is None:
            return Check("units", SKIP, "no valid device config")
        if not (live and running):
            return Check("units", SKIP, "systemd is not running here: units not checked")
        state = self.unit_state or _unit_state
        states = {unit: state(unit) for unit in dc.units_for(c)}
        down = [u for u, s in states.items() if s != "active"]
        details = tuple(f"{u}: {s}" for u, s in states.items())
        if down:
            return Check(
                "units",
                PROBLEM,
                f"not running: {', '.join(down)}",
                details,
                fix=f"`systemctl start {' '.join(down)}`; why: `journalctl -u {down[0]}`",
                fix_zh="启动上述服务，并用 journalctl 查看原因",
            )
        return Check("units", OK, "all running", details)


# ---------------------------------------------------------------------- helpers


def _unit_state(unit: str) -> str:
    try:
        result = subprocess.run(
            ["systemctl", "is-active", unit],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({exc})"
    return result.stdout.strip() or "unknown"


def _worst(statuses: Any) -> str:
    order = [OK, SKIP, WARN, PROBLEM]
    return max(statuses, key=order.index, default=OK)


def _busy(exc: BaseException) -> bool:
    cause = exc.__cause__
    while cause is not None:
        if getattr(cause, "errno", None) in (errno.EBUSY, errno.EAGAIN):
            return True
        cause = cause.__cause__ or cause.__context__
    return "busy" in str(exc).lower() or "locked" in str(exc).lower()


def _devices(path: Path) -> dict[str, str] | None:
    """The hall config's devices: id -> role (None: the list cannot be read)."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    devices = data.get("devices") if isinstance(data, dict) else None
    if not isinstance(devices, list):
        return None
    return {str(d.get("id")): str(d.get("role")) for d in devices if isinstance(d, dict)}


def health_url(listen: str) -> str:
    """``http://HOST:PORT/healthz`` of a ``web.listen`` address: an any-address
    (``0.0.0.0``, ``::``) is asked on the loopback, never on another box."""
    from hall.core.net import parse_hostport

    host, port = parse_hostport(listen, dc.WEB_PORT)
    host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/healthz"


def _get_health(url: str, timeout: float) -> tuple[int, dict[str, Any]]:
    """(HTTP status, the JSON body or {}) of ``url``; ``OSError`` if nothing answers."""
    import urllib.error
    import urllib.request

    # the local address itself: never through an http_proxy of the environment
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as response:
            status, raw = response.status, response.read(65536)
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read(65536)
        exc.close()
    try:
        body = json.loads(raw)
    except ValueError:
        body = {}
    return status, body if isinstance(body, dict) else {}


def _pcsc_readers() -> list[str] | None:
    from drivers.citizencard.errors import NoReader
    from drivers.citizencard.pcscd import pcscd_running, readers_now

    try:
        if not pcscd_running():
            return None
    except NoReader:
        return None
    return readers_now()


def _timedatectl() -> dict[str, str] | None:
    binary = shutil.which("timedatectl")
    if binary is None:
        return None
    try:
        result = subprocess.run(
            [binary, "show"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None  # e.g. no systemd-timedated (containers)
    return dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)


def _age_hours(ts: str | None, now: datetime) -> float | None:
    if not ts:
        return None
    try:
        then = datetime.fromisoformat(ts)
    except ValueError:
        return None
    if then.tzinfo is not None:
        now = (
            now.astimezone(then.tzinfo) if now.tzinfo else now.astimezone().astimezone(then.tzinfo)
        )
    elif now.tzinfo is not None:
        now = now.replace(tzinfo=None)
    return (now - then) / timedelta(hours=1)


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.partition("=")[2].strip('"')
    except OSError:
        pass
    return platform.platform()


def _mosquitto_version() -> str | None:
    from sync.broker import BrokerError, find_mosquitto

    try:
        binary = find_mosquitto()
        result = subprocess.run(
            [binary, "-h"], capture_output=True, text=True, timeout=5, check=False
        )
    except (BrokerError, OSError, subprocess.TimeoutExpired):
        return None
    first = (result.stdout or result.stderr).splitlines()[:1]
    return first[0].removeprefix("mosquitto version ").strip() if first else None


# ---------------------------------------------------------------------- report


def render(checks: list[Check], doctor: Doctor, out: TextIO) -> None:
    c = doctor.config
    who = f"{c.role} {c.device} (hall {c.hall})" if c else "unconfigured device"
    print(f"hall doctor — {who}", file=out)
    for check in checks:
        print(f"  {MARKS[check.status]} {check.name:<9} {check.summary}", file=out)
        for line in check.details:
            print(f"      {line}", file=out)
        if check.status in (WARN, PROBLEM):
            if check.fix:
                print(f"      fix: {check.fix}", file=out)
            if check.fix_zh:
                print(f"      处理: {check.fix_zh}", file=out)
    problems = sum(1 for c in checks if c.status == PROBLEM)
    warnings = sum(1 for c in checks if c.status == WARN)
    if problems:
        print(f"{problems} problem(s), {warnings} warning(s)  发现 {problems} 个问题", file=out)
    else:
        print(f"healthy, {warnings} warning(s)  设备正常", file=out)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "doctor",
        help="check this device: config, hardware, broker, clock, disk, outbox, versions",
        description="Checks this device and prints a report with a fix for each problem; "
        "exits 1 if there is a problem (warnings do not count).",
    )
    p.add_argument("--json", action="store_true", help="one JSON object instead of the report")
    p.add_argument("--root", default="/", help="check a provisioned tree instead of this machine")
    p.add_argument("--only", help="comma-separated checks to run (config always runs first)")
    p.add_argument(
        "--timeout",
        type=float,
        default=3.0,
        metavar="S",
        help="seconds for each broker and device to answer (default 3)",
    )
    p.add_argument("--min-free-mb", type=int, default=500, help="disk problem below this")
    p.add_argument(
        "--verify-files",
        action="store_true",
        help="release check: re-hash every installed file (default: those whose size or "
        "time changed)",
    )
    p.add_argument(
        "--outbox-max-age",
        type=float,
        default=24.0,
        metavar="H",
        help="outbox problem when the oldest waiting event is older (hours)",
    )
    p.set_defaults(func=main)


def main(
    args: argparse.Namespace, *, doctor: Doctor | None = None, out: TextIO | None = None
) -> int:
    doctor = doctor or Doctor(
        root=Path(args.root),
        timeout=args.timeout,
        min_free_mb=args.min_free_mb,
        outbox_max_age_h=args.outbox_max_age,
        verify_files=getattr(args, "verify_files", False),
    )
    only = [n.strip() for n in args.only.split(",")] if args.only else None
    checks = doctor.run(only)
    stream = out or sys.stdout
    problems = sum(1 for c in checks if c.status == PROBLEM)
    if args.json:
        stream.write(
            json.dumps(
                {
                    "ok": problems == 0,
                    "problems": problems,
                    "warnings": sum(1 for c in checks if c.status == WARN),
                    "checks": [asdict(c) for c in checks],
                },
                ensure_ascii=False,
            )
            + "\n"
        )
    else:
        render(checks, doctor, stream)
    return 1 if problems else 0

"""The answers: from flags, the earlier config, the detected hardware and, unless
``--non-interactive``, the technician."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from hall import device_config as dc
from hall.core import pins
from hall.provision.hardware import (
    INPUT_KINDS,
    STABLE_NAMES,
    Found,
    Probe,
    detect,
    local_udev_rule,
)
from hall.provision.layout import DEMO_HALL, DEMO_NAME, EXIT_CONFIG, Layout, ProvisionError
from hall.provision.prompts import Prompter

log = logging.getLogger(__name__)


@dataclass
class Answers:
    """What the technician decided, beyond the config itself."""

    config: dc.DeviceConfig
    broker_password: str | None = None  # new password text to store
    center_password: str | None = None
    hall_config_source: Path | None = None  # a hall config file to install (queue host)
    udev: dict[str, dict[str, str]] = field(default_factory=dict)  # kind -> udev properties
    # hardware key -> the value to try the part with now: the detected node, before the
    # udev rule that gives it its stable /dev/hall-* name is installed
    try_now: dict[str, str] = field(default_factory=dict)
    staff_pin_hash: str | None = None  # a kiosk's new staff PIN, hashed (None: keep the file)
    staff_pin_shown: str | None = None  # a PIN made here: shown once, after writing
    person_salt: bytes | None = None  # the hall's person salt copied from a file


def existing_values(path: Path) -> dict[str, Any]:
    """The values of an earlier config, unchecked (a broken file still gives defaults)."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    if not isinstance(data, dict):
        return {}
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            for sub, sub_value in value.items():
                flat[f"{key}.{sub}"] = sub_value
        else:
            flat[str(key)] = value
    return flat


NONE_WORDS = ("none", "-", "无")
_DECLARED = object()  # "no fallback given: use the option's declared default"


def _flag_value(args: argparse.Namespace, key: str) -> Any:
    return getattr(args, "opt_" + dc.OPTIONS_BY_KEY[key].field, None)


def read_pin_file(source: str) -> str:
    """A PIN from a file (one line, 4-8 digits); the error never shows the file's content."""
    try:
        text = Path(source).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ProvisionError(f"cannot read the PIN file {source}: {exc}", EXIT_CONFIG) from exc
    try:
        return pins.check_pin(text)
    except ValueError as exc:
        raise ProvisionError(f"PIN file {source}: {exc}", EXIT_CONFIG) from None


def read_salt_file(source: str) -> bytes:
    """The hall's person salt from a copy of the queue host's salt file."""
    try:
        data = Path(source).read_bytes().strip()
    except OSError as exc:
        raise ValueError(f"cannot read the salt file {source}: {exc}") from exc
    if len(data) < 16 or b"\n" in data:
        raise ValueError(
            f"{source} is not a hall salt (one line of at least 16 bytes, as the queue host's "
            f"{dc.ETC_DIR}/salt)"
        )
    return data


def _read_password_file(source: str | None) -> str | None:
    if not source or source in NONE_WORDS:
        return None
    try:
        text = Path(source).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ProvisionError(f"cannot read password file {source}: {exc}", EXIT_CONFIG) from exc
    if not text or "\n" in text:
        raise ProvisionError(f"password file {source} must hold one line", EXIT_CONFIG)
    return text


class Wizard:
    """Collects the answers: from flags, the earlier config, detection and, unless
    ``--non-interactive``, the technician."""

    def __init__(
        self,
        args: argparse.Namespace,
        layout: Layout,
        probe: Probe,
        prompter: Prompter | None,
        out: TextIO,
    ) -> None:
        self.args = args
        self.layout = layout
        self.probe = probe
        self.p = prompter
        self.out = out
        self.old = existing_values(layout.device_config)
        self.values: dict[str, Any] = {}
        self.try_now: dict[str, str] = {}

    # -- helpers -----------------------------------------------------------------

    def default(self, key: str, fallback: Any = _DECLARED) -> Any:
        """Flag, else the earlier config, else ``fallback`` (by default the declared default)."""
        flag = _flag_value(self.args, key)
        if flag is not None:
            return None if flag in NONE_WORDS else flag
        if key in self.old and self.old[key] not in (None, ""):
            return self.old[key]
        return dc.OPTIONS_BY_KEY[key].default if fallback is _DECLARED else fallback

    def given(self, key: str) -> bool:
        return _flag_value(self.args, key) is not None

    def value(
        self,
        key: str,
        question: str,
        *,
        fallback: Any = _DECLARED,
        optional: bool = False,
    ) -> Any:
        option = dc.OPTIONS_BY_KEY[key]
        default = self.default(key, fallback)
        if self.p is None or self.given(key):
            result = default
        elif option.choices:
            labels = dc.ROLES if key == "role" else {c: c for c in option.choices}
            result = self.p.choose(question, [(c, labels[c]) for c in option.choices], default)
        elif option.boolean:
            result = self.p.confirm(question, bool(default))
        else:
            shown = None if default is None else str(default)
            result = self.p.ask(question, shown, check=option.check, optional=optional)
        self.values[key] = result
        return result

    # -- the questions -------------------------------------------------------------

    def check_earlier(self) -> None:
        """The earlier ``device.yaml`` read through the same check as ``hall doctor``.

        Its values are the defaults, so a mistake in it (a misspelt key, a bad value)
        would silently become a default: without a technician to ask, provisioning
        stops before it writes anything; the wizard shows the problems and asks.  A
        problem with a key whose flag is given is no problem: the flag replaces it.
        """
        path = self.layout.device_config
        try:
            dc.load(path)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise ProvisionError(f"cannot read {path}: {exc}", EXIT_CONFIG) from exc
        except dc.ConfigError as exc:
            found = [
                p for p in exc.problems if not (p.path in dc.OPTIONS_BY_KEY and self.given(p.path))
            ]
            if not found:
                return
            lines = "\n".join(f"  ✗ {p}" for p in found)
            if self.p is None:
                raise ProvisionError(
                    f"{path} has {len(found)} problem(s); nothing was written.  Correct the "
                    f"file (or give the flag for that key) and run again:\n{lines}",
                    EXIT_CONFIG,
                ) from None
            print(
                f"  ! 已有配置有误 the existing config {path} has problems (answer the "
                f"questions to replace them):\n{lines}",
                file=self.out,
            )

    def run(self) -> Answers:
        args = self.args
        self.check_earlier()
        if self.old:
            print(
                f"已有配置 existing config: {self.layout.device_config} (its values are the "
                "defaults)",
                file=self.out,
            )
        role = self.value("role", "设备角色 What is this device?")
        queue_host = True
        chosen_before = self.old.get("role") == "kiosk" and "queue_host" in self.old
        if (
            role == "kiosk"
            and self.p is None
            and not self.given("queue_host")
            and not chosen_before
        ):
            raise ProvisionError(
                "is this kiosk the queue host (it runs the queue engine and the hall "
                "broker)?  Say so: --queue-host (with --hall-config FILE) or "
                "--no-queue-host (with --broker HOST:PORT of the queue host)",
                EXIT_CONFIG,
            )
        if role != "engine":
            queue_host = bool(
                self.value(
                    "queue_host",
                    "本机是否为排队主机（运行排队引擎和消息服务器）? Is this box the queue host?",
                    fallback=role == "kiosk" and not self.old,
                )
            )
        hall_source = self._hall_config_source() if queue_host else None
        hall_file = hall_source
        if queue_host and hall_file is None:  # the installed one (maybe pushed by the center)
            hall_file = self.layout.path(str(self.default("engine.hall_config")))
        hall_from_file = None
        if hall_file is not None:
            with contextlib.suppress(ValueError):
                hall_from_file = self._hall_id_of(hall_file)
        hall = self.value("hall", "大厅编号 Hall id", fallback=hall_from_file)
        if hall_from_file and hall and hall != hall_from_file:
            raise ProvisionError(
                f"hall id {hall!r} differs from the hall config's {hall_from_file!r} "
                f"({hall_file}): install the hall's own config with --hall-config FILE",
                EXIT_CONFIG,
            )
        window = None
        if role in dc.WINDOW_ROLES:
            window = self.value("window", "窗口号 Window number")
        old_device = self.old.get("device") if self.old.get("role") == role else None
        fallback_id = args.replace or old_device or dc.default_device_id(role, window)
        if args.replace:
            self.values["device"] = args.replace
        else:
            self.value("device", "设备编号 Device id", fallback=fallback_id)
        if role in dc.SCREEN_ROLES:
            self.value("screen", "显示方式 How is the screen driven?")
        self.person_salt: bytes | None = None
        self.staff_pin_hash: str | None = None
        self.staff_pin_shown: str | None = None
        if role in ("kiosk", "engine"):
            salt_file = self.value(
                "salt_file",
                "盐值文件 Salt file (the hall's secret for per-person limits)",
                fallback=f"{dc.ETC_DIR}/salt",
            )
            self._person_salt(salt_file, queue_host)
        if role == "kiosk":
            self._staff_pin()
        elif getattr(args, "staff_pin_file", None) or getattr(args, "generate_staff_pin", False):
            raise ProvisionError(
                f"a staff PIN is set on a kiosk, not on a {role}: a clerk's PIN goes into the "
                "hall config (hall provision --hash-pin)",
                EXIT_CONFIG,
            )
        self._broker(queue_host)
        self._web(role, queue_host, hall_file)
        self._center()
        hardware = self._hardware(role)
        if role == "display":
            self.value("hardware.layout", "显示布局 Display layout")
        if queue_host:
            self.values["engine.hall_config"] = self.default("engine.hall_config")
        self.values["queue_host"] = queue_host if role != "engine" else None
        config = self._config()
        answers = Answers(
            config,
            broker_password=self.broker_password,
            center_password=self.center_password,
            hall_config_source=hall_source,
            udev=hardware,
            try_now=self.try_now,
            staff_pin_hash=self.staff_pin_hash,
            staff_pin_shown=self.staff_pin_shown,
            person_salt=self.person_salt,
        )
        return answers

    # -- secrets of a kiosk ------------------------------------------------------------

    def _person_salt(self, salt_file: str | None, queue_host: bool) -> None:
        """The hall's person salt: made on the queue host (by :func:`install`), copied to
        each kiosk from a file (``--person-salt-file``, or the wizard asks for it)."""
        source = getattr(self.args, "person_salt_file", None)
        if source:
            if not salt_file:
                raise ProvisionError(
                    "--person-salt-file needs a salt file to copy it to (--salt-file)",
                    EXIT_CONFIG,
                )
            try:
                self.person_salt = read_salt_file(source)
            except ValueError as exc:
                raise ProvisionError(str(exc), EXIT_CONFIG) from None
            return
        if (
            self.p is None
            or queue_host
            or not salt_file
            or self.layout.path(str(salt_file)).exists()
        ):
            return
        self.person_salt = self.p.ask(
            f"人员盐值 Copy the hall's person salt from (a copy of the queue host's "
            f"{dc.ETC_DIR}/salt, e.g. on a USB stick; - : later)",
            check=read_salt_file,
            optional=True,
        )

    def _staff_pin(self) -> None:
        """The kiosk's staff PIN (green channel, re-print panel): given in a file, made here
        and shown once, or typed twice; only its hash is written (``hall.core.pins``)."""
        args = self.args
        from_file = getattr(args, "staff_pin_file", None)
        generate = getattr(args, "generate_staff_pin", False)
        if from_file and generate:
            raise ProvisionError(
                "--staff-pin-file and --generate-staff-pin: choose one", EXIT_CONFIG
            )
        if from_file:
            self.staff_pin_hash = pins.hash_pin(read_pin_file(from_file))
            return
        if generate:
            self._generate_pin()
            return
        existing = self.layout.path(dc.STAFF_PIN_FILE).exists()
        if self.p is None:
            if existing:
                return  # re-provisioning keeps the PIN staff know
            raise ProvisionError(
                "a kiosk needs its own staff PIN (it opens the green channel and the "
                "re-print panel): --staff-pin-file FILE (a file holding 4-8 digits) or "
                "--generate-staff-pin (made here and shown once)",
                EXIT_CONFIG,
            )
        if existing and self.p.confirm(
            "保留本机的工作人员密码? Keep this kiosk's staff PIN?", True
        ):
            return
        for _ in range(self.p.MAX_TRIES):
            pin = self.p.secret(
                "工作人员密码 Staff PIN, 4-8 digits (Enter: make one and show it once)"
            )
            if pin is None:
                self._generate_pin()
                return
            try:
                pins.check_pin(pin)
            except ValueError as exc:
                print(f"  ✗ {exc}", file=self.out)
                continue
            if self.p.secret("再输入一次 The same PIN again") != pin:
                print("  ✗ 两次输入不一致 the two PINs differ", file=self.out)
                continue
            self.staff_pin_hash = pins.hash_pin(pin)
            return
        raise ProvisionError("no staff PIN was set", EXIT_CONFIG)

    def _generate_pin(self) -> None:
        self.staff_pin_shown = pins.generate_pin()
        self.staff_pin_hash = pins.hash_pin(self.staff_pin_shown)

    def _hall_config_source(self) -> Path | None:
        installed = self.layout.path(str(self.default("engine.hall_config")))
        given = self.args.hall_config
        if given:
            return DEMO_HALL if given == DEMO_NAME else Path(given)
        if installed.exists():
            return None  # keep the installed (maybe center-pushed) config
        if self.p is None:
            raise ProvisionError(
                "the queue host needs the hall's config (queues, items, windows, devices): "
                f"--hall-config FILE (--hall-config {DEMO_NAME} installs the demo hall, for "
                "trying hall-edge out only)",
                EXIT_CONFIG,
            )

        def exists(answer: str) -> Path:
            path = DEMO_HALL if answer == DEMO_NAME else Path(answer)
            self._hall_id_of(path)
            return path

        return Path(
            self.p.ask(
                "大厅配置文件 Hall config file to install (queues, windows, devices; "
                f"'{DEMO_NAME}': the demo hall)",
                check=exists,
            )
        )

    @staticmethod
    def _hall_id_of(path: Path) -> str:
        from kiosk.engine.config import ConfigError, load_hall_config

        try:
            return load_hall_config(path).hall_id
        except ConfigError as exc:  # names the file
            raise ValueError(str(exc)) from exc
        except OSError as exc:
            raise ValueError(f"{path}: {exc}") from exc

    def _broker(self, queue_host: bool) -> None:
        device = self.values["device"]
        self.broker_password: str | None = None
        if queue_host:
            self.values["broker.address"] = self.default("broker.address", "127.0.0.1:1883")
            if self.p and not self.given("broker.address"):
                print(
                    f"  大厅消息服务器在本机 the hall broker runs here: "
                    f"{self.values['broker.address']}",
                    file=self.out,
                )
            anonymous = self.value(
                "broker.allow_anonymous",
                "允许无密码连接大厅消息服务器? Let LAN devices connect without a password?",
            )
        else:
            address = self.value(
                "broker.address",
                "大厅消息服务器地址 Hall broker HOST:PORT (the queue host)",
                fallback=None,
            )
            if not address:
                raise ProvisionError(
                    "the hall broker's address is needed: --broker HOST:PORT (the queue host)",
                    EXIT_CONFIG,
                )
            anonymous = False
        if queue_host and anonymous:
            user = None
            self.values["broker.username"] = None
        else:
            user = self.value(
                "broker.username",
                "消息服务器用户名 Broker user name (- for none)",
                fallback=device,
                optional=True,
            )
        source = self.args.broker_password_file if user else None
        if source:
            self.broker_password = _read_password_file(source)
        elif user and self.p is not None:
            keep = self.layout.path(f"{dc.ETC_DIR}/broker.password").exists()
            what = "Enter: keep the current one" if keep else "Enter: none"
            if queue_host and not keep:
                what = "Enter: make one"
            self.broker_password = self.p.secret(f"消息服务器密码 Broker password ({what})")
        has_password = bool(self.broker_password) or (
            user is not None and self.layout.path(f"{dc.ETC_DIR}/broker.password").exists()
        )
        if user and queue_host and not has_password:
            self.broker_password = secrets.token_urlsafe(18)  # a local account: nobody types it
        if user and (self.broker_password or has_password):
            self.values["broker.password_file"] = f"{dc.ETC_DIR}/broker.password"
        else:
            self.values["broker.password_file"] = None
        for key in ("broker.ca_file", "broker.cert_file", "broker.key_file"):
            self.values[key] = self.default(key) if user or key == "broker.ca_file" else None

    def _web(self, role: str, queue_host: bool, hall_file: Path | None) -> None:
        """The web role: a box of its own (role web) listens; a queue host may run it too,
        as a device of the hall config with its own broker account (``web.device``)."""
        listen_question = (
            "网页服务监听地址 The web role listens on HOST:PORT (port 80: the ticket QR's "
            "address http://hall.local/...)"
        )
        if role == "web":
            if self.given("web.device"):  # the config check says why not (it is this box)
                self.values["web.device"] = self.default("web.device")
            self.value("web.listen", listen_question)
            return
        if not queue_host:
            for key in ("web.device", "web.listen"):
                if self.given(key):  # the config check says why not (only on a queue host)
                    self.values[key] = self.default(key)
            return
        fallback = None
        if self.p is not None and "web.device" not in self.old and hall_file is not None:
            fallback = self._web_device_of(hall_file)  # the hall config's web device
        web = self.value(
            "web.device",
            "同时运行网页服务（市民扫码查看排队进度、大厅管理台）? Also run the web role "
            "(citizens' queue page, manager console) as device (- : not on this box)",
            fallback=fallback,
            optional=True,
        )
        if web:
            self.value("web.listen", listen_question)
        elif self.given("web.listen"):
            self.values["web.listen"] = self.default("web.listen")

    @staticmethod
    def _web_device_of(path: Path) -> str | None:
        from kiosk.engine.config import ConfigError, load_hall_config

        try:
            devices = load_hall_config(path).devices
        except (ConfigError, OSError):
            return None
        return next((d.id for d in devices if d.role == "web"), None)

    def _center(self) -> None:
        self.center_password: str | None = None
        address = self.value(
            "center.address",
            "中心服务器地址 Central broker HOST:PORT (- : no center)",
            optional=True,
        )
        if not address:
            for key in dc.OPTIONS_BY_KEY:
                if key.startswith("center.") and key != "center.address":
                    self.values[key] = None
            return
        user = self.value(
            "center.username",
            "中心用户名 Center user name (- for none / certificate)",
            fallback=self.values["device"],
            optional=True,
        )
        source = self.args.center_password_file
        if user and source:
            self.center_password = _read_password_file(source)
        elif user and self.p is not None:
            self.center_password = self.p.secret("中心密码 Center password")
        keep = self.layout.path(f"{dc.ETC_DIR}/center.password").exists()
        self.values["center.password_file"] = (
            f"{dc.ETC_DIR}/center.password" if user and (self.center_password or keep) else None
        )
        self.value(
            "center.ca_file", "中心 CA 证书 Center CA certificate (- : no TLS)", optional=True
        )
        if self.values["center.ca_file"]:
            self.value("center.cert_file", "本机证书 Device certificate (-: none)", optional=True)
            if self.values["center.cert_file"]:
                self.value("center.key_file", "本机私钥 Device key")
        self.value("center.ack", "何时删除已发送事件 When may sent events be deleted?")

    # -- hardware ---------------------------------------------------------------------

    def _hardware(self, role: str) -> dict[str, dict[str, str]]:
        kinds = {
            "kiosk": ["printer", "idcard", "citizencard", "scanner"],
            "caller": ["keypad"],
            "evaluator": ["evaluator"],
        }.get(role, [])
        if not kinds:
            return {}
        found: list[Found] = []
        wanted = [k for k in kinds if _flag_value(self.args, _hw_key(k)) in (None, "auto")]
        if wanted and not self.args.no_detect:
            print("正在检测硬件 detecting hardware ...", file=self.out, flush=True)
            found = detect(self.probe, wanted, self.out)
            if not found:
                print("  未发现设备 nothing answered", file=self.out)
        udev: dict[str, dict[str, str]] = {}
        stable = self.probe.use_stable_names(self.layout)
        for kind in kinds:
            spec, node = self._pick(kind, found)
            if spec:
                self.try_now[_hw_key(kind)] = str(spec)
            if spec and node and kind != "citizencard" and not _is_stable(node):
                props = self.probe.props(node)
                if local_udev_rule(kind, props):
                    udev[kind] = props
                    if stable:
                        spec = _stable_spec(kind, str(spec))
            self.values[_hw_key(kind)] = spec
        return udev

    def _pick(self, kind: str, found: list[Found]) -> tuple[str | None, str]:
        """(config value, device node) for one kind of hardware."""
        key = _hw_key(kind)
        flag = _flag_value(self.args, key)
        if flag is not None and flag != "auto":
            if flag in NONE_WORDS:
                return None, ""
            return self._checked(key, flag), _node_of(kind, flag)
        old = None if flag == "auto" else self.old.get(key)
        matches = [f for f in found if f.kind == kind]
        same = [f for f in matches if _same(kind, f, old)]
        title = HARDWARE_TITLES[kind]
        if self.p is None:
            if old:  # re-running changes nothing that was configured
                note = "" if same or not found else " (not detected now)"
                print(f"  {title}: {old}{note}", file=self.out)
                return self._checked(key, old), _node_of(kind, old)
            if matches:
                print(f"  {title}: {matches[0].label}", file=self.out)
                return self._finish(kind, matches[0], old)
            print(f"  {title}: 未发现 not found", file=self.out)
            return None, ""
        others = [f for f in found if f.kind == "input"] if kind in INPUT_KINDS else []
        options: list[tuple[Any, str]] = [(f, f.label) for f in matches + others]
        if old and not same:
            options.append(("old", f"保留原配置 keep the configured {old}"))
        options += [("manual", "手动输入 type it in"), (None, "无 none")]
        default: Any = (same or matches)[0] if same or matches else None
        if default is None and old:
            default = "old"
        choice = self.p.choose(f"{title}:", options, default)
        if choice is None:
            return None, ""
        if choice == "old":
            return self._checked(key, old), _node_of(kind, old)
        if choice == "manual":
            option = dc.OPTIONS_BY_KEY[key]
            spec = self.p.ask(f"{title} ({option.description})", check=option.check)
            return spec, _node_of(kind, spec)
        assert isinstance(choice, Found)
        if choice.kind == "input":
            choice = Found(kind, choice.spec, choice.label, choice.path)
        return self._finish(kind, choice, old)

    def _finish(self, kind: str, chosen: Found, old: Any) -> tuple[str, str]:
        spec = chosen.spec
        if kind == "printer":
            previous = ""
            if old and "profile=" in str(old):
                previous = str(old).rpartition("profile=")[2].split("&")[0]
            profile = self.args.printer_profile
            if profile is None and self.p is not None:
                from drivers.printer.profiles import PROFILES

                profile = self.p.choose(
                    "打印纸宽度 Paper width / cutter",
                    [(p, p) for p in PROFILES],
                    previous or "80mm",
                )
            spec += f"&profile={profile or previous or '80mm'}"
        return spec, chosen.path

    def _checked(self, key: str, value: Any) -> Any:
        try:
            return dc.OPTIONS_BY_KEY[key].check(value)
        except ValueError as exc:
            raise ProvisionError(f"{dc.OPTIONS_BY_KEY[key].flag}: {exc}", EXIT_CONFIG) from exc

    def _config(self) -> dc.DeviceConfig:
        data: dict[str, Any] = {}
        for key, value in self.values.items():
            if value is None:
                continue
            head, dot, name = key.partition(".")
            if dot:
                data.setdefault(head, {})[name] = value
            else:
                data[key] = value
        try:
            return dc.parse(data, source="answers")
        except dc.ConfigError as exc:
            flags = []
            for problem in exc.problems:
                option = dc.OPTIONS_BY_KEY.get(problem.path)
                flags.append(f"{problem} ({option.flag})" if option else problem)
            raise ProvisionError("; ".join(flags), EXIT_CONFIG) from exc


HARDWARE_TITLES = {
    "printer": "热敏打印机 ticket printer",
    "idcard": "身份证阅读器 ID card reader",
    "citizencard": "社保卡/市民卡读卡器 citizen card reader",
    "scanner": "扫码枪 barcode scanner",
    "keypad": "叫号键盘 caller keypad",
    "evaluator": "评价按键 evaluator buttons",
}


def _hw_key(kind: str) -> str:
    return "hardware.keys" if kind in ("keypad", "evaluator") else f"hardware.{kind}"


def _node_of(kind: str, spec: Any) -> str:
    """The device node behind a configured value (for udev), "" if none."""
    text = str(spec or "")
    if kind == "printer":
        scheme, _, rest = text.partition(":")
        return rest.split("?")[0] if scheme == "serial" else ""
    if kind == "citizencard" or not text.startswith("/"):
        return ""
    return text


def _same(kind: str, found: Found, old: Any) -> bool:
    """Is ``found`` the device the earlier config names (also through a udev symlink)?"""
    node = _node_of(kind, old) if old else ""
    if kind == "citizencard":
        return bool(old) and str(old) == found.spec
    return bool(node and found.path) and os.path.realpath(node) == os.path.realpath(found.path)


def _stable_spec(kind: str, spec: str) -> str:
    """The config value naming the device by the udev rule's stable name."""
    if kind == "printer":  # serial:/dev/ttyUSB0?baud=9600&... keeps its parameters
        _, sep, query = spec.partition("?")
        return f"serial:{STABLE_NAMES[kind]}{sep}{query}"
    return STABLE_NAMES[kind]


def _is_stable(node: str) -> bool:
    return node in STABLE_NAMES.values()

"""The device config file (``/etc/hall/device.yaml``): what this box is and what is plugged in.

Every key is declared once, as data (:data:`OPTIONS`: type, default,
description, which roles use it, the ``hall provision`` flag that sets it);
the file's schema (:data:`FILE_SCHEMA`) is made from that table.
:func:`parse` checks a whole file at once with :mod:`hall.core.schema` (the
one mechanism every config of hall-edge uses) and reports every problem, with
its key and a "did you mean" for misspelt keys and values; ``hall provision``
and ``hall doctor`` both read the file through it.  :func:`dump` writes the file
back with each key's description as a comment; :func:`write_atomic` replaces
a file so that a power cut leaves the old or the new one, never half of each.

What the config means for systemd (which units run, and the environment file
``/etc/hall/<role>.env`` each unit reads) is derived here too
(:func:`units_for`, :func:`unit_environment`), so ``hall provision`` writes
it and ``hall doctor`` checks it from the same code.

The units run ``hall <role> $HALL_ARGS`` with ``EnvironmentFile=/etc/hall/<role>.env``:
the roles' own options (``--printer``, ``--window`` ...) and environment
variables (``HALL_BROKER``, ``HALL_MQTT_PASSWORD`` ...) carry the config, so
no role needs to read this file.  systemd splits ``$HALL_ARGS`` at
whitespace, hence values that become arguments may not contain any.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BeforeValidator

from hall.core import schema
from hall.core.files import atomic_write
from hall.core.net import format_hostport, parse_hostport
from hall.core.schema import Problem

__all__ = [
    "DATA_DIR",
    "DEVICE_CONFIG",
    "OPTIONS",
    "ROLES",
    "ConfigError",
    "DeviceConfig",
    "Option",
    "dump",
    "hardware_problems",
    "load",
    "parse",
    "render_env",
    "unit_environment",
    "units_for",
    "write_atomic",
]

DEVICE_CONFIG = "/etc/hall/device.yaml"
ETC_DIR = "/etc/hall"
DATA_DIR = "/var/lib/hall"
VERSION = 1
ENGINE_USER = "engine"  # the queue engine's broker account on a kiosk that is the queue host
ENGINE_PASSWORD_FILE = f"{ETC_DIR}/engine.password"
# the web role's broker password on a queue host that runs it too (its user: web.device)
WEB_PASSWORD_FILE = f"{ETC_DIR}/web.password"
# the web role's port: 80, the ticket QR's default address (http://hall.local/t/...) has none
WEB_PORT = 80
# a kiosk's staff PIN, only as its hash (hall.core.pins), written by `hall provision`
STAFF_PIN_FILE = f"{ETC_DIR}/staff-pin"

# role -> what it is, for the wizard's menu
ROLES: dict[str, str] = {
    "kiosk": "取号机 queue-ticket kiosk (touch screen, ID/citizen card readers, printer)",
    "caller": "叫号器 clerk caller at a window (screen + keypad)",
    "display": "窗口屏 window display above a window (TV or LED strip)",
    "board": "大厅大屏 hall board in the waiting area",
    "evaluator": "评价器 five-button / tablet evaluator at a window",
    "engine": "排队主机 queue host only (engine + hall broker, no screen)",
    "web": "网页服务 web role only: citizens' queue page and the manager console (no screen)",
}
WINDOW_ROLES = ("caller", "display", "evaluator")
SCREEN_ROLES = ("kiosk", "caller", "display", "board", "evaluator")
# the unit (hall-<name>.service) of each role's app
ROLE_UNIT = {r: f"hall-{r}.service" for r in ROLES}
SYNC_UNIT = "hall-sync.service"
BROKER_UNIT = "mosquitto.service"
PCSCD_UNIT = "pcscd.socket"
ALL_HALL_UNITS = (*ROLE_UNIT.values(), SYNC_UNIT)

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_WINDOW_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,15}$")


class ConfigError(schema.ConfigError):
    """The device config is wrong; ``problems`` lists every key at fault, one line each."""

    user_message = "设备配置文件有误，请运行 hall provision 或按提示修改"


# --------------------------------------------------------------------------- value types


def _text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError("must be text")
    return str(value).strip()


def _check_id(value: Any) -> str:
    text = _text(value)
    if not _ID_RE.match(text):
        raise ValueError(
            f"{text!r} is not a valid id: letters, digits, '-', '_', '.', at most 64, "
            "no spaces (it becomes part of MQTT topics)"
        )
    return text


def _check_window(value: Any) -> str:
    text = _text(value)
    if not _WINDOW_RE.match(text):
        raise ValueError(f"{text!r} is not a window number (e.g. 3 or 3A)")
    return text


def _check_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("yes", "true", "on", "y", "1"):
        return True
    if isinstance(value, str) and value.lower() in ("no", "false", "off", "n", "0"):
        return False
    raise ValueError("must be true or false")


def _check_hostport(value: Any) -> str:
    host, port = parse_hostport(_text(value), 1883)
    return format_hostport(host, port)


def _check_listen(value: Any) -> str:
    text = _text(value)
    if text.isdigit() or text.startswith(":"):  # a port alone: every network of this box
        text = "0.0.0.0:" + text.lstrip(":")
    host, port = parse_hostport(text, WEB_PORT)
    return format_hostport(host, port)


def _check_path(value: Any) -> str:
    text = _text(value)
    if not text.startswith("/"):
        raise ValueError(f"{text!r} must be an absolute path (starting with /)")
    if any(c.isspace() for c in text):
        raise ValueError(f"{text!r} must not contain spaces")
    return os.path.normpath(text)


def _check_printer(value: Any) -> str:
    from drivers.printer.printer import open_printer

    text = _text(value)
    if any(c.isspace() for c in text):
        raise ValueError(f"{text!r} must not contain spaces")
    open_printer(text)  # parses the spec (raises ValueError); opens nothing
    return text


def _check_input(value: Any) -> str:
    text = _text(value)
    if any(c.isspace() for c in text):
        raise ValueError(
            f"{text!r} must not contain spaces: use the /dev/input/by-id/... path or by-id:TEXT"
        )
    if not (text.startswith(("/", "by-id:", "name:"))):
        raise ValueError(f"{text!r}: expected a path (/dev/input/...), by-id:TEXT or name:TEXT")
    return text


def _check_reader(value: Any) -> str:
    text = _text(value)
    if not text:
        raise ValueError("empty reader name: use 'any' for any PC/SC reader")
    return text


@dataclass(frozen=True)
class Option:
    """One key of the device config.

    ``key`` is dotted (``broker.address`` is ``address`` under ``broker:``);
    ``check`` turns a file value into the stored value or raises ``ValueError``;
    ``roles`` are the roles that use the key (empty: every role); ``flag`` is
    the ``hall provision`` option that sets it.
    """

    key: str
    check: Callable[[Any], Any]
    default: Any
    description: str
    flag: str
    roles: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()
    queue_host_only: bool = False
    queue_host_too: bool = False  # used on any queue host as well as by ``roles``

    @property
    def field(self) -> str:
        return self.key.replace(".", "_")

    @property
    def boolean(self) -> bool:
        return self.check is _check_bool

    def used_by(self, role: str, queue_host: bool) -> bool:
        if self.queue_host_only and not queue_host:
            return False
        if self.queue_host_too and queue_host:
            return True
        return not self.roles or role in self.roles


def _choice(*choices: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        text = _text(value)
        if text not in choices:
            hint = schema.did_you_mean(text, choices)
            raise ValueError(
                f"{text!r} is not one of {', '.join(choices)}" + (f" ({hint})" if hint else "")
            )
        return text

    return check


OPTIONS: tuple[Option, ...] = (
    Option(
        "role",
        _choice(*ROLES),
        None,
        "what this device is: " + ", ".join(ROLES),
        "--role",
        choices=tuple(ROLES),
    ),
    Option(
        "hall", _check_id, None, "the hall's id (as in the hall config, e.g. demo-hall)", "--hall"
    ),
    Option(
        "device",
        _check_id,
        None,
        "this device's id in the hall config (kiosk-1, caller-3, ...); also its broker user",
        "--device",
    ),
    Option(
        "window",
        _check_window,
        None,
        "the window this device belongs to",
        "--window",
        roles=WINDOW_ROLES,
    ),
    Option(
        "queue_host",
        _check_bool,
        False,
        "this box also runs the queue engine and the hall broker (Mosquitto)",
        "--queue-host",
    ),
    Option(
        "screen",
        _choice("eglfs", "cage"),
        "eglfs",
        "how the full-screen app is shown: eglfs (Qt on the display directly) or cage "
        "(a kiosk Wayland compositor)",
        "--screen",
        roles=SCREEN_ROLES,
        choices=("eglfs", "cage"),
    ),
    Option(
        "salt_file",
        _check_path,
        None,
        "the hall's secret for per-person limits: made on the queue host, the same file on "
        "every kiosk of the hall (hall provision --person-salt-file copies it)",
        "--salt-file",
        roles=("kiosk", "engine"),
    ),
    Option(
        "broker.address",
        _check_hostport,
        "127.0.0.1:1883",
        "the hall broker HOST:PORT (on the queue host)",
        "--broker",
    ),
    Option(
        "broker.username",
        _check_id,
        None,
        "user name on the hall broker (normally the device id; none: anonymous)",
        "--broker-user",
    ),
    Option(
        "broker.password_file",
        _check_path,
        None,
        "file holding this device's hall broker password",
        "--broker-password-file",
    ),
    Option(
        "broker.ca_file", _check_path, None, "CA certificate: TLS to the hall broker", "--broker-ca"
    ),
    Option(
        "broker.cert_file",
        _check_path,
        None,
        "client certificate for the hall broker",
        "--broker-cert",
    ),
    Option("broker.key_file", _check_path, None, "client key for the hall broker", "--broker-key"),
    Option(
        "broker.allow_anonymous",
        _check_bool,
        False,
        "queue host: let devices on the hall LAN connect without a password",
        "--allow-anonymous",
        queue_host_only=True,
    ),
    Option(
        "center.address",
        _check_hostport,
        None,
        "the central broker HOST:PORT (none: this device does not sync to a center)",
        "--center",
    ),
    Option("center.username", _check_id, None, "user name on the central broker", "--center-user"),
    Option(
        "center.password_file",
        _check_path,
        None,
        "file holding the central broker password",
        "--center-password-file",
    ),
    Option(
        "center.ca_file",
        _check_path,
        None,
        "the center's CA certificate (turns TLS on)",
        "--center-ca",
    ),
    Option(
        "center.cert_file",
        _check_path,
        None,
        "this device's certificate for the center",
        "--center-cert",
    ),
    Option(
        "center.key_file", _check_path, None, "this device's key for the center", "--center-key"
    ),
    Option(
        "center.ack",
        _choice("broker", "center"),
        "broker",
        "delete sent events at the broker's PUBACK (broker) or when the center confirms (center)",
        "--center-ack",
        choices=("broker", "center"),
    ),
    Option(
        "hardware.printer",
        _check_printer,
        None,
        "ticket printer spec, e.g. serial:/dev/hall-printer?baud=9600&profile=80mm",
        "--printer",
        roles=("kiosk",),
    ),
    Option(
        "hardware.idcard",
        _check_path,
        None,
        "resident ID card reader serial port (GA 467 SAM), e.g. /dev/hall-idcard",
        "--idcard",
        roles=("kiosk",),
    ),
    Option(
        "hardware.citizencard",
        _check_reader,
        None,
        "citizen card PC/SC reader: 'any' or (part of) its name",
        "--citizencard",
        roles=("kiosk",),
    ),
    Option(
        "hardware.scanner",
        _check_input,
        None,
        "barcode scanner input device (appointment QR codes)",
        "--scanner",
        roles=("kiosk",),
    ),
    Option(
        "hardware.keys",
        _check_input,
        None,
        "keypad (caller) or five-button device (evaluator), e.g. /dev/input/hall-keypad",
        "--keys",
        roles=("caller", "evaluator"),
    ),
    Option(
        "hardware.layout",
        _choice("auto", "tv", "led"),
        "auto",
        "window display layout: tv, led (a wide LED strip) or auto",
        "--layout",
        roles=("display",),
        choices=("auto", "tv", "led"),
    ),
    Option(
        "engine.hall_config",
        _check_path,
        f"{DATA_DIR}/config/hall.yaml",
        "the hall config the queue engine reads (the center's pushed config lands here)",
        "--engine-config-path",
        queue_host_only=True,
    ),
    Option(
        "web.device",
        _check_id,
        None,
        "queue host: also run the web role (citizens' queue page, manager console) as this "
        "device id of the hall config (e.g. web-1; its own broker user); none: not here",
        "--web-device",
        roles=tuple(r for r in ROLES if r != "web"),
        queue_host_only=True,
    ),
    Option(
        "web.listen",
        _check_listen,
        f"0.0.0.0:{WEB_PORT}",
        "the web role's HOST:PORT (0.0.0.0: every network of this box, the guest network "
        "for citizens' phones included)",
        "--web-listen",
        roles=("web",),
        queue_host_too=True,
    ),
)
OPTIONS_BY_KEY = {o.key: o for o in OPTIONS}
SECTIONS = sorted({o.key.partition(".")[0] for o in OPTIONS if "." in o.key})


@dataclass(frozen=True)
class DeviceConfig:
    """A checked device config.  Field names are the keys with ``.`` -> ``_``."""

    role: str
    hall: str
    device: str
    window: str | None = None
    queue_host: bool = False
    screen: str = "eglfs"
    salt_file: str | None = None
    broker_address: str = "127.0.0.1:1883"
    broker_username: str | None = None
    broker_password_file: str | None = None
    broker_ca_file: str | None = None
    broker_cert_file: str | None = None
    broker_key_file: str | None = None
    broker_allow_anonymous: bool = False
    center_address: str | None = None
    center_username: str | None = None
    center_password_file: str | None = None
    center_ca_file: str | None = None
    center_cert_file: str | None = None
    center_key_file: str | None = None
    center_ack: str = "broker"
    hardware_printer: str | None = None
    hardware_idcard: str | None = None
    hardware_citizencard: str | None = None
    hardware_scanner: str | None = None
    hardware_keys: str | None = None
    hardware_layout: str = "auto"
    engine_hall_config: str = f"{DATA_DIR}/config/hall.yaml"
    web_device: str | None = None
    web_listen: str = f"0.0.0.0:{WEB_PORT}"

    def get(self, key: str) -> Any:
        return getattr(self, OPTIONS_BY_KEY[key].field)

    def with_(self, **changes: Any) -> DeviceConfig:
        return dataclasses.replace(self, **changes)

    def as_values(self) -> dict[str, Any]:
        """Dotted key -> value, every key."""
        return {o.key: self.get(o.key) for o in OPTIONS}

    @property
    def runs_engine(self) -> bool:
        return self.queue_host or self.role == "engine"

    @property
    def web_id(self) -> str | None:
        """The device id the web role runs as on this box (None: no web role here)."""
        return self.device if self.role == "web" else self.web_device


def default_device_id(role: str, window: str | None) -> str:
    if role in WINDOW_ROLES:
        return f"{role}-{window or 1}"
    return "engine" if role == "engine" else f"{role}-1"


# --------------------------------------------------------------------------- parse / load


def _checked(option: Option) -> Any:
    """The schema type of one option: empty is "not set", anything else goes through its check."""

    def run(value: Any) -> Any:
        return None if value is None or value == "" else option.check(value)

    return Annotated[Any, BeforeValidator(run)]


def _check_version(value: Any) -> int:
    if value != VERSION:
        raise ValueError(f"this hall-edge reads version {VERSION}, the file has {value!r}")
    return VERSION


def _file_schema() -> type[Any]:
    top: dict[str, Any] = {"version": Annotated[Any, BeforeValidator(_check_version)]}
    sections: dict[str, dict[str, Any]] = {}
    for option in OPTIONS:
        head, dot, name = option.key.partition(".")
        if dot:
            sections.setdefault(head, {})[name] = _checked(option)
        else:
            top[head] = _checked(option)
    for head, keys in sections.items():
        top[head] = schema.Section[schema.mapping(f"{head}_section", keys)]
    return schema.mapping("device_config", top)


#: ``device.yaml`` as :mod:`hall.core.schema` checks it (made from :data:`OPTIONS`).
FILE_SCHEMA = _file_schema()


def parse(data: Any, *, source: str = "") -> DeviceConfig:
    """A :class:`DeviceConfig` from the file's data; :class:`ConfigError` lists every problem."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(
            [Problem("", "expected a mapping of keys (role: kiosk, hall: ..., ...)")],
            source=source,
        )
    try:
        checked: Mapping[str, Any] = schema.check(FILE_SCHEMA, dict(data), error=ConfigError)
    except ConfigError as exc:
        raise ConfigError(exc.problems, source=source) from None
    problems: list[Problem] = []
    values: dict[str, Any] = {}
    for key, value in checked.items():
        if isinstance(value, Mapping):
            for sub, sub_value in value.items():
                if sub_value is not None:
                    values[OPTIONS_BY_KEY[f"{key}.{sub}"].field] = sub_value
        elif key != "version" and value is not None:
            values[OPTIONS_BY_KEY[key].field] = value
    for key in ("role", "hall"):
        if OPTIONS_BY_KEY[key].field not in values:
            problems.append(
                Problem(key, f"missing (one of {', '.join(ROLES)})" if key == "role" else "missing")
            )
    role = values.get("role")
    if role is not None:
        _cross_check(role, values, problems)
    if problems:
        raise ConfigError(problems, source=source)
    values.setdefault("device", default_device_id(role, values.get("window")))  # type: ignore[arg-type]
    if role == "engine":
        values["queue_host"] = True
    return DeviceConfig(**values)


def _cross_check(role: str, values: dict[str, Any], problems: list[Problem]) -> None:
    queue_host = bool(values.get("queue_host")) or role == "engine"
    if role == "engine" and values.get("queue_host") is False:
        problems.append(
            Problem("queue_host", "role engine is the queue host; remove 'queue_host: false'")
        )
    if role in WINDOW_ROLES and "window" not in values:
        problems.append(Problem("window", f"missing (role {role} belongs to a window)"))
    for option in OPTIONS:
        if option.field in values and not option.used_by(role, queue_host):
            if option.default is not None and values[option.field] == option.default:
                continue  # a default written out: harmless
            if option.key == "window":
                problems.append(
                    Problem(
                        "window", f"role {role} has no window; remove it (or is the role wrong?)"
                    )
                )
            elif option.key == "web.device" and role == "web":
                problems.append(
                    Problem("web.device", "role web is the web device: its id is 'device'")
                )
            elif option.queue_host_only:
                problems.append(
                    Problem(option.key, "only used on the queue host (queue_host: true)")
                )
            else:
                problems.append(
                    Problem(
                        option.key,
                        f"role {role} does not use it; remove it (or is the role wrong?)",
                    )
                )
    for section in ("broker", "center"):
        cert, key = values.get(f"{section}_cert_file"), values.get(f"{section}_key_file")
        if bool(cert) != bool(key):
            missing = f"{section}.key_file" if cert else f"{section}.cert_file"
            problems.append(
                Problem(missing, f"missing: {section}.cert_file and {section}.key_file go together")
            )
        if cert and not values.get(f"{section}_ca_file"):
            problems.append(
                Problem(f"{section}.ca_file", "a client certificate needs TLS (the CA file)")
            )
        if values.get(f"{section}_password_file") and not values.get(f"{section}_username"):
            problems.append(
                Problem(f"{section}.password_file", f"a password needs {section}.username")
            )
    web = values.get("web_device")
    device = values.get("device") or default_device_id(role, values.get("window"))
    if web is not None and web in (device, ENGINE_USER):
        problems.append(
            Problem(
                "web.device",
                f"{web!r} is taken by this box's {'engine' if web == ENGINE_USER else 'role'}: "
                "the web role is a device of its own (e.g. web-1)",
            )
        )
    listen = values.get("web_listen")
    if (
        role != "web"
        and web is None
        and listen is not None
        and listen != OPTIONS_BY_KEY["web.listen"].default
        and queue_host
    ):
        problems.append(Problem("web.listen", "no web role on this box: set web.device too"))
    if values.get("center_address") is None and any(
        values.get(f"center_{k}") for k in ("username", "password_file", "ca_file", "cert_file")
    ):
        problems.append(Problem("center.address", "missing, but other center.* keys are set"))


def hardware_problems(config: DeviceConfig) -> list[Problem]:
    """What makes a valid config unable to serve: a kiosk with neither a ticket printer nor
    an ID card reader cannot give anyone a ticket.  ``hall provision`` reports these and
    ``hall doctor`` counts them as problems."""
    if config.role == "kiosk" and not config.hardware_printer and not config.hardware_idcard:
        return [
            Problem(
                "hardware",
                "a kiosk with neither a ticket printer (hardware.printer) nor an ID card "
                "reader (hardware.idcard) cannot serve citizens: connect one and re-run "
                "`hall provision` (--printer / --idcard)",
            )
        ]
    return []


def load(path: str | os.PathLike[str]) -> DeviceConfig:
    """Read and check a device config file (``ConfigError`` / ``OSError``)."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(
            [Problem("", f"not valid YAML{where}: {getattr(exc, 'problem', exc)}")],
            source=str(path),
        ) from exc
    return parse(data, source=str(path))


# --------------------------------------------------------------------------- write


def dump(config: DeviceConfig, *, header: str = "") -> str:
    """The config as YAML, every key that applies to its role with its description."""
    lines = [
        "# hall-edge device config: written by `hall provision`.  Edit, then run",
        "# `hall provision --non-interactive` (it keeps these values) to apply the change.",
    ]
    if header:
        lines.append(f"# {header}")
    lines.append(f"version: {VERSION}")
    section = ""
    for option in OPTIONS:
        if not option.used_by(config.role, config.runs_engine):
            continue
        if option.key == "queue_host" and config.role == "engine":
            continue
        value = config.get(option.key)
        head, dot, name = option.key.partition(".")
        indent = ""
        if dot:
            if head != section:
                lines.append(f"{head}:")
                section = head
            indent = "  "
        else:
            name = head
        lines.append(f"{indent}# {option.description}")
        lines.append(f"{indent}{name}: {_scalar(value)}")
    return "\n".join(lines) + "\n"


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(yaml.safe_dump(value, allow_unicode=True, width=1000))
    return text.removesuffix("...\n").strip()


def write_atomic(
    path: str | os.PathLike[str],
    text: str | bytes,
    *,
    mode: int = 0o644,
    group: int | None = None,
) -> bool:
    """Replace ``path`` with ``text`` atomically (:func:`hall.core.files.atomic_write`).

    Returns False (and writes nothing) when the file already holds exactly
    ``text`` (so re-running provisioning changes no timestamps).  ``group``:
    the file's group (needs root), e.g. ``hall`` for secrets the units read.
    """
    return atomic_write(path, text, mode=mode, group=group, only_if_changed=True)


# --------------------------------------------------------------------------- units


def units_for(config: DeviceConfig) -> list[str]:
    """The systemd units this device runs, in start order."""
    units: list[str] = []
    if config.runs_engine:
        units += [BROKER_UNIT, ROLE_UNIT["engine"]]
    if config.hardware_citizencard:
        units.append(PCSCD_UNIT)
    if config.role != "engine":
        units.append(ROLE_UNIT[config.role])
    if config.web_device:
        units.append(ROLE_UNIT["web"])
    if config.center_address:
        units.append(SYNC_UNIT)
    return units


def unit_roles(config: DeviceConfig) -> list[str]:
    """The hall units' role names (``kiosk``, ``engine``, ``sync`` ...) of :func:`units_for`."""
    return [
        u.removeprefix("hall-").removesuffix(".service")
        for u in units_for(config)
        if u.startswith("hall-")
    ]


def sync_db(config: DeviceConfig) -> str:
    """The database whose outbox the sync agent delivers (and where roles put health)."""
    return f"{DATA_DIR}/engine.db" if config.runs_engine else f"{DATA_DIR}/device.db"


def read_secret(path: str | None, root: str | os.PathLike[str] = "/") -> str | None:
    if not path:
        return None
    return host_path(root, path).read_text(encoding="utf-8").strip()


def host_path(root: str | os.PathLike[str], path: str) -> Path:
    """Where a path of the running device is while provisioning into ``root``.

    Only the folders hall-edge manages move with ``--root`` (``/etc``, ``/var``,
    ``/opt``); devices (``/dev``) and runtime paths are the real ones.
    """
    if str(root) in ("", "/") or not path.startswith(("/etc/", "/var/", "/opt/", "/usr/local/")):
        return Path(path)
    return Path(root) / path.lstrip("/")


def _reader_word(name: str) -> str:
    """A reader name as one word: the kiosk matches part of the name, case-insensitively."""
    if name == "any" or not any(c.isspace() for c in name):
        return name
    words = [w for w in name.split() if not w.isdigit()]
    return max(words, key=len) if words else name.split()[0]


def unit_environment(
    config: DeviceConfig, unit_role: str, *, root: str | os.PathLike[str] = "/"
) -> dict[str, str]:
    """The variables of ``/etc/hall/<unit_role>.env`` (``HALL_ARGS`` holds the options)."""
    c = config
    env: dict[str, str] = {"HALL_ID": c.hall, "HALL_ROLE": c.role, "HALL_DEVICE_ID": c.device}
    args: list[str] = []
    if unit_role == "sync":
        env["HALL_SYNC_DB"] = sync_db(c)
        env["HALL_CONFIG_DIR"] = f"{DATA_DIR}/config"
        env["HALL_BROKER"] = c.broker_address
        if c.runs_engine:
            env["HALL_CONFIG"] = c.engine_hall_config
        env["HALL_CENTER"] = c.center_address or ""
        for key, var in (
            ("username", "HALL_CENTER_USER"),
            ("password_file", "HALL_CENTER_PASSWORD_FILE"),
            ("ca_file", "HALL_CENTER_CA"),
            ("cert_file", "HALL_CENTER_CERT"),
            ("key_file", "HALL_CENTER_KEY"),
        ):
            value = getattr(c, f"center_{key}")
            if value:
                env[var] = value
        args += ["--ack", c.center_ack]
    else:
        env["HALL_BROKER"] = c.broker_address
        env["HALL_HEALTH_DB"] = sync_db(c)  # where the role counts the messages it dropped
        user, secret = c.broker_username, c.broker_password_file
        if unit_role == "engine" and c.role != "engine":
            # the queue host's engine has its own broker account next to the kiosk's
            user = ENGINE_USER if c.broker_username else None
            secret = ENGINE_PASSWORD_FILE if c.broker_username else None
        elif unit_role == "web" and c.role != "web":
            # so has the web role it runs: a device of the hall config (web.device)
            user = c.web_device if c.broker_username else None
            secret = WEB_PASSWORD_FILE if c.broker_username else None
        if user:
            env["HALL_MQTT_USER"] = user
        password = read_secret(secret, root)
        if password:
            env["HALL_MQTT_PASSWORD"] = password
        for key, var in (
            ("ca_file", "HALL_MQTT_CA"),
            ("cert_file", "HALL_MQTT_CERT"),
            ("key_file", "HALL_MQTT_KEY"),
        ):
            value = getattr(c, f"broker_{key}")
            if value:
                env[var] = value
    if unit_role == "engine":
        env["HALL_CONFIG"] = c.engine_hall_config
        env["HALL_ENGINE_DB"] = f"{DATA_DIR}/engine.db"
        args += ["--device", "engine" if c.role != "engine" else c.device]
    elif unit_role == "kiosk":
        env["HALL_KIOSK_STATUS"] = f"{DATA_DIR}/kiosk-status.json"
        args += ["--device", c.device]
        if c.hardware_printer:
            args += ["--printer", c.hardware_printer]
        if c.hardware_idcard:
            args += ["--idcard", c.hardware_idcard]
        if c.hardware_citizencard == "any":
            args += ["--citizencard"]
        elif c.hardware_citizencard:
            args += ["--citizencard", _reader_word(c.hardware_citizencard)]
        if c.hardware_scanner:
            args += ["--scanner", c.hardware_scanner]
        if c.center_address:  # the sync agent reports the kiosk's health upstream
            args += ["--health-db", sync_db(c)]
    elif unit_role == "web":
        web = c.web_id or c.device
        env["HALL_DEVICE_ID"] = env["HALL_DEVICE"] = web
        args += ["--device", web, "--listen", c.web_listen]
    elif unit_role in WINDOW_ROLES or unit_role == "board":
        args += ["--device", c.device]
        if c.window:
            args += ["--window", c.window]
        if unit_role == "display":
            args += ["--layout", c.hardware_layout]
        if unit_role == "evaluator":
            args += ["--db", f"{DATA_DIR}/evaluator.db"]
        if unit_role in ("caller", "evaluator") and c.hardware_keys:
            args += ["--keys", c.hardware_keys]
    if unit_role == "kiosk":  # the kiosk computes person keys; the engine only compares them
        if c.salt_file:
            env["HALL_SALT_FILE"] = c.salt_file
        env["HALL_STAFF_PIN_FILE"] = STAFF_PIN_FILE
    if unit_role in SCREEN_ROLES:
        env["QT_QPA_PLATFORM"] = "wayland" if c.screen == "cage" else "eglfs"
    env["HALL_ARGS"] = " ".join(args)
    return env


_ENV_ESCAPE = str.maketrans({c: "\\" + c for c in '\\"`$'})


def render_env(env: Mapping[str, str], *, header: str = "") -> str:
    """An ``EnvironmentFile=`` for systemd: ``KEY="value"`` with shell double-quote escapes."""
    lines = [
        "# written by `hall provision` from /etc/hall/device.yaml: edit that file and re-run",
        "# `hall provision --non-interactive`, not this one.",
    ]
    if header:
        lines.append(f"# {header}")
    for key, value in env.items():
        if "\n" in value:
            raise ValueError(f"{key}: a value for an environment file cannot span lines")
        if any((ord(c) < 32 and c != "\t") or ord(c) == 127 for c in value):
            # systemd drops such an assignment ("invalid environment assignment")
            raise ValueError(f"{key}: control characters cannot go into an environment file")
        lines.append(f'{key}="{value.translate(_ENV_ESCAPE)}"')
    return "\n".join(lines) + "\n"


def parse_env(text: str) -> dict[str, str]:
    """Read back what :func:`render_env` wrote (for ``hall doctor`` and the tests)."""
    env: dict[str, str] = {}
    for line in text.split("\n"):  # systemd splits at newlines only
        line = line.strip(" ")
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = re.sub(r'\\([\\"`$])', r"\1", value[1:-1])
        env[key.strip()] = value
    return env

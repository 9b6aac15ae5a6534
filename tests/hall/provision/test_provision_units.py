"""The files under systemd/: units (systemd-analyze verify), the hall user and folders
(systemd-sysusers / systemd-tmpfiles into a temporary root), udev rules, and the hall
Mosquitto config and ACL on a real Mosquitto."""

from __future__ import annotations

import configparser
import queue
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hall import device_config as dc
from hall.provision.hardware import STABLE_NAMES, local_udev_rule
from hall.provision.layout import INSTALLED_HALL, SOURCE
from sync.broker import Mosquitto
from sync.client import BrokerAddress, CenterLinkError, close, connect, new_client
from sync.mqtt import MqttLink

UNITS = sorted(SOURCE.glob("*.service"))
QT_ROLES = ("kiosk", "caller", "display", "board", "evaluator")
HALL = str(Path(sys.prefix) / "bin" / "hall")

needs_systemd_tools = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd is not installed"
)


def unit_sections(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(path)
    return parser


def render(tmp: Path, *, cage: str | None = None) -> Path:
    """The units as provisioning installs them: ExecStart = this installation's hall."""
    out = tmp / "units"
    out.mkdir()
    for unit in UNITS:
        (out / unit.name).write_text(unit.read_text().replace(INSTALLED_HALL, HALL))
    if cage:
        drop_in = out / "hall-kiosk.service.d"
        drop_in.mkdir()
        text = (SOURCE / "cage.conf").read_text().replace(INSTALLED_HALL, HALL)
        (drop_in / "cage.conf").write_text(text.replace("/usr/bin/cage", cage))
    return out


def verify(*units: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *map(str, units)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_there_is_a_unit_per_role():
    assert {u.name for u in UNITS} == {*dc.ROLE_UNIT.values(), dc.SYNC_UNIT}


@needs_systemd_tools
def test_every_unit_passes_systemd_analyze_verify(tmp_path):
    folder = render(tmp_path, cage="/bin/true")  # cage is not installed here
    result = verify(*sorted(folder.glob("*.service")))
    # nothing at all on stderr: no unknown keys, no bad values, executables found
    assert (result.returncode, result.stderr) == (0, "")


@needs_systemd_tools
def test_the_verification_does_catch_mistakes(tmp_path):
    folder = render(tmp_path)
    unit = folder / "hall-kiosk.service"
    unit.write_text(unit.read_text().replace("WatchdogSec=", "WatchdgSec="))
    result = verify(unit)
    assert "Unknown key 'WatchdgSec'" in result.stderr
    # the shipped path is not installed on this machine: the reason the test renders
    result = verify(SOURCE / "hall-engine.service")
    assert result.returncode != 0 and INSTALLED_HALL in result.stderr


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.stem)
def test_units_are_notify_with_watchdog_restart_and_the_hall_user(unit):
    role = unit.stem.removeprefix("hall-")
    s = unit_sections(unit)
    service = s["Service"]
    assert service["Type"] == "notify"
    assert int(service["WatchdogSec"]) >= 10
    assert service["Restart"] == "on-failure"
    assert service["User"] == "hall"
    assert service["EnvironmentFile"] == f"/etc/hall/{role}.env"
    assert service["ExecStart"] == f"{INSTALLED_HALL} {role} $HALL_ARGS"
    text = unit.read_text()
    assert "network-online.target" not in text  # the screen never waits for the uplink
    assert s["Install"]["WantedBy"] == "multi-user.target"
    if role in QT_ROLES:
        groups = service["SupplementaryGroups"].split()
        assert {"video", "render", "input", "audio"} <= set(groups)
        assert "QT_QPA_PLATFORM=eglfs" in text
        if role == "kiosk":
            assert {"dialout", "lp"} <= set(groups)


def test_cage_drop_in_hands_the_notify_socket_to_the_app():
    s = unit_sections(SOURCE / "cage.conf")
    assert s["Service"]["NotifyAccess"] == "all"  # cage is the main process
    assert "/usr/bin/cage -- " in (SOURCE / "cage.conf").read_text()
    assert s["Service"]["PAMName"] == "hall-cage"
    assert (SOURCE / "pam.d" / "hall-cage").read_text().count("pam_systemd.so") == 1


@needs_systemd_tools
def test_sysusers_makes_the_hall_user_in_the_device_groups(tmp_path):
    (tmp_path / "etc").mkdir()
    shutil.copy(SOURCE / "sysusers.d" / "hall.conf", tmp_path / "hall.conf")
    subprocess.run(
        ["systemd-sysusers", f"--root={tmp_path}", str(tmp_path / "hall.conf")],
        check=True,
        capture_output=True,
        timeout=30,
    )
    passwd = (tmp_path / "etc" / "passwd").read_text()
    assert re.search(r"^hall:x:\d+:\d+:[^:]*:/var/lib/hall:/usr/sbin/nologin$", passwd, re.M)
    members = {
        line.split(":")[0]: line.split(":")[3].split(",")
        for line in (tmp_path / "etc" / "group").read_text().splitlines()
    }
    for group in ("dialout", "input", "lp", "video", "render", "audio"):
        assert "hall" in members[group], group


@needs_systemd_tools
def test_tmpfiles_makes_the_data_folder_and_never_cleans_it(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd").write_text("hall:x:990:990::/var/lib/hall:/usr/sbin/nologin\n")
    (tmp_path / "etc" / "group").write_text("hall:x:990:\n")
    conf = tmp_path / "etc" / "tmpfiles.d"
    conf.mkdir()
    shutil.copy(SOURCE / "tmpfiles.d" / "hall.conf", conf / "hall.conf")
    data = tmp_path / "var" / "lib" / "hall"
    data.mkdir(parents=True)
    (data / "engine.db").write_text("the hall's data")
    for action in ("--create", "--clean", "--remove"):
        subprocess.run(
            ["systemd-tmpfiles", f"--root={tmp_path}", action, "hall.conf"],
            check=True,
            capture_output=True,
            timeout=30,
        )
    st = data.stat()
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (990, 990, 0o750)
    assert (data / "engine.db").read_text() == "the hall's data"
    assert (tmp_path / "var" / "lib" / "hall" / "config").is_dir()
    assert (tmp_path / "etc" / "hall").stat().st_gid == 990


UDEV_MATCH = {"SUBSYSTEM", "KERNEL", "ENV{HALL_DEVICE}", "ENV{DEVTYPE}", "ENV{ID_USB_INTERFACES}"}
UDEV_ASSIGN = {"SYMLINK", "GROUP", "MODE", "ENV{ID_MM_DEVICE_IGNORE}"}
UDEV_TOKEN = re.compile(
    r'^(?P<key>[A-Z_]+(?:\{[A-Za-z_]+\})?)(?P<op>==|!=|\+=|:=|=)"(?P<value>[^"]*)"$'
)


def udev_rules(text: str) -> list[list[tuple[str, str, str]]]:
    rules = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        tokens = []
        for part in line.split(", "):
            m = UDEV_TOKEN.match(part.strip())
            assert m, f"not a udev token: {part!r} in {line!r}"
            tokens.append((m["key"], m["op"], m["value"]))
        rules.append(tokens)
    return rules


def test_udev_rules_give_the_stable_names_with_group_access():
    rules = udev_rules((SOURCE / "udev" / "99-hall.rules").read_text())
    names = {}
    for tokens in rules:
        for key, op, _value in tokens:
            if op in ("==", "!="):
                assert key in UDEV_MATCH, key
            else:
                assert key in UDEV_ASSIGN, key
        keys = {k: v for k, _, v in tokens}
        if "SYMLINK" in keys and "ENV{HALL_DEVICE}" in keys:
            names[keys["ENV{HALL_DEVICE}"]] = "/dev/" + keys["SYMLINK"]
        if "GROUP" in keys:
            assert keys["MODE"] == "0660"
            assert keys["GROUP"] in ("dialout", "lp", "input")
    assert names == STABLE_NAMES


def test_a_local_rule_names_the_device_at_its_usb_port():
    props = {"ID_PATH": "pci-0000:00:14.0-usb-0:2:1.0", "ID_SERIAL": "1a86_USB_Serial"}
    rule = local_udev_rule("idcard", props)
    assert rule == (
        'SUBSYSTEM=="tty", ENV{ID_PATH}=="pci-0000:00:14.0-usb-0:2:1.0", ENV{HALL_DEVICE}="idcard"'
    )
    (tokens,) = udev_rules(rule)
    assert ("ENV{HALL_DEVICE}", "=", "idcard") in tokens
    keypad = local_udev_rule("keypad", {"ID_SERIAL": "Genius_Numpad"})
    assert keypad is not None and 'KERNEL=="event*"' in keypad
    assert 'ENV{ID_SERIAL}=="Genius_Numpad"' in keypad
    assert local_udev_rule("printer", {}) is None  # a pty has nothing to match on


# ------------------------------------------------------------------ the hall broker


def login(broker: Mosquitto, user: str | None, password: str | None) -> None:
    address = BrokerAddress(broker.host, broker.port, user, password)
    client = new_client(address, "login-test")
    try:
        connect(client, address, session_expiry_s=0, timeout=5)
    finally:
        close(client)


def link(broker: Mosquitto, device: str, password: str | None) -> MqttLink:
    return MqttLink(
        host=broker.host,
        port=broker.port,
        hall_id="demo-hall",
        device_id=device,
        username=device if password else None,
        password=password,
        presence=False,
    )


@pytest.mark.broker
def test_hall_broker_needs_a_login_and_keeps_devices_in_their_subtree(hall_broker, monkeypatch):
    monkeypatch.setenv("HALL_VALIDATE_CONTRACT", "0")  # the forged commands are not the point
    accounts = {"engine": "engine-secret", "caller-3": "caller-secret"}
    broker = hall_broker(accounts)
    links: list[MqttLink] = []
    try:
        for user, password in ((None, None), ("caller-3", "guess"), ("caller-9", "x")):
            with pytest.raises(CenterLinkError, match="refused the connection: Not authorized"):
                login(broker, user, password)
        engine = link(broker, "engine", "engine-secret").start(wait=5)
        caller = link(broker, "caller-3", "caller-secret").start(wait=5)
        links += [engine, caller]
        commands: queue.Queue = queue.Queue()
        states: queue.Queue = queue.Queue()
        engine.subscribe("hall/demo-hall/dev/+/cmd", lambda m: commands.put(m.topic))
        caller.subscribe("hall/demo-hall/window/3/state", lambda m: states.put(m.payload))
        # a round trip that proves both subscriptions are in place
        state = {
            "hall": "demo-hall",
            "window": "3",
            "name": "3号窗口",
            "status": "idle",
            "current": None,
            "waiting": 0,
            "updated_at": "2026-11-23T09:30:00",
        }  # a valid one: a subscriber never sees a message the contract refuses
        engine.publish("hall/demo-hall/window/3/state", state, retain=True)
        assert states.get(timeout=5) == state
        caller.publish("hall/demo-hall/dev/caller-4/cmd", {"cmd": "call_next"})  # not its own
        caller.publish("hall/demo-hall/dev/caller-3/cmd", {"cmd": "call_next"})
        assert commands.get(timeout=5) == "hall/demo-hall/dev/caller-3/cmd"
        caller.publish("hall/demo-hall/board", {"forged": True})  # only the engine writes it
        caller.publish("hall/demo-hall/dev/caller-3/cmd", {"cmd": "recall"})
        assert commands.get(timeout=5) == "hall/demo-hall/dev/caller-3/cmd"
        assert commands.empty()
    finally:
        for one in links:
            one.stop()


def test_mosquitto_accepts_the_config(hall_broker):
    broker = hall_broker({"engine": "x"})
    assert broker.running
    assert "Error" not in broker.log_path.read_text()


def test_the_acl_lets_every_device_read_what_its_screen_shows():
    acl = (SOURCE / "mosquitto" / "hall.acl").read_text()
    from sync import topics

    for topic in (
        topics.window_state("+", "+"),
        topics.board("+"),
        topics.catalog("+"),
        topics.calls("+"),
    ):
        assert f"pattern read {topic}" in acl
    assert "pattern readwrite hall/+/dev/%u/#" in acl
    # anonymous-only "topic" lines before the first "user" would not apply to devices
    head = acl.split("\nuser ")[0]
    assert not [ln for ln in head.splitlines() if ln.startswith("topic ")]

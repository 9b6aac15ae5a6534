"""``hall provision`` end to end against the simulators: ptys (SAM reader, ESC/POS
printer), vpcd (citizen card), a simulated evdev keypad / scanner; the interactive
wizard fed on stdin, and the flags-only mode as a technician's script runs it."""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

from drivers.keys import CALLER_DEFAULT, guess_kind
from drivers.keys.discovery import FoundDevice
from drivers.keys.keymap import key_code
from drivers.keys.simulator import SimulatedKeyboard
from hall import device_config as dc
from hall.core.pins import verify_pin
from hall.provision import Probe, provision
from sync.mqtt import MqttLink

ROOT = Path(__file__).resolve().parents[3]
VPCD = "Virtual PCD 00 00"


def found(kb: SimulatedKeyboard, keys: list[str]) -> FoundDevice:
    codes = [key_code(k) for k in keys]
    return FoundDevice(
        kb.path,
        kb.name,
        "usb-0000:00:14.0-2/input0",
        (),
        guess_kind(kb.name, codes),
        len(codes),
        "",
    )


class Typist:
    """Presses keys on a simulated device as soon as provisioning opens it."""

    def __init__(self, kb: SimulatedKeyboard, act) -> None:
        self.kb = kb
        self.opened = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(act,), daemon=True)
        self.thread.start()

    def open(self, spec: str):
        source = self.kb.open(spec)
        self.opened.set()
        return source

    def _run(self, act) -> None:
        if self.opened.wait(30):
            act(self.kb)


def run(args, stdin: str = "", probe: Probe | None = None) -> tuple[int, str]:
    out = io.StringIO()
    code = provision(
        args,
        probe=probe or Probe(serial_ports=list, input_devices=list, pcsc_readers=list),
        stdin=io.StringIO(stdin),
        stdout=out,
    )
    return code, out.getvalue()


def read_config(tree: Path) -> dict:
    return yaml.safe_load((tree / "etc/hall/device.yaml").read_text())


def env_of(tree: Path, role: str) -> dict[str, str]:
    return dc.parse_env((tree / f"etc/hall/{role}.env").read_text())


@pytest.mark.pcsc
@pytest.mark.slow
def test_kiosk_wizard_finds_tests_and_configures_every_part(
    tree, provision_args, sam, printer, insert
):
    insert()  # a citizen card in the vpcd reader
    scanner = SimulatedKeyboard(name="NETUM barcode scanner")
    typist = Typist(scanner, lambda kb: kb.type_text("APPT-20261123-0042"))
    probe = Probe(
        serial_ports=lambda: [sam.port, printer.port],
        input_devices=lambda: [found(scanner, ["KEY_A", "KEY_ENTER"])],
        udev_properties=lambda path: {},
        opener=typist.open,
    )
    answers = [
        "kiosc",  # a typo: did you mean?
        "1",  # kiosk
        "",  # queue host: yes
        "/no/such/hall.yaml",  # refused, asked again
        "demo",  # the demo hall, asked for by name (no default)
        "",  # hall id from the hall config
        "",  # device kiosk-1
        "",  # eglfs
        "",  # salt file
        "12",  # staff PIN: too short, asked again
        "8642", "8642",  # staff PIN, twice
        "",  # no anonymous logins
        "",  # broker user kiosk-1
        "",  # broker password: make one
        "",  # the web role too, as the demo hall's web device web-1
        "8080",  # on port 8080
        "-",  # no center
        "",  # the printer found
        "58mm",  # paper
        "",  # the SAM reader found
        "",  # the vpcd reader
        "",  # the scanner
        "",  # write it
        "", "", "", "",  # test each part
    ]  # fmt: skip
    code, out = run(provision_args(), "\n".join(answers) + "\n", probe)
    assert code == 0, out
    assert "did you mean 'kiosk'?" in out
    # the staff PIN typed twice is stored only as its hash
    stored = (tree / "etc/hall/staff-pin").read_text()
    assert verify_pin("8642", stored.strip()) and "8642" not in stored
    assert "8642" not in out and "8642" not in (tree / "etc/hall/device.yaml").read_text()
    assert oct((tree / "etc/hall/staff-pin").stat().st_mode & 0o777) == "0o640"
    assert env_of(tree, "kiosk")["HALL_STAFF_PIN_FILE"] == "/etc/hall/staff-pin"
    assert "/no/such/hall.yaml" in out and out.count("大厅配置文件") == 2
    # what was found
    assert f"printer on {printer.port} at 9600 baud" in out
    assert f"SAM reader on {sam.port} (SAM 05.01-20200101-0000012345-0000067890)" in out
    # what each part did when tried
    assert len(printer.wait_for_tickets(1, timeout=5)) == 1
    assert "✓ 读卡成功 read: 张* 1101**********1233 (resident)" in out  # masked
    assert "✓ 读卡成功 read: 张* 1101**********0015" in out.split("testing citizencard:")[1]
    assert "✓ 扫码 scanned:" in out and "(18 chars)" in out
    config = read_config(tree)
    assert config["role"] == "kiosk" and config["queue_host"] is True
    assert config["hardware"] == {
        "printer": f"serial:{printer.port}?baud=9600&profile=58mm",
        "idcard": sam.port,
        "citizencard": VPCD,
        "scanner": scanner.path,
    }
    args = env_of(tree, "kiosk")["HALL_ARGS"].split()
    assert args[args.index("--printer") + 1] == f"serial:{printer.port}?baud=9600&profile=58mm"
    assert args[args.index("--citizencard") + 1] == "Virtual"
    # the queue host: engine, broker accounts, hall config, units enabled in the tree
    assert env_of(tree, "engine")["HALL_MQTT_USER"] == "engine"
    users = [
        line.split(":")[0] for line in (tree / "etc/mosquitto/hall.passwd").read_text().split()
    ]
    assert sorted(users) == ["engine", "kiosk-1", "web-1"]
    web = env_of(tree, "web")
    assert web["HALL_MQTT_USER"] == "web-1"
    assert web["HALL_MQTT_PASSWORD"] == (tree / "etc/hall/web.password").read_text().strip()
    assert web["HALL_ARGS"] == "--device web-1 --listen 0.0.0.0:8080"
    assert config["web"] == {"device": "web-1", "listen": "0.0.0.0:8080"}
    assert (tree / "var/lib/hall/config/hall.yaml").exists()
    wants = tree / "etc/systemd/system/multi-user.target.wants"
    assert {p.name for p in wants.iterdir()} == {
        "hall-engine.service",
        "hall-kiosk.service",
        "hall-web.service",
    }
    assert (
        "systemctl enable --now mosquitto.service hall-engine.service pcscd.socket "
        "hall-kiosk.service hall-web.service" in out
    )
    assert "hall:x:" in (tree / "etc/passwd").read_text()
    assert "********" in out and env_of(tree, "kiosk")["HALL_MQTT_PASSWORD"] not in out


def caller_probe(kb: SimulatedKeyboard, typist: Typist) -> Probe:
    return Probe(
        serial_ports=list,
        pcsc_readers=list,
        input_devices=lambda: [found(kb, ["KEY_KPENTER", *[f"KEY_KP{i}" for i in range(10)]])],
        udev_properties=lambda path: {"ID_PATH": "pci-0000:00:14.0-usb-0:3:1.0"},
        opener=typist.open,
        stable_names=False,
    )


def press_every_caller_key(kb: SimulatedKeyboard) -> None:
    for action in CALLER_DEFAULT.actions:
        kb.press(CALLER_DEFAULT.keys_for(action)[0])


@pytest.mark.broker
def test_caller_wizard_asks_again_on_bad_input_and_tests_each_key(tree, provision_args, broker):
    kb = SimulatedKeyboard(name="hall simulated keypad")
    typist = Typist(kb, press_every_caller_key)
    answers = [
        "2",  # caller
        "",  # not the queue host
        "",  # hall id: needed
        "demo-hall",
        "3 号",  # not a window number
        "3",
        "",  # caller-3
        "",  # eglfs
        "10.0.0.2",  # broker without a port: 1883 is added
        "",  # user caller-3
        "",  # no password
        "-",  # no center
        "",  # the keypad found
        "",  # write
        "",  # test the keys
    ]
    # the broker the test runs: not 10.0.0.2
    answers[8] = f"{broker.host}:{broker.port}"
    code, out = run(provision_args(), "\n".join(answers) + "\n", caller_probe(kb, typist))
    assert code == 0, out
    assert "请输入 an answer is needed" in out
    assert "'3 号' is not a window number" in out
    assert "(10/10)" in out
    config = read_config(tree)
    assert (config["window"], config["device"]) == ("3", "caller-3")
    assert config["hardware"] == {"keys": kb.path}
    # this box's port, tagged for udev (the stable name comes with udev on the device)
    rules = (tree / "etc/udev/rules.d/98-hall-local.rules").read_text()
    assert 'ENV{ID_PATH}=="pci-0000:00:14.0-usb-0:3:1.0", ENV{HALL_DEVICE}="keypad"' in rules
    assert env_of(tree, "caller")["HALL_ARGS"] == f"--device caller-3 --window 3 --keys {kb.path}"


def test_rerunning_keeps_everything_and_shows_it_as_defaults(tree, provision_args):
    kb = SimulatedKeyboard(name="hall simulated keypad")
    first = provision_args(
        "--non-interactive",
        "--role",
        "caller",
        "--hall",
        "demo-hall",
        "--window",
        "5",
        "--broker",
        "10.0.0.2:1883",
        "--no-broker-check",
        "--center",
        "center.example:8883",
        "--center-ack",
        "center",
    )
    code, out = run(first, probe=caller_probe(kb, Typist(kb, lambda kb: None)))
    assert code == 0, out
    text = (tree / "etc/hall/device.yaml").read_text()
    stamp = (tree / "etc/hall/caller.env").stat().st_mtime_ns
    # the wizard again: Enter everywhere keeps every answer; no key test
    code, out = run(
        provision_args("--no-broker-check"),
        "\n" * 15 + "n\n\n",
        caller_probe(kb, Typist(kb, lambda kb: None)),
    )
    assert code == 0, out
    assert "已有配置 existing config" in out
    assert "窗口号 Window number [5]:" in out
    assert "Central broker HOST:PORT (- : no center) [center.example:8883]:" in out
    assert "无变化 nothing changed" in out
    assert (tree / "etc/hall/device.yaml").read_text() == text
    assert (tree / "etc/hall/caller.env").stat().st_mtime_ns == stamp
    # and the script again: the same
    code, out = run(provision_args("--non-interactive", "--no-broker-check"))
    assert code == 0 and "无变化 nothing changed" in out, out


def test_non_interactive_names_the_missing_flag(provision_args, tree):
    code, out = run(provision_args("--non-interactive", "--role", "display", "--hall", "h"))
    assert code == 2
    assert "--broker HOST:PORT" in out
    code, out = run(
        provision_args(
            "--non-interactive",
            "--role",
            "display",
            "--hall",
            "h",
            "--broker",
            "10.0.0.2:1883",
            "--no-broker-check",
        )
    )
    assert code == 2 and "window: missing (role display belongs to a window) (--window)" in out
    assert not (tree / "etc/hall/device.yaml").exists()


def test_the_wizard_stops_cleanly_when_input_ends(provision_args, tree):
    code, out = run(provision_args(), "1\n")
    assert code == 2 and "input ended: nothing was written" in out
    assert not (tree / "etc/hall").exists()


@pytest.mark.broker
def test_a_device_id_in_use_needs_replace(provision_args, broker, tree):
    other_box = MqttLink(
        host=broker.host,
        port=broker.port,
        hall_id="demo-hall",
        device_id="display-2",
        role="display",
    ).start()
    try:
        flags = [
            "--non-interactive",
            "--role",
            "display",
            "--hall",
            "demo-hall",
            "--window",
            "2",
            "--broker",
            f"{broker.host}:{broker.port}",
            "--broker-user",
            "none",
        ]
        code, out = run(provision_args(*flags))
        assert code == 4, out
        assert "device id display-2 is online on the hall broker" in out
        assert "--replace display-2" in out
        code, out = run(provision_args(*flags, "--replace", "display-2"))
        assert code == 0, out
        assert read_config(tree)["device"] == "display-2"
    finally:
        other_box.stop()


def make_db(path: Path, tickets: list[str]) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS tickets (code TEXT)")
        conn.executemany("INSERT INTO tickets VALUES (?)", [(t,) for t in tickets])


def tickets(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [r[0] for r in conn.execute("SELECT code FROM tickets ORDER BY rowid")]


def test_replacing_the_queue_host_imports_its_data_and_deletes_nothing(
    provision_args, tree, tmp_path
):
    flags = [
        "--non-interactive",
        "--role",
        "engine",
        "--hall-config",
        str(ROOT / "assets/halls/demo.yaml"),
    ]
    code, out = run(provision_args(*flags))
    assert code == 0, out
    data = tree / "var/lib/hall"
    make_db(data / "engine.db", ["X001"])  # what the new box did before the swap
    old_disk = tmp_path / "old-disk"
    old_disk.mkdir()
    make_db(old_disk / "engine.db", ["A001", "A002"])
    code, out = run(provision_args(*flags, "--replace", "engine", "--import-data", str(old_disk)))
    assert code == 0, out
    assert tickets(data / "engine.db") == ["A001", "A002"]
    (kept,) = data.glob("engine.db.before-*")
    assert tickets(kept) == ["X001"]
    # the box becomes a board: the engine's units go, its data stays
    code, out = run(
        provision_args(
            "--non-interactive",
            "--role",
            "board",
            "--hall",
            "demo-hall",
            "--broker",
            "10.0.0.9:1883",
            "--no-broker-check",
        )
    )
    assert code == 0, out
    assert tickets(data / "engine.db") == ["A001", "A002"] and kept.exists()
    wants = tree / "etc/systemd/system/multi-user.target.wants"
    assert {p.name for p in wants.iterdir()} == {"hall-board.service"}
    assert "systemctl disable --now hall-engine.service" in out


def test_a_script_provisions_a_caller(tree, tmp_path):
    password = tmp_path / "pw"
    password.write_text("caller-secret\n")
    result = subprocess.run(
        [sys.executable, "-m", "hall.cli", "provision", "--non-interactive", "--root", str(tree),
         "--role", "caller", "--hall", "demo-hall", "--window", "3",
         "--broker", "192.0.2.10:1883", "--broker-password-file", str(password),
         "--no-broker-check", "--no-detect", "--keys", "by-id:usb-Genius_Numpad-event-kbd",
         "--screen", "cage"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    env = env_of(tree, "caller")
    assert env["HALL_MQTT_USER"] == "caller-3" and env["HALL_MQTT_PASSWORD"] == "caller-secret"
    assert env["QT_QPA_PLATFORM"] == "wayland" and env["HALL_APP"] == "caller"
    assert (tree / "etc/systemd/system/hall-caller.service.d/cage.conf").exists()
    assert (tree / "etc/pam.d/hall-cage").exists()
    secret = tree / "etc/hall/broker.password"
    assert oct(secret.stat().st_mode & 0o777) == "0o640"
    assert "systemctl enable --now hall-caller.service" in result.stdout
    assert "caller-secret" not in result.stdout


def test_a_failing_part_is_reported_before_anything_is_written(provision_args, tree, printer):
    printer.set_paper("out")
    flags = [
        "--role",
        "kiosk",
        "--generate-staff-pin",
        "--no-queue-host",
        "--hall",
        "demo-hall",
        "--broker",
        "10.0.0.2:1883",
        "--no-broker-check",
        "--printer",
        f"serial:{printer.port}?baud=9600",
        "--idcard",
        "none",
        "--citizencard",
        "none",
        "--scanner",
        "none",
    ]
    # the wizard: the test fails, so writing is no longer the default
    code, out = run(provision_args(*flags), "\n" * 12 + "\n" + "\n")
    assert code == 0, out
    assert "✗ 打印机缺纸，请联系工作人员" in out
    assert "测试未通过 (printer)，仍然写入? Write the config anyway? (y/n) [n]:" in out
    assert "未写入 nothing written" in out and not (tree / "etc/hall").exists()
    # a script with --test: written, but the exit code says a part failed
    code, out = run(provision_args("--non-interactive", "--test", *flags))
    assert code == 3, out
    assert "硬件测试未通过 hardware tests failed: printer" in out
    assert read_config(tree)["hardware"]["printer"] == f"serial:{printer.port}?baud=9600"


def test_with_udev_the_config_names_devices_by_their_stable_names(
    provision_args, tree, sam, printer
):
    ports = {sam.port: "pci-0000:00:14.0-usb-0:1:1.0", printer.port: "pci-0000:00:14.0-usb-0:2:1.0"}
    probe = Probe(
        serial_ports=lambda: [sam.port, printer.port],
        pcsc_readers=list,
        input_devices=list,
        udev_properties=lambda node: {"ID_PATH": ports[node]},
        stable_names=True,
    )
    flags = [
        "--non-interactive",
        "--role",
        "kiosk",
        "--generate-staff-pin",
        "--no-queue-host",
        "--hall",
        "demo-hall",
        "--broker",
        "10.0.0.2:1883",
        "--no-broker-check",
        "--test",
    ]
    code, out = run(provision_args(*flags), probe=probe)
    assert code == 0, out
    assert read_config(tree)["hardware"] == {
        "printer": "serial:/dev/hall-printer?baud=9600&profile=80mm",
        "idcard": "/dev/hall-idcard",
        "citizencard": None,
        "scanner": None,
    }
    # the parts were tried on the ports found, before udev names them
    assert len(printer.wait_for_tickets(1, timeout=5)) == 1
    assert "✓ 读卡成功" in out
    rules = (tree / "etc/udev/rules.d/98-hall-local.rules").read_text().splitlines()[1:]
    assert rules == [
        'SUBSYSTEM=="tty", ENV{ID_PATH}=="pci-0000:00:14.0-usb-0:1:1.0", ENV{HALL_DEVICE}="idcard"',
        'SUBSYSTEM=="tty", ENV{ID_PATH}=="pci-0000:00:14.0-usb-0:2:1.0", '
        'ENV{HALL_DEVICE}="printer"',
    ]

"""The web role (``hall web``, #13) as provisioning sets it up: on the queue host beside the
engine (``--web-device web-1``: a device of the hall config with its own broker account)
or on a box of its own (``--role web``, no screen); its unit, its environment, its broker
account and what the shipped ACL lets it do, and what is refused."""

from __future__ import annotations

import configparser
import io
import queue
from pathlib import Path

import pytest
import yaml

from hall import device_config as dc
from hall.provision import Probe, provision
from hall.provision.layout import EXIT_CONFIG, EXIT_OK, SOURCE
from sync.mqtt import MqttLink


def run(args, stdin: str = "") -> tuple[int, str]:
    out = io.StringIO()
    probe = Probe(serial_ports=list, input_devices=list, pcsc_readers=list)
    code = provision(args, probe=probe, stdin=io.StringIO(stdin), stdout=out)
    return code, out.getvalue()


def env_of(tree: Path, role: str) -> dict[str, str]:
    return dc.parse_env((tree / f"etc/hall/{role}.env").read_text())


def enabled_units(tree: Path) -> set[str]:
    wants = tree / "etc/systemd/system/multi-user.target.wants"
    return {p.name for p in wants.iterdir()} if wants.exists() else set()


def broker_users(tree: Path) -> list[str]:
    text = (tree / "etc/mosquitto/hall.passwd").read_text()
    return sorted(line.split(":")[0] for line in text.split())


ENGINE = ("--non-interactive", "--role", "engine", "--hall-config", "demo")


# ------------------------------------------------------------------ on the queue host


def test_the_queue_host_runs_the_web_role_as_its_own_device(tree, provision_args):
    code, out = run(provision_args(*ENGINE, "--web-device", "web-1"))
    assert code == EXIT_OK, out
    assert "units: mosquitto.service hall-engine.service hall-web.service" in out
    assert "web.listen: 0.0.0.0:80" in out
    assert enabled_units(tree) == {"hall-engine.service", "hall-web.service"}
    # its own broker account, its password made here and readable by the units only
    assert broker_users(tree) == ["engine", "web-1"]
    secret = tree / "etc/hall/web.password"
    assert oct(secret.stat().st_mode & 0o777) == "0o640"
    web = env_of(tree, "web")
    assert web["HALL_MQTT_USER"] == "web-1"
    assert web["HALL_MQTT_PASSWORD"] == secret.read_text().strip()
    assert web["HALL_MQTT_PASSWORD"] != env_of(tree, "engine")["HALL_MQTT_PASSWORD"]
    assert web["HALL_MQTT_PASSWORD"] not in out
    assert (web["HALL_ID"], web["HALL_BROKER"]) == ("demo-hall", "127.0.0.1:1883")
    assert (web["HALL_DEVICE"], web["HALL_DEVICE_ID"]) == ("web-1", "web-1")
    assert web["HALL_ARGS"] == "--device web-1 --listen 0.0.0.0:80"
    assert "QT_QPA_PLATFORM" not in web and "HALL_APP" not in web  # no screen
    config = yaml.safe_load((tree / "etc/hall/device.yaml").read_text())
    assert config["web"] == {"device": "web-1", "listen": "0.0.0.0:80"}
    assert (tree / "etc/systemd/system/hall-web.service").exists()


def test_rerunning_keeps_the_web_password_and_none_takes_the_role_away(tree, provision_args):
    assert run(provision_args(*ENGINE, "--web-device", "web-1"))[0] == EXIT_OK
    password = (tree / "etc/hall/web.password").read_text()
    code, out = run(provision_args("--non-interactive", "--web-listen", "8080"))
    assert code == EXIT_OK, out
    assert (tree / "etc/hall/web.password").read_text() == password
    assert env_of(tree, "web")["HALL_ARGS"] == "--device web-1 --listen 0.0.0.0:8080"
    assert "/etc/hall/web.env" in out.split("未变")[0]  # rewritten: the unit restarts
    code, out = run(provision_args("--non-interactive", "--web-device", "none"))
    assert code == EXIT_OK, out
    assert enabled_units(tree) == {"hall-engine.service"}
    assert "hall-web.service" not in out.split("units:")[1].splitlines()[0]


def test_a_kiosk_queue_host_runs_it_too(tree, provision_args):
    code, out = run(
        provision_args(
            "--non-interactive", "--role", "kiosk", "--queue-host", "--hall-config", "demo",
            "--generate-staff-pin", "--printer", "serial:/dev/ttyUSB0?baud=9600",
            "--idcard", "none", "--citizencard", "none", "--scanner", "none",
            "--web-device", "web-1", "--web-listen", "192.168.20.1:8080",
        )
    )  # fmt: skip
    assert code == EXIT_OK, out
    assert broker_users(tree) == ["engine", "kiosk-1", "web-1"]
    assert env_of(tree, "web")["HALL_ARGS"] == "--device web-1 --listen 192.168.20.1:8080"
    assert env_of(tree, "kiosk")["HALL_MQTT_USER"] == "kiosk-1"  # the kiosk keeps its own
    assert "hall-web.service" in enabled_units(tree)


def test_the_wizard_offers_the_hall_configs_web_device(tree, provision_args):
    answers = [
        "engine",  # role
        "demo",  # the demo hall (it lists web-1, role web)
        "",  # hall id from it
        "",  # device engine
        "",  # salt file
        "",  # no anonymous logins
        "",  # broker user engine
        "",  # broker password: make one
        "",  # the web role too: web-1 offered
        "",  # port 80
        "-",  # no center
        "",  # write it
    ]
    code, out = run(provision_args(), "\n".join(answers) + "\n")
    assert code == EXIT_OK, out
    assert "Also run the web role" in out and "as device (- : not on this box) [web-1]:" in out
    assert "listens on HOST:PORT" in out and "[0.0.0.0:80]:" in out
    assert env_of(tree, "web")["HALL_ARGS"] == "--device web-1 --listen 0.0.0.0:80"
    # asked again, the earlier answer is the default, and "-" says no
    again = ["", "", "", "", "", "", "", "-", "-", ""]  # Enter, but no web role, no center
    code, out = run(provision_args(), "\n".join(again) + "\n")
    assert code == EXIT_OK, out
    assert "as device (- : not on this box) [web-1]:" in out
    assert enabled_units(tree) == {"hall-engine.service"}


# ------------------------------------------------------------------ a box of its own


def test_a_box_of_its_own_with_role_web(tree, provision_args, tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("web-secret\n")
    code, out = run(
        provision_args(
            "--non-interactive", "--role", "web", "--hall", "demo-hall", "--no-queue-host",
            "--broker", "192.168.10.2:1883", "--broker-password-file", str(pw),
            "--no-broker-check",
        )
    )  # fmt: skip
    assert code == EXIT_OK, out
    assert "units: hall-web.service" in out
    assert enabled_units(tree) == {"hall-web.service"}
    web = env_of(tree, "web")
    assert web["HALL_ARGS"] == "--device web-1 --listen 0.0.0.0:80"
    assert (web["HALL_MQTT_USER"], web["HALL_MQTT_PASSWORD"]) == ("web-1", "web-secret")
    assert web["HALL_BROKER"] == "192.168.10.2:1883"
    assert "QT_QPA_PLATFORM" not in web and "HALL_APP" not in web
    assert not (tree / "etc/mosquitto").exists()  # the broker is on the queue host
    config = yaml.safe_load((tree / "etc/hall/device.yaml").read_text())
    assert config["role"] == "web" and "screen" not in config and "hardware" not in config


def test_the_wizard_sets_up_a_web_box(tree, provision_args):
    answers = [
        "7",  # web (the last role of the menu)
        "",  # not the queue host
        "demo-hall",  # hall id
        "",  # device web-1
        "10.0.0.2",  # the queue host's broker
        "",  # user web-1
        "",  # no password
        ":8080",  # a port alone: every network of this box
        "-",  # no center
        "",  # write it
    ]
    code, out = run(provision_args("--no-broker-check"), "\n".join(answers) + "\n")
    assert code == EXIT_OK, out
    assert "网页服务 web role only" in out
    assert "显示方式" not in out  # no screen question
    assert env_of(tree, "web")["HALL_ARGS"] == "--device web-1 --listen 0.0.0.0:8080"


# ------------------------------------------------------------------ refusals


@pytest.mark.parametrize(
    ("flags", "said"),
    [
        (
            ("--role", "caller", "--hall", "h", "--window", "3", "--keys", "none",
             "--broker", "10.0.0.2:1883", "--web-device", "web-1"),
            "web.device: only used on the queue host (queue_host: true) (--web-device)",
        ),
        (
            (*ENGINE[1:], "--web-device", "engine"),
            "web.device: 'engine' is taken by this box's engine",
        ),
        (
            ("--role", "web", "--hall", "h", "--no-queue-host", "--broker", "10.0.0.2:1883",
             "--web-device", "web-2"),
            "web.device: role web is the web device: its id is 'device' (--web-device)",
        ),
        (
            (*ENGINE[1:], "--web-listen", "0.0.0.0:8080"),
            "web.listen: no web role on this box: set web.device too (--web-listen)",
        ),
        (
            (*ENGINE[1:], "--web-device", "web-1", "--web-listen", "0.0.0.0:99999"),
            "1..65535",
        ),
    ],
    ids=["not-queue-host", "engine-id", "web-box", "listen-alone", "bad-port"],
)  # fmt: skip
def test_what_is_refused_before_anything_is_written(tree, provision_args, flags, said):
    code, out = run(provision_args("--non-interactive", "--no-broker-check", *flags))
    assert code == EXIT_CONFIG, out
    assert said in out
    assert not (tree / "etc/hall/device.yaml").exists()


# ------------------------------------------------------------------ the unit and the broker


def test_the_web_unit_is_hardened_and_may_bind_only_the_web_port():
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(SOURCE / "hall-web.service")
    s = parser["Service"]
    assert (s["Type"], s["User"], s["EnvironmentFile"]) == ("notify", "hall", "/etc/hall/web.env")
    assert int(s["WatchdogSec"]) == 30
    assert s["CapabilityBoundingSet"] == s["AmbientCapabilities"] == "CAP_NET_BIND_SERVICE"
    assert s["NoNewPrivileges"] == "yes" and s["ProtectSystem"] == "strict"
    assert s["ReadWritePaths"] == dc.DATA_DIR  # its health counters, nothing else
    assert s["PrivateDevices"] == "yes" and s["ProtectHome"] == "yes"
    assert "SupplementaryGroups" not in s  # no screen, no serial ports, no input


@pytest.mark.broker
def test_the_web_device_reads_the_shared_state_and_writes_only_its_own_subtree(
    tree, provision_args, hall_broker, monkeypatch
):
    """The shipped ACL's pattern rules are all the web role needs: no line of its own."""
    monkeypatch.setenv("HALL_VALIDATE_CONTRACT", "0")  # the forged board is not the point
    assert run(provision_args(*ENGINE, "--web-device", "web-1"))[0] == EXIT_OK
    accounts = {
        env["HALL_MQTT_USER"]: env["HALL_MQTT_PASSWORD"]
        for env in (env_of(tree, "engine"), env_of(tree, "web"))
    }
    broker = hall_broker(accounts)

    def link(user: str) -> MqttLink:
        return MqttLink(
            host=broker.host, port=broker.port, hall_id="demo-hall", device_id=user,
            username=user, password=accounts[user], presence=False,
        ).start(wait=5)  # fmt: skip

    engine, web = link("engine"), link("web-1")
    try:
        seen: queue.Queue = queue.Queue()
        commands: queue.Queue = queue.Queue()
        web.subscribe("hall/demo-hall/board", lambda m: seen.put(("board", m.payload)))
        web.subscribe("hall/demo-hall/window/+/state", lambda m: seen.put(("state", m.payload)))
        engine.subscribe("hall/demo-hall/dev/+/cmd", lambda m: commands.put(m.topic))
        state = {
            "hall": "demo-hall", "window": "3", "name": "3号窗口", "status": "idle",
            "current": None, "waiting": 0, "updated_at": "2026-11-23T09:30:00",
        }  # fmt: skip
        engine.publish("hall/demo-hall/window/3/state", state, retain=True)
        assert seen.get(timeout=5) == ("state", state)
        web.publish("hall/demo-hall/board", {"forged": True})  # only the engine writes it
        web.publish("hall/demo-hall/dev/caller-3/cmd", {"cmd": "call_next"})  # not its own
        web.publish("hall/demo-hall/dev/web-1/cmd", {"cmd": "overview"})
        assert commands.get(timeout=5) == "hall/demo-hall/dev/web-1/cmd"
        assert commands.empty() and seen.empty()
    finally:
        web.stop()
        engine.stop()

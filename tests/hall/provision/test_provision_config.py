"""The device config file: declared keys, checks with helpful errors, writing, and what
it means for the units (which run, and their environment files)."""

from __future__ import annotations

import os
import stat

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from hall import device_config as dc

KIOSK = {
    "role": "kiosk",
    "hall": "demo-hall",
    "queue_host": True,
    "broker": {"username": "kiosk-1", "password_file": "/etc/hall/broker.password"},
    "hardware": {
        "printer": "serial:/dev/hall-printer?baud=9600&profile=80mm",
        "idcard": "/dev/hall-idcard",
        "citizencard": "ACS ACR39U ICC Reader 00 00",
        "scanner": "/dev/input/hall-scanner",
    },
    "salt_file": "/etc/hall/salt",
}


def problems(data) -> tuple[str, ...]:
    with pytest.raises(dc.ConfigError) as err:
        dc.parse(data, source="device.yaml")
    return err.value.problems


def test_every_key_is_declared_with_type_default_description_and_flag():
    fields = {f for f in dc.DeviceConfig.__dataclass_fields__}
    for option in dc.OPTIONS:
        assert option.field in fields
        assert option.description and option.flag.startswith("--")
        if option.default is not None:
            assert option.check(option.default) == option.default
    assert len({o.flag for o in dc.OPTIONS}) == len(dc.OPTIONS)
    assert fields == {o.field for o in dc.OPTIONS}


def test_a_kiosk_config_is_read_with_defaults_filled_in():
    c = dc.parse(KIOSK)
    assert (c.role, c.hall, c.device, c.queue_host) == ("kiosk", "demo-hall", "kiosk-1", True)
    assert c.broker_address == "127.0.0.1:1883" and c.screen == "eglfs"
    assert dc.parse({"role": "caller", "hall": "h", "window": 3}).device == "caller-3"
    assert dc.parse({"role": "engine", "hall": "h"}).queue_host is True


def test_misspelt_keys_are_named_with_a_suggestion():
    data = {
        **KIOSK,
        "rol": "x",
        "broker": {"adress": "10.0.0.2:1883"},
        "hardware": {"priner": "serial:/dev/x"},
        "printer": "serial:/dev/x",
    }
    found = problems(data)
    assert "rol: unknown key (did you mean 'role'?)" in found
    assert "broker.adress: unknown key (did you mean 'broker.address'?)" in found
    assert "hardware.priner: unknown key (did you mean 'hardware.printer'?)" in found
    assert "printer: unknown key (did you mean 'hardware.printer'?)" in found


def test_bad_values_are_explained_all_at_once():
    found = problems(
        {
            "role": "kiosc",
            "hall": "demo hall",
            "broker": {"address": "10.0.0.2:99999"},
            "screen": "x11",
        }
    )
    assert (
        "role: 'kiosc' is not one of kiosk, caller, display, board, evaluator, engine, web "
        "(did you mean 'kiosk'?)" in found
    )
    assert any(p.startswith("hall: 'demo hall' is not a valid id") for p in found)
    assert any(p.startswith("broker.address:") and "1..65535" in p for p in found)
    assert any(p.startswith("screen: 'x11' is not one of eglfs, cage") for p in found)


def test_what_a_role_needs_and_does_not_use():
    assert "window: missing (role caller belongs to a window)" in problems(
        {"role": "caller", "hall": "h"}
    )
    found = problems(
        {"role": "caller", "hall": "h", "window": "3", "hardware": {"printer": "serial:/dev/x"}}
    )
    assert found == (
        "hardware.printer: role caller does not use it; remove it (or is the role wrong?)",
    )
    assert problems({"role": "board", "hall": "h", "window": "2"}) == (
        "window: role board has no window; remove it (or is the role wrong?)",
    )
    assert problems(
        {"role": "caller", "hall": "h", "window": 1, "broker": {"cert_file": "/etc/hall/c.pem"}}
    ) == (
        "broker.key_file: missing: broker.cert_file and broker.key_file go together",
        "broker.ca_file: a client certificate needs TLS (the CA file)",
    )
    assert any("printer spec" in p for p in problems({**KIOSK, "hardware": {"printer": "lpt:1"}}))
    assert any(
        "must not contain spaces" in p
        for p in problems({**KIOSK, "hardware": {"scanner": "name:My Scanner"}})
    )


def test_yaml_errors_say_where(tmp_path):
    path = tmp_path / "device.yaml"
    path.write_text("role: kiosk\nhall: [demo\n")
    with pytest.raises(dc.ConfigError, match=r"not valid YAML at line \d"):
        dc.load(path)


def test_dump_is_read_back_identically_and_documents_each_key(tmp_path):
    c = dc.parse(KIOSK)
    text = dc.dump(c)
    assert "# ticket printer spec" in text and "window" not in text
    path = tmp_path / "device.yaml"
    path.write_text(text)
    assert dc.load(path) == c
    assert yaml.safe_load(text)["hardware"]["citizencard"] == "ACS ACR39U ICC Reader 00 00"


def test_write_atomic_replaces_whole_files_and_skips_identical_ones(tmp_path):
    path = tmp_path / "etc" / "device.yaml"
    assert dc.write_atomic(path, "one\n", mode=0o640)
    inode = path.stat().st_ino
    assert dc.write_atomic(path, "one\n", mode=0o640) is False  # unchanged: not rewritten
    assert path.stat().st_ino == inode
    assert dc.write_atomic(path, "two\n", mode=0o640)
    assert path.read_text() == "two\n" and path.stat().st_ino != inode
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert os.listdir(path.parent) == ["device.yaml"]  # no temporary file left behind


def test_units_per_role():
    kiosk = dc.parse(KIOSK)
    assert dc.units_for(kiosk) == [
        "mosquitto.service",
        "hall-engine.service",
        "pcscd.socket",
        "hall-kiosk.service",
    ]
    caller = dc.parse(
        {
            "role": "caller",
            "hall": "h",
            "window": 3,
            "broker": {"address": "10.0.0.2:1883"},
            "center": {"address": "center.example:8883"},
        }
    )
    assert dc.units_for(caller) == ["hall-caller.service", "hall-sync.service"]
    assert dc.unit_roles(caller) == ["caller", "sync"]
    assert dc.units_for(dc.parse({"role": "engine", "hall": "h"})) == [
        "mosquitto.service",
        "hall-engine.service",
    ]


def test_the_kiosk_units_environment(tmp_path):
    (tmp_path / "etc" / "hall").mkdir(parents=True)
    (tmp_path / "etc" / "hall" / "broker.password").write_text('pa"ss$word\n')
    (tmp_path / "etc" / "hall" / "engine.password").write_text("engine-secret\n")
    c = dc.parse(KIOSK)
    env = dc.unit_environment(c, "kiosk", root=tmp_path)
    assert env["HALL_MQTT_USER"] == "kiosk-1" and env["HALL_MQTT_PASSWORD"] == 'pa"ss$word'
    assert env["QT_QPA_PLATFORM"] == "eglfs"
    assert env["HALL_ARGS"].split() == [
        "--device", "kiosk-1",
        "--printer", "serial:/dev/hall-printer?baud=9600&profile=80mm",
        "--idcard", "/dev/hall-idcard",
        "--citizencard", "ACR39U",  # one word: the kiosk matches part of the name
        "--scanner", "/dev/input/hall-scanner",
    ]  # fmt: skip
    synced = dc.unit_environment(c.with_(center_address="c:1883"), "kiosk", root=tmp_path)
    assert synced["HALL_ARGS"].endswith("--health-db /var/lib/hall/engine.db")
    engine = dc.unit_environment(c, "engine", root=tmp_path)
    assert (engine["HALL_MQTT_USER"], engine["HALL_MQTT_PASSWORD"]) == ("engine", "engine-secret")
    assert engine["HALL_ARGS"] == "--device engine"
    assert engine["HALL_CONFIG"] == "/var/lib/hall/config/hall.yaml"
    cage = dc.unit_environment(c.with_(screen="cage"), "kiosk", root=tmp_path)
    assert cage["QT_QPA_PLATFORM"] == "wayland"


def test_every_role_reads_its_unit_environment(tmp_path, monkeypatch):
    """The unit's environment file and HALL_ARGS parse with the role's own command line
    (so a unit never fails on an option) and say what the device config says."""
    from hall.cli import build_parser

    base = {
        "hall": "demo-hall",
        "broker": {"address": "10.0.0.2:1883"},
        "center": {"address": "center:1883", "ack": "center"},
    }
    for role, extra in (
        ("caller", {"window": "3", "hardware": {"keys": "/dev/input/hall-keypad"}}),
        ("display", {"window": "3", "hardware": {"layout": "led"}}),
        ("board", {}),
        ("evaluator", {"window": "3", "hardware": {"keys": "by-id:usb-eval-event-kbd"}}),
        ("kiosk", {"hardware": {"citizencard": "any"}}),
        ("engine", {}),
    ):
        c = dc.parse({**base, "role": role, **extra})
        for unit_role in dc.unit_roles(c):
            env = dc.unit_environment(c, unit_role, root=tmp_path)
            with monkeypatch.context() as m:
                for key, value in env.items():
                    m.setenv(key, value)
                args = build_parser().parse_args([unit_role, *env["HALL_ARGS"].split()])
            assert args.command == unit_role
            assert args.hall == "demo-hall"
            if unit_role == "sync":
                assert (args.ack, args.center, args.device) == ("center", "center:1883", c.device)
                assert args.db == dc.sync_db(c)
                continue
            assert args.broker == "10.0.0.2:1883"
            if unit_role in ("caller", "display", "evaluator"):
                assert args.window == "3" and args.device == f"{role}-3"
            if unit_role == "kiosk":
                assert args.citizencard == ""  # any reader
            if unit_role == "display":
                assert args.layout == "led"
            if unit_role == "engine":
                assert args.db == "/var/lib/hall/engine.db"


@settings(max_examples=200, deadline=None)
@given(
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters=" "),
        max_size=40,
    )
)
def test_environment_files_carry_any_value(value):
    text = dc.render_env({"HALL_MQTT_PASSWORD": f" {value}\t$x"})
    assert dc.parse_env(text) == {"HALL_MQTT_PASSWORD": f" {value}\t$x"}


def test_what_systemd_would_drop_is_refused():
    with pytest.raises(ValueError, match="span lines"):
        dc.render_env({"X": "a\nb"})
    with pytest.raises(ValueError, match="control characters"):
        dc.render_env({"X": "a\x1bb"})

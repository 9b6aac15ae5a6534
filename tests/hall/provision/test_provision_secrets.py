"""The secrets ``hall provision`` sets: each kiosk's own staff PIN (stored only as its
hash, shown once when made here) and the hall's person salt (made on the queue host,
copied to each kiosk).  No demo PIN opens a provisioned kiosk."""

from __future__ import annotations

import argparse
import io
import re
from pathlib import Path

import pytest

from hall import device_config as dc
from hall.cli import build_parser
from hall.core.pins import verify_pin
from hall.demo_apps import DEMO_PIN
from hall.provision import Probe, provision
from hall.provision.layout import EXIT_CONFIG, EXIT_OK
from kiosk.cli import settings_from_args

KIOSK = (
    "--non-interactive",
    "--role",
    "kiosk",
    "--no-queue-host",
    "--hall",
    "demo-hall",
    "--broker",
    "10.0.0.2:1883",
    "--no-broker-check",
    "--printer",
    "serial:/dev/ttyUSB0?baud=9600",
    "--idcard",
    "none",
    "--citizencard",
    "none",
    "--scanner",
    "none",
)
SHOWN = re.compile(r"staff PIN of [\w-]+: ([0-9]{4,8})\n")


def run(root: Path, *argv: str, stdin: str = "") -> tuple[int, str]:
    args = build_parser().parse_args(["provision", "--root", str(root), *argv])
    out = io.StringIO()
    probe = Probe(serial_ports=list, input_devices=list, pcsc_readers=list)
    code = provision(args, probe=probe, stdin=io.StringIO(stdin), stdout=out)
    return code, out.getvalue()


def kiosk_settings(root: Path):
    """The settings ``hall kiosk`` starts with from the unit's environment in ``root``."""
    env = dc.parse_env((root / "etc/hall/kiosk.env").read_text())
    args = argparse.Namespace(
        settings=None,
        device=None,
        status_file=None,
        salt_file=str(dc.host_path(root, env["HALL_SALT_FILE"]))
        if "HALL_SALT_FILE" in env
        else None,
        staff_pin_file=str(dc.host_path(root, env["HALL_STAFF_PIN_FILE"])),
    )
    return settings_from_args(args)


def every_file(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


def test_each_provisioned_kiosk_has_its_own_pin_and_no_demo_pin_works(tmp_path):
    shown, stored = [], []
    for name in ("one", "two"):
        root = tmp_path / name
        code, out = run(root, *KIOSK, "--generate-staff-pin")
        assert code == EXIT_OK, out
        (pin,) = SHOWN.findall(out)  # shown once, at the end
        assert out.count(pin) == 1
        text = (root / "etc/hall/staff-pin").read_text()
        assert pin not in text and pin.encode() not in every_file(root)
        assert oct((root / "etc/hall/staff-pin").stat().st_mode & 0o777) == "0o640"
        shown.append(pin)
        stored.append(text.strip())
        settings = kiosk_settings(root)
        assert verify_pin(pin, settings.staff_pin_hash)
        assert not verify_pin(DEMO_PIN, settings.staff_pin_hash)  # the demo's PIN: no
    assert stored[0] != stored[1]  # own salt each: the files cannot be compared
    for n in (0, 1):
        if shown[0] != shown[1]:
            assert not verify_pin(shown[1 - n], stored[n])


def test_a_pin_from_a_file_and_re_provisioning_keeps_it(tmp_path):
    root = tmp_path / "root"
    pin_file = tmp_path / "pin"
    pin_file.write_text("60417\n")
    code, out = run(root, *KIOSK, "--staff-pin-file", str(pin_file))
    assert code == EXIT_OK, out
    assert "60417" not in out and b"60417" not in every_file(root)
    stored = (root / "etc/hall/staff-pin").read_text()
    assert verify_pin("60417", stored.strip())
    code, out = run(root, *KIOSK)  # no PIN flag: the PIN staff know stays
    assert code == EXIT_OK, out
    assert (root / "etc/hall/staff-pin").read_text() == stored
    pin_file.write_text("12ab\n")
    code, out = run(root, *KIOSK, "--staff-pin-file", str(pin_file))
    assert code == EXIT_CONFIG and "12ab" not in out
    assert (root / "etc/hall/staff-pin").read_text() == stored


def test_a_script_must_say_where_a_new_kiosks_pin_comes_from(tmp_path):
    root = tmp_path / "root"
    code, out = run(root, *KIOSK)
    assert code == EXIT_CONFIG
    assert "--staff-pin-file" in out and "--generate-staff-pin" in out
    assert not (root / "etc").exists()
    code, out = run(root, *KIOSK, "--generate-staff-pin", "--staff-pin-file", "/x")
    assert code == EXIT_CONFIG and "choose one" in out


def test_a_staff_pin_belongs_to_a_kiosk(tmp_path):
    code, out = run(
        tmp_path / "root",
        "--non-interactive",
        "--role",
        "caller",
        "--hall",
        "demo-hall",
        "--window",
        "3",
        "--broker",
        "10.0.0.2:1883",
        "--no-broker-check",
        "--keys",
        "none",
        "--generate-staff-pin",
    )
    assert code == EXIT_CONFIG and "--hash-pin" in out


def test_the_wizard_makes_a_pin_when_none_is_typed(tmp_path):
    root = tmp_path / "root"
    flags = [f for f in KIOSK if f != "--non-interactive"]
    answers = [
        "",  # device kiosk-1
        "",  # eglfs
        "",  # salt file /etc/hall/salt
        "-",  # the hall's salt: copy it later
        "",  # staff PIN: Enter makes one
        "",  # broker user kiosk-1
        "",  # broker password: none
        "-",  # no center
        "n",  # not now: test the printer
        "",  # write it
    ]
    code, out = run(root, *flags, stdin="\n".join(answers) + "\n")
    assert code == EXIT_OK, out
    (pin,) = SHOWN.findall(out)
    assert verify_pin(pin, (root / "etc/hall/staff-pin").read_text().strip())
    assert "no hall salt" in out  # the salt is still to be copied: said, not hidden


def test_the_person_salt_is_made_on_the_queue_host_and_copied_to_each_kiosk(tmp_path):
    host = tmp_path / "host"
    code, out = run(host, "--non-interactive", "--role", "engine", "--hall-config", "demo")
    assert code == EXIT_OK, out
    salt = host / "etc/hall/salt"
    assert len(salt.read_bytes().strip()) >= 32
    assert oct(salt.stat().st_mode & 0o777) == "0o640"
    # the engine compares person keys, it never makes them: no salt in its environment
    assert "HALL_SALT_FILE" not in dc.parse_env((host / "etc/hall/engine.env").read_text())

    stick = tmp_path / "usb-stick-salt"
    stick.write_bytes(salt.read_bytes())
    kiosk = tmp_path / "kiosk"
    code, out = run(kiosk, *KIOSK, "--generate-staff-pin", "--person-salt-file", str(stick))
    assert code == EXIT_OK, out
    assert (kiosk / "etc/hall/salt").read_bytes() == salt.read_bytes()
    assert kiosk_settings(kiosk).salt == salt.read_bytes().strip()
    assert salt.read_bytes().strip().decode() not in out

    (tmp_path / "short").write_bytes(b"abc")
    code, out = run(kiosk, *KIOSK, "--person-salt-file", str(tmp_path / "short"))
    assert code == EXIT_CONFIG and "not a hall salt" in out


def test_a_kiosk_without_the_salt_is_told_to_copy_it(tmp_path):
    code, out = run(tmp_path / "root", *KIOSK, "--generate-staff-pin")
    assert code == EXIT_OK
    assert "--person-salt-file" in out


@pytest.mark.parametrize("interactive", [True, False])
def test_hash_pin_prints_a_clerks_stored_pin_and_writes_nothing(tmp_path, interactive):
    root = tmp_path / "root"
    if interactive:
        code, out = run(root, "--hash-pin", stdin="123\n7319\n7391\n7319\n7319\n")
        assert out.count("✗") == 2  # too short; the two PINs differ
    else:
        (tmp_path / "pin").write_text("7319\n")
        code, out = run(
            root, "--non-interactive", "--hash-pin", "--staff-pin-file", str(tmp_path / "pin")
        )
    assert code == EXIT_OK, out
    stored = re.search(r"scrypt\$\S+", out).group()
    assert stored.startswith("scrypt$") and verify_pin("7319", stored)
    assert "7319" not in out
    assert not root.exists() or not any(root.iterdir())


def test_hall_doctor_reports_a_kiosk_without_its_staff_pin(tmp_path):
    from hall.doctor import PROBLEM, Doctor

    root = tmp_path / "root"
    assert run(root, *KIOSK, "--generate-staff-pin")[0] == EXIT_OK

    def config_check():
        (result,) = Doctor(root=root, timeout=1.0, systemd=False).run(["config"])
        return result

    assert not any("staff PIN" in d for d in config_check().details)
    (root / "etc/hall/staff-pin").unlink()
    result = config_check()
    assert result.status == PROBLEM
    assert any("no staff PIN" in d and "--generate-staff-pin" in d for d in result.details)

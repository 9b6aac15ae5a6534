"""What ``hall provision --non-interactive`` refuses, before it writes anything: a misspelt
key in ``device.yaml`` (the same check as ``hall doctor``), a kiosk that did not say
whether it is the queue host, a queue host without a hall config (the demo hall only by
name); and a kiosk with neither printer nor ID reader is reported, not called done."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml

from hall import device_config as dc
from hall.doctor import PROBLEM, Doctor
from hall.doctor import main as doctor_main
from hall.provision import Probe, provision
from hall.provision.layout import DEMO_HALL, EXIT_CONFIG, EXIT_INCOMPLETE, EXIT_OK

NO_HARDWARE = ("--citizencard", "none", "--scanner", "none")


def run(args) -> tuple[int, str]:
    out = io.StringIO()
    probe = Probe(serial_ports=list, input_devices=list, pcsc_readers=list)
    code = provision(args, probe=probe, stdin=io.StringIO(""), stdout=out)
    return code, out.getvalue()


def snapshot(tree: Path) -> dict[str, bytes | str]:
    """Every file and symlink of the provisioned tree (enabled units are symlinks)."""
    found: dict[str, bytes | str] = {}
    for path in sorted(tree.rglob("*")):
        if path.is_symlink():
            found[str(path.relative_to(tree))] = f"-> {path.readlink()}"
        elif path.is_file():
            found[str(path.relative_to(tree))] = path.read_bytes()
    return found


def enabled_units(tree: Path) -> set[str]:
    wants = tree / "etc/systemd/system/multi-user.target.wants"
    return {p.name for p in wants.iterdir()} if wants.exists() else set()


@pytest.fixture
def queue_host_kiosk(tree, provision_args) -> Path:
    """A kiosk that is the queue host, with a printer and no ID reader."""
    code, out = run(
        provision_args(
            "--non-interactive",
            "--role",
            "kiosk",
            "--generate-staff-pin",
            "--queue-host",
            "--hall-config",
            "demo",
            "--printer",
            "serial:/dev/ttyUSB0?baud=9600",
            "--idcard",
            "none",
            *NO_HARDWARE,
        )
    )
    assert code == EXIT_OK, out
    assert "hall-engine.service" in enabled_units(tree)
    return tree


def test_a_misspelt_key_in_device_yaml_is_refused_and_nothing_changes(
    queue_host_kiosk, provision_args
):
    tree = queue_host_kiosk
    path = tree / "etc/hall/device.yaml"
    text = path.read_text()
    # what the file's header invites: edit it, then re-run; two typos
    text = text.replace("\nqueue_host: true", "\nqueue_hots: true")
    text = text.replace("  printer: serial:", "  printr: serial:")
    assert "queue_hots" in text and "printr" in text
    path.write_text(text)
    before, units = snapshot(tree), enabled_units(tree)

    code, out = run(provision_args("--non-interactive", "--no-broker-check"))

    assert code == EXIT_CONFIG, out
    assert "queue_hots: unknown key (did you mean 'queue_host'?)" in out
    assert "hardware.printr: unknown key (did you mean 'hardware.printer'?)" in out
    assert "nothing was written" in out and "完成 done" not in out
    assert snapshot(tree) == before  # byte for byte, and every unit link
    assert enabled_units(tree) == units
    # hall doctor finds the same problems through the same check
    check = Doctor(root=tree, systemd=False).check_config()
    assert check.status == PROBLEM
    assert "queue_hots: unknown key (did you mean 'queue_host'?)" in check.details
    assert "hardware.printr: unknown key (did you mean 'hardware.printer'?)" in check.details


def test_a_bad_value_in_device_yaml_is_refused_unless_a_flag_replaces_it(
    queue_host_kiosk, provision_args
):
    tree = queue_host_kiosk
    path = tree / "etc/hall/device.yaml"
    data = yaml.safe_load(path.read_text())
    data["screen"] = "x11"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    before = snapshot(tree)
    code, out = run(provision_args("--non-interactive"))
    assert code == EXIT_CONFIG and "screen: 'x11' is not one of eglfs, cage" in out
    assert snapshot(tree) == before
    # the flag for that key is the technician's answer: it replaces the bad value
    code, out = run(provision_args("--non-interactive", "--screen", "cage"))
    assert code == EXIT_OK, out
    assert dc.load(path).screen == "cage"


def test_a_broken_device_yaml_is_refused(queue_host_kiosk, provision_args):
    path = queue_host_kiosk / "etc/hall/device.yaml"
    path.write_text("role: kiosk\nhall: [demo\n")
    code, out = run(provision_args("--non-interactive"))
    assert code == EXIT_CONFIG and "not valid YAML at line" in out
    assert path.read_text() == "role: kiosk\nhall: [demo\n"


def test_the_wizard_shows_the_earlier_files_problems(queue_host_kiosk, provision_args):
    path = queue_host_kiosk / "etc/hall/device.yaml"
    path.write_text(path.read_text().replace("\nqueue_host: true", "\nqueue_hots: true"))
    code, out = run(provision_args())  # no answers: input ends at the first question
    assert code == EXIT_CONFIG
    assert "the existing config" in out and "did you mean 'queue_host'?" in out


def test_a_kiosk_must_say_whether_it_is_the_queue_host(tree, provision_args):
    code, out = run(
        provision_args(
            "--non-interactive",
            "--role",
            "kiosk",
            "--hall",
            "demo-hall",
            "--printer",
            "serial:/dev/ttyUSB0",
            *NO_HARDWARE,
        )
    )
    assert code == EXIT_CONFIG
    assert "--queue-host" in out and "--no-queue-host" in out
    assert not (tree / "etc").exists() and not (tree / "var").exists()


def test_the_demo_hall_only_when_asked_for_by_name(tree, provision_args):
    flags = ["--non-interactive", "--role", "engine"]
    code, out = run(provision_args(*flags))
    assert code == EXIT_CONFIG
    assert "--hall-config FILE" in out and "--hall-config demo" in out
    assert not (tree / "var/lib/hall/config/hall.yaml").exists()
    assert not (tree / "etc/hall/device.yaml").exists()
    code, out = run(provision_args(*flags, "--hall-config", "demo"))
    assert code == EXIT_OK, out
    assert (tree / "var/lib/hall/config/hall.yaml").read_bytes() == DEMO_HALL.read_bytes()


def test_a_kiosk_with_no_printer_and_no_id_reader_is_not_done(tree, provision_args):
    code, out = run(
        provision_args(
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
            "--printer",
            "none",
            "--idcard",
            "none",
            *NO_HARDWARE,
        )
    )
    assert code == EXIT_INCOMPLETE, out
    assert "未完成 not ready" in out and "完成 done" not in out
    assert "neither a ticket printer (hardware.printer) nor an ID card reader" in out
    # written (the technician may connect the parts later), and hall doctor counts it
    assert dc.load(tree / "etc/hall/device.yaml").role == "kiosk"
    doctor = Doctor(root=tree, systemd=False, timeout=0.5)
    (devices,) = doctor.run(["devices"])
    assert devices.status == PROBLEM and "cannot serve" in devices.summary
    args = type("Args", (), {"only": "devices", "json": False})()
    assert doctor_main(args, doctor=doctor, out=io.StringIO()) == 1

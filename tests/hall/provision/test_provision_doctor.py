"""``hall doctor``: each check, healthy and broken, on a provisioned tree with simulated
hardware and real brokers; the report, the exit code and ``--json``."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import serial
import yaml

from hall import device_config as dc
from hall.doctor import OK, PROBLEM, SKIP, WARN, Doctor, main
from hall.provision import Probe, provision
from sync import outbox

ROOT = Path(__file__).resolve().parents[3]
NOW = datetime(2026, 11, 23, 10, 0)


def provisioned(provision_args, *flags: str) -> None:
    args = provision_args("--non-interactive", "--no-broker-check", "--no-detect", *flags)
    code = provision(args, probe=Probe(), stdout=io.StringIO())
    assert code == 0


def provisioned_caller(provision_args, broker, *flags: str) -> None:
    """Window 3's caller, provisioned against ``broker``."""
    provisioned(
        provision_args,
        "--role",
        "caller",
        "--hall",
        "demo-hall",
        "--window",
        "3",
        "--broker",
        f"{broker.host}:{broker.port}",
        "--keys",
        "none",
        *flags,
    )


def doctor(tree: Path, **kw) -> Doctor:
    kw.setdefault("timeout", 1.0)
    kw.setdefault("now", lambda: NOW)
    kw.setdefault("timedatectl", lambda: {"NTPSynchronized": "yes", "Timezone": "Asia/Shanghai"})
    kw.setdefault("systemd", False)
    return Doctor(root=tree, **kw)


def check(d: Doctor, name: str):
    (result,) = d.run([name])
    return result


def edit_config(tree: Path, change) -> None:
    path = tree / "etc/hall/device.yaml"
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True))


@pytest.fixture
def caller(provision_args, tree, broker):
    provisioned_caller(provision_args, broker)
    return tree


# ------------------------------------------------------------------ config


def test_config_healthy_and_missing(caller, tmp_path):
    c = check(doctor(caller), "config")
    assert (c.status, c.summary) == (
        OK,
        f"caller caller-3 in hall demo-hall ({caller}/etc/hall/device.yaml)",
    )
    c = check(doctor(tmp_path / "empty"), "config")
    assert c.status == PROBLEM and "no device config" in c.summary
    assert "hall provision" in c.fix and c.fix_zh


def test_config_typo_and_stale_environment(caller):
    edit_config(caller, lambda d: d.update(windw="4"))
    c = check(doctor(caller), "config")
    assert c.status == PROBLEM
    assert "windw: unknown key (did you mean 'window'?)" in c.details
    edit_config(caller, lambda d: (d.pop("windw"), d.update(window="4")))
    c = check(doctor(caller), "config")
    assert c.status == WARN
    assert c.details == (f"{caller}/etc/hall/caller.env does not match the config (HALL_ARGS)",)
    assert c.fix == "apply the config: `hall provision --non-interactive`"


def test_config_missing_salt_and_foreign_hall_config(provision_args, tree):
    provisioned(
        provision_args, "--role", "engine", "--hall-config", str(ROOT / "assets/halls/demo.yaml")
    )
    assert check(doctor(tree), "config").status == OK
    (tree / "etc/hall/salt").unlink()
    hall = tree / "var/lib/hall/config/hall.yaml"
    hall.write_text(hall.read_text().replace("id: demo-hall", "id: other-hall", 1))
    c = check(doctor(tree), "config")
    assert c.status == PROBLEM
    assert "salt_file: /etc/hall/salt does not exist" in c.details
    assert any("is for hall 'other-hall', not 'demo-hall'" in d for d in c.details)


def test_config_warns_of_citizen_texts_without_english(provision_args, tree):
    provisioned(
        provision_args, "--role", "engine", "--hall-config", str(ROOT / "assets/halls/demo.yaml")
    )
    assert check(doctor(tree), "config").status == OK  # the demo hall is English throughout
    hall = tree / "var/lib/hall/config/hall.yaml"
    data = yaml.safe_load(hall.read_text(encoding="utf-8"))
    data["items"][0].pop("name_en")
    hall.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    c = check(doctor(tree), "config")
    assert c.status == WARN  # a gap, not a refusal: the kiosk shows the Chinese there
    item = data["items"][0]
    assert any("items[0]" in d and item["name"] in d for d in c.details), c.details


def test_config_device_unknown_to_the_hall(provision_args, tree):
    provisioned(
        provision_args,
        "--role",
        "kiosk",
        "--generate-staff-pin",
        "--queue-host",
        "--device",
        "kiosk-7",
        "--hall-config",
        str(ROOT / "assets/halls/demo.yaml"),
        "--printer",
        "none",
        "--idcard",
        "/dev/hall-idcard",
        "--citizencard",
        "none",
        "--scanner",
        "none",
    )
    c = check(doctor(tree), "config")
    assert c.status == PROBLEM
    assert any("devices list has no 'kiosk-7'" in d for d in c.details)


# ------------------------------------------------------------------ devices


@pytest.fixture
def kiosk(provision_args, tree, sam, printer):
    provisioned(
        provision_args,
        "--role",
        "kiosk",
        "--generate-staff-pin",
        "--no-queue-host",
        "--hall",
        "demo-hall",
        "--broker",
        "127.0.0.1:1",
        "--printer",
        f"serial:{printer.port}?baud=9600",
        "--idcard",
        sam.port,
        "--citizencard",
        "Virtual PCD 00 00",
        "--scanner",
        "/dev/input/by-id/usb-NETUM-event-kbd",
        "--salt-file",
        "none",
    )
    return tree


def devices(tree: Path, readers=("Virtual PCD 00 00",), inputs=True):
    return check(
        doctor(tree, pcsc_readers=lambda: list(readers), input_exists=lambda spec: inputs),
        "devices",
    )


def test_devices_all_answer(kiosk, sam, printer):
    c = devices(kiosk)
    assert (c.status, c.summary) == (OK, "all answer")
    assert c.details == (
        f"printer serial:{printer.port}?baud=9600: ok",
        f"ID card reader {sam.port}: SAM 05.01-20200101-0000012345-0000067890",
        "citizen card reader: Virtual PCD 00 00",
        "scanner /dev/input/by-id/usb-NETUM-event-kbd: present",
    )


def test_devices_paper_out_and_near_end(kiosk, printer):
    printer.set_paper("near_end")
    c = devices(kiosk)
    assert c.status == WARN and "paper near end" in c.details[0].lower()
    printer.set_paper("out")
    c = devices(kiosk)
    assert c.status == PROBLEM and "1 need attention" in c.summary
    assert "cable and power" in c.fix


def test_devices_missing_reader_scanner_and_unplugged_sam(kiosk, sam):
    sam.pull_cable()
    c = devices(kiosk, readers=(), inputs=False)
    assert c.status == PROBLEM and c.summary == "4 device(s), 3 need attention"
    assert "no such device" in c.details[1]
    assert "citizen card reader 'Virtual PCD 00 00' not attached (readers: none)" in c.details
    assert "scanner /dev/input/by-id/usb-NETUM-event-kbd: not present" in c.details[3]


def test_devices_a_port_in_use_is_a_warning(kiosk, sam):
    with serial.Serial(sam.port, 115200, exclusive=True):  # the kiosk has it open
        c = devices(kiosk)
    assert c.status == WARN
    assert c.details[1] == f"ID card reader {sam.port}: in use by another program (hall-kiosk?)"


def test_no_hardware_is_skipped(caller):
    assert check(doctor(caller), "devices").status == SKIP


# ------------------------------------------------------------------ broker and center


@pytest.mark.broker
def test_broker_reachable_and_not(caller, broker):
    c = check(doctor(caller), "broker")
    assert c.status == OK and "accepts caller-3" in c.summary
    broker.kill()
    c = check(doctor(caller), "broker")
    assert c.status == PROBLEM and "Connection refused" in c.summary
    assert "queue host is on" in c.fix


@pytest.mark.broker
def test_broker_refuses_a_wrong_password(provision_args, tree, hall_broker, tmp_path):
    broker = hall_broker({"caller-3": "right"})
    wrong = tmp_path / "pw"
    wrong.write_text("wrong\n")
    provisioned_caller(provision_args, broker, "--broker-password-file", str(wrong))
    c = check(doctor(tree), "broker")
    assert c.status == PROBLEM and "refused the connection: Not authorized" in c.summary
    assert "hall.passwd" in c.fix


@pytest.mark.broker
def test_center_optional_reachable_or_a_warning(caller, broker, provision_args):
    assert check(doctor(caller), "center").status == SKIP
    provisioned(provision_args, "--center", f"{broker.host}:{broker.port}", "--center-user", "none")
    assert check(doctor(caller), "center").status == OK
    broker.kill()
    c = check(doctor(caller), "center")
    assert c.status == WARN and "the hall keeps working" in c.details[0]


# ------------------------------------------------------------------ clock, disk, versions


def test_clock(caller):
    assert check(doctor(caller), "clock").status == OK
    c = check(doctor(caller, now=lambda: datetime(1970, 1, 1, 8, 0)), "clock")
    assert c.status == PROBLEM and "1970-01-01" in c.summary and "RTC battery" in c.fix
    c = check(doctor(caller, timedatectl=lambda: {"NTPSynchronized": "no"}), "clock")
    assert c.status == WARN and "set-ntp true" in c.fix
    c = check(doctor(caller, timedatectl=lambda: None), "clock")
    assert c.status == OK and "NTP status unknown" in c.summary


def test_disk(caller):
    assert check(doctor(caller), "disk").status == OK
    c = check(doctor(caller, min_free_mb=1 << 40), "disk")
    assert c.status == PROBLEM and "never delete the databases" in c.fix
    c = check(doctor(caller, warn_free_mb=1 << 40), "disk")
    assert c.status == WARN


def test_versions(caller, monkeypatch):
    c = check(doctor(caller), "versions")
    assert c.status == OK and any(d.startswith("paho-mqtt 2.") for d in c.details)
    monkeypatch.setattr("hall.doctor.PACKAGES", ("paho-mqtt", "no-such-hall-package"))
    c = check(doctor(caller), "versions")
    assert c.status == PROBLEM and c.summary == "missing: no-such-hall-package"


def test_units(caller):
    assert check(doctor(caller), "units").status == SKIP
    live = Doctor(root=Path("/"), systemd=True)
    live.config = dc.parse(
        {"role": "caller", "hall": "h", "window": 1, "center": {"address": "c:1883"}}
    )
    live.unit_state = lambda unit: "failed" if unit == "hall-sync.service" else "active"
    c = live.check_units()
    assert (c.status, c.summary) == (PROBLEM, "not running: hall-sync.service")
    assert "journalctl -u hall-sync.service" in c.fix
    live.unit_state = lambda unit: "active"
    assert live.check_units().status == OK


# ------------------------------------------------------------------ outbox


def put_events(db: Path, ages_h: list[float]) -> None:
    with sqlite3.connect(db) as conn:
        outbox.ensure_schema(conn)
        for age in ages_h:
            ts = (NOW.replace(tzinfo=UTC) - timedelta(hours=age)).isoformat()
            outbox.put(conn, "ticket_issued", ts, {"code": "A001"})


def test_outbox(caller, provision_args):
    db = caller / "var/lib/hall/device.db"
    assert check(doctor(caller), "outbox").status == SKIP  # no database yet
    put_events(db, [1.0])
    c = check(doctor(caller), "outbox")
    assert c.status == WARN and "no center is configured" in c.summary
    provisioned(provision_args, "--center", "center.example:8883")
    c = check(doctor(caller, now=lambda: NOW.replace(tzinfo=UTC)), "outbox")
    assert (c.status, c.summary) == (OK, "1 events waiting (1 business), oldest 1.0 h old")
    put_events(db, [30.0])
    c = check(doctor(caller, now=lambda: NOW.replace(tzinfo=UTC)), "outbox")
    assert c.status == PROBLEM and "oldest 30.0 h old" in c.summary
    assert "hall-sync" in c.fix
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM outbox")
    assert check(doctor(caller), "outbox").status == OK


# ------------------------------------------------------------------ the command


def test_report_and_exit_code(caller, broker):
    out = io.StringIO()
    args = type("Args", (), {"only": None, "json": False})()
    assert main(args, doctor=doctor(caller), out=out) == 0
    text = out.getvalue()
    assert text.startswith("hall doctor — caller caller-3 (hall demo-hall)")
    assert "  ✓ broker " in text and text.rstrip().endswith("设备正常")
    broker.kill()
    out = io.StringIO()
    assert main(args, doctor=doctor(caller), out=out) == 1
    text = out.getvalue()
    assert "  ✗ broker " in text and "      fix: " in text and "      处理: " in text
    assert "1 problem(s)" in text


def test_json_from_the_command_line(caller):
    result = subprocess.run(
        [sys.executable, "-m", "hall.cli", "doctor", "--root", str(caller), "--json",
         "--only", "config,disk,clock", "--timeout", "1"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    report = json.loads(result.stdout)
    assert [c["name"] for c in report["checks"]] == ["config", "clock", "disk"]
    assert report["ok"] is (result.returncode == 0)
    assert set(report["checks"][0]) == {"name", "status", "summary", "details", "fix", "fix_zh"}


# ------------------------------------------------------------------ the web role


class FakeWeb:
    """What `hall web` answers on GET /healthz (status, JSON body), on a free local port."""

    def __init__(self) -> None:
        import http.server
        import threading

        self.answer: tuple[int, dict] = (200, {"ok": True, "broker": True, "alive": True})
        self.paths: list[str] = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.paths.append(self.path)
                status, body = owner.answer
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def web():
    server = FakeWeb()
    yield server
    server.stop()


@pytest.fixture
def web_host(provision_args, tree, web):
    """The queue host (role engine, the demo hall) running the web role as web-1."""
    provisioned(
        provision_args,
        "--role",
        "engine",
        "--hall-config",
        str(ROOT / "assets/halls/demo.yaml"),
        "--web-device",
        "web-1",
        "--web-listen",
        f"127.0.0.1:{web.port}",
    )
    return tree


def test_web_answers_its_health_check(web_host, web, monkeypatch):
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")  # never through a proxy
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    c = check(doctor(web_host), "web")
    url = f"http://127.0.0.1:{web.port}/healthz"
    assert (c.status, c.summary) == (OK, f"web role web-1 answers {url}")
    assert c.details == ("broker: True", "alive: True")
    assert web.paths == ["/healthz"]
    assert check(doctor(web_host), "config").status == OK
    versions = check(doctor(web_host), "versions")
    assert any(d.startswith("starlette ") for d in versions.details)


def test_web_not_connected_to_the_broker_or_not_running(web_host, web):
    web.answer = (503, {"ok": False, "broker": False, "alive": True})
    c = check(doctor(web_host), "web")
    assert (c.status, c.summary) == (
        PROBLEM,
        "web role web-1 runs but is not connected to the hall broker",
    )
    assert "hall.passwd" in c.fix and c.fix_zh
    web.answer = (500, {})
    c = check(doctor(web_host), "web")
    assert c.status == PROBLEM and c.summary.endswith("answered HTTP 500")
    web.stop()
    c = check(doctor(web_host), "web")
    assert c.status == PROBLEM and "nothing answers" in c.summary
    assert "Connection refused" in c.summary
    assert "journalctl -u hall-web" in c.fix and f"grep {web.port}" in c.fix
    out = io.StringIO()
    args = type("Args", (), {"only": "web", "json": False})()
    assert main(args, doctor=doctor(web_host), out=out) == 1
    assert "  ✗ web       web role web-1: nothing answers" in out.getvalue()
    assert "处理: 查看 systemctl status hall-web" in out.getvalue()


def test_web_something_else_on_the_port(web_host, provision_args, broker):
    """A port held by another program that does not speak HTTP (here: a broker)."""
    provisioned(provision_args, "--web-listen", f"127.0.0.1:{broker.port}")
    c = check(doctor(web_host, timeout=2.0), "web")
    assert c.status == PROBLEM and "nothing answers" in c.summary


def test_web_device_unknown_to_the_hall_and_its_password_missing(web_host):
    hall = web_host / "var/lib/hall/config/hall.yaml"
    hall.write_text(hall.read_text().replace("{id: web-1, role: web}", "{id: web-9, role: web}"))
    (web_host / "etc/hall/web.password").unlink()
    c = check(doctor(web_host), "config")
    assert c.status == PROBLEM
    assert any("devices list has no 'web-1' (web.device)" in d for d in c.details)
    assert "web.device web-1: /etc/hall/web.password does not exist" in c.details


def test_no_web_role_is_skipped_and_any_address_is_asked_locally(caller):
    from hall.doctor import health_url

    c = check(doctor(caller), "web")
    assert (c.status, c.summary) == (SKIP, "no web role on this box")
    assert health_url("0.0.0.0:80") == "http://127.0.0.1:80/healthz"
    assert health_url("[::]:8080") == "http://[::1]:8080/healthz"
    assert health_url("192.168.20.1:8080") == "http://192.168.20.1:8080/healthz"

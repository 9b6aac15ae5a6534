"""``hall kiosk`` as a process, and ``hall bench startup``."""

from __future__ import annotations

import argparse
import os
import queue
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from kiosk_command import kiosk_args

from hall.cli import build_parser
from sync import topics

ROOT = Path(__file__).resolve().parents[2]


def test_kiosk_command_line():
    args = build_parser().parse_args(
        [
            "kiosk",
            "--printer",
            "serial:/dev/hall-printer?profile=80mm",
            "--idcard",
            "/dev/hall-idcard",
            "--citizencard",
            "--scanner",
            "by-id:usb-scanner-event-kbd",
            "--broker",
            "10.0.0.2:1883",
            "--window",
            "1080x1920",
        ]
    )
    assert args.func.__module__ == "kiosk.cli"
    assert (args.citizencard, args.idcard, args.window) == ("", "/dev/hall-idcard", "1080x1920")


@pytest.mark.broker
def test_kiosk_process_starts_and_stops_on_sigterm(engine_service, device, tmp_path, broker):
    watcher = device("monitor")
    seen: queue.Queue = queue.Queue()
    watcher.subscribe(topics.presence("demo-hall", "kiosk-1"), lambda m: seen.put(m.payload))
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    status = tmp_path / "status.json"
    proc = subprocess.Popen(
        [sys.executable, *kiosk_args(broker, "--status-file", str(status))],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        while (p := seen.get(timeout=20))["status"] != "online":
            pass
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    assert proc.returncode == 0, err.decode(errors="replace")[-2000:]
    assert p["role"] == "kiosk"
    assert status.exists()


@pytest.fixture
def device(broker):
    from sync.mqtt import MqttLink

    links = []

    def connect(device_id: str):
        link = MqttLink(
            host=broker.host, port=broker.port, hall_id="demo-hall", device_id=device_id
        ).start()
        links.append(link)
        return link

    yield connect
    for link in links:
        link.stop()


@pytest.mark.slow
@pytest.mark.broker
def test_bench_startup_reports_one_line_per_measure():
    from hall.bench.startup import run

    lines = run(argparse.Namespace(quick=True))
    startup = lines[0]
    assert startup["bench"] == "startup" and startup["app"] == "kiosk"
    assert startup["first_frame_ms"] > 0 and startup["rss_mb"] > 0
    # beside a bare Qt window's first frame, measured in the same run
    assert startup["floor_first_frame_ms"] > 0
    assert startup["first_frame_ratio"] == pytest.approx(
        startup["first_frame_ms"] / startup["floor_first_frame_ms"], rel=0.02, abs=0.01
    )
    touch = lines[1]
    assert touch["bench"] == "touch_to_ticket" and touch["samples"] == 10
    assert 0 < touch["p50_ms"] <= touch["p99_ms"] <= touch["max_ms"]
    # beside one round trip on the same broker and one durable commit
    assert touch["floor_p99_ms"] == pytest.approx(
        touch["floor_rtt_p99_ms"] + touch["floor_commit_p99_ms"], abs=0.01
    )
    assert touch["p99_ratio"] == pytest.approx(
        touch["p99_ms"] / touch["floor_p99_ms"], rel=0.02, abs=0.01
    )


# -- hall ticket preview: the configured hall's ticket -----------------------------------------


@pytest.fixture
def other_hall(tmp_path: Path) -> Path:
    """The demo hall renamed, its 社保卡 item elsewhere: not the built-in sample."""
    import yaml

    data = yaml.safe_load((ROOT / "assets" / "halls" / "demo.yaml").read_text(encoding="utf-8"))
    data["hall"]["name"] = "青山区政务服务中心"
    for item in data["items"]:
        if item["id"] == "rs-card":
            item["location_note"] = "二楼东侧"
    path = tmp_path / "hall.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def run_hall(*argv: str) -> int:
    args = build_parser().parse_args(list(argv))
    return int(args.func(args))


@pytest.mark.parametrize(("profile", "dots"), [("58mm", 384), ("80mm", 576)])
def test_ticket_preview_renders_the_configured_hall(tmp_path, other_hall, capsys, profile, dots):
    from PIL import Image

    out = tmp_path / "ticket.png"
    argv = ["ticket", "preview", "--config", str(other_hall), "--out", str(out)]
    assert run_hall(*argv, "--item", "rs-card", "--profile", profile) == 0
    said = capsys.readouterr().out
    assert "青山区政务服务中心" in said and "社会保障卡申请" in said
    with Image.open(out) as img:
        assert img.width == dots
    assert run_hall(*argv, "--raster", "--lunch", "13:00") == 0
    assert run_hall(*argv, "--item", "no-such-item") == 2


def test_the_preview_ticket_is_the_hall_configs(other_hall):
    from datetime import datetime

    from drivers.printer.escpos_codec import build_ticket
    from drivers.printer.profiles import get_profile
    from kiosk.catalog import catalog_from_config
    from kiosk.engine.config import load_hall_config
    from kiosk.ticketing import preview_ticket, ticket_data

    now = datetime(2026, 11, 23, 12, 30)
    catalog = catalog_from_config(load_hall_config(other_hall), now)
    ticket = preview_ticket(catalog, "rs-card", now=now)
    data = build_ticket(ticket_data(ticket), get_profile("80mm"))
    # where: the windows serving the queue, derived by the engine, and the hall's note
    assert catalog.item("rs-card").location == "1—3号综合窗口、4—5号社保窗口（二楼东侧）"
    for text in ("青山区政务服务中心", "社会保障卡申请", "4—5号社保窗口", "二楼", ticket.code):
        assert text.encode("gb18030") in data
    assert ticket.code.startswith("B")  # the item's queue's prefix

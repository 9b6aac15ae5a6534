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
        [
            sys.executable,
            "-m",
            "hall.cli",
            "kiosk",
            "--broker",
            f"{broker.host}:{broker.port}",
            "--no-voice",
            "--window",
            "1080x1920",
            "--status-file",
            str(status),
        ],
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

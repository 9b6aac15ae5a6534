"""``hall caller|display|board|evaluator`` as devices: online, then a clean stop on SIGTERM."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from hall.cli import build_parser
from sync.mqtt import MqttLink

pytestmark = pytest.mark.broker
ROOT = Path(__file__).resolve().parents[2]


def test_the_four_roles_are_registered_with_their_options():
    parser = build_parser()
    args = parser.parse_args(["display", "--window", "3", "--layout", "led", "--broker", "h:1"])
    assert (args.window, args.layout, args.broker) == ("3", "led", "h:1")
    args = parser.parse_args(["evaluator", "--window", "1", "--db", "/tmp/e.db", "--keys", "x"])
    assert (args.db, args.keys) == ("/tmp/e.db", "x")
    args = parser.parse_args(["board"])
    assert args.func.__name__ == "run_board"
    with pytest.raises(SystemExit):
        parser.parse_args(["caller"])  # --window is required


@pytest.mark.parametrize(
    ("argv", "device"),
    [
        (["caller", "--window", "2"], "caller-2"),
        (["display", "--window", "1", "--layout", "led"], "display-1"),
        (["board"], "board-1"),
        (["evaluator", "--window", "1"], "evaluator-1"),
    ],
)
def test_each_app_comes_online_and_stops_cleanly_on_sigterm(broker, tmp_path, argv, device):
    watcher = MqttLink(
        host=broker.host, port=broker.port, hall_id="demo-hall", device_id="monitor", presence=False
    ).start()
    seen: queue.Queue = queue.Queue()
    watcher.subscribe(f"hall/demo-hall/dev/{device}/presence", lambda m: seen.put(m.payload))
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)  # stands in for systemd
    notify.bind(str(tmp_path / "notify"))
    notify.settimeout(5)
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "HALL_VALIDATE_CONTRACT": "1",
        "NOTIFY_SOCKET": str(tmp_path / "notify"),
        "WATCHDOG_USEC": "2000000",
    }
    extra = ["--db", str(tmp_path / "ev.db")] if argv[0] == "evaluator" else []
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hall.cli",
            *argv,
            *extra,
            "--windowed",
            "--broker",
            f"{broker.host}:{broker.port}",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        status = None
        while status != "online":
            status = seen.get(timeout=15)["status"]
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=15)
        said = []
        while "STOPPING=1" not in said:
            said += notify.recv(4096).decode().splitlines()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        watcher.stop()
        notify.close()
    assert said[0] == "READY=1" and "WATCHDOG=1" in said
    assert proc.returncode == 0, err
    assert "received SIGTERM, stopping" in err and f"{device} stopped" in err
    while status != "offline":
        status = seen.get(timeout=5)["status"]

"""``hall evaluator --mode tablet``: the touch evaluator as a device, online then a clean
stop on SIGTERM; buttons stays the default."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from hall.cli import build_parser
from sync.mqtt import MqttLink

ROOT = Path(__file__).resolve().parents[2]


def test_the_mode_option():
    parser = build_parser()
    assert parser.parse_args(["evaluator", "--window", "1"]).mode == "buttons"
    assert parser.parse_args(["evaluator", "--window", "1", "--mode", "tablet"]).mode == "tablet"
    with pytest.raises(SystemExit):
        parser.parse_args(["evaluator", "--window", "1", "--mode", "phone"])


@pytest.mark.broker
def test_the_tablet_comes_online_and_stops_cleanly(broker, tmp_path):
    watcher = MqttLink(
        host=broker.host, port=broker.port, hall_id="demo-hall", device_id="monitor", presence=False
    ).start()
    seen: queue.Queue = queue.Queue()
    watcher.subscribe("hall/demo-hall/dev/evaluator-1/presence", lambda m: seen.put(m.payload))
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HALL_VALIDATE_CONTRACT": "1"}
    argv = ["evaluator", "--window", "1", "--mode", "tablet", "--db", str(tmp_path / "t.db")]
    address = f"{broker.host}:{broker.port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "hall.cli", *argv, "--windowed", "--broker", address],
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
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        watcher.stop()
    assert proc.returncode == 0, err
    assert "evaluator-1 stopped" in err and "Traceback" not in err

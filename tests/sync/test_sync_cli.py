"""``hall monitor`` and ``hall sync`` as a technician runs them, and ``hall bench sync``."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading

import pytest
from sync_helpers import HALL, ROOT, wait_for

from sync.commands import serve_control
from sync.mqtt import MqttLink

pytestmark = pytest.mark.broker
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def hall(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hall.cli", *args],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class Lines:
    """A process's stdout, one decoded JSON line at a time, with a timeout."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.q: queue.Queue[str] = queue.Queue()
        self._pump_thread = threading.Thread(target=self._pump, daemon=True)
        self._pump_thread.start()

    def close(self) -> None:
        """After the process ended: the pump sees end-of-file; then close the pipe."""
        self._pump_thread.join(10)
        assert self.proc.stdout is not None
        self.proc.stdout.close()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.q.put(line)

    def next(self, timeout: float = 10.0) -> dict:
        try:
            return json.loads(self.q.get(timeout=timeout))
        except queue.Empty:
            raise AssertionError(f"no line from the monitor within {timeout}s") from None


def test_monitor_prints_one_json_line_per_event_once(
    broker, address, device_db, make_agent, tmp_path
):
    agent = make_agent(address, device_db)
    wait_for(lambda: agent.connected.is_set(), 10, "the agent to connect")
    store = tmp_path / "center.db"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hall.cli",
            "monitor",
            "--center",
            f"{broker.host}:{broker.port}",
            "--hall",
            HALL,
            "--status",
            "--store",
            str(store),
        ],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    lines = Lines(proc)
    try:
        # The retained presence shows the monitor is subscribed.
        while (line := lines.next()).get("type") != "presence":
            pass
        assert line["data"]["status"] == "online"
        ids = device_db.put(3, kind="evaluation")
        events = []
        while len(events) < 3:
            line = lines.next()
            if "kind" in line and line["kind"] == "evaluation":
                events.append(line)
        assert [e["id"] for e in events] == ids
        assert set(events[0]) == {"id", "seq", "device", "hall", "kind", "ts", "data"}
        assert events[0]["device"] == "engine" and events[0]["data"] == {"n": 0, "code": "A000"}
    finally:
        proc.terminate()
        proc.wait(10)
        lines.close()
    assert proc.returncode == 0
    import sqlite3

    with sqlite3.connect(store) as c:
        assert c.execute("SELECT count(*) FROM events WHERE kind='evaluation'").fetchone()[0] == 3


def test_center_commands_and_config_through_the_command_line(
    broker, device_db, spawn_agent, tmp_path
):
    shown: list[dict] = []
    app = MqttLink(
        host=broker.host, port=broker.port, hall_id=HALL, device_id="engine", role="display"
    ).start()
    serve_control(app, {"message": lambda args: shown.append(args) or "shown"})
    config_dir = tmp_path / "config"
    agent = spawn_agent(
        broker,
        device_db,
        "--hall-broker",
        f"{broker.host}:{broker.port}",
        "--config-dir",
        str(config_dir),
        "--forward",
        "message",
    )
    center = ["--center", f"{broker.host}:{broker.port}", "--hall", HALL]
    agent.wait_connected()  # a command sent before the agent subscribed is never seen
    try:
        done = hall(
            "monitor",
            *center,
            "--command",
            "message",
            "--to",
            "engine",
            "--args",
            json.dumps({"text": "请到3号窗口"}),
        )
        assert done.returncode == 0, done.stderr + agent.log.read_text()
        assert json.loads(done.stdout) == {"ok": True, "result": "shown"}
        assert shown == [{"text": "请到3号窗口"}]

        done = hall("monitor", *center, "--command", "health", "--to", "engine")
        answer = json.loads(done.stdout)
        assert answer["ok"] and answer["result"]["device"] == "engine"

        done = hall(
            "monitor",
            *center,
            "--push-config",
            str(ROOT / "assets/halls/demo.yaml"),
            "--config-version",
            "4",
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["version"] == 4
        wait_for(lambda: (config_dir / "hall.yaml").exists(), 10, "the pushed hall config")
        assert (config_dir / "versions.json").read_text().count('"applied": 4') == 1
    finally:
        app.stop()
    done = hall("monitor", "--center", f"{broker.host}:{broker.port}", "--command", "health")
    assert done.returncode != 0 and "--hall" in done.stderr


def test_bench_sync_quick_prints_one_json_line():
    done = hall("bench", "sync", "--quick", timeout=120)
    assert done.returncode == 0, done.stderr
    [line] = done.stdout.splitlines()
    result = json.loads(line)
    assert result["bench"] == "sync" and result["events"] == 5000
    # what a plain subscriber got on the wire, duplicates counted before any de-duplication
    assert result["lost"] == 0 and result["received"] == 5000 + result["wire_duplicates"]
    assert result["center_duplicates"] == 0 and result["center_store_per_s"] > 0
    # each figure beside its floor, measured in the same run, and the ratio
    for figure, floor, ratio in (
        ("put_per_s", "floor_commits_per_s", "put_ratio"),
        ("drain_per_s", "floor_raw_per_s", "drain_ratio"),
    ):
        assert result[figure] > 0 and result[floor] > 0
        assert result[ratio] == pytest.approx(result[figure] / result[floor], rel=0.02, abs=0.01)

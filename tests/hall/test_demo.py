"""``hall demo --offscreen``: the whole hall runs a scripted day unattended."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.broker, pytest.mark.slow]


def test_offscreen_demo_runs_a_day_and_reports(tmp_path, screenshots):
    report = tmp_path / "report.json"
    shots = screenshots / "demo"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("DISPLAY", None)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "hall.cli",
            "demo",
            "--offscreen",
            "--minutes",
            "0.4",
            "--report",
            str(report),
            "--screenshots",
            str(shots),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(report.read_text())
    assert data["tickets_issued"] > 20
    assert data["served"] > 10
    assert data["called"] >= data["served"]
    rated = sum(data["rated"].values())
    assert rated > 0
    assert data["ratings_in_engine"] == rated  # every rating reached the engine, once
    assert data["outbox_events"] >= data["tickets_issued"] + data["called"]
    assert data["errors"] == []
    assert data["board_calls_shown"] == data["called"]  # the hall board showed every call
    # The sync agent delivered the day to the center: every ticket and rating, once.
    center = data["center"]
    assert center["caught_up"]
    assert center["tickets_issued"] == data["tickets_issued"]
    assert center["evaluations"] == data["ratings_in_engine"]
    # Citizens also went through the real kiosk app: tapped, swiped the simulated
    # ID card reader, and got a ticket from the simulated printer.
    assert data["kiosk"]["issued"] > 0
    assert data["kiosk"]["printed"] == data["kiosk"]["issued"]
    names = {Path(p).stem for p in data["screenshots"]}
    assert {"kiosk", "caller-1", "display-1", "board", "evaluator-1"} <= names
    assert any(n.startswith("printed-ticket") for n in names)
    # hall web ran beside the apps: its console's address was printed, both pages photographed
    assert "manager console http://127.0.0.1:" in proc.stdout
    assert {"web-ticket", "web-console"} <= names
    for path in data["screenshots"]:
        assert Path(path).stat().st_size > 1000

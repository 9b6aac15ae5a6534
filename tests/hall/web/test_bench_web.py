"""``hall bench web --quick``: phones on the live page, calls, one JSON line with its floor."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

pytestmark = [pytest.mark.broker, pytest.mark.slow]


def test_bench_web_quick_reports_every_call_shown_and_its_floor():
    done = subprocess.run(
        [sys.executable, "-m", "hall.cli", "bench", "web", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert result["bench"] == "web"
    assert result["phones"] == 100 and result["phones_failed"] == 0
    assert result["errors"] == []
    # every called citizen's phone was told, and the others saw their place move up
    assert result["called_shown"] == result["calls"] == 20
    assert result["ahead_updates"] > 0
    for key in ("called_p99_ms", "floor_request_rtt_p99_ms", "called_p99_floor_ratio"):
        assert result[key] > 0
    assert result["web_rss_mb"] > 0

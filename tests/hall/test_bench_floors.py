"""``hall bench NAME --quick``: every line carries the floor it is bounded by, measured in
the same run, and the ratio to it (no time is asserted: the figures are for people)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.broker, pytest.mark.slow]


def bench(name: str, timeout: float = 300) -> list[dict]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    done = subprocess.run(
        [sys.executable, "-m", "hall.cli", "bench", name, "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def assert_ratio(line: dict, figure: str, floor: str, ratio: str) -> None:
    assert line[figure] > 0 and line[floor] > 0, line
    assert line[ratio] == pytest.approx(line[figure] / line[floor], rel=0.02, abs=0.01)


def test_bench_queue_carries_the_durable_commit_floor():
    [line] = bench("queue")
    assert line["bench"] == "queue" and line["waiting"] == 1000
    # issued waiting + calls, called ``calls``: the rest still waits, every queue counted
    assert line["waiting_after"] == line["waiting"], line
    assert_ratio(line, "call_next_p99_ms", "floor_commit_p99_ms", "call_next_p99_ratio")
    assert_ratio(line, "issue_per_s", "floor_commits_per_s", "issue_ratio")
    # the same call through the engine service, its whole post pass included
    assert line["service_calls"] == line["calls"] // 2, line
    assert 0 < line["service_call_p50_ms"] <= line["service_call_p99_ms"], line
    assert_ratio(line, "service_call_p99_ms", "floor_commit_p99_ms", "service_call_p99_ratio")
    # the fair floor of a call: a commit of the same shape of write, heavier than one row
    assert_ratio(
        line, "call_next_p99_ms", "floor_shaped_commit_p99_ms", "call_next_p99_shaped_ratio"
    )
    assert line["floor_shaped_commit_p99_ms"] > line["floor_commit_p50_ms"], line


def test_bench_call_carries_the_round_trip_floor():
    [line] = bench("call")
    assert line["bench"] == "call" and line["calls"] == 200 and line["windows"] == 50
    assert 0 < line["p50_ms"] <= line["p99_ms"] <= line["max_ms"]
    assert line["burst50_max_ms"] >= line["burst50_p50_ms"] > 0
    assert_ratio(line, "p99_ms", "floor_rtt_p99_ms", "p99_ratio")
    assert_ratio(line, "p50_ms", "floor_rtt_p50_ms", "p50_ratio")
    assert line["floor_commit_p99_ms"] > 0 and line["floor_commits_per_s"] > 0
    # the trace: each hop of the steady calls, and where the burst's time went
    assert line["traced_calls"] > 0 and line["burst50_traced_calls"] > 0
    hops = ["press", "broker_in", "engine_queue", "commit", "publish", "send", "broker_out"]
    hops += ["parse"]
    hops += ["gui", "apply"]
    assert all(line[f"hop_{h}_p50_ms"] >= 0 for h in hops), line
    ends = [line[f"burst50_hop_{h}_at_ms"] for h in hops]
    assert ends == sorted(ends), line  # the last call's hops end in order
    assert 1 <= line["burst50_commits"] <= line["burst50_batches"] <= 50, line
    assert line["burst50_state_publishes"] >= 50, line  # each window's call shown
    # every call drawn on its display and said, after its state reached the display
    assert line["pixels_calls"] == line["voice_calls"] == 200, line
    assert line["burst50_pixels_calls"] == line["burst50_voice_calls"] == 50, line
    assert line["p50_ms"] < line["pixels_p50_ms"] <= line["pixels_p99_ms"], line
    assert line["burst50_pixels_max_ms"] >= line["burst50_hop_apply_at_ms"], line
    assert line["voice_p50_ms"] > 0 and line["hop_paint_p50_ms"] > 0, line
    for side in ("engine", "callers", "displays", "broker"):  # where the CPU went
        assert line[f"cpu_ms_per_call_{side}"] >= 0 and line[f"burst50_cpu_ms_{side}"] >= 0
    assert line["cpu_ms_per_call_engine"] > 0 and line["burst50_cpu_ms_displays"] > 0, line


def test_bench_ticket_carries_the_bytes_floor():
    [line] = bench("ticket")
    assert line["bench"] == "ticket" and line["tickets"] > 0
    assert_ratio(line, "max_bytes", "floor_bytes", "ratio")

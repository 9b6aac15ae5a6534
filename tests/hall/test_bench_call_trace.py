"""``hall bench call``'s trace: each call's time split hop by hop from the stamps of the
processes involved (no time is asserted: the figures are for people)."""

from __future__ import annotations

import itertools
import queue
from types import SimpleNamespace

import pytest

from hall.bench.call import (
    HOPS,
    WINDOWS,
    _beyond,
    _breakdown,
    _CallerProcesses,
    _merged,
    _press_spread_ms,
    _shares,
    _shown_spans,
    _split,
    _tick_at,
)


def _stamps(window: str, start: float, steps: list[float]) -> list[tuple[str, str, float]]:
    out, t = [], start
    for (_name, kind), step in zip(HOPS, steps, strict=True):
        t += step
        out.append((kind, window, t))
    return out


def test_each_hop_is_the_time_from_the_stamp_before_it():
    steps = [0.001, 0.002, 0.0005, 0.0009, 0.003, 0.0007, 0.0003, 0.0015, 0.0004, 0.001]
    events = _stamps("7", 10.0, steps)
    shown = events[-1][2] + 0.0002
    # another window's stamps and this window's before the press are not this call's
    events += [*_stamps("8", 10.0, [0.0001] * len(HOPS)), ("engine_in", "7", 9.0)]
    line = _breakdown(events, [("7", 10.0, shown)])
    assert line["traced_calls"] == 1
    for (name, _kind), step in zip(HOPS, steps, strict=True):
        assert line[f"hop_{name}_p50_ms"] == pytest.approx(step * 1000, abs=1e-3)
    assert line["hop_apply_p50_ms"] == pytest.approx(0.2, abs=1e-3)


def test_a_call_missing_a_stamp_is_left_out_and_the_burst_says_when_each_hop_ended():
    events = _stamps("1", 0.0, [0.001] * len(HOPS)) + _stamps("2", 0.0, [0.002] * len(HOPS))
    missing = [e for e in _stamps("3", 0.0, [0.001] * len(HOPS)) if e[0] != "commit"]
    spans = [("1", 0.0, 0.05), ("2", 0.0, 0.05), ("3", 0.0, 0.05)]
    line = _breakdown(events + missing, spans, "burst50_")
    assert line["burst50_traced_calls"] == 2
    assert line["burst50_hop_press_at_ms"] == pytest.approx(2.0)  # the later call's
    assert line["burst50_hop_apply_at_ms"] == pytest.approx(50.0)


def test_pixels_and_voice_are_the_first_paint_after_the_state_and_the_first_sample():
    # window 7 pressed at 10.0, its state applied at 10.010; a paint before the state is
    # the old number, so the pixels are the paint at 10.016; its voice at 10.020
    events = [
        ("painted", "7", 10.005),
        ("painted", "7", 10.016),
        ("painted", "7", 10.030),
        ("voice", "7", 10.020),
        ("painted", "8", 10.011),  # another window's
        ("voice", "7", 11.5),  # after the next press: that call's
        ("painted", "7", 11.6),
    ]
    spans = [("7", 10.0, 10.010), ("7", 11.0, 11.4)]
    line = _beyond(events, spans)
    assert line["pixels_calls"] == 2
    assert line["voice_calls"] == 2
    assert line["pixels_p50_ms"] == pytest.approx((16 + 600) / 2, abs=0.01)
    assert line["hop_paint_p50_ms"] == pytest.approx((6 + 200) / 2, abs=1e-3)
    assert line["voice_p99_ms"] == pytest.approx(500, abs=6)


def test_a_call_never_painted_is_counted_out_and_the_burst_gives_the_last():
    events = [("painted", "1", 0.050), ("voice", "1", 0.040), ("voice", "2", 0.090)]
    spans = [("1", 0.0, 0.030), ("2", 0.001, 0.060)]
    line = _beyond(events, spans, "burst50_")
    assert line["burst50_pixels_calls"] == 1
    assert line["burst50_pixels_max_ms"] == pytest.approx(50.0)
    assert line["burst50_voice_max_ms"] == pytest.approx(90.0)


def test_each_press_is_shown_by_the_first_new_call_after_it_on_its_window():
    events = [
        ("shown", "7", 9.0),  # before any press: an earlier call
        ("shown", "7", 10.008),
        ("shown", "8", 10.004),  # another window's
        ("shown", "7", 10.020),  # the second press's, although it came right after
    ]
    presses = [("7", 10.0), ("7", 10.009), ("8", 10.001), ("9", 10.002)]
    spans = _shown_spans(events, presses)
    assert spans == [("7", 10.0, 10.008), ("8", 10.001, 10.004), ("7", 10.009, 10.020)]


def test_the_windows_are_dealt_round_the_processes_each_once():
    shares = _shares(WINDOWS, 5)
    assert [len(share) for share in shares] == [10] * 5
    assert sorted(int(w) for share in shares for w in share) == list(range(1, WINDOWS + 1))
    assert shares[0][:3] == ["1", "6", "11"] and shares[4][-1] == "50"
    assert _split(1000, 5) == [200] * 5 and _split(12, 5) == [3, 3, 2, 2, 2]


def test_the_processes_ticks_together_come_at_the_hall_rate_evenly():
    rate, processes = 20.0, 5
    ticks = sorted(
        _tick_at(100.0, rate, k, processes, n) for k in range(processes) for n in range(40)
    )
    gaps = {round(b - a, 9) for a, b in itertools.pairwise(ticks)}
    assert gaps == {round(1 / rate, 9)}  # not five at once every quarter second
    assert ticks[0] == 100.0 and len(ticks) == 200


def test_the_presses_of_every_process_are_merged_in_time_order():
    replies = [
        {"presses": [("1", 10.004), ("6", 10.010)]},
        {"presses": [("2", 10.001)]},
        {"presses": []},  # a process with no window ready
        {"presses": [("3", 10.002), ("8", 10.003)]},
    ]
    assert _merged(replies) == [
        ("2", 10.001),
        ("3", 10.002),
        ("8", 10.003),
        ("1", 10.004),
        ("6", 10.010),
    ]
    assert _press_spread_ms(replies) == pytest.approx(3.0)  # first presses 10.001..10.004


def _processes(replies: list[dict], exitcodes: list[int | None]) -> _CallerProcesses:
    procs = object.__new__(_CallerProcesses)
    procs.procs = [
        SimpleNamespace(name=f"hall-bench-callers-{k}", exitcode=code)
        for k, code in enumerate(exitcodes)
    ]
    procs.replies = queue.Queue()
    for reply in replies:
        procs.replies.put(reply)
    return procs


def test_the_callers_replies_are_collected_in_process_order():
    got = _processes([{"kind": "settle", "k": 1}, {"kind": "settle", "k": 0}], [None, None])
    assert [r["k"] for r in got.collect("settle", 5)] == [0, 1]


def test_a_failed_command_a_failed_process_or_a_gone_one_raise_in_english():
    failed = _processes([{"kind": "phase", "k": 0, "errors": ["window 3 call_next: x"]}], [None])
    with pytest.raises(RuntimeError, match=r"bench commands failed.*window 3"):
        failed.collect("phase", 5)
    broken = _processes([{"kind": "failed", "k": 0, "error": "OSError: no broker"}], [None])
    with pytest.raises(RuntimeError, match="hall-bench-callers-0 failed: OSError: no broker"):
        broken.collect("ready", 5)
    gone = _processes([{"kind": "ready", "k": 0}], [None, -9])
    with pytest.raises(RuntimeError, match=r"hall-bench-callers-1 exited \(code -9\)"):
        gone.collect("ready", 5)
    silent = _processes([], [None])
    with pytest.raises(RuntimeError, match="did not answer 'ready' within 0 s"):
        silent.collect("ready", 0.3)

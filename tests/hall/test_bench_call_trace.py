"""``hall bench call``'s trace: each call's time split hop by hop from the stamps of the
processes involved (no time is asserted: the figures are for people)."""

from __future__ import annotations

import pytest

from hall.bench.call import HOPS, _beyond, _breakdown, _shown_spans


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

"""Random event streams never make the decoders raise, and their outputs stay sane."""

from __future__ import annotations

import itertools

from evdev import InputEvent, ecodes
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.keys.events import (
    KeyAction,
    KeyDecoder,
    KeyStorm,
    KeyStormOver,
    ScannedCode,
    UnmappedKey,
    WedgeAssembler,
)
from drivers.keys.keymap import CALLER_DEFAULT, EVALUATOR_DEFAULT
from drivers.keys.simulator import typing_events

FUZZ = settings(max_examples=200, deadline=None)

_INTERESTING_CODES = sorted(
    {*CALLER_DEFAULT.bindings, *EVALUATOR_DEFAULT.bindings}
    | {ecodes.KEY_LEFTSHIFT, ecodes.KEY_RIGHTSHIFT, ecodes.KEY_LEFTCTRL, ecodes.KEY_CAPSLOCK}
    | {ecodes.KEY_ENTER, ecodes.KEY_KPENTER, ecodes.KEY_A, ecodes.KEY_MINUS, ecodes.KEY_SPACE}
    | {ecodes.SYN_REPORT, ecodes.SYN_DROPPED}
)

events = st.builds(
    InputEvent,
    sec=st.integers(0, 2**40),
    usec=st.integers(0, 999_999),
    type=st.sampled_from([ecodes.EV_SYN, ecodes.EV_KEY, ecodes.EV_MSC, ecodes.EV_REL])
    | st.integers(0, 0xFFFF),
    code=st.sampled_from(_INTERESTING_CODES) | st.integers(0, 0xFFFF),
    value=st.sampled_from([0, 1, 2]) | st.integers(-(2**31), 2**31 - 1),
)
steps = st.lists(st.tuples(events, st.floats(0, 3, allow_nan=False)), max_size=300)


@FUZZ
@given(stream=steps, use_event_time=st.booleans())
def test_decoder_survives_any_stream(
    stream: list[tuple[InputEvent, float]], use_event_time: bool
) -> None:
    now = [0.0]
    decoder = KeyDecoder(
        CALLER_DEFAULT, clock=None if use_event_time else (lambda: now[0]), max_presses=5
    )
    downs = 0
    outputs = []
    for event, delta in stream:
        now[0] += delta
        downs += event.type == ecodes.EV_KEY and event.value == 1
        outputs += decoder.feed(event)
        outputs += decoder.tick(now[0] if use_event_time else None)
    pressed = [o for o in outputs if isinstance(o, KeyAction | UnmappedKey)]
    assert len(pressed) <= downs
    assert all(o.action in CALLER_DEFAULT.actions for o in outputs if isinstance(o, KeyAction))
    storm_marks = [type(o) for o in outputs if isinstance(o, KeyStorm | KeyStormOver)]
    # Storm warnings and recoveries alternate: never two warnings for one storm.
    assert all(a is not b for a, b in itertools.pairwise(storm_marks))
    if storm_marks:
        assert storm_marks[0] is KeyStorm


@FUZZ
@given(stream=steps, use_event_time=st.booleans())
def test_wedge_survives_any_stream(
    stream: list[tuple[InputEvent, float]], use_event_time: bool
) -> None:
    now = [0.0]
    wedge = WedgeAssembler(clock=None if use_event_time else (lambda: now[0]), max_length=20)
    for event, delta in stream:
        now[0] += delta
        for out in wedge.feed(event) + wedge.tick(now[0] if use_event_time else None):
            if isinstance(out, ScannedCode):
                assert 0 < len(out.text) <= 20
                assert "\n" not in out.text and "\r" not in out.text
        assert wedge.pending <= 20


US_TYPABLE = st.text(
    alphabet=st.sampled_from(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
        "!@#$%^&*()-_=+[]{}\\|;:'\",.<>/?`~ "
    ),
    min_size=1,
    max_size=200,
)


@FUZZ
@given(text=US_TYPABLE)
def test_wedge_reads_back_whatever_a_scanner_types(text: str) -> None:
    wedge = WedgeAssembler(clock=lambda: 0.0)
    out = []
    for event in typing_events(text):
        out += wedge.feed(event)
    assert out == [ScannedCode(text=text, at=0.0)]

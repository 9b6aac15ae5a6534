"""WedgeAssembler: a keyboard-wedge barcode scanner's keystrokes back to the code."""

from __future__ import annotations

from evdev import InputEvent, ecodes

from drivers.keys.events import CodeDiscarded, Output, ScannedCode, WedgeAssembler
from drivers.keys.simulator import key_events, press_events, typing_events


class FakeClock:
    def __init__(self, now: float = 500.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def feed_all(wedge: WedgeAssembler, events: list[InputEvent]) -> list[Output]:
    out: list[Output] = []
    for event in events:
        out += wedge.feed(event)
    return out


def codes(outputs: list[Output]) -> list[str]:
    return [o.text for o in outputs if isinstance(o, ScannedCode)]


def test_shifted_letters_and_digits_assemble_and_enter_ends() -> None:
    wedge = WedgeAssembler(clock=FakeClock())
    out = feed_all(wedge, typing_events("ABC-123"))
    assert out == [ScannedCode(text="ABC-123", at=500.0)]
    assert wedge.pending == 0


def test_right_shift_and_lower_case() -> None:
    wedge = WedgeAssembler(clock=FakeClock())
    events = (
        key_events("KEY_RIGHTSHIFT", 1) + press_events("KEY_X") + key_events("KEY_RIGHTSHIFT", 0)
    )
    events += typing_events("abc-123")
    assert codes(feed_all(wedge, events)) == ["Xabc-123"]


def test_shifted_symbols_of_a_us_layout() -> None:
    text = "!@#$%^&*()_+{}|:\"~<>? -=[]\\;',./`"
    assert codes(feed_all(WedgeAssembler(clock=FakeClock()), typing_events(text))) == [text]


def test_keypad_digits_and_keypad_enter() -> None:
    events = [*press_events("KEY_KP4"), *press_events("KEY_KPDOT"), *press_events("KEY_KP2")]
    events += press_events("KEY_KPENTER")
    assert codes(feed_all(WedgeAssembler(clock=FakeClock()), events)) == ["4.2"]


def test_enter_alone_emits_nothing() -> None:
    wedge = WedgeAssembler(clock=FakeClock())
    assert feed_all(wedge, press_events("KEY_ENTER") * 3) == []


def test_a_gap_between_characters_resets_the_partial_code() -> None:
    clock = FakeClock()
    wedge = WedgeAssembler(clock=clock, char_timeout_s=0.2)
    out = feed_all(wedge, typing_events("STALE", enter=False))
    clock.now += 1.0  # the scanner went silent (a half-read code)
    out += feed_all(wedge, typing_events("A001"))
    assert out == [
        CodeDiscarded(reason="timeout", length=5, at=501.0),
        ScannedCode(text="A001", at=501.0),
    ]


def test_tick_discards_a_stale_partial_code() -> None:
    clock = FakeClock()
    wedge = WedgeAssembler(clock=clock, char_timeout_s=0.2)
    feed_all(wedge, typing_events("HALF", enter=False))
    clock.now += 0.1
    assert wedge.tick() == []
    clock.now += 0.5
    assert wedge.tick() == [CodeDiscarded(reason="timeout", length=4, at=500.6)]
    assert codes(feed_all(wedge, press_events("KEY_ENTER"))) == []


def test_an_overlong_code_is_discarded_and_the_next_one_works() -> None:
    wedge = WedgeAssembler(clock=FakeClock(), max_length=10)
    out = feed_all(wedge, typing_events("X" * 15))
    assert out == [CodeDiscarded(reason="too_long", length=11, at=500.0)]
    assert codes(feed_all(wedge, typing_events("0123456789"))) == ["0123456789"]


def test_capslock_inverts_letters_only() -> None:
    events = press_events("KEY_CAPSLOCK") + typing_events("aB1!")
    assert codes(feed_all(WedgeAssembler(clock=FakeClock()), events)) == ["Ab1!"]


def test_ctrl_gives_gs1_group_separator() -> None:
    ctrl_gs = (
        key_events("KEY_LEFTCTRL", 1)
        + press_events("KEY_RIGHTBRACE")
        + key_events("KEY_LEFTCTRL", 0)
    )
    events = typing_events("01", enter=False) + ctrl_gs + typing_events("10")
    assert codes(feed_all(WedgeAssembler(clock=FakeClock()), events)) == ["01\x1d10"]


def test_keys_without_characters_are_ignored() -> None:
    events = press_events("KEY_F5") + press_events("KEY_LEFT") + typing_events("ok")
    assert codes(feed_all(WedgeAssembler(clock=FakeClock()), events)) == ["ok"]


def test_syn_dropped_discards_the_partial_code() -> None:
    wedge = WedgeAssembler(clock=FakeClock())
    dropped = InputEvent(0, 0, ecodes.EV_SYN, ecodes.SYN_DROPPED, 0)
    out = feed_all(wedge, typing_events("AB", enter=False))
    out += feed_all(wedge, [dropped, *key_events("KEY_C", 1)])  # rest of the broken packet
    out += feed_all(wedge, typing_events("OK"))
    assert out == [
        CodeDiscarded(reason="events_dropped", length=2, at=500.0),
        ScannedCode(text="OK", at=500.0),
    ]


def test_event_time_drives_the_timeout_when_no_clock_is_injected() -> None:
    wedge = WedgeAssembler(clock=None, char_timeout_s=0.2)
    out = feed_all(wedge, typing_events("OLD", enter=False, at=10.0))
    out += feed_all(wedge, typing_events("NEW", at=12.0))
    assert codes(out) == ["NEW"]

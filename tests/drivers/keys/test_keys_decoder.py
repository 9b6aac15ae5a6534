"""KeyDecoder: key presses to actions, autorepeat, debounce and key storms."""

from __future__ import annotations

from evdev import InputEvent, ecodes

from drivers.keys.events import (
    KeyAction,
    KeyDecoder,
    KeyStorm,
    KeyStormOver,
    Output,
    UnmappedKey,
)
from drivers.keys.keymap import CALLER_DEFAULT, EVALUATOR_DEFAULT, KeyMap
from drivers.keys.simulator import key_events, press_events


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def feed_all(decoder: KeyDecoder, events: list[InputEvent]) -> list[Output]:
    out: list[Output] = []
    for event in events:
        out += decoder.feed(event)
    return out


def actions(outputs: list[Output]) -> list[str]:
    return [o.action for o in outputs if isinstance(o, KeyAction)]


def test_keys_map_to_actions_from_configuration() -> None:
    keymap = KeyMap.from_config({"KEY_F1": "call_next", "KEY_KP3": "recall"})
    clock = FakeClock()
    decoder = KeyDecoder(keymap, clock=clock)
    out = feed_all(decoder, press_events("KEY_F1"))
    clock.now += 1
    out += feed_all(decoder, press_events("KEY_KP3"))
    assert out == [
        KeyAction(action="call_next", key="KEY_F1", code=ecodes.KEY_F1, at=1000.0),
        KeyAction(action="recall", key="KEY_KP3", code=ecodes.KEY_KP3, at=1001.0),
    ]


def test_evaluator_buttons_in_every_common_key_set() -> None:
    clock = FakeClock()
    decoder = KeyDecoder(EVALUATOR_DEFAULT, clock=clock)
    got = []
    for key in ("KEY_1", "KEY_KP2", "KEY_F3", "KEY_4", "KEY_KP5"):
        clock.now += 1
        got += actions(feed_all(decoder, press_events(key)))
    assert got == ["rate_1", "rate_2", "rate_3", "rate_4", "rate_5"]


def test_autorepeat_is_ignored_by_default() -> None:
    clock = FakeClock()
    held = key_events("KEY_KPENTER", 1) + key_events("KEY_KPENTER", 2) * 30
    held += key_events("KEY_KPENTER", 0)
    decoder = KeyDecoder(CALLER_DEFAULT, clock=clock)
    out = []
    for event in held:
        clock.now += 0.033  # the kernel's 30 Hz repeat
        out += decoder.feed(event)
    assert actions(out) == ["call_next"]


def test_autorepeat_can_count_as_presses() -> None:
    clock = FakeClock()
    decoder = KeyDecoder(CALLER_DEFAULT, clock=clock, accept_repeat=True, debounce_s=0)
    out = []
    for value in (1, 2, 2, 0):
        clock.now += 0.3
        out += feed_all(decoder, key_events("KEY_KPENTER", value))
    assert actions(out) == ["call_next"] * 3


def test_second_press_of_the_same_key_within_debounce_is_ignored() -> None:
    clock = FakeClock()
    decoder = KeyDecoder(CALLER_DEFAULT, clock=clock, debounce_s=0.25)
    got = actions(feed_all(decoder, press_events("KEY_KPENTER")))
    clock.now += 0.1
    got += actions(feed_all(decoder, press_events("KEY_KPENTER")))  # bounce: ignored
    got += actions(feed_all(decoder, press_events("KEY_KPPLUS")))  # other key: fine
    clock.now += 0.3
    got += actions(feed_all(decoder, press_events("KEY_KPENTER")))
    assert got == ["call_next", "recall", "call_next"]


def test_key_storm_is_bounded_reported_once_and_recovers_after_quiet() -> None:
    clock = FakeClock()
    decoder = KeyDecoder(EVALUATOR_DEFAULT, clock=clock, max_presses=10, window_s=1.0, quiet_s=2.0)
    out: list[Output] = []
    keys = ["KEY_1", "KEY_2", "KEY_3", "KEY_4", "KEY_5"]
    for i in range(500):  # 500 presses in one second
        clock.now = 1000.0 + i * 0.002
        out += feed_all(decoder, press_events(keys[i % 5]))
    assert len(actions(out)) <= 10
    storms = [o for o in out if isinstance(o, KeyStorm)]
    assert len(storms) == 1 and storms[0].presses == 11
    assert decoder.in_storm

    clock.now += 1.0  # not quiet long enough yet
    assert decoder.tick() == []
    clock.now += 1.5
    assert decoder.tick() == [KeyStormOver(at=clock.now, dropped=490)]
    assert not decoder.in_storm

    clock.now += 1
    assert actions(feed_all(decoder, press_events("KEY_3"))) == ["rate_3"]


def test_a_stuck_key_keeps_the_storm_and_warns_only_once() -> None:
    clock = FakeClock()
    decoder = KeyDecoder(CALLER_DEFAULT, clock=clock, debounce_s=0, max_presses=5, quiet_s=2.0)
    out: list[Output] = []
    for _ in range(200):  # a key chattering every 50 ms for 10 s
        clock.now += 0.05
        out += feed_all(decoder, press_events("KEY_KP0"))
        out += decoder.tick()
    assert [type(o) for o in out].count(KeyStorm) == 1
    assert not any(isinstance(o, KeyStormOver) for o in out)
    # Recovery also happens on the next press, without tick().
    clock.now += 5
    after = feed_all(decoder, press_events("KEY_KP0"))
    assert [type(o) for o in after] == [KeyStormOver, KeyAction]


def test_unknown_keys_are_ignored_but_reported_as_unmapped() -> None:
    decoder = KeyDecoder(EVALUATOR_DEFAULT, clock=FakeClock())
    out = feed_all(decoder, press_events("KEY_Z"))
    assert actions(out) == []
    assert out == [UnmappedKey(key="KEY_Z", code=ecodes.KEY_Z, at=1000.0)]


def test_event_timestamps_are_used_when_no_clock_is_injected() -> None:
    decoder = KeyDecoder(CALLER_DEFAULT, clock=None, debounce_s=0.25)
    got = actions(feed_all(decoder, press_events("KEY_KPENTER", at=50.0)))
    got += actions(feed_all(decoder, press_events("KEY_KPENTER", at=50.1)))
    got += actions(feed_all(decoder, press_events("KEY_KPENTER", at=50.5)))
    assert got == ["call_next", "call_next"]
    # A wall clock stepped backwards does not lock a key out.
    got = actions(feed_all(decoder, press_events("KEY_KPENTER", at=10.0)))
    assert got == ["call_next"]


def test_events_after_syn_dropped_are_discarded_until_syn_report() -> None:
    decoder = KeyDecoder(CALLER_DEFAULT, clock=FakeClock())
    dropped = InputEvent(0, 0, ecodes.EV_SYN, ecodes.SYN_DROPPED, 0)
    # The kernel's buffer overflowed: the rest of this packet is unreliable.
    events = [dropped, *key_events("KEY_KPENTER", 1)]
    assert feed_all(decoder, events) == []
    assert actions(feed_all(decoder, press_events("KEY_KPPLUS"))) == ["recall"]


def test_non_key_events_are_ignored() -> None:
    decoder = KeyDecoder(CALLER_DEFAULT, clock=FakeClock())
    events = [
        InputEvent(0, 0, ecodes.EV_MSC, ecodes.MSC_SCAN, 0x70058),
        InputEvent(0, 0, ecodes.EV_LED, ecodes.LED_NUML, 1),
        InputEvent(0, 0, ecodes.EV_REL, ecodes.REL_X, 5),
        InputEvent(0, 0, ecodes.EV_SYN, ecodes.SYN_REPORT, 0),
    ]
    assert feed_all(decoder, events) == []

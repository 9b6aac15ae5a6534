"""Key maps from configuration: defaults, validation and the errors a technician reads."""

from __future__ import annotations

import pytest
import yaml
from evdev import ecodes

from drivers.keys.keymap import (
    ACTION_LABELS,
    CALLER_ACTIONS,
    CALLER_DEFAULT,
    EVALUATOR_DEFAULT,
    RATING_LABELS,
    KeyMap,
    KeyMapError,
    key_code,
    key_name,
    keymap_from_config,
    rating_level,
)


def test_evaluator_default_accepts_digit_keypad_and_function_keys() -> None:
    for level in range(1, 6):
        for name in (f"KEY_{level}", f"KEY_KP{level}", f"KEY_F{level}"):
            assert EVALUATOR_DEFAULT.action_for(ecodes.ecodes[name]) == f"rate_{level}"
    assert len(EVALUATOR_DEFAULT.bindings) == 15


def test_rating_labels_follow_the_national_five_levels() -> None:
    assert list(RATING_LABELS.items()) == [
        ("rate_1", "非常满意"),
        ("rate_2", "满意"),
        ("rate_3", "基本满意"),
        ("rate_4", "不满意"),
        ("rate_5", "非常不满意"),
    ]
    assert [rating_level(a) for a in RATING_LABELS] == [1, 2, 3, 4, 5]
    assert rating_level("call_next") is None


def test_caller_default_binds_every_counter_command_on_keypad_and_f_keys() -> None:
    assert CALLER_DEFAULT.action_for(ecodes.KEY_KPENTER) == "call_next"
    assert CALLER_DEFAULT.action_for(ecodes.KEY_KPPLUS) == "recall"
    assert CALLER_DEFAULT.action_for(ecodes.KEY_KP0) == "finish"
    assert CALLER_DEFAULT.action_for(ecodes.KEY_KPDOT) == "no_show"
    assert CALLER_DEFAULT.action_for(ecodes.KEY_F1) == "call_next"
    for action in CALLER_ACTIONS:
        keys = CALLER_DEFAULT.keys_for(action)
        assert len(keys) == 2, (action, keys)
        assert action in ACTION_LABELS
    # Keys left free for the site.
    for name in ("KEY_KP3", "KEY_KP6", "KEY_KP9"):
        assert CALLER_DEFAULT.action_for(ecodes.ecodes[name]) is None


def test_map_from_config_accepts_names_in_any_case_and_codes() -> None:
    keymap = KeyMap.from_config(
        {"KEY_F1": "call_next", "kp3": "recall", "f12": "pause", 79: "start", "80": "finish"},
        name="site",
    )
    assert keymap.to_config() == {
        "KEY_F1": "call_next",
        "KEY_KP1": "start",
        "KEY_KP2": "finish",
        "KEY_KP3": "recall",
        "KEY_F12": "pause",
    }
    assert KeyMap.from_config(keymap.to_config(), name="site") == keymap


def test_unknown_key_name_suggests_close_matches() -> None:
    with pytest.raises(KeyMapError) as info:
        KeyMap.from_config({"KEY_KPENTR": "call_next"}, name="counter-3")
    message = str(info.value)
    assert "counter-3" in message
    assert "unknown key name 'KEY_KPENTR'" in message
    assert "did you mean KEY_KPENTER" in message
    assert info.value.user_message.startswith("按键配置有误")


def test_every_problem_is_reported_at_once_with_action_suggestions() -> None:
    config = {
        "KEY_F13": "call_nxt",
        "KEY_KP1": "rate_6",
        "kp1": "recall",
        "KEY_F2": "Recall!",
        "KEY_NOPE": "recall",
    }
    with pytest.raises(KeyMapError) as info:
        KeyMap.from_config(config, name="caller", actions=CALLER_ACTIONS)
    problems = info.value.problems
    assert len(problems) == 5
    assert "unknown action 'call_nxt' (did you mean call_next?)" in problems[0]
    assert "unknown action 'rate_6'" in problems[1]
    assert "same key as 'KEY_KP1'" in problems[2]
    assert "lower-case name" in problems[3]
    assert "unknown key name 'KEY_NOPE'" in problems[4]


def test_a_bare_digit_in_yaml_is_refused_as_ambiguous() -> None:
    config = yaml.safe_load("1: rate_1\n2: rate_2\n")
    with pytest.raises(KeyMapError) as info:
        KeyMap.from_config(config)
    assert "key 1 is ambiguous: write 'KEY_1' for the key labelled 1" in str(info.value)


def test_key_code_and_key_name_round_trip() -> None:
    assert key_code("KEY_KP1") == ecodes.KEY_KP1 == key_code("kp1") == key_code(" Kp1 ")
    assert key_name(ecodes.KEY_KP1) == "KEY_KP1"
    assert key_name(ecodes.KEY_MUTE) == "KEY_MUTE"  # not its alias KEY_MIN_INTERESTING
    assert key_code("BTN_LEFT") == ecodes.BTN_LEFT
    with pytest.raises(KeyMapError, match="out of range"):
        key_code(5000)


def test_config_can_extend_a_builtin_map() -> None:
    keymap = keymap_from_config(
        {"base": "caller", "keys": {"KEY_KP9": "logout", "KEY_KPDOT": None}}, name="window-3"
    )
    assert keymap.name == "window-3"
    assert keymap.action_for(ecodes.KEY_KP9) == "logout"
    assert keymap.action_for(ecodes.KEY_KPDOT) is None
    assert keymap.action_for(ecodes.KEY_KPENTER) == "call_next"
    # The base's vocabulary is enforced.
    with pytest.raises(KeyMapError, match="unknown action 'rate_1'"):
        keymap_from_config({"base": "caller", "keys": {"KEY_KP9": "rate_1"}})


def test_unknown_base_map_is_suggested() -> None:
    with pytest.raises(KeyMapError, match="did you mean evaluator"):
        keymap_from_config({"base": "evaluater", "keys": {}})
    with pytest.raises(KeyMapError, match="kes: unknown key \\(did you mean 'keys'\\?\\)"):
        keymap_from_config({"base": "caller", "kes": {}})


def test_plain_config_form() -> None:
    keymap = keymap_from_config({"KEY_A": "rate_1"}, actions=RATING_LABELS)
    assert keymap.to_config() == {"KEY_A": "rate_1"}


def test_problems_carry_the_key_they_are_about() -> None:
    with pytest.raises(KeyMapError) as info:
        keymap_from_config({"base": "caller", "keys": {"KEY_KPENTR": "call_next", "f2": "x!"}})
    assert [p.path for p in info.value.problems] == ["keys.KEY_KPENTR", "keys.f2"]
    assert info.value.problems[0].hint.startswith("did you mean KEY_KPENTER or ")
    with pytest.raises(KeyMapError) as info:
        keymap_from_config({"base": 5, "keys": [], "nmae": "x"})
    assert [str(p) for p in info.value.problems] == [
        "base: expected text, got 5 (write it in quotes: '5')",
        "keys: expected a mapping (key: value), got []",
        "nmae: unknown key (did you mean 'name'?)",
    ]

"""Counter settings: defaults, a hall's YAML file, and errors that say what to fix."""

from __future__ import annotations

import typing

import pytest
from hall_config_cases import wrong_type

from counter.settings import (
    BoardSettings,
    CounterSettings,
    CounterSettingsFile,
    DisplaySettings,
    EvaluatorSettings,
    KeysSection,
    SettingsError,
    VoiceSettings,
    load_settings,
    parse_settings,
)
from drivers.keys import key_code


def test_defaults_need_no_file(monkeypatch):
    monkeypatch.delenv("HALL_COUNTER_SETTINGS", raising=False)
    s = load_settings(None)
    assert s == CounterSettings()
    assert s.pause_reasons[:4] == ("业务咨询", "系统故障", "临时离开", "会议学习")
    assert s.voice.speaker == "board" and s.evaluator.prompt_timeout_s == 30
    assert s.caller_keys.action_for(key_code("KEY_KPENTER")) == "call_next"


def test_a_hall_file_sets_reasons_keys_and_speaker(tmp_path):
    path = tmp_path / "counter.yaml"
    path.write_text(
        "pause_reasons: [系统故障, 外出办事]\n"
        "keys:\n"
        "  caller: {base: caller, keys: {KEY_KP9: logout, KEY_KPDOT: null}}\n"
        "  evaluator: {KEY_A: rate_1, KEY_B: rate_2, KEY_C: rate_3, KEY_D: rate_4,"
        " KEY_E: rate_5}\n"
        "evaluator: {ask_contact: false, prompt_timeout_s: 20}\n"
        "voice: {speaker: display, times: 2}\n",
        encoding="utf-8",
    )
    s = load_settings(path)
    assert s.pause_reasons == ("系统故障", "外出办事")
    assert s.caller_keys.action_for(key_code("KEY_KP9")) == "logout"
    assert s.caller_keys.action_for(key_code("KEY_KPDOT")) is None
    assert s.caller_keys.action_for(key_code("KEY_F1")) == "call_next"  # the base stays
    assert s.evaluator_keys.action_for(key_code("KEY_C")) == "rate_3"
    assert (s.evaluator.ask_contact, s.evaluator.prompt_timeout_s) == (False, 20.0)
    assert (s.voice.speaker, s.voice.times) == ("display", 2)


@pytest.mark.parametrize(
    ("data", "where", "says"),
    [
        ({"pause_reason": ["x"]}, "pause_reason", "did you mean 'pause_reasons'"),
        ({"voice": {"speaker": "kiosk"}}, "voice.speaker", "board, display, none"),
        ({"evaluator": {"prompt_timeout_s": "soon"}}, "evaluator.prompt_timeout_s", "number"),
        (
            {"keys": {"caller": {"KEY_KP1": "call_nxt"}}},
            "keys.caller.KEY_KP1",
            "did you mean call_next",
        ),
        ({"display": {"layuot": "tv"}}, "display.layuot", "did you mean 'display.layout'"),
    ],
)
def test_mistakes_name_the_key_and_the_fix(data, where, says):
    with pytest.raises(SettingsError) as err:
        parse_settings(data)
    assert err.value.path == where
    assert says in str(err.value)


# every key of every section, from the model: a new setting is covered without a new test
SECTIONS = {
    "": CounterSettingsFile,
    "evaluator": EvaluatorSettings,
    "display": DisplaySettings,
    "voice": VoiceSettings,
    "board": BoardSettings,
    "keys": KeysSection,
}
KEYS = [
    (section, name, tp)
    for section, cls in SECTIONS.items()
    for name, tp in typing.get_type_hints(cls, include_extras=True).items()
]


def _nest(section: str, key: str, value) -> dict:
    return {section: {key: value}} if section else {key: value}


@pytest.mark.parametrize(
    ("section", "key", "tp"), KEYS, ids=[f"{s}.{k}" if s else k for s, k, _ in KEYS]
)
def test_every_key_with_a_wrong_type_is_refused_with_its_path(section, key, tp):
    with pytest.raises(SettingsError) as err:
        parse_settings(_nest(section, key, wrong_type(tp)))
    path = f"{section}.{key}" if section else key
    assert [p.path for p in err.value.problems] == [path], str(err.value)


@pytest.mark.parametrize(
    ("section", "key", "tp"), KEYS, ids=[f"{s}.{k}" if s else k for s, k, _ in KEYS]
)
def test_every_misspelt_key_is_refused_with_a_suggestion(section, key, tp):
    typo = key[:2] + key[3:]
    with pytest.raises(SettingsError) as err:
        parse_settings(_nest(section, typo, None))
    (problem,) = err.value.problems
    path = f"{section}.{key}" if section else key
    assert problem.message == "unknown key" and problem.hint == f"did you mean '{path}'?"


def test_every_problem_at_once():
    with pytest.raises(SettingsError) as err:
        parse_settings(
            {
                "pause_reasons": ["x" * 41],
                "voice": {"times": 0, "speaker": "bord"},
                "board": None,  # an empty section is the defaults
                "keys": {"caller": {"KEY_KPENTR": "call_next"}, "evaluator": {"KEY_A": "rate_9"}},
            }
        )
    found = [str(p) for p in err.value.problems]
    assert found[:3] == [
        "pause_reasons[0]: must be at most 40 characters",
        "voice.speaker: expected one of board, display, none, got 'bord' (did you mean 'board'?)",
        "voice.times: must be at least 1, got 0",
    ]
    # key maps are checked once the file's shape is right
    with pytest.raises(SettingsError) as err2:
        parse_settings(
            {"keys": {"caller": {"KEY_KPENTR": "call_next"}, "evaluator": {"KEY_A": "rate_9"}}}
        )
    paths = [p.path for p in err2.value.problems]
    assert paths == ["keys.caller.KEY_KPENTR", "keys.evaluator.KEY_A"]
    assert "did you mean KEY_KPENTER" in str(err2.value)

"""Counter settings: defaults, a hall's YAML file, and errors that say what to fix."""

from __future__ import annotations

import pytest

from counter.settings import CounterSettings, SettingsError, load_settings, parse_settings
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

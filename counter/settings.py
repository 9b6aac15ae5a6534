"""Settings of the window-side apps, declared as data (one YAML file per hall).

Every counter device of a hall reads the same file (``--settings`` or
``HALL_COUNTER_SETTINGS``); without one the defaults below apply.  Unknown
keys are refused with the key that was probably meant, like the hall config.

Example::

    pause_reasons: [业务咨询, 系统故障, 临时离开, 会议学习]
    keys:
      caller: {base: caller, keys: {KEY_KP9: logout}}
    evaluator: {ask_reasons: true, prompt_timeout_s: 30}
    voice: {speaker: board}        # board | display | none
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from drivers.keys import (
    CALLER_ACTIONS,
    CALLER_DEFAULT,
    EVALUATOR_ACTIONS,
    EVALUATOR_DEFAULT,
    KeyMap,
    KeyMapError,
    keymap_from_config,
)

SPEAKERS = ("board", "display", "none")
LAYOUTS = ("auto", "tv", "led")
STAFF_STATUSES = ("在岗", "暂离", "外出", "学习", "休假")


class SettingsError(ValueError):
    """The counter settings file is wrong; ``path`` says where."""

    user_message = "窗口设备配置有误，请联系技术人员"

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


@dataclass(frozen=True)
class EvaluatorSettings:
    ask_reasons: bool = True  # on 不满意 / 非常不满意, ask why (touch screen)
    ask_contact: bool = True  # and a phone number for 回访
    reasons: tuple[str, ...] = (
        "等候时间太长",
        "办事效率低",
        "服务态度不好",
        "告知不清楚",
        "材料要求繁琐",
        "系统故障",
        "其他",
    )
    prompt_timeout_s: float = 30.0  # then "unrated" is recorded (no default rating)
    reasons_timeout_s: float = 60.0  # then the chosen level is kept without reasons
    thanks_s: float = 3.0
    stale_after_s: float = 120.0  # a finish older than this (at start-up) is not prompted


@dataclass(frozen=True)
class DisplaySettings:
    layout: str = "auto"  # auto: LED strip when the screen is wider than 4:1
    flash_s: float = 5.0  # the called number flashes this long
    photo_dir: str = ""  # where staff photos (hall config staff[].photo) live


@dataclass(frozen=True)
class VoiceSettings:
    speaker: str = "board"  # which device says the calls: board, display (each window's) or none
    pack: str = ""  # voice pack folder; "" = assets/voice/default
    times: int = 1  # how often the phrase is said per call
    evaluator_prompts: bool = True  # the evaluator says 请对本次服务进行评价 / 谢谢您的评价


@dataclass(frozen=True)
class BoardSettings:
    notice_s: float = 8.0  # each notice shows this long
    windows_shown: int = 12  # 去向牌 strip: at most this many windows


@dataclass(frozen=True)
class CounterSettings:
    pause_reasons: tuple[str, ...] = ("业务咨询", "系统故障", "临时离开", "会议学习", "午间休息")
    keypad_pause_reason: str = "临时离开"  # the keypad's pause key uses this reason
    caller_keys: KeyMap = CALLER_DEFAULT
    evaluator_keys: KeyMap = EVALUATOR_DEFAULT
    evaluator: EvaluatorSettings = field(default_factory=EvaluatorSettings)
    display: DisplaySettings = field(default_factory=DisplaySettings)
    voice: VoiceSettings = field(default_factory=VoiceSettings)
    board: BoardSettings = field(default_factory=BoardSettings)


def _check_keys(path: str, data: Mapping[str, Any], allowed: list[str]) -> None:
    for key in data:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise SettingsError(f"{path}.{key}" if path else str(key), f"unknown key{hint}")


def _section(cls: type, path: str, data: Any) -> Any:
    if data is None:
        return cls()
    if not isinstance(data, Mapping):
        raise SettingsError(path, "expected a mapping")
    names = [f.name for f in fields(cls)]
    _check_keys(path, data, names)
    obj = cls()
    for f in fields(cls):
        if f.name not in data:
            continue
        default, value = getattr(obj, f.name), data[f.name]
        if isinstance(default, tuple):
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                raise SettingsError(f"{path}.{f.name}", "expected a list of texts")
            value = tuple(value)
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise SettingsError(f"{path}.{f.name}", f"expected true or false, got {value!r}")
        elif isinstance(default, (int, float)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise SettingsError(f"{path}.{f.name}", f"expected a number >= 0, got {value!r}")
            value = type(default)(value)
        elif not isinstance(value, str):
            raise SettingsError(f"{path}.{f.name}", f"expected a text, got {value!r}")
        obj = replace(obj, **{f.name: value})
    return obj


def parse_settings(data: Any) -> CounterSettings:
    if data is None:
        return CounterSettings()
    if not isinstance(data, Mapping):
        raise SettingsError("", "the counter settings must be a mapping")
    _check_keys(
        "",
        data,
        ["pause_reasons", "keypad_pause_reason", "keys", "evaluator", "display", "voice", "board"],
    )
    top = _section(
        _Top, "", {k: v for k, v in data.items() if k in ("pause_reasons", "keypad_pause_reason")}
    )
    keys = data.get("keys") or {}
    if not isinstance(keys, Mapping):
        raise SettingsError("keys", "expected a mapping with caller / evaluator")
    _check_keys("keys", keys, ["caller", "evaluator"])
    try:
        caller_keys = (
            keymap_from_config(keys["caller"], name="caller", actions=CALLER_ACTIONS)
            if "caller" in keys
            else CALLER_DEFAULT
        )
        evaluator_keys = (
            keymap_from_config(keys["evaluator"], name="evaluator", actions=EVALUATOR_ACTIONS)
            if "evaluator" in keys
            else EVALUATOR_DEFAULT
        )
    except KeyMapError as exc:
        raise SettingsError("keys", str(exc)) from exc
    settings = CounterSettings(
        pause_reasons=top.pause_reasons,
        keypad_pause_reason=top.keypad_pause_reason,
        caller_keys=caller_keys,
        evaluator_keys=evaluator_keys,
        evaluator=_section(EvaluatorSettings, "evaluator", data.get("evaluator")),
        display=_section(DisplaySettings, "display", data.get("display")),
        voice=_section(VoiceSettings, "voice", data.get("voice")),
        board=_section(BoardSettings, "board", data.get("board")),
    )
    if settings.voice.speaker not in SPEAKERS:
        raise SettingsError("voice.speaker", f"expected one of {', '.join(SPEAKERS)}")
    if settings.display.layout not in LAYOUTS:
        raise SettingsError("display.layout", f"expected one of {', '.join(LAYOUTS)}")
    if settings.voice.times < 1:
        raise SettingsError("voice.times", "expected at least 1")
    if not settings.pause_reasons:
        raise SettingsError("pause_reasons", "list at least one reason")
    if any(len(r) > 40 for r in settings.pause_reasons):
        raise SettingsError("pause_reasons", "a reason is at most 40 characters")
    return settings


@dataclass(frozen=True)
class _Top:
    pause_reasons: tuple[str, ...] = CounterSettings.pause_reasons
    keypad_pause_reason: str = CounterSettings.keypad_pause_reason


def load_settings(path: str | Path | None = None) -> CounterSettings:
    """Read ``path`` (or ``$HALL_COUNTER_SETTINGS``); no file means the defaults."""
    path = path or os.environ.get("HALL_COUNTER_SETTINGS")
    if not path:
        return CounterSettings()
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError(str(path), f"cannot read: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise SettingsError(str(path), f"not valid YAML: {exc}") from exc
    return parse_settings(data)

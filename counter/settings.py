"""Settings of the window-side apps, declared as data (one YAML file per hall).

Every counter device of a hall reads the same file (``--settings`` or
``HALL_COUNTER_SETTINGS``); without one the defaults below apply.  Unknown
keys are refused with the key that was probably meant, like the hall config
(one mechanism: :mod:`hall.core.schema`), and every problem is reported at once.

Example::

    pause_reasons: [业务咨询, 系统故障, 临时离开, 会议学习]
    keys:
      caller: {base: caller, keys: {KEY_KP9: logout}}
    evaluator: {ask_reasons: true, prompt_timeout_s: 30}
    voice: {speaker: board}        # board | display | none
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field

from drivers.keys import (
    CALLER_ACTIONS,
    CALLER_DEFAULT,
    EVALUATOR_ACTIONS,
    EVALUATOR_DEFAULT,
    KeyMap,
    KeyMapError,
    keymap_from_config,
)
from hall.core import schema
from hall.core.schema import Bool, Name, Problem, Section, Text

SPEAKERS = ("board", "display", "none")
LAYOUTS = ("auto", "tv", "led")
STAFF_STATUSES = ("在岗", "暂离", "外出", "学习", "休假")


class SettingsError(schema.ConfigError):
    """The counter settings file is wrong; ``problems`` (and ``path``, the first) say where."""

    user_message = "窗口设备配置有误，请联系技术人员"


Seconds = Annotated[float, Field(strict=True, ge=0)]
Reason = Annotated[str, Field(strict=True, min_length=1, max_length=40)]


@schema.schema
@dataclass(frozen=True)
class EvaluatorSettings:
    ask_reasons: Bool = True  # on 不满意 / 非常不满意, ask why (touch screen)
    ask_contact: Bool = True  # and a phone number for 回访
    reasons: tuple[Name, ...] = (
        "等候时间太长",
        "办事效率低",
        "服务态度不好",
        "告知不清楚",
        "材料要求繁琐",
        "系统故障",
        "其他",
    )
    prompt_timeout_s: Seconds = 30.0  # then "unrated" is recorded (no default rating)
    reasons_timeout_s: Seconds = 60.0  # then the chosen level is kept without reasons
    thanks_s: Seconds = 3.0
    stale_after_s: Seconds = 120.0  # a finish older than this (at start-up) is not prompted


@schema.schema
@dataclass(frozen=True)
class DisplaySettings:
    layout: Literal["auto", "tv", "led"] = "auto"  # auto: LED strip when wider than 4:1
    flash_s: Seconds = 5.0  # the called number flashes this long
    photo_dir: Text = ""  # where staff photos (hall config staff[].photo) live


@schema.schema
@dataclass(frozen=True)
class VoiceSettings:
    # which device says the calls: board, display (each window's) or none
    speaker: Literal["board", "display", "none"] = "board"
    pack: Text = ""  # voice pack folder; "" = assets/voice/default
    times: Annotated[int, Field(strict=True, ge=1)] = 1  # how often the phrase is said per call
    evaluator_prompts: Bool = True  # the evaluator says 请对本次服务进行评价 / 谢谢您的评价
    max_age_s: Seconds = 30.0  # a call not said within this long is skipped, not said late


@schema.schema
@dataclass(frozen=True)
class BoardSettings:
    notice_s: Seconds = 8.0  # each notice shows this long
    windows_shown: Annotated[int, Field(strict=True, ge=0)] = 12  # 去向牌: at most this many


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


@schema.schema
@dataclass(frozen=True)
class KeysSection:
    """Key maps (see :func:`drivers.keys.keymap_from_config`), checked by the keys driver."""

    caller: dict[Any, Any] | None = None
    evaluator: dict[Any, Any] | None = None


@schema.schema
@dataclass(frozen=True)
class CounterSettingsFile:
    """The file: the settings, with the key maps under ``keys:``."""

    pause_reasons: Annotated[tuple[Reason, ...], Field(min_length=1)] = (
        CounterSettings.pause_reasons
    )
    keypad_pause_reason: Name = CounterSettings.keypad_pause_reason
    keys: Section[KeysSection] = field(default_factory=KeysSection)
    evaluator: Section[EvaluatorSettings] = field(default_factory=EvaluatorSettings)
    display: Section[DisplaySettings] = field(default_factory=DisplaySettings)
    voice: Section[VoiceSettings] = field(default_factory=VoiceSettings)
    board: Section[BoardSettings] = field(default_factory=BoardSettings)


def _keymaps(doc: CounterSettingsFile) -> Iterator[Problem]:
    for name, actions in (("caller", CALLER_ACTIONS), ("evaluator", EVALUATOR_ACTIONS)):
        config = getattr(doc.keys, name)
        if config is not None:
            try:
                keymap_from_config(config, name=name, actions=actions)
            except KeyMapError as exc:
                yield from (p.under(f"keys.{name}") for p in exc.problems)


def parse_settings(data: Any, *, source: str = "") -> CounterSettings:
    if data is None:
        return CounterSettings()
    if not isinstance(data, Mapping):
        raise SettingsError([Problem("", "the counter settings must be a mapping")], source=source)
    doc = schema.check(
        CounterSettingsFile, dict(data), source=source, rules=(_keymaps,), error=SettingsError
    )
    keys = doc.keys
    return CounterSettings(
        pause_reasons=doc.pause_reasons,
        keypad_pause_reason=doc.keypad_pause_reason,
        caller_keys=(
            keymap_from_config(keys.caller, name="caller", actions=CALLER_ACTIONS)
            if keys.caller is not None
            else CALLER_DEFAULT
        ),
        evaluator_keys=(
            keymap_from_config(keys.evaluator, name="evaluator", actions=EVALUATOR_ACTIONS)
            if keys.evaluator is not None
            else EVALUATOR_DEFAULT
        ),
        evaluator=doc.evaluator,
        display=doc.display,
        voice=doc.voice,
        board=doc.board,
    )


def load_settings(path: str | Path | None = None) -> CounterSettings:
    """Read ``path`` (or ``$HALL_COUNTER_SETTINGS``); no file means the defaults."""
    path = path or os.environ.get("HALL_COUNTER_SETTINGS")
    if not path:
        return CounterSettings()
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError(
            [Problem("", f"cannot read: {exc.strerror}")], source=str(path)
        ) from exc
    except yaml.YAMLError as exc:
        raise SettingsError([Problem("", f"not valid YAML: {exc}")], source=str(path)) from exc
    return parse_settings(data, source=str(path))

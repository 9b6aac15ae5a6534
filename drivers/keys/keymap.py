"""Key maps: which key means which action, declared as data.

A key map binds Linux key codes (``KEY_KP1``, ``KEY_F1``, or a raw code such
as ``79``) to action names (``call_next``, ``rate_1`` ...).  Maps come from
configuration; the built-in defaults below only save typing.  Validation
reports every problem at once (a :class:`hall.core.schema.ConfigError`, each
problem under its key) and suggests close matches for misspelled key and
action names, so a technician editing a config file knows what to fix.

Built-in maps
-------------

``CALLER_DEFAULT`` (clerk keypad).  Works with a plain USB numeric keypad, and
with programmable caller keypads that send F1–F10:

=============  =============  ==========  ===========================================
numeric pad    F-key          action      why this key
=============  =============  ==========  ===========================================
Enter          F1             call_next   the biggest key, pressed all day
+              F2             recall      the other tall key, next to Enter
1              F3             start       bottom row, near Enter
0              F4             finish      the wide key: "done"
.              F5             no_show     next to 0 (过号)
2              F6             transfer    (转移, the citizen keeps the place)
4              F7             pause       middle row, left (暂停)
5              F8             resume      middle row, centre (恢复)
7              F9             login       top row: rare actions (登录)
8              F10            logout      (退出)
=============  =============  ==========  ===========================================

The numeric pad's codes do not depend on NumLock (the kernel reports
``KEY_KP1`` either way; NumLock is interpreted by the desktop, which never
sees a grabbed keypad).  3, 6, 9, /, *, - are left free for the site.

``EVALUATOR_DEFAULT`` (five-button evaluator): ``rate_1`` (非常满意) …
``rate_5`` (非常不满意), from whichever key set the device sends:
``KEY_1``–``KEY_5``, ``KEY_KP1``–``KEY_KP5`` or ``KEY_F1``–``KEY_F5``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from evdev import ecodes

from hall.core import schema
from hall.core.schema import Problem, Text

#: Actions a clerk keypad can send: each is a hall-plane command the caller role may
#: send (the contract's x-commands table in sync/asyncapi.yaml, which drivers do not
#: read; tests/hall/test_command_table.py holds the two together).
CALLER_ACTIONS: tuple[str, ...] = (
    "call_next",
    "recall",
    "start",
    "finish",
    "no_show",
    "transfer",
    "pause",
    "resume",
    "login",
    "logout",
)

#: The five levels of the national 好差评 standard, best first.
RATING_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "rate_1": "非常满意",
        "rate_2": "满意",
        "rate_3": "基本满意",
        "rate_4": "不满意",
        "rate_5": "非常不满意",
    }
)
EVALUATOR_ACTIONS: tuple[str, ...] = tuple(RATING_LABELS)

#: Chinese labels for help screens and the technician's key test.
ACTION_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "call_next": "呼叫下一位",
        "recall": "重呼",
        "start": "开始办理",
        "finish": "办结",
        "no_show": "过号",
        "transfer": "转移",
        "pause": "暂停服务",
        "resume": "恢复服务",
        "login": "登录",
        "logout": "退出登录",
        **RATING_LABELS,
    }
)

_ACTION_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

# name -> code for every key and button the kernel knows (aliases included).
_KEY_CODES: Mapping[str, int] = MappingProxyType(
    {
        name: code
        for name, code in ecodes.ecodes.items()
        if (name.startswith(("KEY_", "BTN_")) and isinstance(code, int) and name != "KEY_MAX")
        and name not in ("KEY_CNT", "KEY_RESERVED", "KEY_MIN_INTERESTING")
    }
)


class KeyMapError(schema.ConfigError):
    """A key map in configuration is wrong; ``problems`` lists every entry at fault."""

    user_message = "按键配置有误，请联系技术人员检查配置文件"

    def __init__(
        self, problems: Iterable[Problem | str], *, map_name: str | None = None, source: str = ""
    ) -> None:
        self.map_name = map_name
        super().__init__(problems, source=source or (f"key map {map_name!r}" if map_name else ""))


def key_name(code: int) -> str:
    """The canonical name of a key code: ``79`` -> ``"KEY_KP1"``; unknown codes -> ``"250"``."""
    names = ecodes.keys.get(code)
    if names is None:
        return str(code)
    if isinstance(names, str):
        return names
    preferred = [n for n in names if n != "KEY_MIN_INTERESTING"]
    return preferred[0] if preferred else names[0]


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Up to three names, unquoted: key and action names are identifiers."""
    return schema.did_you_mean(word, choices, n=3, quote=False)


def key_code(key: str | int) -> int:
    """Resolve a key given in configuration to its code.

    Accepts ``"KEY_KP1"``, ``"kp1"`` (the ``KEY_`` prefix and case are
    optional), ``"BTN_LEFT"``, a code as int (``79``) or digits (``"79"``).
    Codes 0–9 are refused as ambiguous: in YAML ``1: rate_1`` would otherwise
    bind code 1 (``KEY_ESC``) rather than the key labelled 1.
    Raises ``KeyMapError`` with suggestions for a name the kernel does not know.
    """
    if isinstance(key, bool):
        raise KeyMapError([f"key {key!r} is not a key name or code"])
    if isinstance(key, int):
        if 0 <= key <= 9:
            # YAML reads ``1: rate_1`` as the integer 1, which is KEY_ESC, not the "1" key.
            raise KeyMapError(
                [
                    f"key {key} is ambiguous: write 'KEY_{key}' for the key labelled {key} "
                    f"(code {ecodes.ecodes[f'KEY_{key}']}) or its name ({key_name(key)}) "
                    f"for code {key}"
                ],
            )
        if 0 < key <= ecodes.KEY_MAX:
            return key
        raise KeyMapError([f"key code {key} is out of range 1..{ecodes.KEY_MAX}"])
    if not isinstance(key, str):
        raise KeyMapError([f"key {key!r} is not a key name or code"])
    text = key.strip()
    if text.isdigit():
        return key_code(int(text))
    upper = text.upper().replace("-", "_").replace(" ", "_")
    for candidate in (upper, "KEY_" + upper):
        if candidate in _KEY_CODES:
            return _KEY_CODES[candidate]
    if not upper.startswith(("KEY_", "BTN_")):
        upper = "KEY_" + upper
    raise KeyMapError([Problem("", f"unknown key name {key!r}", _did_you_mean(upper, _KEY_CODES))])


@dataclass(frozen=True)
class KeyMap:
    """An immutable binding of key codes to action names."""

    name: str
    bindings: Mapping[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "bindings", MappingProxyType(dict(self.bindings)))

    def action_for(self, code: int) -> str | None:
        return self.bindings.get(code)

    def keys_for(self, action: str) -> list[str]:
        """Key names bound to ``action`` (for help screens and the technician's test)."""
        return [key_name(c) for c, a in sorted(self.bindings.items()) if a == action]

    @property
    def actions(self) -> frozenset[str]:
        return frozenset(self.bindings.values())

    def to_config(self) -> dict[str, str]:
        """The map as configuration: ``{"KEY_KP1": "rate_1", ...}``."""
        return {key_name(c): a for c, a in sorted(self.bindings.items())}

    @classmethod
    def from_config(
        cls,
        config: Mapping[Any, Any],
        *,
        name: str = "custom",
        actions: Collection[str] | None = None,
        base: KeyMap | None = None,
    ) -> KeyMap:
        """Build a map from ``{key: action}``; every problem is reported at once.

        ``actions``, when given, is the vocabulary the app understands; an
        action outside it is an error (with a suggestion).  ``base`` is a map
        to extend: entries override it, and an entry whose action is ``None``
        or ``""`` removes that key from the base.
        """
        if not isinstance(config, Mapping):
            raise KeyMapError(
                [f"expected a mapping of key -> action, got {config!r}"], map_name=name
            )
        problems: list[Problem] = []
        bindings: dict[int, str] = dict(base.bindings) if base else {}
        seen: dict[int, Any] = {}
        for key, action in config.items():
            where = str(key)
            try:
                code = key_code(key)
            except KeyMapError as exc:
                problems.extend(p.under(where) for p in exc.problems)
                continue
            if code in seen:
                problems.append(
                    Problem(
                        where,
                        f"key {key!r} is the same key as {seen[code]!r} ({key_name(code)}); "
                        "bind each key once",
                    )
                )
                continue
            seen[code] = key
            if action is None or action == "":
                bindings.pop(code, None)
                continue
            if not isinstance(action, str) or not _ACTION_RE.match(action):
                problems.append(
                    Problem(where, f"action {action!r} must be a lower-case name like 'call_next'")
                )
                continue
            if actions is not None and action not in actions:
                hint = _did_you_mean(action, actions)
                problems.append(Problem(where, f"unknown action {action!r}", hint))
                continue
            bindings[code] = action
        if problems:
            raise KeyMapError(problems, map_name=name)
        return cls(name=name, bindings=bindings)


def _pairs(keys: Iterable[str], actions: Iterable[str]) -> dict[str, str]:
    return dict(zip(keys, actions, strict=True))


# In CALLER_ACTIONS order: call_next, recall, start, finish, no_show, transfer, pause, ...
_CALLER_KEYPAD_KEYS = (
    "KEY_KPENTER",
    "KEY_KPPLUS",
    "KEY_KP1",
    "KEY_KP0",
    "KEY_KPDOT",
    "KEY_KP2",
    "KEY_KP4",
    "KEY_KP5",
    "KEY_KP7",
    "KEY_KP8",
)

CALLER_DEFAULT = KeyMap.from_config(
    {
        **_pairs(_CALLER_KEYPAD_KEYS, CALLER_ACTIONS),
        **_pairs([f"KEY_F{i}" for i in range(1, 11)], CALLER_ACTIONS),
    },
    name="caller",
    actions=CALLER_ACTIONS,
)

EVALUATOR_DEFAULT = KeyMap.from_config(
    {
        **_pairs([f"KEY_{i}" for i in range(1, 6)], EVALUATOR_ACTIONS),
        **_pairs([f"KEY_KP{i}" for i in range(1, 6)], EVALUATOR_ACTIONS),
        **_pairs([f"KEY_F{i}" for i in range(1, 6)], EVALUATOR_ACTIONS),
    },
    name="evaluator",
    actions=EVALUATOR_ACTIONS,
)

#: Built-in maps by name, with the action vocabulary each one validates against.
BUILTIN_MAPS: Mapping[str, tuple[KeyMap, tuple[str, ...]]] = MappingProxyType(
    {
        "caller": (CALLER_DEFAULT, CALLER_ACTIONS),
        "evaluator": (EVALUATOR_DEFAULT, EVALUATOR_ACTIONS),
    }
)


def rating_level(action: str) -> int | None:
    """``"rate_1"`` -> 1 … ``"rate_5"`` -> 5; anything else -> ``None``."""
    if action in RATING_LABELS:
        return int(action.removeprefix("rate_"))
    return None


@schema.schema
@dataclass(frozen=True)
class ExtendingMap:
    """A map written as a built-in map plus changes: ``{base, keys, name}``."""

    base: Text | None = None  # a built-in map: caller, evaluator
    keys: dict[Any, Any] | None = None  # key -> action; an empty action removes the key
    name: Text | None = None


def keymap_from_config(
    config: Mapping[str, Any], *, name: str = "custom", actions: Collection[str] | None = None
) -> KeyMap:
    """A map from a config section, in either form.

    * plain: ``{"KEY_KP1": "rate_1", "KEY_F1": "call_next", 79: "rate_1"}``
    * extending a built-in: ``{"base": "caller", "keys": {"KEY_KP9": "logout",
      "KEY_KPDOT": null}}`` (null removes a default binding).  The base's
      action vocabulary is used for validation unless ``actions`` is given.
    """
    if isinstance(config, Mapping) and ("base" in config or "keys" in config):
        spec = schema.check(
            ExtendingMap, dict(config), source=f"key map {name!r}", error=KeyMapError
        )
        name = spec.name or name
        base: KeyMap | None = None
        if spec.base is not None:
            if spec.base not in BUILTIN_MAPS:
                hint = _did_you_mean(spec.base, BUILTIN_MAPS)
                raise KeyMapError(
                    [Problem("base", f"unknown base map {spec.base!r}", hint)], map_name=name
                )
            base, base_actions = BUILTIN_MAPS[spec.base]
            if actions is None:
                actions = base_actions
        try:
            return KeyMap.from_config(spec.keys or {}, name=name, actions=actions, base=base)
        except KeyMapError as exc:
            raise KeyMapError([p.under("keys") for p in exc.problems], map_name=name) from None
    return KeyMap.from_config(config, name=name, actions=actions)

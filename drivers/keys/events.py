"""Pure processing of evdev event streams: keys to actions, scanner keys to codes.

Both processors take real ``evdev.InputEvent`` objects one at a time
(``feed``) and return what they made of them as a list of small frozen
records.  Neither touches a device, a thread or the wall clock: time comes
from an injected monotonic clock (default ``time.monotonic``) or, when the
clock is ``None``, from the events' own timestamps.  ``tick()`` lets an idle
reader expire timers (storm recovery, a stale half-scanned code) without an
event arriving.

Kernel semantics honoured here: ``EV_KEY`` value 1 = down, 0 = up,
2 = autorepeat; ``SYN_DROPPED`` means the kernel's buffer overflowed, so every
event up to the next ``SYN_REPORT`` is discarded (and state rebuilt from
there); ``EV_MSC``/``MSC_SCAN`` and other types are ignored.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol

from evdev import InputEvent, ecodes

from drivers.keys.keymap import KeyMap, key_name

Clock = Callable[[], float]

KEY_UP, KEY_DOWN, KEY_REPEAT = 0, 1, 2


# -- what the processors emit -------------------------------------------------


@dataclass(frozen=True)
class KeyAction:
    """A mapped key was pressed: ``action`` is what the app should do."""

    action: str
    key: str
    code: int
    at: float


@dataclass(frozen=True)
class UnmappedKey:
    """A key with no action was pressed (shown by ``hall keys test``; apps ignore it)."""

    key: str
    code: int
    at: float


@dataclass(frozen=True)
class KeyStorm:
    """Too many presses too fast (stuck key, faulty device): presses are dropped from now."""

    at: float
    presses: int
    window_s: float


@dataclass(frozen=True)
class KeyStormOver:
    """The device was quiet long enough; presses count again."""

    at: float
    dropped: int


@dataclass(frozen=True)
class ScannedCode:
    """A barcode scanner finished a code (terminated by Enter)."""

    text: str
    at: float


@dataclass(frozen=True)
class CodeDiscarded:
    """A partial scan was thrown away: ``timeout``, ``too_long`` or ``events_dropped``."""

    reason: str
    length: int
    at: float


Output = KeyAction | UnmappedKey | KeyStorm | KeyStormOver | ScannedCode | CodeDiscarded


class EventProcessor(Protocol):
    """What ``KeyDevice`` feeds: ``KeyDecoder`` and ``WedgeAssembler`` both fit."""

    def feed(self, event: InputEvent) -> list[Output]: ...

    def tick(self, now: float | None = None) -> list[Output]: ...

    def reset(self) -> None: ...


class _SynDropGuard:
    """Tracks ``SYN_DROPPED``: events are unreliable until the next ``SYN_REPORT``."""

    def __init__(self) -> None:
        self.dropping = False

    def skip(self, event: InputEvent) -> bool:
        """True if ``event`` must be ignored (and updates the state)."""
        if event.type == ecodes.EV_SYN:
            if event.code == ecodes.SYN_DROPPED:
                self.dropping = True
                return True
            if event.code == ecodes.SYN_REPORT and self.dropping:
                self.dropping = False
                return True
        return self.dropping


def _now(clock: Clock | None, event: InputEvent | None, now: float | None) -> float | None:
    if now is not None:
        return now
    if clock is not None:
        return clock()
    if event is not None:
        return event.timestamp()
    return None


# -- keypads and evaluators ---------------------------------------------------


class KeyDecoder:
    """Turns key presses into actions through a ``KeyMap``, with storm protection.

    * key down (value 1) -> ``KeyAction``; key up is ignored; autorepeat
      (value 2) is ignored unless ``accept_repeat`` (then it counts as a press).
    * debounce: a second press of the same key within ``debounce_s`` of the
      last one seen is ignored (contact bounce, an impatient double press that
      would call two citizens).
    * storm: more than ``max_presses`` presses (any key, mapped or not) within
      ``window_s`` -> one ``KeyStorm``, then every press is dropped until the
      device has been quiet for ``quiet_s``; the next press or ``tick()``
      after that emits ``KeyStormOver`` and normal decoding resumes.
    """

    def __init__(
        self,
        keymap: KeyMap,
        *,
        clock: Clock | None = time.monotonic,
        debounce_s: float = 0.25,
        max_presses: int = 10,
        window_s: float = 1.0,
        quiet_s: float = 2.0,
        accept_repeat: bool = False,
    ) -> None:
        if max_presses < 1 or window_s <= 0 or quiet_s < 0 or debounce_s < 0:
            raise ValueError("max_presses >= 1, window_s > 0, quiet_s >= 0, debounce_s >= 0")
        self.keymap = keymap
        self._clock = clock
        self._debounce = debounce_s
        self._max = max_presses
        self._window = window_s
        self._quiet = quiet_s
        self._accept_repeat = accept_repeat
        self._syn = _SynDropGuard()
        self.reset()

    @property
    def debounce_s(self) -> float:
        """A second press of the same key within this is ignored (settable while reading:
        an app typing digits, such as the caller's keypad login, lowers it)."""
        return self._debounce

    @debounce_s.setter
    def debounce_s(self, value: float) -> None:
        if value < 0:
            raise ValueError("debounce_s >= 0")
        self._debounce = value

    def reset(self) -> None:
        """Forget timing state (after a reconnect)."""
        self._last_press: dict[int, float] = {}
        self._recent: deque[float] = deque()
        self._storm_since: float | None = None
        self._last_seen = 0.0
        self._dropped = 0
        self._syn.dropping = False

    @property
    def in_storm(self) -> bool:
        return self._storm_since is not None

    def feed(self, event: InputEvent) -> list[Output]:
        if self._syn.skip(event) or event.type != ecodes.EV_KEY:
            return []
        if event.value == KEY_DOWN or (event.value == KEY_REPEAT and self._accept_repeat):
            now = _now(self._clock, event, None)
            assert now is not None
            return self._press(event.code, now)
        return []

    def tick(self, now: float | None = None) -> list[Output]:
        """Let a quiet device leave storm mode without waiting for the next press."""
        now = _now(self._clock, None, now)
        if now is None or self._storm_since is None:
            return []
        return self._maybe_recover(now)

    def _maybe_recover(self, now: float) -> list[Output]:
        if self._storm_since is None:
            return []
        if now - self._last_seen >= self._quiet or now < self._last_seen:
            dropped, self._dropped = self._dropped, 0
            self._storm_since = None
            self._recent.clear()
            self._last_press.clear()
            return [KeyStormOver(at=now, dropped=dropped)]
        return []

    def _press(self, code: int, now: float) -> list[Output]:
        out = self._maybe_recover(now)
        if self._storm_since is not None:
            self._dropped += 1
            self._last_seen = now
            return out
        self._last_seen = now
        recent = self._recent
        while recent and not (0 <= now - recent[0] < self._window):
            recent.popleft()  # expired, or from before a clock step backwards
        recent.append(now)
        if len(recent) > self._max:
            self._storm_since = now
            self._dropped = 1
            out.append(KeyStorm(at=now, presses=len(recent), window_s=self._window))
            recent.clear()
            return out
        last = self._last_press.get(code)
        self._last_press[code] = now
        if last is not None and 0 <= now - last < self._debounce:
            return out
        action = self.keymap.action_for(code)
        if action is None:
            out.append(UnmappedKey(key=key_name(code), code=code, at=now))
        else:
            out.append(KeyAction(action=action, key=key_name(code), code=code, at=now))
        return out


# -- barcode scanners (keyboard wedge) ----------------------------------------


def _us_layout() -> Mapping[int, tuple[str, str]]:
    """US layout: key code -> (plain, shifted) character."""
    e = ecodes.ecodes
    table: dict[int, tuple[str, str]] = {}
    for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        table[e[f"KEY_{letter}"]] = (letter.lower(), letter)
    for digit, shifted in zip("1234567890", "!@#$%^&*()", strict=True):
        table[e[f"KEY_{digit}"]] = (digit, shifted)
    for name, plain, shifted in (
        ("MINUS", "-", "_"),
        ("EQUAL", "=", "+"),
        ("LEFTBRACE", "[", "{"),
        ("RIGHTBRACE", "]", "}"),
        ("BACKSLASH", "\\", "|"),
        ("SEMICOLON", ";", ":"),
        ("APOSTROPHE", "'", '"'),
        ("GRAVE", "`", "~"),
        ("COMMA", ",", "<"),
        ("DOT", ".", ">"),
        ("SLASH", "/", "?"),
        ("SPACE", " ", " "),
        ("102ND", "<", ">"),
    ):
        table[e[f"KEY_{name}"]] = (plain, shifted)
    # The numeric pad ignores Shift (and NumLock, which the kernel leaves to userspace).
    for digit in "0123456789":
        table[e[f"KEY_KP{digit}"]] = (digit, digit)
    for name, char in (
        ("KPMINUS", "-"),
        ("KPPLUS", "+"),
        ("KPASTERISK", "*"),
        ("KPSLASH", "/"),
        ("KPDOT", "."),
        ("KPEQUAL", "="),
        ("KPCOMMA", ","),
    ):
        table[e[f"KEY_{name}"]] = (char, char)
    return MappingProxyType(table)


US_LAYOUT = _us_layout()

# Ctrl + key -> ASCII control character (GS1 codes use GS = Ctrl+]).
_CONTROL_CHARS: Mapping[int, str] = MappingProxyType(
    {
        **{ecodes.ecodes[f"KEY_{c}"]: chr(ord(c) - 64) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
        ecodes.KEY_LEFTBRACE: "\x1b",
        ecodes.KEY_BACKSLASH: "\x1c",
        ecodes.KEY_RIGHTBRACE: "\x1d",
    }
)

_SHIFTS = frozenset({ecodes.KEY_LEFTSHIFT, ecodes.KEY_RIGHTSHIFT})
_CTRLS = frozenset({ecodes.KEY_LEFTCTRL, ecodes.KEY_RIGHTCTRL})
DEFAULT_TERMINATORS = frozenset({ecodes.KEY_ENTER, ecodes.KEY_KPENTER})


class WedgeAssembler:
    """Assembles the characters a keyboard-wedge barcode scanner types into codes.

    Shift (left or right, held) gives upper-case letters and shifted symbols
    of a US layout; CapsLock toggles letter case; Ctrl + letter gives control
    characters (GS1 separators).  A code ends at a terminator key (Enter or
    keypad Enter by default) and is emitted as ``ScannedCode``; an empty code
    is not emitted.  A gap longer than ``char_timeout_s`` between characters
    discards the partial code (``CodeDiscarded("timeout")``) and starts over
    with the new character.  A code longer than ``max_length`` is discarded
    (``CodeDiscarded("too_long")``) and the rest up to the terminator ignored.
    Keys with no character (arrows, F-keys, Alt …) are ignored.
    """

    def __init__(
        self,
        *,
        clock: Clock | None = time.monotonic,
        char_timeout_s: float = 0.2,
        max_length: int = 1024,
        terminators: frozenset[int] = DEFAULT_TERMINATORS,
        layout: Mapping[int, tuple[str, str]] = US_LAYOUT,
    ) -> None:
        if max_length < 1 or char_timeout_s <= 0:
            raise ValueError("max_length >= 1 and char_timeout_s > 0")
        self._clock = clock
        self._timeout = char_timeout_s
        self._max = max_length
        self._terminators = terminators
        self._layout = layout
        self._syn = _SynDropGuard()
        self.reset()

    def reset(self) -> None:
        """Forget modifiers and any partial code (after a reconnect)."""
        self._chars: list[str] = []
        self._last_char_at: float | None = None
        self._overflow = False
        self._shift: set[int] = set()
        self._ctrl: set[int] = set()
        self._capslock = False
        self._syn.dropping = False

    @property
    def pending(self) -> int:
        """Length of the partial code held so far."""
        return len(self._chars)

    def feed(self, event: InputEvent) -> list[Output]:
        if self._syn.skip(event):
            if self._syn.dropping:
                return self._discard_on_drop(event)
            return []
        if event.type != ecodes.EV_KEY:
            return []
        code, value = event.code, event.value
        if code in _SHIFTS or code in _CTRLS:
            held = self._shift if code in _SHIFTS else self._ctrl
            if value == KEY_DOWN:
                held.add(code)
            elif value == KEY_UP:
                held.discard(code)
            return []
        if value != KEY_DOWN:
            return []  # key up; autorepeat never comes from a scanner worth trusting
        now = _now(self._clock, event, None)
        assert now is not None
        if code == ecodes.KEY_CAPSLOCK:
            self._capslock = not self._capslock
            return []
        if code in self._terminators:
            return self._finish(now)
        char = self._char_for(code)
        if char is None:
            return []
        out = self._expire(now)
        self._last_char_at = now
        if self._overflow:
            return out
        self._chars.append(char)
        if len(self._chars) > self._max:
            out.append(CodeDiscarded(reason="too_long", length=len(self._chars), at=now))
            self._chars.clear()
            self._overflow = True
        return out

    def tick(self, now: float | None = None) -> list[Output]:
        """Discard a partial code whose scanner went silent."""
        now = _now(self._clock, None, now)
        if now is None:
            return []
        return self._expire(now)

    def _discard_on_drop(self, event: InputEvent) -> list[Output]:
        # Only the SYN_DROPPED itself reports; the rest of the broken packet is silent.
        if event.type == ecodes.EV_SYN and event.code == ecodes.SYN_DROPPED:
            length = len(self._chars)
            self.reset()
            self._syn.dropping = True
            at = _now(self._clock, event, None)
            assert at is not None
            return [CodeDiscarded(reason="events_dropped", length=length, at=at)] if length else []
        return []

    def _char_for(self, code: int) -> str | None:
        if self._ctrl:
            return _CONTROL_CHARS.get(code)
        pair = self._layout.get(code)
        if pair is None:
            return None
        plain, shifted = pair
        upper = bool(self._shift)
        if self._capslock and plain.isalpha():
            upper = not upper
        return shifted if upper else plain

    def _expire(self, now: float) -> list[Output]:
        last = self._last_char_at
        if last is None or 0 <= now - last <= self._timeout:
            return []
        length = len(self._chars)
        self._chars.clear()
        self._overflow = False
        self._last_char_at = None
        return [CodeDiscarded(reason="timeout", length=length, at=now)] if length else []

    def _finish(self, now: float) -> list[Output]:
        out = self._expire(now)
        text = "".join(self._chars)
        overflow = self._overflow
        self._chars.clear()
        self._overflow = False
        self._last_char_at = None
        if text and not overflow:
            out.append(ScannedCode(text=text, at=now))
        return out

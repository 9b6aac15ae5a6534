"""Keypads and evaluators for the Qt apps: evdev actions delivered on the GUI thread.

``KeyDevice`` calls back on its reader thread; ``KeyBridge`` re-emits each
action as a Qt signal, which a queued connection delivers on the GUI thread.
``feed`` runs the same decoder synchronously on the GUI thread (the bench,
and tools that already hold the events).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from evdev import InputEvent

from drivers.keys import (
    KeyAction,
    KeyDecoder,
    KeyDevice,
    KeyMap,
    Opener,
    Output,
    UnmappedKey,
    open_input_device,
)
from hall.ui.qt import QObject, Signal

log = logging.getLogger(__name__)

TYPING_DEBOUNCE_S = 0.04  # contact bounce is shorter; a quick double tap is longer


class KeyBridge(QObject):
    """``action(name)``, ``pressed(key, action)`` and ``status(text)`` arrive on the GUI thread.

    ``pressed`` comes for every key pressed, mapped or not (``action`` is ``""`` for a
    key without one), before its ``action``: an app that reads digits (the caller's
    keypad login) listens to it instead of ``action``.
    """

    action = Signal(str)
    pressed = Signal(str, str)
    status = Signal(str)

    def __init__(self, keymap: KeyMap, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.keymap = keymap
        self.decoder = KeyDecoder(keymap)
        self._debounce_s = self.decoder.debounce_s
        self.device: KeyDevice | None = None

    def typing(self, on: bool) -> None:
        """While digits are typed (``1001``), a key pressed twice quickly counts twice: only
        contact bounce is filtered; the usual debounce (one call per press) comes back
        after."""
        self.decoder.debounce_s = TYPING_DEBOUNCE_S if on else self._debounce_s

    def open(self, spec: str, *, opener: Opener = open_input_device) -> KeyDevice:
        """Read ``spec`` (``/dev/input/by-id/...``) on a thread, re-opening it after an unplug."""
        if self.device is not None:
            raise RuntimeError(f"already reading {self.device.spec}")
        self.device = KeyDevice(
            spec,
            self.decoder,
            on_action=self.action.emit,
            on_status=self.status.emit,
            on_output=self._output,
            opener=opener,
        )
        self.device.start()
        return self.device

    def _output(self, out: Output) -> None:
        """Every record the reader thread decoded: a pressed key, with its action or none."""
        if isinstance(out, KeyAction):
            self.pressed.emit(out.key, out.action)
        elif isinstance(out, UnmappedKey):
            self.pressed.emit(out.key, "")

    def feed(self, events: Iterable[InputEvent]) -> list[str]:
        """Decode events here and now; emits ``pressed`` and ``action`` for each (GUI
        thread only)."""
        actions = []
        for event in events:
            for out in self.decoder.feed(event):
                self._output(out)
                if isinstance(out, KeyAction):
                    actions.append(out.action)
                    self.action.emit(out.action)
        return actions

    def close(self) -> None:
        if self.device is not None:
            self.device.stop()
            self.device = None


def key_hint(keymap: KeyMap, action: str) -> str:
    """The first key bound to ``action``, short: ``KEY_KPENTER`` -> ``KPENTER``."""
    keys = keymap.keys_for(action)
    return keys[0].removeprefix("KEY_") if keys else ""

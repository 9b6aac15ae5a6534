"""Keys driver: clerk keypads, five-button evaluators and barcode scanners (python-evdev).

Typical use (an evaluator app)::

    from drivers.keys import EVALUATOR_DEFAULT, KeyDecoder, KeyDevice

    device = KeyDevice(
        "/dev/input/by-id/usb-XXXX-event-kbd",
        KeyDecoder(EVALUATOR_DEFAULT),
        on_action=lambda action: ...,  # "rate_1" … "rate_5"; runs on the reader thread
        on_status=lambda status: ...,  # "connected" / "disconnected" / "storm" / "storm_over"
    )
    device.start()
    ...
    device.stop()

Modules: ``keymap`` (maps as data), ``events`` (pure decoding), ``device``
(the reader thread), ``discovery`` (listing devices), ``simulator`` (a pipe-backed
device for tests and the demo), ``cli`` (``hall keys``).
"""

from drivers.keys.device import EventSource, KeyDevice, KeyStatus, Opener, open_input_device
from drivers.keys.discovery import FoundDevice, find_devices, guess_kind, locate
from drivers.keys.errors import KeyDeviceError
from drivers.keys.events import (
    CodeDiscarded,
    EventProcessor,
    KeyAction,
    KeyDecoder,
    KeyStorm,
    KeyStormOver,
    Output,
    ScannedCode,
    UnmappedKey,
    WedgeAssembler,
)
from drivers.keys.keymap import (
    ACTION_LABELS,
    BUILTIN_MAPS,
    CALLER_ACTIONS,
    CALLER_DEFAULT,
    EVALUATOR_ACTIONS,
    EVALUATOR_DEFAULT,
    RATING_LABELS,
    KeyMap,
    KeyMapError,
    key_code,
    key_name,
    keymap_from_config,
    rating_level,
)

__all__ = [
    "ACTION_LABELS",
    "BUILTIN_MAPS",
    "CALLER_ACTIONS",
    "CALLER_DEFAULT",
    "EVALUATOR_ACTIONS",
    "EVALUATOR_DEFAULT",
    "RATING_LABELS",
    "CodeDiscarded",
    "EventProcessor",
    "EventSource",
    "FoundDevice",
    "KeyAction",
    "KeyDecoder",
    "KeyDevice",
    "KeyDeviceError",
    "KeyMap",
    "KeyMapError",
    "KeyStatus",
    "KeyStorm",
    "KeyStormOver",
    "Opener",
    "Output",
    "ScannedCode",
    "UnmappedKey",
    "WedgeAssembler",
    "find_devices",
    "guess_kind",
    "key_code",
    "key_name",
    "keymap_from_config",
    "locate",
    "open_input_device",
    "rating_level",
]

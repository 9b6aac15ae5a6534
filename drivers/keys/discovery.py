"""Finding input devices: list ``/dev/input/event*``, guess what each one is, resolve specs.

A device is named in configuration by a *spec*:

* a path: ``/dev/input/by-id/usb-Newland_NLS-event-kbd`` (best: the by-id
  link survives re-plugging and follows the device to its new event node),
  ``/dev/hall-evaluator`` (a udev symlink) or ``/dev/input/event3``;
* ``by-id:TEXT``: the ``/dev/input/by-id`` link whose name contains TEXT;
* ``name:TEXT``: the device whose kernel name contains TEXT (case-insensitive).

Nothing here fails when ``/dev/input`` does not exist (containers, CI): the
list is simply empty.
"""

from __future__ import annotations

import errno
import glob
import os
import re
from collections.abc import Collection
from dataclasses import dataclass

from evdev import ecodes

from drivers.keys.errors import KeyDeviceError

INPUT_DIR = "/dev/input"

KINDS = ("keypad", "evaluator", "scanner", "keyboard", "other")

_SCANNER_WORDS = (
    "scanner",
    "barcode",
    "bar code",
    "scan",
    "honeywell",
    "zebra",
    "symbol",
    "datalogic",
    "newland",
    "zebex",
    "netum",
    "metrologic",
    "hand held products",
    "opticon",
    "扫码",
    "扫描",
)
_EVALUATOR_WORDS = ("evaluat", "satisf", "rating", "pingjia", "评价", "appraise", "feedback")
_KEYPAD_WORDS = ("keypad", "numpad", "numeric", "number pad", "caller", "jiaohao", "叫号")

_LETTERS = frozenset(ecodes.ecodes[f"KEY_{c}"] for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_KEYPAD_DIGITS = frozenset(ecodes.ecodes[f"KEY_KP{d}"] for d in range(10))
_RATING_KEYS = frozenset(
    ecodes.ecodes[name] for i in range(1, 6) for name in (f"KEY_{i}", f"KEY_KP{i}", f"KEY_F{i}")
)
_MODIFIERS = frozenset(
    {
        ecodes.KEY_LEFTSHIFT,
        ecodes.KEY_RIGHTSHIFT,
        ecodes.KEY_LEFTCTRL,
        ecodes.KEY_RIGHTCTRL,
        ecodes.KEY_LEFTALT,
        ecodes.KEY_RIGHTALT,
        ecodes.KEY_NUMLOCK,
        ecodes.KEY_ENTER,
        ecodes.KEY_KPENTER,
    }
)


def guess_kind(name: str, key_codes: Collection[int]) -> str:
    """A guess of what a device is, from its name and the keys it reports.

    Names decide first (scanners and evaluators usually say what they are);
    then capabilities: letters -> keyboard (many scanners also look like this),
    keypad digits without letters -> keypad, a handful of 1–5 / F1–F5 keys ->
    evaluator.  Anything without keys (mouse, power button) -> other.
    """
    lowered = name.lower()
    if any(word in lowered for word in _SCANNER_WORDS):
        return "scanner"
    if any(word in lowered for word in _EVALUATOR_WORDS):
        return "evaluator"
    if any(word in lowered for word in _KEYPAD_WORDS):
        return "keypad"
    keys = frozenset(key_codes)
    if len(keys & _LETTERS) >= 20:
        return "keyboard"
    if len(keys & _KEYPAD_DIGITS) >= 5:
        return "keypad"
    rating = keys & _RATING_KEYS
    if len(rating) >= 5 and not (keys - _RATING_KEYS - _MODIFIERS):
        return "evaluator"
    return "other"


@dataclass(frozen=True)
class FoundDevice:
    """One ``/dev/input/event*`` node as ``hall keys list`` shows it."""

    path: str
    name: str
    phys: str
    by_id: tuple[str, ...]
    kind: str
    key_count: int
    summary: str
    error: str | None = None


def _event_number(path: str) -> int:
    match = re.search(r"(\d+)$", path)
    return int(match.group(1)) if match else -1


def by_id_links(input_dir: str = INPUT_DIR) -> dict[str, list[str]]:
    """Real event node -> the ``by-id`` links pointing at it."""
    links: dict[str, list[str]] = {}
    for link in sorted(glob.glob(os.path.join(input_dir, "by-id", "*"))):
        links.setdefault(os.path.realpath(link), []).append(link)
    return links


def _summary(caps: dict[int, list[int]]) -> str:
    parts = []
    for ev_type in sorted(caps):
        if ev_type == ecodes.EV_SYN:
            continue
        type_name = ecodes.EV.get(ev_type, str(ev_type))
        if ev_type == ecodes.EV_KEY:
            parts.append(f"{type_name}({len(caps[ev_type])} keys)")
        else:
            parts.append(str(type_name))
    return ", ".join(parts)


def find_devices(input_dir: str = INPUT_DIR) -> list[FoundDevice]:
    """Every event node in ``input_dir`` with name, phys, capabilities and a kind guess.

    A node that cannot be opened (permissions) is listed with ``error`` set.
    """
    import evdev

    links = by_id_links(input_dir)
    found = []
    paths = sorted(glob.glob(os.path.join(input_dir, "event*")), key=_event_number)
    for path in paths:
        ids = tuple(links.get(os.path.realpath(path), ()))
        try:
            device = evdev.InputDevice(path, readonly=True)
        except OSError as exc:
            hint = (
                "add this user to group 'input' or install the hall udev rule"
                if exc.errno in (errno.EACCES, errno.EPERM)
                else exc.strerror or str(exc)
            )
            found.append(FoundDevice(path, "?", "", ids, "other", 0, "", error=hint))
            continue
        try:
            caps = device.capabilities(absinfo=False)
            keys = caps.get(ecodes.EV_KEY, [])
            found.append(
                FoundDevice(
                    path=path,
                    name=device.name,
                    phys=device.phys or "",
                    by_id=ids,
                    kind=guess_kind(device.name, keys),
                    key_count=len(keys),
                    summary=_summary(caps),
                )
            )
        finally:
            device.close()
    return found


def locate(spec: str, input_dir: str = INPUT_DIR) -> str:
    """The path to open for ``spec`` (see module doc); ``KeyDeviceError`` if none matches now."""
    if spec.startswith("by-id:"):
        text = spec.removeprefix("by-id:").lower()
        candidates = [
            link
            for link in sorted(glob.glob(os.path.join(input_dir, "by-id", "*")))
            if text in os.path.basename(link).lower()
        ]
        # A keyboard-like USB device has several interfaces; the key events are on -event-kbd.
        candidates.sort(key=lambda link: not link.endswith("-event-kbd"))
        if not candidates:
            raise KeyDeviceError(
                f"no /dev/input/by-id link contains {text!r}",
                device=spec,
                hint="is it plugged in? `hall keys list` shows what is there",
            )
        return candidates[0]
    if spec.startswith("name:"):
        text = spec.removeprefix("name:").lower()
        for device in find_devices(input_dir):
            if device.error is None and text in device.name.lower():
                return device.path
        raise KeyDeviceError(
            f"no input device named like {text!r}",
            device=spec,
            hint="is it plugged in? `hall keys list` shows names",
        )
    if not os.path.exists(spec):
        raise KeyDeviceError(
            "input device not present",
            device=spec,
            hint="is it plugged in? `hall keys list` shows what is there",
        )
    return spec

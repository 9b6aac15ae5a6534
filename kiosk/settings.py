"""The kiosk's own settings, declared as data with defaults (the hall's rules
come from the engine's catalogue; these are the machine's).

Loaded from an optional YAML file (``kiosk:`` mapping or a bare mapping);
unknown keys are refused with a suggestion, so a typo never goes unnoticed.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kiosk.identify import DEMO_SALT, load_salt


class SettingsError(ValueError):
    """A kiosk settings file is wrong; the message names the key."""


@dataclass(frozen=True)
class KioskSettings:
    device_id: str = "kiosk-1"  # the kiosk's device id in the hall config (role kiosk)
    elderly_age: int = 65  # green channel from this age on (from the ID's birth date)
    staff_pin: str = "2580"  # staff confirmation for disabled/pregnant/military (demo PIN)
    idle_timeout_s: float = 45.0  # no touch for this long: back to the start, forget the person
    ticket_timeout_s: float = 20.0  # the ticket screen stays this long after a good print
    problem_timeout_s: float = 120.0  # ... and this long when the ticket could not be printed
    message_timeout_s: float = 30.0  # refusal messages
    qr_base_url: str = "http://hall.local/q/{hall}/{ticket}"  # follow-the-queue URL in the QR
    common_items: tuple[str, ...] = ()  # item ids for the first screen; default: one per queue
    appointment_early_min: int = 30  # check in from this long before the slot ...
    appointment_late_min: int = 15  # ... until this long after its start
    printer_poll_s: float = 15.0  # printer status poll for staff alarms
    language: str = "zh"  # the language the kiosk starts in and returns to
    elderly_mode: bool = False  # start in 大字模式
    status_file: str | None = None  # JSON health file for staff/monitoring (None: not written)
    salt: bytes = field(default=DEMO_SALT, repr=False)  # person-key secret (kiosk.identify)

    def with_(self, **changes: Any) -> KioskSettings:
        return dataclasses.replace(self, **changes)


_FIELDS = {f.name: f for f in dataclasses.fields(KioskSettings)}
_FILE_KEYS = set(_FIELDS) - {"salt"} | {"salt_file"}


def settings_from_mapping(data: dict[str, Any], base: KioskSettings | None = None) -> KioskSettings:
    base = base or KioskSettings()
    if "kiosk" in data and isinstance(data["kiosk"], dict):
        data = data["kiosk"]
    changes: dict[str, Any] = {}
    for key, value in data.items():
        if key not in _FILE_KEYS:
            close = difflib.get_close_matches(key, sorted(_FILE_KEYS), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise SettingsError(f"kiosk settings: unknown key {key!r}{hint}")
        if key == "salt_file":
            changes["salt"] = load_salt(value)
            continue
        default = getattr(base, key)
        if key == "common_items":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise SettingsError("kiosk settings: common_items must be a list of item ids")
            value = tuple(value)
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise SettingsError(f"kiosk settings: {key} must be true or false")
        elif isinstance(default, int | float) and not isinstance(default, bool):
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise SettingsError(f"kiosk settings: {key} must be a number")
            value = type(default)(value)
        elif default is None or isinstance(default, str):
            if value is not None and not isinstance(value, str | int):
                raise SettingsError(f"kiosk settings: {key} must be text")
            value = None if value is None else str(value)
        changes[key] = value
    settings = dataclasses.replace(base, **changes)
    if settings.language not in ("zh", "en"):
        raise SettingsError("kiosk settings: language must be zh or en")
    if not settings.staff_pin.isdigit() or not 4 <= len(settings.staff_pin) <= 8:
        raise SettingsError("kiosk settings: staff_pin must be 4-8 digits")
    return settings


def load_settings(path: str | Path | None, base: KioskSettings | None = None) -> KioskSettings:
    """Settings from a YAML file (or the defaults when ``path`` is None)."""
    if path is None:
        return base or KioskSettings()
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise SettingsError(f"cannot read kiosk settings {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise SettingsError(f"kiosk settings {path}: expected a mapping")
    return settings_from_mapping(data, base)

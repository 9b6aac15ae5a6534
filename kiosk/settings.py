"""The kiosk's own settings, declared as data with defaults (the hall's rules
come from the engine's catalogue; these are the machine's).

Loaded from an optional YAML file (``kiosk:`` mapping or a bare mapping) and
checked with :mod:`hall.core.schema`: each field's type says what the file may
hold, unknown keys are refused with a suggestion, and every problem is
reported at once with its path, so a typo never goes unnoticed.

The field types are made, with pydantic and PyYAML, when a file is checked
(:func:`file_schema`): a kiosk started on the defaults paints its first frame
without loading them.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from hall.core import pins, schema
from hall.core.schema import Problem
from kiosk.identify import load_salt

if TYPE_CHECKING:  # made by _field_types() for the check
    from pydantic import Field

    from hall.core.schema import Bool, Name, Text

    Seconds = Annotated[float, Field(strict=True, gt=0)]
    Minutes = Annotated[int, Field(strict=True, ge=0)]

log = logging.getLogger(__name__)


class SettingsError(schema.ConfigError):
    """A kiosk settings file is wrong; ``problems`` names each key."""

    user_message = "取号机配置有误，请联系技术人员"


def _field_types() -> dict[str, Any]:
    """What the field types of :class:`KioskSettings` name (pydantic loads here)."""
    from pydantic import Field

    return {
        "Field": Field,
        "Bool": schema.Bool,
        "Name": schema.Name,
        "Text": schema.Text,
        "Seconds": Annotated[float, Field(strict=True, gt=0)],
        "Minutes": Annotated[int, Field(strict=True, ge=0)],
    }


@schema.schema
@dataclass(frozen=True)
class KioskSettings:
    device_id: Name = "kiosk-1"  # the kiosk's device id in the hall config (role kiosk)
    # green channel from this age on (from the ID's birth date)
    elderly_age: Annotated[int, Field(strict=True, ge=0, le=150)] = 65
    # 大字模式 for the visit of a card holder from this age on (from the card's birth date)
    large_text_age: Annotated[int, Field(strict=True, ge=0, le=150)] = 60
    # The staff PIN (green channel for disabled/pregnant/military, the re-print panel),
    # only as its salted hash (hall.core.pins), set per kiosk by `hall provision`.
    # None: no PIN configured, the staff panel is refused.
    staff_pin_hash: pins.PinHashText | None = field(default=None, repr=False)
    idle_timeout_s: Seconds = 45.0  # no touch for this long: back to the start, forget the person
    ticket_timeout_s: Seconds = 20.0  # the ticket screen stays this long after a good print
    problem_timeout_s: Seconds = 120.0  # ... and this long when the ticket could not be printed
    message_timeout_s: Seconds = 30.0  # refusal messages
    common_items: tuple[Name, ...] = ()  # item ids for the first screen; default: one per queue
    appointment_early_min: Minutes = 30  # check in from this long before the slot ...
    appointment_late_min: Minutes = 15  # ... until this long after its start
    # printer status poll for staff alarms (0: no poll)
    printer_poll_s: Annotated[float, Field(strict=True, ge=0)] = 15.0
    language: Literal["zh", "en"] = "zh"  # the language the kiosk starts in and returns to
    elderly_mode: Bool = False  # start in 大字模式
    status_file: Text | None = None  # JSON health file for staff/monitoring (None: not written)
    # the hall's person-key secret (kiosk.identify); None: none configured, the kiosk
    # makes a random one that holds until it restarts (and says so loudly)
    salt: bytes | None = field(default=None, repr=False)

    def with_(self, **changes: Any) -> KioskSettings:
        return dataclasses.replace(self, **changes)


@functools.cache
def file_schema() -> type[Any]:
    """What a settings file may set: any field but the person secret itself, which comes
    from a file, as the staff PIN's hash may too (``staff_pin_file``: what `hall
    provision` writes).  Made on the first check (``SETTINGS_FILE``)."""
    return schema.overrides_of(
        KioskSettings,
        drop=("salt",),
        extra={"salt_file": schema.Name, "staff_pin_file": schema.Name},
        names=_field_types(),
    )


def __getattr__(name: str) -> Any:
    if name == "SETTINGS_FILE":
        return file_schema()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


PLAIN_PIN = (
    "a PIN is never kept in plain: `hall provision` sets it and stores only its hash "
    "(staff_pin_hash, or the file staff_pin_file)"
)


def load_staff_pin_hash(path: str | Path) -> str | None:
    """The stored staff PIN in ``path`` (one line, :mod:`hall.core.pins` form), or None when
    the file does not exist (no PIN configured: the staff panel is refused).  A file that
    holds anything else raises ``ValueError``."""
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return pins.check_hash(text)


def settings_from_mapping(
    data: dict[str, Any], base: KioskSettings | None = None, *, source: str = "kiosk settings"
) -> KioskSettings:
    base = base or KioskSettings()
    at = ""
    if "kiosk" in data and isinstance(data["kiosk"], dict):
        data, at = data["kiosk"], "kiosk"
    if "staff_pin" in data:  # the old plain key: say why, not only "unknown key"
        where = f"{at}.staff_pin" if at else "staff_pin"
        raise SettingsError([Problem(where, PLAIN_PIN)], source=source)
    if "qr_base_url" in data:  # before #13; the QR is now the engine's follow_url
        data = {k: v for k, v in data.items() if k != "qr_base_url"}
        log.warning(
            "%s: qr_base_url is no longer used and is ignored: the ticket's QR is the "
            "engine's follow_url (the hall config's web.ticket_url)",
            source,
        )
    changes: dict[str, Any] = dict(
        schema.check(file_schema(), data, source=source, at=at, error=SettingsError)
    )
    salt_file = changes.pop("salt_file", None)
    if salt_file is not None:
        try:
            changes["salt"] = load_salt(salt_file)
        except (OSError, ValueError) as exc:
            where = f"{at}.salt_file" if at else "salt_file"
            raise SettingsError([Problem(where, str(exc))], source=source) from exc
    pin_file = changes.pop("staff_pin_file", None)
    if pin_file is not None:
        try:
            changes["staff_pin_hash"] = load_staff_pin_hash(pin_file)
        except (OSError, ValueError) as exc:
            where = f"{at}.staff_pin_file" if at else "staff_pin_file"
            raise SettingsError([Problem(where, str(exc))], source=source) from exc
    return dataclasses.replace(base, **changes)


def load_settings(path: str | Path | None, base: KioskSettings | None = None) -> KioskSettings:
    """Settings from a YAML file (or the defaults when ``path`` is None)."""
    if path is None:
        return base or KioskSettings()
    import yaml

    source = f"kiosk settings {path}"
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise SettingsError([Problem("", f"cannot read: {exc}")], source=source) from exc
    if not isinstance(data, dict):
        raise SettingsError([Problem("", "expected a mapping of settings")], source=source)
    return settings_from_mapping(data, base, source=source)

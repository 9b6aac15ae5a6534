"""Configuration pushed down by the center: validate, then apply atomically.

The center publishes RETAINED, versioned documents (schema ``configDocument``
in sync/asyncapi.yaml):

* ``hall/{hall}/sync/config`` for every device of a hall (scope ``hall``):
  the hall config (catalogue, queues, windows, staff, hours, holidays,
  notices; the same data as ``assets/halls/demo.yaml``) and shared sections;
* ``hall/{hall}/dev/{device}/sync/config`` for one device (scope ``device``):
  its voice settings, key map and role settings.

Each scope has its own version, which must increase.  A document is checked
completely before anything is written: the contract's schema, then the hall
config with :func:`kiosk.engine.config.parse_hall_config` (which names the bad
key), then any section validators a role registered.  Only then are the files
written, each through a temporary file, ``fsync`` and ``rename``, so a reader
sees the old file or the new one, never half of one; the version is recorded
last.  A rejected document changes nothing and the reason goes upstream as a
``config_rejected`` event.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hall.core.files import atomic_write as write_atomic
from sync import topics

log = logging.getLogger(__name__)

Validator = Callable[[Any], None]  # raises ValueError saying what is wrong
# Checks a whole hall config (the engine's schema, handed down by the ``hall`` command:
# sync never imports the engine) and returns its hall id; raises ValueError saying
# every problem.
HallCheck = Callable[[Any], str]
CONFIG_MODE = 0o640  # applied config files: the roles' user and group ``hall`` read them
SECTIONS = ("hall", "voice", "keys", "settings")


@dataclass(frozen=True)
class Outcome:
    """What became of one config document."""

    scope: str
    status: str  # applied | unchanged | rejected | ignored
    version: int | None
    reason: str = ""
    files: tuple[str, ...] = ()

    def event(self) -> tuple[str, dict[str, Any]] | None:
        """The outbox event reporting this outcome upstream, if any."""
        if self.status == "applied":
            return "config_applied", {
                "scope": self.scope,
                "version": self.version,
                "files": list(self.files),
            }
        if self.status == "rejected":
            return "config_rejected", {
                "scope": self.scope,
                "version": self.version,
                "reason": self.reason[:500],
            }
        return None


def _check_keys(data: Any) -> None:
    if not isinstance(data, dict):
        raise ValueError("keys: expected a mapping of key name to action")


@dataclass
class ConfigApplier:
    """Applies config documents for one device; keeps versions in ``versions.json``."""

    hall_id: str
    device_id: str
    config_dir: Path
    hall_config_path: Path | None = None
    validators: dict[str, Validator] = field(default_factory=dict)
    hall_check: HallCheck | None = None

    def __post_init__(self) -> None:
        self.config_dir = Path(self.config_dir)
        if self.hall_config_path is None:
            self.hall_config_path = self.config_dir / "hall.yaml"
        self.hall_config_path = Path(self.hall_config_path)
        self.validators.setdefault("keys", _check_keys)
        self._versions_path = self.config_dir / "versions.json"

    # ------------------------------------------------------------------ state

    def versions(self) -> dict[str, dict[str, int]]:
        try:
            data = json.loads(self._versions_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, json.JSONDecodeError) as exc:
            log.warning(
                "config versions file %s unreadable (%s); starting from 0", self._versions_path, exc
            )
            return {}
        return data if isinstance(data, dict) else {}

    def applied_version(self, scope: str) -> int:
        return int(self.versions().get(scope, {}).get("applied", 0))

    def _remember(self, scope: str, key: str, version: int) -> None:
        data = self.versions()
        data.setdefault(scope, {})[key] = version
        write_atomic(self._versions_path, json.dumps(data, indent=1, sort_keys=True).encode())

    def topic(self, scope: str) -> str:
        if scope == "hall":
            return topics.hall_config(self.hall_id)
        return topics.device_config(self.hall_id, self.device_id)

    def path_for(self, scope: str, section: str) -> Path:
        if section == "hall":
            assert self.hall_config_path is not None
            return self.hall_config_path
        folder = self.config_dir if scope == "hall" else self.config_dir / "device"
        return folder / f"{section}.json"

    # ------------------------------------------------------------------ apply

    def apply(self, scope: str, payload: Any) -> Outcome:
        """Validate and apply one document received on ``scope``'s topic."""
        if payload is None:  # the center cleared the retained message
            return Outcome(scope, "ignored", None, "empty message")
        version = payload.get("version") if isinstance(payload, dict) else None
        version = version if isinstance(version, int) and not isinstance(version, bool) else None
        versions = self.versions().get(scope, {})
        applied = int(versions.get("applied", 0))
        if version is not None and version == applied:
            return Outcome(scope, "unchanged", version)
        if version is not None and version == versions.get("rejected"):
            return Outcome(scope, "ignored", version, "already rejected")
        try:
            files = self._validate(scope, payload, applied)
        except ValueError as exc:
            reason = str(exc)
            log.error("rejected %s config version %s: %s", scope, version, reason)
            if version is not None:
                self._remember(scope, "rejected", version)
            return Outcome(scope, "rejected", version, reason)
        assert version is not None
        for path, data in files:
            # the hall config names the staff (phones, PIN hashes): owner and group only
            write_atomic(path, data, mode=CONFIG_MODE)
        self._remember(scope, "applied", version)
        names = tuple(str(p) for p, _ in files)
        log.info("applied %s config version %d (%s)", scope, version, ", ".join(names))
        return Outcome(scope, "applied", version, files=names)

    def unreadable(self, scope: str, reason: str) -> Outcome:
        """A message on ``scope``'s topic that is no JSON document (sync.inbound said why)."""
        log.error("rejected a %s config message: %s", scope, reason)
        return Outcome(scope, "rejected", None, f"not a config document: {reason}")

    def _validate(self, scope: str, payload: Any, applied: int) -> list[tuple[Path, bytes]]:
        from sync.contract import ContractError, validate

        try:
            validate(self.topic(scope), payload)
        except ContractError as exc:
            raise ValueError(f"does not match the config schema: {exc}") from None
        version: int = payload["version"]
        if version < applied:
            raise ValueError(f"version {version} is older than the applied version {applied}")
        files: list[tuple[Path, bytes]] = []
        for section in SECTIONS:
            if section not in payload:
                continue
            data = payload[section]
            if section == "hall":
                if scope != "hall":
                    raise ValueError("hall: the hall config comes on the hall-wide topic only")
                files.append((self.path_for(scope, section), self._hall_file(data, version)))
                continue
            check = self.validators.get(section)
            if check:
                check(data)
            body = json.dumps({"version": version, section: data}, ensure_ascii=False, indent=1)
            files.append((self.path_for(scope, section), body.encode()))
        if not files:
            raise ValueError("the document has no section to apply")
        return files

    def _hall_file(self, data: Any, version: int) -> bytes:
        if not isinstance(data, dict):
            raise ValueError("hall: expected the hall config mapping")
        if self.hall_check is None:
            raise ValueError("hall: this device cannot check a hall config, so it takes none")
        data = {**data, "version": version}
        hall_id = self.hall_check(data)
        if hall_id != self.hall_id:
            raise ValueError(
                f"hall config is for hall {hall_id!r}, this device is in {self.hall_id!r}"
            )
        check = self.validators.get("hall")
        if check:
            check(data)
        assert self.hall_config_path is not None
        if self.hall_config_path.suffix in (".yaml", ".yml"):
            import yaml

            text: str = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
            return text.encode()
        return json.dumps(data, ensure_ascii=False, indent=1).encode()

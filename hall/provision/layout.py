"""Where a device's files go (``--root``), the exit codes and the error provisioning stops with."""

from __future__ import annotations

import contextlib
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

from hall import device_config as dc

SOURCE = Path(__file__).resolve().parents[2] / "systemd"
DEMO_HALL = Path(__file__).resolve().parents[2] / "assets" / "halls" / "demo.yaml"
DEMO_NAME = "demo"  # --hall-config demo: the demo hall, only when asked for by this name
INSTALLED_HALL = "/opt/hall-edge/.venv/bin/hall"  # the path the shipped units name

EXIT_OK, EXIT_ERROR, EXIT_CONFIG, EXIT_TEST, EXIT_TAKEN, EXIT_INCOMPLETE = 0, 1, 2, 3, 4, 5


class ProvisionError(Exception):
    """Provisioning cannot go on; ``code`` is the exit code."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.code = code


class WizardAborted(ProvisionError):
    def __init__(self, message: str = "input ended: nothing was written") -> None:
        super().__init__(message, EXIT_CONFIG)


log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Layout:
    """The files of a device under ``root`` (``/`` on the device itself)."""

    root: Path = Path("/")

    @property
    def live(self) -> bool:
        return str(self.root) == "/"

    def path(self, device_path: str) -> Path:
        return self.root / device_path.lstrip("/")

    @property
    def device_config(self) -> Path:
        return self.path(dc.DEVICE_CONFIG)

    def env_file(self, unit_role: str) -> Path:
        return self.path(f"{dc.ETC_DIR}/{unit_role}.env")

    @property
    def data(self) -> Path:
        return self.path(dc.DATA_DIR)

    @property
    def units(self) -> Path:
        return self.path("/etc/systemd/system")

    @property
    def udev(self) -> Path:
        return self.path("/etc/udev/rules.d")

    @property
    def mosquitto(self) -> Path:
        return self.path("/etc/mosquitto")


def systemd_running() -> bool:
    """True when systemd is PID 1 here (the test ``sd_booted()`` makes)."""
    return Path("/run/systemd/system").is_dir()


def hall_executable() -> str:
    """The ``hall`` script of the environment running now (the units' ExecStart)."""
    candidate = Path(sys.prefix) / "bin" / "hall"
    if not candidate.exists():
        return INSTALLED_HALL
    with contextlib.suppress(OSError):  # a bundle's release: its stable path, not the folder's
        if Path(INSTALLED_HALL).resolve() == candidate.resolve():
            return INSTALLED_HALL
    return str(candidate)


def lookup_id(root: Path, database: str, name: str) -> int | None:
    """uid/gid of ``name`` in ``root``'s passwd/group (not this machine's when provisioning
    another tree)."""
    try:
        for line in (root / "etc" / database).read_text().splitlines():
            parts = line.split(":")
            if len(parts) > 3 and parts[0] == name:
                return int(parts[2])
    except (OSError, ValueError):
        return None
    return None

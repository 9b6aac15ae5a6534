"""The offline bundle installs exactly the wheels pinned in packaging/requirements.lock:
a dependency added to pyproject.toml without `make lock` would be missing on a device
installed from the bundle, so the lock must name every runtime dependency."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _name(requirement: str) -> str:
    """The canonical name of a requirement (PEP 503): ``PySide6-Essentials>=6.7`` ->
    ``pyside6-essentials``."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


def test_the_lock_pins_every_runtime_dependency_with_hashes() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    wanted = {_name(r) for r in project["project"]["dependencies"]}
    lock = (ROOT / "packaging" / "requirements.lock").read_text(encoding="utf-8")
    pinned = {
        _name(m.group(1)): m.group(2)
        for m in re.finditer(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", lock, re.MULTILINE)
    }
    missing = sorted(wanted - set(pinned))
    assert not missing, f"not in packaging/requirements.lock (run `make lock`): {missing}"
    blocks = re.split(r"\n(?=[A-Za-z0-9])", lock.strip())
    unhashed = [b.split("==")[0] for b in blocks if "==" in b and "--hash=sha256:" not in b]
    assert not unhashed, f"pinned without a hash: {unhashed}"

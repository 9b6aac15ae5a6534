"""The floors (``.importlinter``): the tree keeps them, and an arrow that runs back up, or
Qt or paho imported where they do not belong, breaks a contract."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("hall", "kiosk", "counter", "drivers", "sync")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def copy(tmp_path_factory) -> Path:
    """The packages and the contracts, copied: a test may add an import there."""
    root = tmp_path_factory.mktemp("floors")
    for name in PACKAGES:
        shutil.copytree(ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / ".importlinter", root)
    return root


def test_the_tree_keeps_every_contract():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        # a driver reaching up to the command that composes it
        ("drivers/idcard/codec.py", "import hall.cli", "Floors"),
        # the ground floor reaching into sync
        ("hall/core/clock.py", "import sync.topics", "Floors"),
        # sync knowing the engine (its config check is handed down instead)
        ("sync/config_apply.py", "import kiosk.engine.config", "Floors"),
        # the engine drawing
        ("kiosk/engine/engine.py", "import hall.ui.qtlink", "Floors"),
        # one app importing the other
        ("counter/display.py", "import kiosk.catalog", "apps never import"),
        ("kiosk/catalog.py", "import counter.texts", "kiosk never imports"),
        # Qt outside its import point, paho outside sync
        ("counter/paint.py", "import PySide6.QtGui", "PySide6"),
        ("hall/doctor.py", "import paho.mqtt.client", "paho-mqtt"),
    ],
)
def test_an_arrow_that_runs_back_up_breaks_a_contract(copy, module, line, contract):
    path = copy / module
    original = path.read_text(encoding="utf-8")
    path.write_text(original + f"\n{line}  # added by the test\n", encoding="utf-8")
    try:
        result = lint(copy)
    finally:
        path.write_text(original, encoding="utf-8")
    assert result.returncode != 0, result.stdout
    report = " ".join(result.stdout.split())  # lines are wrapped to the terminal
    assert f"{contract}" in report and "1 broken" in report, result.stdout
    kept_or_broken = report.split(contract, 1)[1]
    assert "BROKEN" in kept_or_broken.split("KEPT")[0], result.stdout
    assert module.removesuffix(".py").replace("/", ".") in result.stdout


def test_every_kiosk_module_is_on_the_apps_floor():
    """kiosk.engine lives inside kiosk/ one floor lower, so the kiosk's own modules are
    named one by one in the contract: a new one must be added there."""
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter", encoding="utf-8")
    layers = config["importlinter:contract:floors"]["layers"]
    named = {m.strip() for m in layers.replace("|", ":").replace("\n", ":").split(":")}
    modules = {
        f"kiosk.{p.stem}" if p.is_file() else f"kiosk.{p.name}"
        for p in (ROOT / "kiosk").iterdir()
        if (p.suffix == ".py" and p.stem != "__init__")
        or (p.is_dir() and (p / "__init__.py").exists())
    }
    missing = modules - named - {"kiosk.engine"}
    assert not missing, f"add to .importlinter's floors: {sorted(missing)}"


def test_every_top_floor_module_is_named():
    """hall/ holds the ground floor (core), the Qt plumbing (ui), the web app (web) and the
    top floor: the top floor's modules are named one by one, so a new one must be added
    there."""
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter", encoding="utf-8")
    top = config["importlinter:contract:floors"]["layers"].strip().splitlines()[0]
    named = {m.strip() for m in top.split(":")}
    modules = {
        f"hall.{p.stem}" if p.is_file() else f"hall.{p.name}"
        for p in (ROOT / "hall").iterdir()
        if (p.suffix == ".py" and p.stem != "__init__")
        or (p.is_dir() and (p / "__init__.py").exists())
    }
    missing = modules - named - {"hall.core", "hall.ui", "hall.web"}  # lower floors
    assert not missing, f"add to .importlinter's top floor: {sorted(missing)}"

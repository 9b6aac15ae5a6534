"""python-escpos's printer database, parsed once per machine instead of at every start.

At import python-escpos reads its ``capabilities.json`` (about 1 MB) with PyYAML's
pure-Python parser (0.7 s of a kiosk's start) unless a pickle of it lies in
``ESCPOS_CAPABILITIES_PICKLE_DIR``, which defaults to a new temporary folder in
every process: never found, and one folder left behind per start.  Imported by
the modules that load python-escpos (the codec, the USB link) before they do: the
pickle is written here (JSON parsed by the C parser, replaced atomically, so a
process starting at the same moment never reads half of it) in the user's own
cache folder, and python-escpos loads it.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import platform
import tempfile
from importlib.util import find_spec
from pathlib import Path

log = logging.getLogger(__name__)

ENV = "ESCPOS_CAPABILITIES_PICKLE_DIR"


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hall-edge" / "escpos"


def prepare() -> None:
    """Point python-escpos at a pickle of its database (made now if missing)."""
    if ENV in os.environ:
        return
    spec = find_spec("escpos")
    if spec is None or not spec.submodule_search_locations:
        return
    source = Path(next(iter(spec.submodule_search_locations))) / "capabilities.json"
    folder = cache_dir()
    target = folder / f"{platform.python_version()}.capabilities.pickle"
    try:
        if not target.exists() or target.stat().st_mtime < source.stat().st_mtime:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            data = json.loads(source.read_text(encoding="utf-8"))
            fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
            with os.fdopen(fd, "wb") as f:
                pickle.dump(data, f, protocol=2)
            os.replace(tmp, target)
    except (OSError, ValueError) as exc:  # no cache: python-escpos parses it itself
        log.info("no cache for python-escpos's printer database: %s", exc)
        return
    os.environ[ENV] = str(folder)


prepare()

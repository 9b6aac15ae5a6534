"""``hall bench voice``: how long each announcement lasts with the hall's voice pack.

The pack is the counter settings' ``voice.pack`` (``HALL_COUNTER_SETTINGS``;
the default pack without one).  The codes and windows are the demo hall's,
and each kind is measured for the ones that take longest to say, joined as
the announcer joins them; the floor is the clips' speech without silence,
measured in the same run, and the ratio is length / floor.  Also the issue's
example, A001 at window 3.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

DEMO_HALL = Path(__file__).resolve().parents[2] / "assets" / "halls" / "demo.yaml"


def demo_codes_and_windows(hall: Path = DEMO_HALL) -> tuple[list[str], list[str]]:
    """Every ticket code the demo hall can issue (formatted as the engine does) and its windows."""
    from kiosk.engine.config import load_hall_config

    config = load_hall_config(hall)
    codes = []
    for q in config.queues:
        width = max(3, len(str(q.last_number)))  # kiosk.engine.engine.QueueEngine.issue
        codes += [f"{q.prefix}{n:0{width}d}" for n in range(q.first_number, q.last_number + 1)]
    return codes, [w.id for w in config.windows]


def run(args: argparse.Namespace) -> dict[str, Any]:
    from counter.settings import load_settings
    from hall.ui.voice.measure import KINDS, length, lengths
    from hall.ui.voice.pack import DEFAULT_PACK, VoicePack

    settings = load_settings(None)
    pack = VoicePack(settings.voice.pack or DEFAULT_PACK)
    codes, windows = demo_codes_and_windows()
    worst = lengths(pack, codes, windows, times=settings.voice.times)
    manifest = pack.manifest() or {}
    out: dict[str, Any] = {
        "bench": "voice",
        "pack": str(pack.directory),
        "generator": manifest.get("generator", "recorded"),
        "style": manifest.get("style", ""),
        "longest": {"code": worst["call"].code, "window": worst["call"].window},
    }
    for kind, _, _ in KINDS:
        m = worst[kind]
        out[f"{kind}_s"] = m.seconds
        out[f"{kind}_floor_s"] = m.speech_s
        out[f"{kind}_floor_ratio"] = round(m.ratio, 2)
    for kind in ("call", "recall"):
        out[f"a001_w3_{kind}_s"] = length(pack, kind, "A001", "3").seconds
    out["chime_s"] = round(pack.duration_s(["chime"]), 3)
    out["gaps_ms"] = {"between_clips": pack.gap_ms, "after_chime": pack.chime_gap_ms}
    return out

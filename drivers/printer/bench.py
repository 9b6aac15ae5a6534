"""``hall bench ticket``: ticket size (native vs all-raster) and build time."""

from __future__ import annotations

import argparse
import time

from drivers.printer.escpos_codec import build_ticket
from drivers.printer.profiles import get_profile
from drivers.printer.ticket import sample_ticket
from hall.bench import percentile


def run(args: argparse.Namespace) -> dict[str, object]:
    profile = get_profile("80mm")
    ticket = sample_ticket()
    native = build_ticket(ticket, profile)
    raster = build_ticket(ticket, profile, force_raster=True)
    runs = 100 if getattr(args, "quick", False) else 500
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        build_ticket(ticket, profile)
        timings.append(time.perf_counter() - start)
    timings.sort()
    p99 = percentile(timings, 99)
    return {
        "bench": "ticket",
        "bytes": len(native),
        "raster_bytes": len(raster),
        "render_ms_p99": round(p99 * 1000, 3),
    }

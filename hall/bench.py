"""``hall bench NAME``: benchmarks print exactly one JSON line of figures.

Each benchmark is a function ``run(args) -> dict`` in the module that owns the
code it measures.  CI never asserts on these numbers; people read them.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import sys

BENCHES: dict[str, str] = {
    "queue": "kiosk.engine.bench:run",
    "ticket": "drivers.printer.bench:run",
    "startup": "kiosk.bench:run",
    "call": "counter.bench:run",
    "sync": "sync.bench:run",
}


def percentile(values: list[float], pct: float) -> float:
    """The nearest-rank percentile (``pct`` in 0..100) of ``values``; 0.0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(pct / 100 * len(ordered))))
    return ordered[rank - 1]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("bench", help="run a benchmark and print one JSON line")
    p.add_argument("name", choices=sorted(BENCHES))
    p.add_argument("--quick", action="store_true", help="smaller sizes (for smoke tests)")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    module_name, func_name = BENCHES[args.name].split(":")
    func = getattr(importlib.import_module(module_name), func_name)
    results = func(args)
    if isinstance(results, dict):
        results = [results]
    for line in results:
        sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
    sys.stdout.flush()
    return 0

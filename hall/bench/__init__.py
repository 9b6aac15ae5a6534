"""``hall bench NAME``: benchmarks print exactly one JSON line of figures.

Each benchmark is a function ``run(args) -> dict`` in a module of this package,
named after the benchmark; it measures the code of the floors below and, in the
same run, the floor it is bounded by.  CI never asserts on these numbers;
people read them.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys

BENCHES: dict[str, str] = {
    "queue": "hall.bench.queue:run",
    "ticket": "hall.bench.ticket:run",
    "startup": "hall.bench.startup:run",
    "call": "hall.bench.call:run",
    "sync": "hall.bench.sync:run",
    "web": "hall.bench.web:run",
    "voice": "hall.bench.voice:run",
    "center": "hall.bench.center:run",
}


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("bench", help="run a benchmark and print one JSON line")
    p.add_argument("name", choices=sorted(BENCHES))
    p.add_argument("--quick", action="store_true", help="smaller sizes (for smoke tests)")
    p.add_argument(
        "options", nargs=argparse.REMAINDER, help="the benchmark's own flags (hall bench center)"
    )
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    options = list(getattr(args, "options", None) or [])
    if "--quick" in options:  # what follows the name is the benchmark's, --quick included
        options.remove("--quick")
        args.quick = True
    args.options = options
    module_name, func_name = BENCHES[args.name].split(":")
    func = getattr(importlib.import_module(module_name), func_name)
    results = func(args)
    if isinstance(results, dict):
        results = [results]
    for line in results:
        sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
    sys.stdout.flush()
    return 0

"""``hall bench ticket``: the tickets citizens really get, in bytes, against the floor.

The tickets are the kiosk's own: the demo hall's queue engine (SQLite in a
temporary folder, a fake clock on a working morning) issues one ticket for
every item of the hall, each to a citizen with an ID card (a masked name) and
with people already waiting; the kiosk's ticketing code turns each answer
into the ticket it prints (``issued_from_result`` -> ``ticket_data``, as
``kiosk.printing`` does); the codec builds the bytes on every printer profile,
once with a GB2312 font and once with GB18030.

Figures (one JSON line):

* ``bytes``, ``raster_bytes``, ``render_ms_p99``: the sample ticket on 80 mm,
  native and all-raster, and its build time (comparable with earlier runs);
* ``tickets``: demo tickets built (items x profiles x charsets);
* ``max_bytes``, ``median_bytes``, ``max_ticket``: the largest and the (lower) median
  of them, and which one is the largest;
* ``raster_ops``: ``GS v 0`` images among all of them (lines the printer's
  font could not print);
* ``floor_bytes``: the largest ticket's characters alone (every text line in
  GB18030, one byte per line break, the QR payload) - no encoding of that
  ticket can be smaller; ``ratio``: ``max_bytes / floor_bytes``;
* ``max_wire_s_9600``: the largest ticket on a 9600-baud serial line (10 bits
  a byte), the slowest link a kiosk printer has.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from drivers.printer.escpos_codec import build_ticket
from drivers.printer.profiles import PROFILES, PrinterProfile, get_profile
from drivers.printer.stream import iter_ops
from drivers.printer.ticket import TicketData, layout_for, layout_lines, sample_ticket
from hall.core.stats import percentile

DEMO_HALL = Path(__file__).resolve().parents[2] / "assets" / "halls" / "demo.yaml"
CHARSETS = ("gb2312", "gb18030")
SERIAL_BAUD = 9600
#: Citizens for the demo tickets: names as on ID cards (one with the ID card's middle dot).
NAMES = ("张小三", "欧阳晓明", "李娜", "阿卜杜·热合曼", "王建国", "陈静", "刘德华", "赵敏")
WAITING_BEFORE = 23  # tickets already waiting in each queue: a two-digit "前面等候"


@dataclass(frozen=True)
class DemoTicket:
    item_id: str
    data: TicketData


def demo_tickets(hall: Path = DEMO_HALL) -> list[DemoTicket]:
    """One ticket per item of the demo hall, as the kiosk would print it."""
    from hall.core.clock import FakeClock
    from hall.core.privacy import mask_name, person_key
    from kiosk.catalog import parse_catalog
    from kiosk.engine.config import load_hall_config
    from kiosk.engine.engine import QueueEngine
    from kiosk.engine.service import EngineService, _issued
    from kiosk.ticketing import issued_from_result, ticket_data

    config = load_hall_config(hall)
    clock = FakeClock(datetime(2026, 11, 23, 9, 30))  # a Monday morning
    salt = os.urandom(16)  # the bench's own: person keys only need to be well-formed here
    with tempfile.TemporaryDirectory(prefix="bench-ticket-") as tmp:
        engine = QueueEngine(config, Path(tmp) / "engine.db", clock=clock)
        try:
            catalog = parse_catalog(_published_catalog(engine, EngineService))
            for queue in config.queues:
                for _ in range(WAITING_BEFORE):
                    engine.issue(queue_id=queue.id)
            out = []
            for n, item in enumerate(config.items):
                name = NAMES[n % len(NAMES)]
                issued = engine.issue(
                    item_id=item.id,
                    person_key=person_key(f"11010119900307{n:03d}X", salt),
                    masked_name=mask_name(name),
                )
                ticket = issued_from_result(_issued(issued), catalog, now=clock.now())
                out.append(DemoTicket(item.id, ticket_data(ticket)))
            return out
        finally:
            engine.close()


def _published_catalog(engine: object, service_cls: type) -> dict[str, object]:
    """The catalogue exactly as the engine publishes it to the kiosks."""

    published: list[dict[str, object]] = []

    class Recorder:  # the service's publishing side, captured
        def publish(self, topic: str, payload: dict[str, object], **_kw: object) -> None:
            published.append(payload)

    service_cls(engine, Recorder()).publish_catalog()
    return published[-1]


def floor_bytes(ticket: TicketData, profile: PrinterProfile) -> int:
    """The ticket's characters alone: no encoding of it can send fewer bytes."""
    total = 0
    for line in layout_lines(ticket, layout_for(profile.paper_mm), profile.columns):
        if line.kind == "qr":
            total += len(line.text.encode())
        else:
            total += len(line.text.encode("gb18030")) + 1
    return total


def run(args: argparse.Namespace) -> dict[str, object]:
    profile = get_profile("80mm")
    sample = sample_ticket()
    native = build_ticket(sample, profile)
    raster = build_ticket(sample, profile, force_raster=True)
    runs = 100 if getattr(args, "quick", False) else 500
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        build_ticket(sample, profile)
        timings.append(time.perf_counter() - start)

    built: list[tuple[int, str, TicketData, PrinterProfile]] = []
    raster_ops = 0
    for demo in demo_tickets():
        for base in PROFILES.values():
            for charset in CHARSETS:
                p = base.with_(charset=charset)
                data = build_ticket(demo.data, p)
                raster_ops += sum(op.name == "raster" for op in iter_ops(data))
                label = f"{p.name}/{charset} {demo.data.number} {demo.data.item_name}"
                built.append((len(data), label, demo.data, p))
    sizes = [b[0] for b in built]
    biggest, label, ticket, p = max(built, key=lambda b: b[0])
    floor = floor_bytes(ticket, p)
    return {
        "bench": "ticket",
        "bytes": len(native),
        "raster_bytes": len(raster),
        "render_ms_p99": round(percentile(timings, 99) * 1000, 3),
        "tickets": len(built),
        "max_bytes": biggest,
        "median_bytes": statistics.median_low(sizes),
        "max_ticket": label,
        "raster_ops": raster_ops,
        "floor_bytes": floor,
        "ratio": round(biggest / floor, 2),
        "max_wire_s_9600": round(biggest * 10 / SERIAL_BAUD, 2),
    }

"""``hall demo``: the whole hall on one machine, on simulated devices.

It starts a private Mosquitto on a free port, the queue engine with the demo
hall (``assets/halls/demo.yaml``), the device simulators (ID card reader and
ticket printer on ptys), every role's app in one Qt process (kiosk, clerk
caller, window display, hall board and evaluator) and ``hall web`` in its own
process (the tickets' QR codes open its citizen's page; it prints the
manager console's address).  With a screen, a person takes a number, calls
it, sees it and rates it.  With no screen (or ``--offscreen``) it runs a
scripted day unattended on an accelerated clock and writes a report and a
screenshot of every app and of both web pages.

The engine's clock is a scaled clock that starts at 09:00 on a working day,
so the demo works on a Sunday night too.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import logging
import os
import random
import shutil
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from hall.core.appliance import run_stops
from hall.core.clock import CHINA
from hall.demo_apps import DEMO_MANAGER_PASSWORD, DEMO_PIN

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parent.parent
DEMO_HALL = ROOT / "assets" / "halls" / "demo.yaml"

# The demo hall's secrets, for the demo only (a provisioned device never has them:
# `hall provision` sets each kiosk's staff PIN and makes each hall's salt).


class ScaledClock:
    """Wall time that starts at ``start`` and runs ``speed`` times faster than real time."""

    def __init__(self, start: datetime, speed: float = 1.0) -> None:
        self.start = start
        self.speed = speed
        self._t0 = time.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(time.monotonic() - self._t0) * self.speed)

    def monotonic(self) -> float:
        return (time.monotonic() - self._t0) * self.speed


def next_working_morning(config: Any, today: date | None = None) -> datetime:
    """09:00 on the first day from today on which the hall is open."""
    from kiosk.engine.hours import sessions_on

    day = today or datetime.now(CHINA).date()
    for _ in range(30):
        sessions = sessions_on(config.hours, day)
        if sessions:
            return datetime.combine(day, sessions[0][0], tzinfo=CHINA)
        day += timedelta(days=1)
    raise RuntimeError("the demo hall has no opening hours in the next 30 days")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("demo", help="run the whole hall on simulated devices")
    p.add_argument(
        "--offscreen",
        action="store_true",
        help="no screen: run a scripted day unattended (default when no display)",
    )
    p.add_argument(
        "--minutes", type=float, default=2.0, help="real minutes the scripted day runs (offscreen)"
    )
    p.add_argument(
        "--speed",
        type=float,
        default=None,
        help="hall minutes per real minute (default: a full day in --minutes)",
    )
    p.add_argument(
        "--report",
        default="artifacts/demo-report.json",
        help="where the scripted day writes what happened",
    )
    p.add_argument(
        "--screenshots",
        default="artifacts/demo-screenshots",
        help="folder for a screenshot of every app",
    )
    p.add_argument("--workdir", default=None, help="state folder (default: a temp folder)")
    p.add_argument("--seed", type=int, default=7)
    p.set_defaults(func=main)


# --------------------------------------------------------------------------- the scripted day


@dataclass
class DayReport:
    issued: list[str] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)
    called: int = 0
    served: int = 0
    no_show: int = 0
    rated: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)


class ScriptedHall:
    """Citizens and clerks acting through the hall plane, as real devices do."""

    def __init__(
        self,
        broker: Any,
        hall_id: str,
        config: Any,
        clock: ScaledClock,
        seed: int,
        apps: Any = None,
    ) -> None:
        from sync.mqtt import MqttLink

        self.config = config
        self.clock = clock
        self.apps = apps
        self.rng = random.Random(seed)
        self.report = DayReport()
        self.hall_id = hall_id
        self._stop = threading.Event()
        self.links: dict[str, MqttLink] = {}
        for device in config.devices:
            if device.role in ("kiosk", "caller", "evaluator"):
                self.links[device.id] = MqttLink(
                    host=broker.host,
                    port=broker.port,
                    hall_id=hall_id,
                    device_id=f"{device.id}",
                    role=device.role,
                    presence=False,
                ).start()
        self.threads: list[threading.Thread] = []

    def request(self, device_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        from sync import topics
        from sync.mqtt import LinkError

        link = self.links[device_id]
        try:
            response: dict[str, Any] = link.request(
                topics.command(self.hall_id, device_id), payload, timeout=5
            )
        except LinkError as exc:
            self.report.errors.append(f"{device_id} {payload['cmd']}: {exc}")
            return {"ok": False, "error": {"code": "link_down"}}
        return response

    def hall_sleep(self, minutes: float) -> bool:
        """Wait ``minutes`` of hall time; False when the day is over."""
        return not self._stop.wait(minutes * 60 / self.clock.speed)

    def citizens(self) -> None:
        items = [i for i in self.config.items]
        while self.hall_sleep(self.rng.expovariate(1 / 2.5)):
            item = self.rng.choice(items)
            if self.apps is not None and self.apps.kiosk_available():
                # This citizen uses the real kiosk app: taps, swipes, gets a printed ticket.
                self.apps.kiosk_visit(item.id, self._card() if item.requires_id else None)
                continue
            payload: dict[str, Any] = {"cmd": "issue", "item": item.id}
            if item.requires_id or self.rng.random() < 0.3:
                payload["person_key"] = f"{self.rng.getrandbits(128):032x}"
                payload["masked_name"] = self.rng.choice(["张*", "李*华", "王*", "陈*明"])
            if self.rng.random() < 0.1:
                payload["priority_reason"] = "elderly"
            r = self.request("kiosk-1", payload)
            if r["ok"]:
                self.report.issued.append(r["result"]["ticket"]["code"])
            else:
                self.report.refused[r["error"]["code"]] += 1

    def _card(self) -> Any:
        """A made-up resident ID card for a scripted citizen (valid check digit)."""
        from drivers.idcard.sim import fake_id_number, make_card

        year, month, day = (
            self.rng.randint(1940, 2004),
            self.rng.randint(1, 12),
            self.rng.randint(1, 28),
        )
        birth = f"{year}{month:02d}{day:02d}"
        number = fake_id_number(birth=birth, seq=f"{self.rng.randint(100, 999)}")
        name = self.rng.choice(["张三", "李晓华", "王芳", "陈明"])
        return make_card("resident", name=name, birth=birth, id_number=number)

    def clerk(
        self, window_id: str, caller_id: str, staff_id: str, evaluator_id: str | None
    ) -> None:
        r = self.request(caller_id, {"cmd": "login", "clerk": staff_id, "pin": DEMO_PIN})
        if not r["ok"]:
            return
        while not self._stop.is_set():
            r = self.request(caller_id, {"cmd": "call_next"})
            if not r["ok"] or r["result"]["ticket"] is None:
                if not self.hall_sleep(2):
                    break
                continue
            self.report.called += 1
            ticket = r["result"]["ticket"]
            if self.rng.random() < 0.05:
                self.request(caller_id, {"cmd": "no_show"})
                self.report.no_show += 1
                continue
            self.request(caller_id, {"cmd": "start"})
            if not self.hall_sleep(self.rng.uniform(3, 12)):
                break
            if self.request(caller_id, {"cmd": "finish"})["ok"]:
                self.report.served += 1
                if evaluator_id:
                    self.rate(evaluator_id, ticket["id"])
        self.request(caller_id, {"cmd": "finish"})

    def rate(self, evaluator_id: str, ticket_id: str) -> None:
        import uuid

        level = self.rng.choices([1, 2, 3, 4, 5, None], weights=[60, 25, 8, 3, 1, 3])[0]
        rating: dict[str, Any] = {
            "rating_id": str(uuid.uuid4()),
            "ticket_id": ticket_id,
            "level": level,
        }
        if level is not None and level >= 4:
            rating["reasons"] = ["等候时间长"]
        r = self.request(evaluator_id, {"cmd": "rate", "rating": rating})
        if r["ok"]:
            self.report.rated[str(level) if level else "unrated"] += 1

    def start(self, *, with_caller_app: bool = False) -> None:
        self.threads.append(threading.Thread(target=self.citizens, name="citizens", daemon=True))
        evaluators = {d.window: d.id for d in self.config.devices if d.role == "evaluator"}
        staff = [s.id for s in self.config.staff]
        callers = [d for d in self.config.devices if d.role == "caller"]
        for n, device in enumerate(callers):
            if with_caller_app and device.window == "1":
                continue  # window 1 is the clerk at the on-screen caller
            self.threads.append(
                threading.Thread(
                    target=self.clerk,
                    name=f"clerk-{device.window}",
                    daemon=True,
                    args=(
                        device.window,
                        device.id,
                        staff[n % len(staff)],
                        evaluators.get(device.window),
                    ),
                )
            )
        for t in self.threads:
            t.start()

    def stop(self) -> None:
        self._stop.set()
        for t in self.threads:
            t.join(10)
        for link in self.links.values():
            link.stop()


# --------------------------------------------------------------------------- the apps


def _waiting_token(engine: Any) -> str | None:
    """The page to photograph: a ticket still waiting, else the day's last one."""
    row = engine.conn.execute(
        "SELECT token FROM tickets WHERE business_date=? AND token IS NOT NULL "
        "ORDER BY status='waiting' DESC, sort_key DESC LIMIT 1",
        (engine.business_date(),),
    ).fetchone()
    return row[0] if row else None


def _optional(module: str, name: str) -> Any:
    """A role app class if that role is built; the demo runs without it otherwise."""
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        log.warning("demo: %s.%s not available (%s)", module, name, exc)
        return None


def main(args: argparse.Namespace) -> int:
    from kiosk.engine.config import load_hall_config
    from kiosk.engine.engine import QueueEngine
    from kiosk.engine.service import EngineService
    from sync.broker import Mosquitto
    from sync.mqtt import MqttLink

    headless = args.offscreen or not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    )
    if headless:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="hall-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    config = load_hall_config(DEMO_HALL)
    day_minutes = 8 * 60
    speed = args.speed or (day_minutes / args.minutes if headless else 1.0)
    clock = ScaledClock(next_working_morning(config), speed)
    print(
        f"hall demo: state in {workdir}; hall clock starts {clock.start:%Y-%m-%d %H:%M}, "
        f"x{speed:.0f}",
        flush=True,
    )

    # The tickets' QR codes open the demo's own web role (a hall uses its guest network's name).
    from hall.demo_web import DemoWeb, free_port

    web_port = free_port()
    config = dataclasses.replace(
        config,
        web=dataclasses.replace(config.web, ticket_url=f"http://127.0.0.1:{web_port}/t/{{token}}"),
    )
    broker = Mosquitto(workdir=workdir / "broker").start()
    stops: list[Any] = [broker.close]
    try:
        engine = QueueEngine(config, workdir / "engine.db", clock=clock)
        stops.append(engine.close)
        engine_link = MqttLink(
            host=broker.host,
            port=broker.port,
            hall_id=config.hall_id,
            device_id="engine",
            role="engine",
        ).start()
        stops.append(engine_link.stop)
        service = EngineService(engine, engine_link)
        service.start()
        stops.append(service.stop)
        print(f"hall demo: broker 127.0.0.1:{broker.port}, hall {config.hall_id}", flush=True)
        web = DemoWeb(broker, config.hall_id, workdir, web_port)
        stops.append(web.stop)
        if web.started():
            print(
                f"hall demo: manager console {web.url}/console (account manager, demo password "
                f"{DEMO_MANAGER_PASSWORD}); each ticket's QR opens {web.url}/t/…",
                flush=True,
            )

        # The queue host's sync agent delivers the engine's outbox to "the center",
        # here the same Mosquitto, where a center process stores it de-duplicated.
        from sync.agent import AgentSettings, SyncAgent
        from sync.center import Center
        from sync.client import BrokerAddress

        address = BrokerAddress(broker.host, broker.port)
        center = Center(
            broker=address, hall=config.hall_id, store=workdir / "center.db", confirm=True
        ).start(wait=30)
        stops.append(center.stop)
        agent = SyncAgent(
            db_path=workdir / "engine.db",
            hall_id=config.hall_id,
            device_id="engine",
            role="engine",
            center=address,
            settings=AgentSettings(ack="center", heartbeat_s=30),
        ).start()
        stops.append(agent.stop)

        from hall.demo_apps import DemoApps

        apps = DemoApps(broker, config, workdir, clock.now)
        stops.append(apps.close)
        apps.start()
        if not headless:
            return apps.exec()

        script = ScriptedHall(
            broker,
            config.hall_id,
            config,
            clock,
            args.seed,
            apps if "kiosk" in apps.windows else None,
        )
        stops.append(script.stop)
        script.start(with_caller_app=False)
        deadline = time.monotonic() + args.minutes * 60
        apps.run_until(deadline)
        script.stop()
        apps.settle()
        if "board" in apps.windows:  # the last calls reach the board
            apps.wait_for(lambda: apps.calls_shown >= script.report.called)
        # Events the engine produced (the agent deletes what the center confirmed).
        row = engine.conn.execute("SELECT seq FROM sqlite_sequence WHERE name='outbox'").fetchone()
        produced = row[0] if row else 0
        ratings = engine.conn.execute("SELECT count(*) FROM ratings").fetchone()[0]
        delivered = center.wait_until(
            lambda c: (
                c.store.count(kind="ticket_issued")
                >= len(script.report.issued) + apps.kiosk_stats["issued"]
                and c.store.count(kind="evaluation") >= ratings
            ),
            timeout=20,
        )
        stats = engine.statistics()
        report = {
            "hall": config.hall_id,
            "business_date": stats["business_date"],
            "hall_clock_end": clock.now().isoformat(timespec="minutes"),
            "real_minutes": args.minutes,
            "tickets_issued": len(script.report.issued) + apps.kiosk_stats["issued"],
            "kiosk": dict(apps.kiosk_stats),
            "board_calls_shown": apps.calls_shown,
            "refused": dict(script.report.refused),
            "called": script.report.called,
            "served": script.report.served,
            "no_show": script.report.no_show,
            "rated": dict(script.report.rated),
            "ratings_in_engine": engine.conn.execute("SELECT count(*) FROM ratings").fetchone()[0],
            "waits": {q: v["wait"] for q, v in stats["queues"].items()},
            "service_times": {q: v["service"] for q, v in stats["queues"].items()},
            "on_the_spot_overdue": len(stats["on_the_spot_overdue"]),
            "outbox_events": produced,
            "center": {
                "events": center.store.count(),
                "tickets_issued": center.store.count(kind="ticket_issued"),
                "evaluations": center.store.count(kind="evaluation"),
                "caught_up": delivered,
            },
            "errors": script.report.errors[:20],
            "screenshots": apps.screenshot(Path(args.screenshots))
            + web.screenshots(
                Path(args.screenshots), _waiting_token(engine), DEMO_MANAGER_PASSWORD
            ),
        }
        report_path = Path(args.report)
        report_path.parent.mkdir(parents=True, exist_ok=True)
        report_path.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
        print(
            json.dumps(
                {k: report[k] for k in ("tickets_issued", "called", "served", "no_show", "rated")},
                ensure_ascii=False,
            )
        )
        print(f"hall demo: report in {report_path}, screenshots in {args.screenshots}")
        return 0
    finally:
        run_stops(stops, what="the demo")
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)

"""``hall bench web``: 500 phones on the citizen's live page, and the call that moves them.

Topology as on a queue host: a private Mosquitto, the queue engine in its own
process with a hall of 5 queues and 10 windows (every clerk logged in, 100
tickets waiting per queue), ``hall web`` in its own process (as its systemd
unit runs it), and here 500 phones, each holding the server-sent event stream
of one ticket's page (``/t/{token}/events``) over its own TCP connection, and
the windows' callers sending ``call_next`` at a steady rate.

Two latencies per call, from the moment the caller sends ``call_next``:
``called`` until the called ticket's phone receives the event saying so (the
citizen learns where to go), and ``ahead`` until every other phone of that
queue receives its smaller count. The floor, measured in the same run on the
same broker: a request's round trip to a bare echo device (two MQTT hops
and the answer's two: the shape of one hall-plane command). The call's path
holds two such round trips (the caller's command, the web role's
``progress`` request), so ``called_p99_floor_ratio`` near 2 is the best there is.
The web process's RSS and CPU (seconds of CPU per second of wall time) are
read from /proc through psutil while the phones are connected.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing as mp
import shutil
import statistics
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from hall.bench import call as call_bench
from hall.bench import floors
from hall.core.stats import percentile
from hall.web.process import WebProcess
from sync.mqtt import MqttLink

log = logging.getLogger(__name__)

QUEUES = 5
WINDOWS = 10  # two per queue
PHONES = 500
WAITING_PER_QUEUE = 100
CALLS = 100
RATE_PER_S = 4.0  # calls per second over the hall (a real hall: well under 1)
BENCH_PIN = call_bench.BENCH_PIN
HALL = "bench-web"


def hall_config() -> dict[str, Any]:
    """The call bench's generated hall, smaller, with the web device and its page's URL."""
    config = call_bench.hall_config(WINDOWS, QUEUES)
    config["hall"]["id"] = HALL
    config["devices"] = [{"id": "web-1", "role": "web"}] + [
        d for d in config["devices"] if d["role"] == "caller"
    ]
    config["web"] = {"ticket_url": "http://hall.local/t/{token}", "remind_ahead": [5, 2]}
    return config


def _engine_process(
    config: dict[str, Any],
    db: str,
    host: str,
    port: int,
    per_queue: int,
    tokens: Any,
    ready: Any,
    stop: Any,
) -> None:
    """The queue host: every window logged in, ``per_queue`` tickets waiting in each queue."""
    from hall.core.clock import FakeClock
    from kiosk.engine.config import parse_hall_config
    from kiosk.engine.engine import QueueEngine
    from kiosk.engine.service import EngineService

    cfg = parse_hall_config(config)
    engine = QueueEngine(cfg, db, clock=FakeClock(datetime(2026, 11, 23, 9, 0)))
    issued = []
    for _ in range(per_queue):
        for q in cfg.queues:
            t = engine.issue(queue_id=q.id).ticket
            issued.append((t.code, t.queue_id, t.token))
    for w in cfg.windows:
        engine.login(w.id, str(1000 + int(w.id)), BENCH_PIN)
    link = MqttLink(
        host=host, port=port, hall_id=cfg.hall_id, device_id="engine", role="engine"
    ).start()
    service = EngineService(engine, link)
    service.start()
    tokens.put(issued)
    ready.set()
    stop.wait(900)
    service.stop()
    link.stop()
    engine.close()


class Phones:
    """``n`` phones on the live page, each one TCP connection reading its event stream."""

    def __init__(self, port: int, tickets: list[tuple[str, str, str]]) -> None:
        self.port = port
        self.tickets = tickets  # (code, queue, token)
        self.views: dict[str, dict[str, Any]] = {}  # code -> the last view received
        self.received: list[tuple[float, str, dict[str, Any]]] = []  # (t, code, view)
        self.connected = 0
        self.failed: list[str] = []
        self.loop = asyncio.new_event_loop()
        self._tasks: list[asyncio.Task[None]] = []
        self._thread = threading.Thread(target=self.loop.run_forever, name="phones", daemon=True)

    def start(self, timeout: float = 60.0) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._open_all(), self.loop).result(timeout)

    async def _open_all(self) -> None:
        for i in range(0, len(self.tickets), 50):  # as phones arrive: not one SYN storm
            batch = [asyncio.get_running_loop().create_future() for _ in self.tickets[i : i + 50]]
            for (code, _queue, token), opened in zip(self.tickets[i : i + 50], batch, strict=True):
                self._tasks.append(asyncio.ensure_future(self._phone(code, token, opened)))
            await asyncio.wait_for(asyncio.gather(*batch), 30)

    async def _phone(self, code: str, token: str, opened: asyncio.Future[None]) -> None:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            writer.write(
                f"GET /t/{token}/events HTTP/1.1\r\nHost: hall.local\r\n"
                "Accept: text/event-stream\r\n\r\n".encode()
            )
            await writer.drain()
            status = await reader.readline()
            if b" 200 " not in status:
                raise RuntimeError(status.decode(errors="replace").strip())
            while (await reader.readline()) not in (b"\r\n", b""):
                pass
            self.connected += 1
            opened.set_result(None)
            event, data = "", ""
            while line := await reader.readline():
                text = line.decode("utf-8", errors="replace").rstrip("\r\n")
                if text.startswith("event:"):
                    event = text[6:].strip()
                elif text.startswith("data:"):
                    data += text[5:].strip()
                elif text == "" and data:
                    if event == "view":
                        view = json.loads(data)
                        self.views[code] = view
                        self.received.append((time.perf_counter(), code, view))
                    event, data = "", ""
                # anything else: chunk sizes, pings (": ping"), blank lines
        except Exception as exc:  # a phone that fails is counted, the others go on
            self.failed.append(f"{code}: {exc}")
            if not opened.done():
                opened.set_result(None)

    def close(self) -> None:
        async def hang_up() -> None:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(hang_up(), self.loop).result(10)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(5)
        self.loop.close()


def run(args: argparse.Namespace) -> dict[str, Any]:
    import psutil

    from sync.broker import Mosquitto

    quick = bool(getattr(args, "quick", False))
    phones_n = 100 if quick else PHONES
    calls = 20 if quick else CALLS
    per_queue = phones_n // QUEUES
    logging.getLogger("sync.mqtt").setLevel(logging.WARNING)
    work = Path(tempfile.mkdtemp(prefix="hall-bench-web-"))
    broker = Mosquitto(workdir=work / "broker", persistence=False).start()
    ctx = mp.get_context("spawn")
    ready, stop, tokens_q = ctx.Event(), ctx.Event(), ctx.Queue()
    engine = ctx.Process(
        target=_engine_process,
        name="hall-bench-engine",
        args=(
            hall_config(),
            str(work / "engine.db"),
            broker.host,
            broker.port,
            per_queue,
            tokens_q,
            ready,
            stop,
        ),
    )
    engine.start()
    web: WebProcess | None = None
    phones: Phones | None = None
    callers: list[MqttLink] = []
    try:
        tickets: list[tuple[str, str, str]] = tokens_q.get(timeout=180)
        if not ready.wait(60):
            raise RuntimeError("the bench engine did not start")
        web = WebProcess(
            broker=f"{broker.host}:{broker.port}", hall_id=HALL, log_path=work / "web.log"
        )
        web.wait_ready()
        port = web.port
        proc = psutil.Process(web.pid)
        rss_idle = proc.memory_info().rss
        phones = Phones(port, tickets)
        phones.start()
        if phones.failed:
            raise RuntimeError(f"{len(phones.failed)} phones failed: {phones.failed[:3]}")
        deadline = time.monotonic() + 30
        while len(phones.views) < len(tickets) and time.monotonic() < deadline:
            time.sleep(0.05)
        queue_of = {code: queue for code, queue, _ in tickets}
        for w in range(1, WINDOWS + 1):
            callers.append(
                MqttLink(
                    host=broker.host,
                    port=broker.port,
                    hall_id=HALL,
                    device_id=f"caller-{w}",
                    role="caller",
                ).start()
            )

        called_at: dict[str, float] = {}  # code -> when its call was sent
        calls_in: dict[str, list[float]] = {}  # queue -> send times of its calls
        cpu0, wall0 = proc.cpu_times(), time.perf_counter()
        rss_peak = proc.memory_info().rss
        interval = 1.0 / RATE_PER_S
        errors: list[str] = []
        for i in range(calls):
            link = callers[i % WINDOWS]
            due = wall0 + i * interval
            time.sleep(max(0.0, due - time.perf_counter()))
            cmd = f"hall/{HALL}/dev/{link.device_id}/cmd"
            if i >= WINDOWS:  # the clerk starts serving the last citizen, then calls the next
                link.request(cmd, {"cmd": "start"}, timeout=5)
            t0 = time.perf_counter()
            queue = "ABCDE"[i % WINDOWS % QUEUES]
            calls_in.setdefault(queue, []).append(t0)
            answer = link.request(cmd, {"cmd": "call_next"}, timeout=5)
            if not answer.get("ok") or not (answer["result"] or {}).get("ticket"):
                errors.append(str(answer)[:200])
                continue
            called_at[answer["result"]["ticket"]["code"]] = t0
            if i % 10 == 0:
                rss_peak = max(rss_peak, proc.memory_info().rss)
        settle = time.monotonic() + 5
        while time.monotonic() < settle and not all(
            (phones.views.get(c) or {}).get("status") == "called" for c in called_at
        ):
            time.sleep(0.05)
        time.sleep(0.5)  # the last "ahead" updates of the last calls
        wall = time.perf_counter() - wall0
        cpu1 = proc.cpu_times()
        rss_peak = max(rss_peak, proc.memory_info().rss)

        called_ms, ahead_ms = [], []
        last_ahead: dict[str, int] = {}
        seen_called: set[str] = set()
        for t, code, view in sorted(phones.received):
            if view.get("status") == "called" and code in called_at and code not in seen_called:
                seen_called.add(code)
                called_ms.append((t - called_at[code]) * 1000)
            ahead = view.get("ahead")
            if isinstance(ahead, int):
                before = last_ahead.get(code)
                last_ahead[code] = ahead
                sent = [s for s in calls_in.get(queue_of[code], ()) if s <= t]
                if before is not None and ahead < before and sent:
                    ahead_ms.append((t - sent[-1]) * 1000)
        floor = floors.mqtt_round_trip(broker.host, broker.port, 200)
        floor_p99 = percentile(floor, 99)
        called_p99 = percentile(called_ms, 99) if called_ms else float("nan")
        return {
            "bench": "web",
            "phones": phones.connected,
            "calls": len(called_at),
            "rate_per_s": RATE_PER_S,
            "called_shown": len(called_ms),
            "called_p50_ms": round(statistics.median(called_ms), 1) if called_ms else None,
            "called_p99_ms": round(called_p99, 1),
            "ahead_updates": len(ahead_ms),
            "ahead_p50_ms": round(statistics.median(ahead_ms), 1) if ahead_ms else None,
            "ahead_p99_ms": round(percentile(ahead_ms, 99), 1) if ahead_ms else None,
            "floor_request_rtt_p50_ms": round(statistics.median(floor), 2),
            "floor_request_rtt_p99_ms": round(floor_p99, 2),
            "called_p99_floor_ratio": round(called_p99 / floor_p99, 1) if floor_p99 else None,
            "web_rss_mb": round(rss_peak / 2**20, 1),
            "web_rss_idle_mb": round(rss_idle / 2**20, 1),
            "web_cpu_per_s": round(
                ((cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)) / wall, 3
            ),
            "phones_failed": len(phones.failed),
            "errors": errors[:3],
            "target_p99_ms": 1000,
        }
    finally:
        if phones is not None:
            phones.close()
        for link in callers:
            link.stop()
        if web is not None:
            web.stop()
        stop.set()
        engine.join(15)
        if engine.is_alive():
            engine.kill()
            engine.join()
        broker.close()
        shutil.rmtree(work, ignore_errors=True)

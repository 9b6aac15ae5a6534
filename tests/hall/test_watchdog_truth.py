"""The watchdog tells the truth: a role pings systemd only while its MQTT loop runs and its
own work turns (issue #10).

Each test runs a role as systemd would (a fake notify socket, ``WATCHDOG_USEC``), sees
it ping, then breaks the part that does the work while the process lives on: paho's
network thread ended by an exception in a callback, the link's dispatcher gone, the
engine's work wedged, the sync agent's loop thread dead or stuck.  What systemd would
notice is asserted: the pings stop within ``WatchdogSec`` and do not come back while
the loop is dead (a silence of 1.5 x ``WatchdogSec`` watched: systemd restarts at 1 x).
"""

from __future__ import annotations

import os
import select
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import hall.core.appliance
from hall.cli import build_parser
from hall.core.appliance import Notifier, Probe
from hall.ui.app import QtWatchdog
from sync import topics
from sync.mqtt import MqttLink

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "assets" / "halls" / "demo.yaml"
WATCHDOG_S = 2.0  # WatchdogSec of these tests: ping every 1 s, probe every 0.33 s
SETTLE_S = 30.0  # generous deadlines for anything that merely has to happen
DEAD_THREAD = pytest.mark.filterwarnings(
    "ignore::pytest.PytestUnhandledThreadExceptionWarning"  # the thread we kill on purpose
)


class Boom(RuntimeError):
    """Raised inside a thread to end it, as an unexpected bug would."""


class Pings:
    """The ``WATCHDOG=1`` datagrams on the fake notify socket, with when they arrived."""

    def __init__(self, notify: Any) -> None:
        self.notify = notify
        self.times: list[float] = []

    def drain(self, wait: float = 0.0) -> None:
        """Read what arrived, waiting up to ``wait`` seconds for the first datagram."""
        while True:
            ready, _, _ = select.select([self.notify.sock], [], [], wait)
            if not ready:
                return
            message = self.notify.sock.recv(4096).decode()
            self.notify.messages.append(message)
            if "WATCHDOG=1" in message.split("\n"):
                self.times.append(time.monotonic())
            wait = 0.0

    def wait_until(self, predicate: Callable[[], bool], timeout: float = SETTLE_S) -> bool:
        deadline = time.monotonic() + timeout
        while not predicate():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.drain(min(0.05, left))
        return True

    def after(self, t: float) -> list[float]:
        return [p for p in self.times if p >= t]

    def assert_stopped(self, broken_at: float) -> None:
        """What systemd sees once the loop broke at ``broken_at``: the last ping came
        within WatchdogSec, then a silence that outlasts it (watched for 1.5 x)."""
        until = broken_at + 2.5 * WATCHDOG_S
        self.wait_until(lambda: time.monotonic() >= until, timeout=until - time.monotonic() + 1)
        late = [round(p - broken_at, 2) for p in self.after(broken_at + WATCHDOG_S)]
        assert not late, f"pings {late} s after the loop broke (WatchdogSec {WATCHDOG_S} s)"


def watchdog_env(notify: Any) -> dict[str, str]:
    return {**notify.env, "WATCHDOG_USEC": str(int(WATCHDOG_S * 1_000_000))}


@pytest.fixture
def systemd(notify: Any, monkeypatch: pytest.MonkeyPatch) -> Pings:
    """The process's notifier (``hall.core.appliance.notifier()``) speaks to the fake socket."""
    monkeypatch.setattr(hall.core.appliance, "_shared", Notifier(watchdog_env(notify)))
    return Pings(notify)


def run_daemon_role(main: Callable[[], int], operator: Callable[[], None]) -> int:
    """Run a daemon role's ``main`` here (run_daemon wants the main thread) while
    ``operator`` acts from another thread; then SIGTERM, as systemd stops a unit.

    SIGTERM is repeated until ``main`` returned: one sent before run_daemon put its
    handler in place finds ours instead, and must not be lost.
    """
    returned = threading.Event()
    errors: list[BaseException] = []

    def operate() -> None:
        try:
            operator()
        except BaseException as exc:
            errors.append(exc)
        finally:
            for _ in range(60):
                os.kill(os.getpid(), signal.SIGTERM)
                if returned.wait(1.0):
                    break

    previous = signal.signal(signal.SIGTERM, lambda *_: None)
    thread = threading.Thread(target=operate, name="operator")
    thread.start()
    try:
        code = main()
    finally:
        returned.set()
        thread.join(60)
        signal.signal(signal.SIGTERM, previous)
    if errors:
        raise errors[0]
    return code


def kill_network_thread(link: MqttLink) -> float:
    """End paho's network thread with an exception from a callback (paho re-raises it),
    the way a bug in a handler would; returns when it was done.  The process lives on."""
    thread = link._client._thread
    assert thread is not None and thread.is_alive()

    def hostile(*_args: Any) -> None:
        raise Boom("a bug in a message callback")

    link._client.on_message = hostile
    broken_at = time.monotonic()
    link.publish(topics.reply(link.hall_id, link.device_id), b"boom", qos=0)
    thread.join(SETTLE_S)
    assert not thread.is_alive(), "paho's thread survived the exception"
    assert link._client._thread is None
    return broken_at


# --------------------------------------------------------------------------- the engine


def engine_main(
    broker: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Callable[[], int], list[MqttLink]]:
    """``hall engine`` on the demo hall (which does not declare the engine's device),
    in this process; the list receives its link once made."""
    import kiosk.engine.cli as engine_cli

    links: list[MqttLink] = []
    make_link = engine_cli.link_from_args

    def capture(*args: Any, **kwargs: Any) -> MqttLink:
        link = make_link(*args, **kwargs)
        links.append(link)
        return link

    monkeypatch.setattr(engine_cli, "link_from_args", capture)
    argv = ["engine", "--config", str(DEMO), "--db", str(tmp_path / "engine.db")]
    args = build_parser().parse_args([*argv, "--broker", f"{broker.host}:{broker.port}"])
    return (lambda: engine_cli.main(args)), links


def wait_healthy(systemd: Pings, pings: int = 3) -> None:
    ok = systemd.wait_until(lambda: len(systemd.times) >= pings)
    assert ok, f"no pings from a healthy role: {systemd.notify.messages}"


@pytest.mark.broker
@pytest.mark.slow
@DEAD_THREAD
def test_engine_stops_pinging_when_pahos_thread_dies(broker, systemd, tmp_path, monkeypatch):
    main, links = engine_main(broker, tmp_path, monkeypatch)
    seen: dict[str, Any] = {}

    def operator() -> None:
        wait_healthy(systemd)
        seen["ready_first"] = systemd.notify.messages[0].startswith("READY=1")
        link = links[0]
        assert link.alive()
        broken_at = kill_network_thread(link)
        systemd.assert_stopped(broken_at)
        assert not link.alive()  # seen at once; the probe's answers stop coming too

    assert run_daemon_role(main, operator) == 0
    assert seen["ready_first"]


@pytest.mark.broker
@pytest.mark.slow
def test_engine_stops_pinging_while_its_work_is_wedged_and_resumes_after(
    broker, systemd, tmp_path, monkeypatch
):
    """paho's and the dispatcher's threads live, but the engine answers nothing: only the
    end-to-end probe (a request the engine sends itself) can tell."""
    from kiosk.engine.engine import QueueEngine

    main, links = engine_main(broker, tmp_path, monkeypatch)
    wedged, release = threading.Event(), threading.Event()
    board_view = QueueEngine.board_view

    def stuck_board_view(self: QueueEngine, *args: Any, **kwargs: Any) -> Any:
        if wedged.is_set():
            release.wait(SETTLE_S)  # the engine's work hangs (a lock, a stuck disk ...)
        return board_view(self, *args, **kwargs)

    monkeypatch.setattr(QueueEngine, "board_view", stuck_board_view)

    def operator() -> None:
        try:
            wait_healthy(systemd)
            wedged.set()
            broken_at = time.monotonic()
            systemd.assert_stopped(broken_at)
            assert links[0].alive()  # the threads run: the probe is what noticed
        finally:
            wedged.clear()
            release.set()
        back = time.monotonic()
        assert systemd.wait_until(lambda: len(systemd.after(back)) >= 2), (
            "the engine answers again but does not ping"
        )

    assert run_daemon_role(main, operator) == 0


@pytest.mark.broker
def test_the_engines_probe_is_answered_not_refused(broker, notify, tmp_path, caplog):
    """The demo hall does not declare the device ``engine``: the engine declares itself
    (role engine: the monitor's read-only commands), so its probe is answered."""
    import kiosk.engine.cli as engine_cli
    from kiosk.engine.config import load_hall_config
    from kiosk.engine.engine import QueueEngine
    from kiosk.engine.service import EngineService

    config = load_hall_config(DEMO)
    assert config.device("engine") is None
    engine = QueueEngine(engine_cli.with_own_device(config, "engine"), tmp_path / "engine.db")
    link = MqttLink(
        host=broker.host, port=broker.port, hall_id=config.hall_id, device_id="engine"
    ).start()
    probe = None
    try:
        EngineService(engine, link).start()
        probe = engine_cli.self_probe(link, config.hall_id, "engine", max_age=1.0).start()
        assert probe.wait(SETTLE_S), f"probe failed: {caplog.text[-2000:]}"
        assert probe.failures == 0
        assert "refused" not in caplog.text
    finally:
        if probe is not None:
            probe.stop()
        link.stop()
        engine.close()


# --------------------------------------------------------------------------- a Qt app


@pytest.mark.broker
@pytest.mark.slow
@DEAD_THREAD
@pytest.mark.parametrize("part", ["network", "dispatcher"])
def test_qt_app_stops_pinging_when_its_links_thread_dies(qtbot, broker, notify, part):
    from hall.ui.qtlink import QtLink

    link = MqttLink(
        host=broker.host, port=broker.port, hall_id="demo-hall", device_id="display-1"
    ).start()
    qtlink = QtLink(link)
    systemd = Pings(notify)
    dog = QtWatchdog(Notifier(watchdog_env(notify)), alive=qtlink.alive).start()

    def pump_until(predicate: Callable[[], bool], timeout: float = SETTLE_S) -> bool:
        """Let the GUI thread's timers run while reading the socket."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                return False
            qtbot.wait(20)
            systemd.drain()
        return True

    try:
        assert pump_until(lambda: len(systemd.times) >= 3), notify.messages
        assert qtlink.alive()
        if part == "network":
            broken_at = kill_network_thread(link)
        else:  # the dispatcher ends (its queue's sentinel): no handler would run again
            dispatcher = link._dispatcher
            assert dispatcher is not None
            broken_at = time.monotonic()
            link._inbox.put(None)
            dispatcher.join(SETTLE_S)
            assert not dispatcher.is_alive()
        assert not qtlink.alive()
        until = broken_at + 2.5 * WATCHDOG_S
        pump_until(lambda: time.monotonic() >= until)
        late = [round(p - broken_at, 2) for p in systemd.after(broken_at + WATCHDOG_S)]
        assert not late, f"pings {late} s after the link's {part} thread died"
        assert dog._timer is not None and dog._timer.isActive()  # the GUI thread turns
    finally:
        dog.stop()
        qtlink.close()
        link.stop()


def test_a_stuck_request_worker_makes_the_qt_link_not_alive(qtbot, monkeypatch):
    """QtLink's request workers are the app's other threads: one busy long past its
    request's timeout means the screen waits for answers that never come."""
    import hall.ui.qtlink
    from hall.ui.qtlink import QtLink

    monkeypatch.setattr(hall.ui.qtlink, "STUCK_AFTER_S", 0.2)
    release = threading.Event()

    class HangingLink:
        hall_id, device_id = "demo-hall", "kiosk-1"
        on_connection_change = None

        def alive(self) -> bool:
            return True

        def request(self, *_args: Any, **_kwargs: Any) -> Any:
            release.wait(SETTLE_S)  # ignores its timeout: a wedged worker
            return {"ok": True, "result": None}

    qtlink = QtLink(HangingLink())  # type: ignore[arg-type]
    replies: list[bool] = []
    try:
        assert qtlink.alive()
        topic = topics.command("demo-hall", "kiosk-1")
        qtlink.request(topic, {"cmd": "board"}, lambda ok, _r: replies.append(ok), timeout=0.1)
        qtbot.waitUntil(lambda: not qtlink.alive(), timeout=int(SETTLE_S * 1000))
        release.set()
        qtbot.waitUntil(lambda: qtlink.alive() and replies == [True], timeout=int(SETTLE_S * 1000))
    finally:
        release.set()
        qtlink.close()


# --------------------------------------------------------------------------- the sync agent


def sync_main(
    broker: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Callable[[], int], list[Any]]:
    """``hall sync`` for caller-3 in this process (the same Mosquitto as its center); the
    list receives its agent once made."""
    import sync.agent
    import sync.cli

    agents: list[Any] = []

    class Recorded(sync.agent.SyncAgent):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            agents.append(self)

    monkeypatch.setattr(sync.agent, "SyncAgent", Recorded)
    argv = ["sync", "--db", str(tmp_path / "device.db"), "--device", "caller-3"]
    argv += ["--hall", "demo-hall", "--center", f"{broker.host}:{broker.port}"]
    args = build_parser().parse_args(argv)
    return (lambda: sync.cli.sync_main(args)), agents


@pytest.mark.broker
@pytest.mark.slow
@DEAD_THREAD
def test_sync_agent_stops_pinging_when_its_loop_thread_dies(broker, systemd, tmp_path, monkeypatch):
    main, agents = sync_main(broker, tmp_path, monkeypatch)

    def operator() -> None:
        wait_healthy(systemd)
        agent = agents[0]
        assert agent.connected.wait(SETTLE_S)
        thread = agent._thread

        def hostile(_client: Any) -> None:
            raise Boom("a bug in the agent's loop")

        agent._maintenance = hostile
        broken_at = time.monotonic()
        thread.join(SETTLE_S)
        assert not thread.is_alive(), "the agent's thread survived"
        systemd.assert_stopped(broken_at)

    assert run_daemon_role(main, operator) == 0


@pytest.mark.broker
def stuck_loop_stops_pings(
    systemd: Any,
    main: Any,
    role: Callable[[], Any],
    step: str,
    name: str,
    connected: Callable[[Any], threading.Event] | None = None,
) -> None:
    """Make one step of a daemon's loop hang (its thread lives, its loop does not turn):
    the pings stop; let it go: they come back."""
    release = threading.Event()

    def operator() -> None:
        try:
            wait_healthy(systemd)
            target = role()
            if connected is not None:
                assert connected(target).wait(SETTLE_S)
            original = getattr(target, step)
            stuck = threading.Event()

            def hanging(client: Any) -> None:
                stuck.set()
                release.wait(SETTLE_S)
                original(client)

            setattr(target, step, hanging)
            assert stuck.wait(SETTLE_S)
            broken_at = time.monotonic()
            systemd.assert_stopped(broken_at)
            assert target._thread.is_alive()
            setattr(target, step, original)
        finally:
            release.set()
        back = time.monotonic()
        assert systemd.wait_until(lambda: len(systemd.after(back)) >= 2), (
            f"the {name} turns again but does not ping"
        )

    assert run_daemon_role(main, operator) == 0


@pytest.mark.slow
def test_sync_agent_stops_pinging_while_its_loop_is_stuck(broker, systemd, tmp_path, monkeypatch):
    main, agents = sync_main(broker, tmp_path, monkeypatch)
    stuck_loop_stops_pings(
        systemd, main, lambda: agents[0], "_maintenance", "agent", lambda a: a.connected
    )


# --------------------------------------------------------------------------- the probe


def test_probe_is_alive_only_while_its_check_succeeds_recently():
    outcome = {"fail": False}

    def check() -> None:
        if outcome["fail"]:
            raise Boom("no answer")

    probe = Probe(check, every=0.02, max_age=0.3).start()
    try:
        assert probe.wait(SETTLE_S)
        outcome["fail"] = True
        deadline = time.monotonic() + SETTLE_S
        while probe.alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not probe.alive()
        assert probe.failures >= 1
        outcome["fail"] = False
        deadline = time.monotonic() + SETTLE_S
        while not probe.alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert probe.alive()
    finally:
        probe.stop()
    stopped = time.monotonic()
    while probe.alive() and time.monotonic() < stopped + SETTLE_S:
        time.sleep(0.01)
    assert not probe.alive()  # a probe that no longer turns proves nothing


def test_an_excused_probe_does_not_check():
    calls: list[int] = []
    probe = Probe(lambda: calls.append(1), every=0.02, max_age=0.3, excused=lambda: True)
    probe.start()
    try:
        assert probe.wait(SETTLE_S)
        assert calls == []
    finally:
        probe.stop()


def test_probe_timings_must_prove_something():
    with pytest.raises(ValueError):
        Probe(lambda: None, every=1.0, max_age=1.0)


@pytest.fixture(autouse=True)
def _no_stray_sigterm() -> Iterator[None]:
    handler = signal.getsignal(signal.SIGTERM)
    yield
    assert signal.getsignal(signal.SIGTERM) == handler


# --------------------------------------------------------------------------- the monitor


def monitor_main(
    broker: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Callable[[], int], list[Any]]:
    """``hall monitor --store`` for the demo hall in this process; the list receives its
    center once made."""
    import sync.center
    import sync.cli

    centers: list[Any] = []

    class Recorded(sync.center.Center):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            centers.append(self)

    monkeypatch.setattr(sync.center, "Center", Recorded)
    argv = ["monitor", "--hall", "demo-hall", "--quiet", "--store", str(tmp_path / "c.db")]
    args = build_parser().parse_args([*argv, "--center", f"{broker.host}:{broker.port}"])
    return (lambda: sync.cli.monitor_main(args)), centers


@pytest.mark.broker
@pytest.mark.slow
def test_monitor_stops_pinging_while_its_loop_is_stuck(broker, systemd, tmp_path, monkeypatch):
    main, centers = monitor_main(broker, tmp_path, monkeypatch)
    stuck_loop_stops_pings(systemd, main, lambda: centers[0], "_process", "monitor")

"""sd_notify: READY, watchdog pings and STOPPING reach a (fake) systemd notify socket."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from hall.core.appliance import Notifier, run_daemon
from hall.ui.app import QtWatchdog

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "assets" / "halls" / "demo.yaml"


def test_without_notify_socket_nothing_is_sent():
    n = Notifier({})
    assert not n.enabled
    assert n.watchdog_interval_s is None
    assert n.ready() is False and n.watchdog() is False


def test_fields_arrive_as_one_datagram(notify):
    n = Notifier({**notify.env, "WATCHDOG_USEC": "4000000"})
    assert n.watchdog_interval_s == 2.0  # half of WatchdogSec
    assert n.ready("serving hall demo-hall")
    assert notify.wait_for(lambda s: len(s.messages) == 1, 2)
    assert notify.messages == ["READY=1\nSTATUS=serving hall demo-hall"]


def test_abstract_notify_socket():
    name = f"hall-test-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(2)
    try:
        assert Notifier({"NOTIFY_SOCKET": "@" + name}).stopping()
        assert sock.recv(100) == b"STOPPING=1"
    finally:
        sock.close()


def test_watchdog_meant_for_another_process_is_ignored(notify):
    env = {**notify.env, "WATCHDOG_USEC": "1000000"}
    assert Notifier({**env, "WATCHDOG_PID": str(os.getpid())}).watchdog_interval_s == 0.5
    assert Notifier({**env, "WATCHDOG_PID": "1"}).watchdog_interval_s is None


def test_a_vanished_socket_is_reported_once_not_raised(tmp_path, caplog):
    n = Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone.sock")})
    assert n.ready() is False
    assert n.watchdog() is False
    assert len([r for r in caplog.records if "cannot notify systemd" in r.message]) == 1


def test_run_daemon_pings_from_its_loop_while_alive_then_stops(notify):
    healthy = threading.Event()
    healthy.set()
    stopped: list[str] = []
    n = Notifier({**notify.env, "WATCHDOG_USEC": "60000"})  # a ping every 30 ms

    def operator() -> None:
        assert notify.wait_for(lambda s: s.count("WATCHDOG=1") >= 3, 5)
        healthy.clear()  # the daemon's check fails: pings stop
        before = notify.count("WATCHDOG=1")
        notify.wait_for(lambda s: False, 0.2)  # collect for a while: nothing new may come
        stopped.append(f"{before}->{notify.count('WATCHDOG=1')}")
        os.kill(os.getpid(), signal.SIGTERM)

    thread = threading.Thread(target=operator)
    thread.start()
    code = run_daemon([lambda: stopped.append("stop")], notify=n, alive=healthy.is_set)
    thread.join(5)
    assert code == 0
    assert notify.messages[0] == "READY=1"
    before, after = stopped[0].split("->")
    assert int(after) - int(before) <= 1  # at most the ping already on its way
    assert stopped[1] == "stop"
    assert notify.wait_for(lambda s: s.count("STOPPING=1") == 1, 2)


def test_qt_watchdog_pings_from_the_gui_thread(qtbot, notify):
    alive = [True]
    dog = QtWatchdog(
        Notifier({**notify.env, "WATCHDOG_USEC": "100000"}), status="kiosk", alive=lambda: alive[0]
    ).start()
    qtbot.waitUntil(
        lambda: notify.wait_for(lambda s: s.count("WATCHDOG=1") >= 3, 0.05), timeout=5000
    )
    assert notify.messages[0] == "READY=1\nSTATUS=kiosk"
    alive[0] = False
    pings = dog.pings
    qtbot.wait(200)  # the timer runs; the app says it is not alive: no pings
    assert dog.pings == pings
    dog.stop()
    assert notify.wait_for(lambda s: s.count("STOPPING=1") == 1, 2)


def test_a_blocked_gui_thread_stops_the_pings(qtbot, notify):
    dog = QtWatchdog(Notifier({**notify.env, "WATCHDOG_USEC": "100000"})).start()
    qtbot.waitUntil(lambda: dog.pings >= 2, timeout=5000)
    notify.wait_for(lambda s: s.count("WATCHDOG=1") >= 2, 1)
    before = notify.count("WATCHDOG=1")
    notify.wait_for(lambda s: False, 0.4)  # the GUI thread is busy here: no timer runs
    assert notify.count("WATCHDOG=1") == before
    dog.stop()


class Role:
    """A role started as systemd would: NOTIFY_SOCKET and WATCHDOG_USEC (WatchdogSec=2,
    a ping every second: long enough for the engine's probe to answer on a busy machine)."""

    def __init__(self, args: list[str], notify, log: Path, **env: str) -> None:
        self.log = log
        with open(log, "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "hall.cli", *args],
                cwd=ROOT,
                env={
                    **os.environ,
                    "PYTHONPATH": str(ROOT),
                    **notify.env,
                    "WATCHDOG_USEC": "2000000",
                    **env,
                },
                stdout=subprocess.DEVNULL,
                stderr=err,
            )

    def stderr(self) -> str:
        return self.log.read_text(errors="replace")[-2000:]


def _ready_pings_stopping(role: Role, notify, timeout: float = 30) -> None:
    proc = role.proc
    try:
        ok = notify.wait_for(
            lambda s: s.count("READY=1") == 1 and s.count("WATCHDOG=1") >= 2, timeout
        )
        assert ok, f"got {notify.messages}; stderr: {role.stderr()}"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0, role.stderr()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    notify.wait_for(lambda s: s.count("STOPPING=1") == 1, 2)
    assert notify.count("STOPPING=1") == 1
    first = [m.split("\n")[0] for m in notify.messages]
    assert first.index("READY=1") < first.index("WATCHDOG=1")  # ready before any ping


@pytest.mark.broker
def test_hall_engine_is_ready_and_pings_under_systemd(broker, notify, tmp_path):
    args = ["engine", "--config", str(DEMO), "--db", str(tmp_path / "engine.db")]
    role = Role([*args, "--broker", f"{broker.host}:{broker.port}"], notify, tmp_path / "log")
    _ready_pings_stopping(role, notify)
    # it pings because it answered itself: the demo hall does not declare the device
    # "engine", the engine declares itself, and its probe is not refused
    assert "watchdog probe" not in role.stderr() and "refused" not in role.stderr()


@pytest.mark.broker
def test_hall_sync_is_ready_and_pings_under_systemd(broker, notify, tmp_path):
    args = ["sync", "--db", str(tmp_path / "device.db"), "--device", "caller-3"]
    args += ["--hall", "demo-hall", "--center", f"{broker.host}:{broker.port}"]
    _ready_pings_stopping(Role(args, notify, tmp_path / "log"), notify)


@pytest.mark.broker
@pytest.mark.slow
def test_hall_kiosk_is_ready_and_pings_from_its_gui_thread(broker, notify, tmp_path):
    args = ["kiosk", "--broker", f"{broker.host}:{broker.port}", "--no-voice"]
    args += ["--window", "1080x1920", "--status-file", str(tmp_path / "status.json")]
    role = Role(args, notify, tmp_path / "log", QT_QPA_PLATFORM="offscreen")
    _ready_pings_stopping(role, notify, timeout=40)

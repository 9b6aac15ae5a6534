"""One lifecycle for every screen app (``hall.ui.app.run_qt_app``), seen as systemd sees it.

A tiny app runs in a child process (offscreen) under a fake ``NOTIFY_SOCKET``; the
test stops it with SIGTERM, as systemd stops a unit, and checks what came out: the
exit code, the notifications, and the parts' stops (printed by the child), each once,
last started first.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_systemd import NotifySocket

ROOT = Path(__file__).resolve().parents[3]
TIMEOUT_S = 30.0

CHILD = r"""
import logging, sys, time
from hall.ui.app import run_qt_app

logging.basicConfig(level=logging.INFO)

class FakeLink:  # what run_qt_app needs of sync.mqtt.MqttLink; no broker
    hall_id, device_id = "demo-hall", "tiny-1"
    host, port = "127.0.0.1", 1883
    on_connection_change = None
    def start(self, *, wait=None):
        print("start link", flush=True)
        return self
    def stop(self):
        print("stop link", flush=True)
    def alive(self):
        return True

def build(qtlink, stops):
    from hall.ui.qt import QLabel
    stops.append(lambda: print("stop first", flush=True))
    print("building", flush=True)
    if sys.argv[1] == "slow":  # a SIGTERM comes while the app is still starting
        time.sleep(1.0)
    stops.append(lambda: print("stop second", flush=True))
    return QLabel("取号")

if sys.argv[1].startswith("later"):  # the link made and started after the first frame
    from hall.ui.app import LinkLater

    def make():
        if sys.argv[1] == "later-broken":
            raise OSError("cannot read the CA file")
        print("make link", flush=True)
        return FakeLink()

    link = LinkLater("demo-hall", "tiny-1", make)
else:
    link = FakeLink()
sys.exit(run_qt_app(build, link=link, name="hall-tiny", status="tiny tiny-1",
                    size=(320, 200)))
"""


@pytest.fixture
def systemd() -> Iterator[NotifySocket]:
    with NotifySocket.temporary() as sock:
        yield sock


def said(systemd: NotifySocket) -> list[str]:
    """Every field sent so far, one a line, in order."""
    return [line for m in systemd.messages for line in m.split("\n")]


def wait_for(systemd: NotifySocket, field: str) -> bool:
    return systemd.wait_for(lambda s: s.count(field) >= 1, TIMEOUT_S)


def start_child(mode: str, systemd: NotifySocket) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "QT_QPA_PLATFORM": "offscreen",
        **systemd.env,
        "WATCHDOG_USEC": "200000",  # a ping every 0.1 s
    }
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, mode],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_child(proc: subprocess.Popen[str]) -> tuple[str, str]:
    """The child's output once it ended (killed if it has not within TIMEOUT_S)."""
    try:
        return proc.communicate(timeout=TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def stop_child(proc: subprocess.Popen[str]) -> tuple[int, list[str], str]:
    proc.send_signal(signal.SIGTERM)
    out, err = wait_child(proc)
    return proc.returncode, out.splitlines(), err


def test_sigterm_stops_a_running_app_cleanly(systemd):
    proc = start_child("running", systemd)
    try:
        assert wait_for(systemd, "WATCHDOG=1"), systemd.messages
    except BaseException:
        proc.kill()
        raise
    code, out, err = stop_child(proc)
    assert code == 0, err
    assert out == ["start link", "building", "stop second", "stop first", "stop link"], err
    assert wait_for(systemd, "STOPPING=1"), systemd.messages
    assert said(systemd)[:2] == ["READY=1", "STATUS=tiny tiny-1"]
    assert said(systemd).index("WATCHDOG=1") < said(systemd).index("STOPPING=1")
    assert systemd.count("STOPPING=1") == 1
    assert "received SIGTERM, stopping" in err and "tiny tiny-1 stopped" in err


def test_sigterm_during_start_up_still_stops_everything_once(systemd):
    proc = start_child("slow", systemd)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "start link"
        assert proc.stdout.readline().strip() == "building"
    except BaseException:
        proc.kill()
        raise
    code, out, err = stop_child(proc)  # SIGTERM while build() still runs
    assert code == 0, err
    assert out == ["stop second", "stop first", "stop link"], err
    assert wait_for(systemd, "STOPPING=1"), systemd.messages
    assert systemd.count("STOPPING=1") == 1
    assert said(systemd).index("READY=1") < said(systemd).index("STOPPING=1")


def test_a_failing_build_stops_what_started_and_raises(qapp):
    from hall.ui.app import run_qt_app

    done: list[str] = []

    class Link:
        hall_id, device_id = "demo-hall", "tiny-1"
        on_connection_change = None

        def start(self, *, wait: float | None = None) -> Link:
            return self

        def stop(self) -> None:
            done.append("link")

    def build(_qtlink: object, stops: list) -> object:
        stops.append(lambda: done.append("part"))
        raise ValueError("bad printer spec")

    handler, font = signal.getsignal(signal.SIGTERM), qapp.font()
    try:
        with pytest.raises(ValueError, match="bad printer spec"):
            run_qt_app(build, link=Link(), name="hall-tiny", status="tiny tiny-1")  # type: ignore[arg-type]
    finally:
        qapp.setFont(font)  # the app's CJK font: this process is pytest's, not the app's
    assert done == ["part", "link"]
    assert signal.getsignal(signal.SIGTERM) == handler  # put back as it was
    assert signal.set_wakeup_fd(-1) == -1  # and no wake-up socket left behind


def test_a_link_made_later_starts_after_the_window_and_stops_in_the_same_order(systemd):
    proc = start_child("later", systemd)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "building"
        assert proc.stdout.readline().strip() == "make link"  # once the window painted
        assert proc.stdout.readline().strip() == "start link"
    except BaseException:
        proc.kill()
        raise
    code, out, err = stop_child(proc)
    assert code == 0, err
    assert out == ["stop second", "stop first", "stop link"], err


def test_a_link_that_cannot_be_made_later_ends_the_app_with_code_1(systemd):
    proc = start_child("later-broken", systemd)
    out, err = wait_child(proc)
    assert proc.returncode == 1, err
    assert out.splitlines() == ["building", "stop second", "stop first"], err
    assert "cannot read the CA file" in err

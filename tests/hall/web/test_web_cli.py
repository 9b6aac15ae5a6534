"""``hall web`` as systemd runs it: a process on a real Mosquitto, READY and watchdog
pings on the notify socket, /healthz, a clean stop on SIGTERM; ``hall web hash-password``."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from hall.core.pins import verify_password

HALL = [str(Path(sys.executable).with_name("hall"))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def health(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read())


@pytest.mark.broker
def test_the_daemon_notifies_serves_health_and_stops_on_sigterm(broker, notify):
    port = free_port()
    env = {
        **os.environ,
        **notify.env,
        "WATCHDOG_USEC": "2000000",  # a ping every second
        "HALL_ID": "demo-hall",
    }
    argv = [
        *HALL,
        "web",
        "--listen",
        f"127.0.0.1:{port}",
        "--broker",
        f"{broker.host}:{broker.port}",
    ]
    with subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        try:
            assert notify.wait_for(lambda n: n.count("READY=1") >= 1, 20), proc.poll()
            assert notify.wait_for(lambda n: n.count("WATCHDOG=1") >= 2, 10)
            url = f"http://127.0.0.1:{port}/healthz"
            deadline = time.monotonic() + 10
            status, body = health(url)
            while status != 200 and time.monotonic() < deadline:  # the link connects
                notify.wait_for(lambda n: False, 0.1)
                status, body = health(url)
            assert status == 200 and body["broker"] is True and body["alive"] is True
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(20) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
        _out, err = proc.communicate()
    assert notify.wait_for(lambda n: n.count("STOPPING=1") >= 1, 2)
    assert "Traceback" not in err, err
    assert "hall web listening on port" in err


def test_hash_password_reads_stdin_once():
    done = subprocess.run(
        [*HALL, "web", "hash-password", "--stdin"],
        input="a-long-password\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    stored = done.stdout.strip()
    assert stored.startswith("scrypt$") and verify_password("a-long-password", stored)


def test_hash_password_asks_twice():
    differ = subprocess.run(
        [*HALL, "web", "hash-password"],
        input="password-one\npassword-two\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert differ.returncode == 2 and "differ" in differ.stderr and differ.stdout == ""
    short = subprocess.run(
        [*HALL, "web", "hash-password", "--stdin"],
        input="short\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert short.returncode == 2 and "8-128" in short.stderr

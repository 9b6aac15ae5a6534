"""Starting pcscd for the demo and doctor: ``ensure_pcscd``."""

from __future__ import annotations

import argparse
import os
import signal
import threading
import time

import pytest

from drivers.citizencard.cli import EXIT_NO_READER, register
from drivers.citizencard.pcscd import (
    VPCD_READER,
    PcscdProcess,
    ensure_pcscd,
    pcscd_pid,
    pcscd_running,
    wait_for_reader,
)

pytestmark = pytest.mark.pcsc


def test_ensure_pcscd_with_pcscd_running(pcscd: PcscdProcess) -> None:
    started = time.monotonic()
    assert ensure_pcscd(5.0, reader=VPCD_READER) is True
    assert time.monotonic() - started < 2.0
    assert pcscd_pid() is not None


def test_ensure_pcscd_reports_a_missing_reader(pcscd: PcscdProcess) -> None:
    assert ensure_pcscd(0.3, reader="ACS ACR39U 00 00") is False


def _terminate_and_wait(pid: int, timeout: float) -> bool:
    """SIGTERM, then wait until pcscd has removed its pid file and stopped answering."""
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while pcscd_pid() is not None or pcscd_running():
        if time.monotonic() >= deadline:
            return False
        pause.wait(0.05)
    return True


def test_ensure_pcscd_starts_one_when_none_runs(
    pcscd: PcscdProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    if not pcscd.owned:
        pytest.skip("pcscd was started outside the tests; not stopping someone else's daemon")
    pcscd.stop()
    try:
        assert not pcscd_running()
        # the technician's view of the outage
        parser = argparse.ArgumentParser(prog="hall")
        register(parser.add_subparsers())
        args = parser.parse_args(["citizencard", "readers"])
        assert args.func(args) == EXIT_NO_READER
        assert "systemctl status pcscd" in capsys.readouterr().err

        assert ensure_pcscd(10.0, reader=VPCD_READER) is True
        pid = pcscd_pid()
        assert pid is not None and pid != pcscd.proc.pid  # type: ignore[union-attr]
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            assert f.read().split(b"\0")[1:2] == [b"--auto-exit"]
        # that pcscd daemon was started by ensure_pcscd just now: end it by its pid
        assert _terminate_and_wait(pid, 5.0)
    finally:
        pcscd.start()
        assert wait_for_reader(VPCD_READER, 15.0), pcscd.log_tail()

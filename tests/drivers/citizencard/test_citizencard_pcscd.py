"""Starting pcscd for the demo and doctor (``ensure_pcscd``), and the tests' private pcscd."""

from __future__ import annotations

import argparse
import errno
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from drivers.citizencard import CitizenCardReader
from drivers.citizencard.cli import EXIT_NO_READER, register
from drivers.citizencard.errors import CitizenCardError
from drivers.citizencard.pcsc import DEFAULT_SOCKET, SOCKET_ENV, client_socket, use_socket
from drivers.citizencard.pcscd import (
    PID_FILE,
    VPCD_READER,
    PcscdProcess,
    ensure_pcscd,
    pcscd_pid,
    pcscd_running,
    vpcd_port_of,
    write_vpcd_config,
)
from drivers.citizencard.vcard import VPCD_PORT, VirtualCard

pytestmark = pytest.mark.pcsc

ROOT = Path(__file__).resolve().parents[3]
SYSTEM_VPCD_PORT = 35963  # /etc/reader.conf.d/vpcd on a provisioned kiosk: 0x8C7B


def _wait(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        pause.wait(0.05)
    return True


def _uid_of(pid: int) -> int:
    return os.stat(f"/proc/{pid}").st_uid


def _system_pcscd_there() -> bool:
    """Something accepts on the system's pcscd socket (pcscd, or systemd's pcscd.socket)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(str(DEFAULT_SOCKET))
        except OSError:
            return False
    return True


def _port_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("0.0.0.0", port))
        except OSError:
            return True
    return False


def _readers_at(sock: Path) -> list[str] | None:
    """``hall citizencard readers --json`` against the pcscd on ``sock``; None when down."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), SOCKET_ENV: str(sock)}
    result = subprocess.run(
        [sys.executable, "-m", "hall.cli", "citizencard", "readers", "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=30,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    if result.returncode != 0 and not result.stdout.strip():
        return None
    return [row["reader"] for row in json.loads(result.stdout)]


# --------------------------------------------------------------------------- ensure_pcscd


def test_ensure_pcscd_with_pcscd_running(pcscd: PcscdProcess) -> None:
    started = time.monotonic()
    assert ensure_pcscd(5.0, reader=VPCD_READER) is True
    assert time.monotonic() - started < 2.0
    assert pcscd.proc is not None
    assert pcscd_pid() == pcscd.proc.pid  # the holder of the private socket


def test_ensure_pcscd_reports_a_missing_reader(pcscd: PcscdProcess) -> None:
    assert ensure_pcscd(0.3, reader="ACS ACR39U 00 00") is False


def _terminate_and_wait(pid: int, timeout: float) -> bool:
    """SIGTERM, then wait until that pcscd has let go of its socket and stopped answering."""
    os.kill(pid, signal.SIGTERM)

    def gone() -> bool:
        try:
            return pcscd_pid() is None and not pcscd_running()
        except CitizenCardError:  # a pcscd on its way out refuses ("Access denied"): not gone
            return False

    return _wait(gone, timeout)


def test_ensure_pcscd_starts_one_when_none_runs(
    pcscd: PcscdProcess, capsys: pytest.CaptureFixture[str]
) -> None:
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
            argv = f.read().split(b"\0")
        assert argv[1:2] == [b"--auto-exit"]
        # on the tests' socket, with the tests' reader configuration, not root's
        assert argv[2:4] == [b"--config", str(pcscd.config).encode()]
        if os.geteuid() == 0:
            assert _uid_of(pid) != 0
        # that pcscd daemon was started by ensure_pcscd just now: end it by its pid
        assert _terminate_and_wait(pid, 5.0)
    finally:
        assert pcscd.start_serving(VPCD_READER, 15.0), pcscd.log_tail()


# --------------------------------------------------------------------------- private pcscd


def test_the_tests_pcscd_shares_nothing_with_the_systems(pcscd: PcscdProcess) -> None:
    assert pcscd.socket is not None and pcscd.socket != DEFAULT_SOCKET
    assert client_socket() == pcscd.socket == Path(os.environ[SOCKET_ENV])
    assert pcscd.vpcd_port not in (SYSTEM_VPCD_PORT, SYSTEM_VPCD_PORT + 1, VPCD_PORT)
    assert pcscd.alive and pcscd.proc is not None
    assert pcscd_pid() == pcscd.proc.pid
    if os.geteuid() == 0:
        # as nobody it can neither write nor remove the system's /run/pcscd/pcscd.pid
        assert _uid_of(pcscd.proc.pid) != 0
        try:
            named = int(PID_FILE.read_text().strip("\0 \n"))
        except (OSError, ValueError):
            named = None
        assert named != pcscd.proc.pid
    with pytest.raises(RuntimeError, match="already go to"):
        use_socket(DEFAULT_SOCKET)  # libpcsclite would not follow


def test_vpcd_port_of_reads_hex_and_decimal(tmp_path: Path) -> None:
    conf = tmp_path / "vpcd"
    conf.write_text('FRIENDLYNAME "Virtual PCD"\nDEVICENAME   /dev/null:0x8C7B\n')
    assert vpcd_port_of(conf) == SYSTEM_VPCD_PORT
    assert vpcd_port_of(write_vpcd_config(conf, 23456)) == 23456
    assert vpcd_port_of(tmp_path / "missing") == VPCD_PORT


@pytest.fixture
def default_port_listener() -> Iterator[socket.socket | None]:
    """A plain listener on 127.0.0.1:35963, unless the port is taken already.

    A system pcscd with vpcd configured binds 35963 as it starts: give one that answers
    a moment to do so.  One that answers and still leaves the port free has no vpcd on
    it (a machine with pcscd but no vpcd, or one on its way out), and we take the port."""
    if _system_pcscd_there() and _wait(lambda: _port_taken(SYSTEM_VPCD_PORT), 5.0):
        yield None
        return
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", SYSTEM_VPCD_PORT))
    except OSError as exc:
        sock.close()
        assert exc.errno == errno.EADDRINUSE
        yield None
        return
    with sock:
        sock.listen(1)
        yield sock


def test_the_card_works_while_35963_is_taken(
    default_port_listener: socket.socket | None,
    reader_name: str,
    insert: Callable[..., VirtualCard],
) -> None:
    assert _port_taken(SYSTEM_VPCD_PORT)  # by our listener, or by someone else's vpcd
    card = insert()
    assert card.port != SYSTEM_VPCD_PORT
    assert CitizenCardReader(reader_name).read(timeout=10).name == "张三"


def test_a_system_like_pcscd_beside_the_tests_one(
    tmp_path: Path, reader_name: str, insert: Callable[..., VirtualCard]
) -> None:
    """A second pcscd exactly as a provisioned kiosk has it (``/etc/reader.conf.d``, vpcd
    on 35963) runs beside the tests' one; only its socket is not the system's."""
    if _system_pcscd_there():
        pytest.skip("a system pcscd runs here: every PC/SC test already runs beside it")
    if _port_taken(SYSTEM_VPCD_PORT):
        pytest.skip("port 35963 is taken by another program; not competing for it")
    other_socket = tmp_path / "other.comm"
    other = PcscdProcess(log_path=tmp_path / "other.log", socket=other_socket)
    other.start()
    try:
        assert other.proc is not None
        assert _wait(lambda: _port_taken(SYSTEM_VPCD_PORT), 15.0), other.log_tail()
        assert _wait(lambda: _readers_at(other_socket) is not None, 30.0), other.log_tail()
        assert VPCD_READER in (_readers_at(other_socket) or [])
        assert pcscd_pid(other_socket) == other.proc.pid

        insert()  # into the tests' pcscd, which still answers here
        assert CitizenCardReader(reader_name).read(timeout=10).name == "张三"
    finally:
        other.stop()
    assert _wait(lambda: not _port_taken(SYSTEM_VPCD_PORT), 10.0)


def test_a_taken_vpcd_port_is_replaced(pcscd: PcscdProcess, reader_name: str) -> None:
    """A program (say a pcscd left by an earlier run) holds the tests' vpcd port: the
    fixture's pcscd moves to another free port instead of failing."""
    pcscd.stop()
    taken = pcscd.vpcd_port
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
            squatter.bind(("127.0.0.1", taken))
            squatter.listen(1)
            assert pcscd.start_serving(VPCD_READER, 15.0), pcscd.log_tail()
        assert pcscd.vpcd_port != taken
        with VirtualCard(port=pcscd.vpcd_port, retry_interval=0.05):
            assert CitizenCardReader(reader_name).read(timeout=10).name == "张三"
    finally:
        if not pcscd.alive:
            assert pcscd.start_serving(VPCD_READER, 15.0), pcscd.log_tail()

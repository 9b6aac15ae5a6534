"""Starting pcscd where no service manager does it (tests, ``hall demo``, ``hall doctor``).

On a production kiosk pcscd runs under systemd (socket activated by
``pcscd.socket``).  On a bare box or in CI there is no systemd, so we start
it ourselves; it needs root (it creates ``/run/pcscd``) and loads the vpcd
reader from ``/etc/reader.conf.d/vpcd`` at start-up.

* tests: :class:`PcscdProcess` runs ``pcscd --foreground`` as a child and
  stops it (SIGTERM) at the end; no ``--auto-exit``, which would end pcscd
  after 60 s without a client.
* demo / doctor: :func:`ensure_pcscd` starts ``pcscd --auto-exit`` as a
  daemon (it forks away, so nothing is left to reap) that quits by itself
  60 s after its last client.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from drivers.citizencard.errors import NoReader
from drivers.citizencard.pcsc import Context

log = logging.getLogger(__name__)

IPC_DIR = Path("/run/pcscd")
PID_FILE = IPC_DIR / "pcscd.pid"
VPCD_CONFIG = Path("/etc/reader.conf.d/vpcd")
VPCD_READER = "Virtual PCD 00 00"  # slot 0 of vpcd: TCP port 35963


def pcscd_binary() -> str | None:
    """Path of the pcscd binary (``/usr/sbin`` is not always on a user's PATH)."""
    found = shutil.which("pcscd")
    if found:
        return found
    for candidate in ("/usr/sbin/pcscd", "/sbin/pcscd"):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def pcscd_pid() -> int | None:
    """The pid in pcscd's pid file, if that process exists (for ``hall doctor``)."""
    try:
        pid = int(PID_FILE.read_text().strip("\0 \n"))
    except (OSError, ValueError):
        return None
    return pid if Path(f"/proc/{pid}").exists() else None


def pcscd_running() -> bool:
    """True when a pcscd answers on its socket."""
    try:
        with Context():
            return True
    except NoReader:
        return False


def readers_now() -> list[str]:
    """The readers pcscd reports right now; ``[]`` if pcscd is down."""
    try:
        with Context() as ctx:
            return ctx.readers()
    except NoReader:
        return []


def _wait_until(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    pause = threading.Event()  # never set: a bounded pause between polls
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        pause.wait(0.05)
    return True


def wait_for_reader(name: str | None = VPCD_READER, timeout: float = 10.0) -> bool:
    """Wait until pcscd answers and lists ``name`` (or any reader when None)."""

    def listed() -> bool:
        readers = readers_now()
        return bool(readers) if name is None else name in readers

    return _wait_until(listed, timeout)


def start_pcscd(
    *, auto_exit: bool = False, log_path: Path | None = None, debug: bool = False
) -> subprocess.Popen[bytes]:
    """Start ``pcscd --foreground [--auto-exit]`` as a child in its own session.

    ``--auto-exit`` makes pcscd quit after 60 s with no client: right for the
    demo and doctor (nothing is left behind), wrong for a test session that
    may leave pcscd idle for a minute between tests.
    Raises ``FileNotFoundError`` when pcscd is not installed.
    """
    binary = pcscd_binary()
    if binary is None:
        raise FileNotFoundError("pcscd not installed (Debian: apt-get install pcscd)")
    IPC_DIR.mkdir(parents=True, exist_ok=True)
    args = [binary, "--foreground"]
    if auto_exit:
        args.append("--auto-exit")
    if debug:
        args.append("--debug")
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    try:
        proc = subprocess.Popen(
            args,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    finally:
        if log_path:
            out.close()  # type: ignore[union-attr]
    log.info("started %s (pid %d)", " ".join(args), proc.pid)
    return proc


def stop_pcscd(proc: subprocess.Popen[bytes], timeout: float = 5.0) -> None:
    """SIGTERM (pcscd removes its socket and pid file), SIGKILL if it hangs."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        log.warning("pcscd (pid %d) ignored SIGTERM for %.0fs, killing it", proc.pid, timeout)
        proc.kill()
        proc.wait(timeout)


@dataclass
class PcscdProcess:
    """A pcscd this process started: ``owned`` tells whether there is one to stop."""

    log_path: Path | None = None
    auto_exit: bool = False
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def owned(self) -> bool:
        return self.proc is not None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        if self.alive:
            raise RuntimeError("pcscd already started by this process")
        self.proc = start_pcscd(auto_exit=self.auto_exit, log_path=self.log_path)

    def stop(self, timeout: float = 5.0) -> None:
        if self.proc is not None:
            stop_pcscd(self.proc, timeout)

    def log_tail(self, chars: int = 2000) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-chars:]


def spawn_pcscd_daemon(timeout: float = 10.0) -> None:
    """Start ``pcscd --auto-exit`` as a daemon (it forks; the child is not ours to reap).

    For the demo and doctor: the daemon outlives the command that started it
    and quits after 60 s without clients.  Raises ``OSError`` when pcscd is
    missing, ``subprocess.SubprocessError`` when it fails or hangs at start.
    """
    binary = pcscd_binary()
    if binary is None:
        raise FileNotFoundError("pcscd not installed (Debian: apt-get install pcscd)")
    IPC_DIR.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [binary, "--auto-exit"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise subprocess.SubprocessError(
            f"pcscd exited with status {result.returncode}: "
            f"{result.stderr.decode(errors='replace').strip()}"
        )
    log.info("started %s --auto-exit (daemon)", binary)


def ensure_pcscd(timeout: float = 10.0, *, reader: str | None = None) -> bool:
    """Make sure pcscd runs (start a ``--auto-exit`` daemon if not); True when it answers.

    With ``reader`` set, also wait until that reader is listed (e.g.
    :data:`VPCD_READER` for the demo's virtual card).  False means pcscd is
    missing, could not start (not root?), or did not come up in ``timeout``;
    the reason is logged.
    """
    deadline = time.monotonic() + timeout
    if not pcscd_running():
        try:
            spawn_pcscd_daemon(timeout)
        except (OSError, subprocess.SubprocessError) as exc:
            log.error("cannot start pcscd: %s", exc)
            return False
        if not _wait_until(pcscd_running, max(0.0, deadline - time.monotonic())):
            log.error("pcscd started but did not answer within %.0fs", timeout)
            return False
    if reader is not None and not wait_for_reader(reader, max(0.0, deadline - time.monotonic())):
        log.error("pcscd runs but reader %r did not appear (readers: %s)", reader, readers_now())
        return False
    return True

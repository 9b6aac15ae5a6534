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

**A private pcscd** (what the tests use, beside whatever pcscd the machine
runs): pcsc-lite 1.9.9's daemon has its socket path compiled in
(``/run/pcscd/pcscd.comm``; only the *client* library reads
``PCSCLITE_CSOCK_NAME``), but it takes a listening socket from systemd's
socket activation (``LISTEN_FDS``/``LISTEN_PID``, fd 3) instead.  So for
``socket=PATH`` we bind and listen on ``PATH`` ourselves and hand it over
that way; clients find it through ``PCSCLITE_CSOCK_NAME=PATH``
(:func:`drivers.citizencard.pcsc.use_socket`).  Its readers come from
``--config FILE`` (see :func:`write_vpcd_config`: a vpcd reader on a port
of its own, so no clash with the system's vpcd on 35963).  A pcscd started
on a private socket by root runs as ``nobody``: pcscd writes
``/run/pcscd/pcscd.pid`` and removes it when it ends, whoever's it is, and
would open the USB readers the system's pcscd serves; as ``nobody`` it can
do neither (it logs "cannot create /run/pcscd/pcscd.pid: Permission denied",
which is the point).  It still needs the directory ``/run/pcscd`` to exist,
so we create that (as pcscd itself would).
"""

from __future__ import annotations

import logging
import os
import pwd
import random
import re
import shutil
import socket as socketlib
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from drivers.citizencard.errors import CitizenCardError, NoReader
from drivers.citizencard.pcsc import DEFAULT_SOCKET, Context, client_socket
from drivers.citizencard.vcard import VPCD_PORT

log = logging.getLogger(__name__)

IPC_DIR = DEFAULT_SOCKET.parent  # /run/pcscd
PID_FILE = IPC_DIR / "pcscd.pid"
VPCD_CONFIG = Path("/etc/reader.conf.d/vpcd")
VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
VPCD_READER = "Virtual PCD 00 00"  # slot 0 of vpcd: TCP port 35963 (the config's port)
VPCD_SLOTS = 2  # Debian's vpcd has two slots: "Virtual PCD 00 00" on PORT, "... 00 01" on PORT+1
# For ensure_pcscd on a private socket: the reader configuration to start it with.
CONFIG_ENV = "HALL_PCSCD_CONFIG"
# Private vpcd ports come from below Linux's ephemeral range (32768-60999), so
# no outgoing connection of this machine is handed one in the meantime.
PRIVATE_PORTS = range(20000, 32000, VPCD_SLOTS)

# Runs between fork and pcscd: puts the listening socket on fd 3, drops root
# (uid/gid -1: stay), asks for SIGTERM when the starting process dies (parent
# pid, 0: not), sets LISTEN_PID to its own pid (which pcscd keeps over exec)
# and becomes pcscd.
_LAUNCHER = """
import os, sys
fd, uid, gid, parent = (int(a) for a in sys.argv[1:5])
if parent > 0:
    import ctypes  # now: as nobody we may not read the standard library any more
if fd != 3:
    os.dup2(fd, 3)
    os.close(fd)
if uid >= 0:
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
if parent > 0:  # after setuid, which would clear it; kept over exec
    ctypes.CDLL(None).prctl(1, 15)  # PR_SET_PDEATHSIG, SIGTERM
    if os.getppid() != parent:
        sys.exit("pcscd launcher: the process that started pcscd is gone")
os.environ.pop("LISTEN_FDNAMES", None)
os.environ["LISTEN_FDS"] = "1"
os.environ["LISTEN_PID"] = str(os.getpid())
os.execv(sys.argv[5], sys.argv[5:])
"""


def pcscd_binary() -> str | None:
    """Path of the pcscd binary (``/usr/sbin`` is not always on a user's PATH)."""
    found = shutil.which("pcscd")
    if found:
        return found
    for candidate in ("/usr/sbin/pcscd", "/sbin/pcscd"):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def pcscd_pid(socket: Path | None = None) -> int | None:
    """Pid of the pcscd serving ``socket`` (default: this process's), if one runs.

    For the system socket, the pid in pcscd's pid file, if that process
    exists (for ``hall doctor``); a private pcscd writes no pid file, so for
    a private socket, the process that holds it (from ``/proc``).
    """
    path = socket or client_socket()
    if path != DEFAULT_SOCKET:
        return socket_holder(path)
    try:
        pid = int(PID_FILE.read_text().strip("\0 \n"))
    except (OSError, ValueError):
        return None
    return pid if Path(f"/proc/{pid}").exists() else None


def socket_holder(path: Path) -> int | None:
    """Pid of a process (not this one) with a listening Unix socket bound to ``path``."""
    inodes = set()
    try:
        rows = Path("/proc/net/unix").read_text().splitlines()[1:]
    except OSError:
        return None
    for row in rows:
        cols = row.split()
        # Num RefCount Protocol Flags Type St Inode Path; flag 0x10000: listening
        if len(cols) >= 8 and cols[7] == str(path) and int(cols[3], 16) & 0x10000:
            inodes.add(f"socket:[{cols[6]}]")
    if not inodes:
        return None
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            for fd in (entry / "fd").iterdir():
                if os.readlink(fd) in inodes:
                    return int(entry.name)
        except OSError:  # gone, or not ours to look at
            continue
    return None


def pcscd_running() -> bool:
    """True when a pcscd answers on this process's socket (see :func:`client_socket`)."""
    try:
        with Context():
            return True
    except NoReader:
        return False


def _answers() -> bool:
    """Like :func:`pcscd_running`, but a pcscd that refuses (one dying at start) is down."""
    try:
        return pcscd_running()
    except CitizenCardError:
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


# --------------------------------------------------------------------------- vpcd configuration


def vpcd_driver() -> Path:
    """vpcd's IFD handler: the ``LIBPATH`` of the installed vpcd config, else Debian's path."""
    try:
        match = re.search(r"^\s*LIBPATH\s+(\S+)", VPCD_CONFIG.read_text(), re.MULTILINE)
    except OSError:
        match = None
    return Path(match.group(1)) if match else VPCD_DRIVER


def vpcd_port_of(config: Path | None) -> int:
    """The TCP port of slot 0 of the vpcd reader in a reader configuration.

    ``DEVICENAME /dev/null:PORT`` (hex with ``0x`` or decimal, as vpcd's
    ``strtoul(..., 0)`` reads it); ``config=None`` is pcscd's default,
    ``/etc/reader.conf.d/vpcd``.  Without a port there, vpcd's own default.
    """
    try:
        text = (config or VPCD_CONFIG).read_text()
    except OSError:
        return VPCD_PORT
    match = re.search(r"^\s*DEVICENAME\s+/dev/null:(\S+)", text, re.MULTILINE)
    return int(match.group(1), 0) if match else VPCD_PORT


def write_vpcd_config(path: Path, port: int, *, name: str = "Virtual PCD") -> Path:
    """A reader configuration with one vpcd reader listening on ``port`` (and ``port + 1``).

    For ``pcscd --config``.  ``/dev/null`` as the host means vpcd listens
    (the virtual card connects to it); ``CHANNELID`` is only used by a pcscd
    that ignores ``DEVICENAME``; it says the same port.  The file is world
    readable: a private pcscd reads it as ``nobody``.
    """
    path.write_text(
        f'FRIENDLYNAME "{name}"\n'
        f"DEVICENAME   /dev/null:{port}\n"
        f"LIBPATH      {vpcd_driver()}\n"
        f"CHANNELID    {port}\n",
        encoding="ascii",
    )
    path.chmod(0o644)
    return path


def _bindable(port: int) -> bool:
    """True when vpcd could listen on ``port`` now (it binds 0.0.0.0 with SO_REUSEADDR)."""
    with socketlib.socket(socketlib.AF_INET, socketlib.SOCK_STREAM) as probe:
        probe.setsockopt(socketlib.SOL_SOCKET, socketlib.SO_REUSEADDR, 1)
        try:
            probe.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def free_vpcd_port(*, avoid: set[int] | None = None, attempts: int = 200) -> int:
    """A port P with P .. P+VPCD_SLOTS-1 free now, outside the ephemeral range, not 35963."""
    avoid = avoid or set()
    candidates = [p for p in PRIVATE_PORTS if p not in avoid]
    for port in random.sample(candidates, min(attempts, len(candidates))):
        if all(_bindable(port + slot) for slot in range(VPCD_SLOTS)):
            return port
    raise OSError(f"no free pair of TCP ports for vpcd in {PRIVATE_PORTS}")


# --------------------------------------------------------------------------- starting pcscd


def _listening_socket(path: Path) -> socketlib.socket:
    """A Unix stream socket listening on ``path`` (a stale one is replaced)."""
    probe = socketlib.socket(socketlib.AF_UNIX, socketlib.SOCK_STREAM)
    try:
        probe.settimeout(1.0)
        probe.connect(str(path))
    except OSError:
        pass  # nothing there, or nothing listening any more
    else:
        raise RuntimeError(f"something already listens on {path}: not starting a pcscd there")
    finally:
        probe.close()
    path.unlink(missing_ok=True)
    sock = socketlib.socket(socketlib.AF_UNIX, socketlib.SOCK_STREAM)
    try:
        sock.bind(str(path))
        path.chmod(0o666)  # like pcscd's own socket: every user may be a client
        sock.listen(64)
    except OSError:
        sock.close()
        raise
    return sock


def _unprivileged() -> tuple[int, int]:
    """(uid, gid) a private pcscd runs as: ``nobody`` when we are root, else (-1, -1)."""
    if os.geteuid() != 0:
        return -1, -1
    try:
        entry = pwd.getpwnam("nobody")
    except KeyError:
        return 65534, 65534
    return entry.pw_uid, entry.pw_gid


def _pcscd_args(
    binary: str, *, foreground: bool, auto_exit: bool, debug: bool, config: Path | None
) -> list[str]:
    args = [binary]
    if foreground:
        args.append("--foreground")
    if auto_exit:
        args.append("--auto-exit")
    if debug:
        args.append("--debug")
    if config is not None:
        args += ["--config", str(config)]
    return args


def _popen(
    args: list[str],
    socket: Path | None,
    *,
    stdout: int | IO[bytes],
    stderr: int | IO[bytes],
    session: bool,
) -> subprocess.Popen[bytes]:
    """Start ``args``; with ``socket``, socket activated on it and without root."""
    if socket is None or socket == DEFAULT_SOCKET:
        IPC_DIR.mkdir(mode=0o755, parents=True, exist_ok=True)
        return subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            start_new_session=session,
        )
    try:  # pcscd insists on it even when it uses none of it; as nobody it cannot make it
        IPC_DIR.mkdir(mode=0o755, parents=True, exist_ok=True)
    except PermissionError:
        log.debug("cannot create %s; pcscd will say so if it needs it", IPC_DIR)
    listener = _listening_socket(socket)
    try:
        fd = listener.fileno()
        uid, gid = _unprivileged()
        # A child pcscd ends with us, even when we are killed (SIGKILL, a killed process
        # group: it has a session of its own); the signal comes when the *thread* that
        # started it ends, so only for the main thread.  A daemon outlives us anyway.
        main = threading.current_thread() is threading.main_thread()
        parent = os.getpid() if session and main else 0
        launcher = [sys.executable, "-I", "-S", "-c", _LAUNCHER]
        launcher += [str(fd), str(uid), str(gid), str(parent)]
        return subprocess.Popen(
            launcher + args,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            pass_fds=(fd,),
            start_new_session=session,
        )
    finally:
        listener.close()  # pcscd holds it now; when pcscd ends, clients get "no service"


def start_pcscd(
    *,
    auto_exit: bool = False,
    log_path: Path | None = None,
    debug: bool = False,
    config: Path | None = None,
    socket: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``pcscd --foreground [--auto-exit]`` as a child in its own session.

    ``--auto-exit`` makes pcscd quit after 60 s with no client: right for the
    demo and doctor (nothing is left behind), wrong for a test session that
    may leave pcscd idle for a minute between tests.  ``config``: a reader
    configuration instead of ``/etc/reader.conf.d``; ``socket``: a private
    socket instead of ``/run/pcscd/pcscd.comm`` (see the module's doc).
    Raises ``FileNotFoundError`` when pcscd is not installed.
    """
    binary = pcscd_binary()
    if binary is None:
        raise FileNotFoundError("pcscd not installed (Debian: apt-get install pcscd)")
    args = _pcscd_args(binary, foreground=True, auto_exit=auto_exit, debug=debug, config=config)
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    try:
        proc = _popen(args, socket, stdout=out, stderr=subprocess.STDOUT, session=True)
    finally:
        if log_path:
            out.close()  # type: ignore[union-attr]
    where = f" on {socket}" if socket else ""
    log.info("started %s%s (pid %d)", " ".join(args), where, proc.pid)
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
    """A pcscd this process started: ``owned`` tells whether there is one to stop.

    ``config`` / ``socket``: see :func:`start_pcscd` (None: pcscd's defaults,
    as before).  :meth:`private` makes one that shares nothing with the
    system's pcscd.
    """

    log_path: Path | None = None
    auto_exit: bool = False
    config: Path | None = None
    socket: Path | None = None
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _own_config: bool = field(default=False, repr=False)

    @classmethod
    def private(cls, workdir: Path, *, log_path: Path | None = None) -> PcscdProcess:
        """A pcscd on ``workdir/pcscd.comm`` with a vpcd reader on a free port (not started).

        Its clients need ``PCSCLITE_CSOCK_NAME`` = :attr:`socket`
        (:func:`drivers.citizencard.pcsc.use_socket`); the virtual card
        connects to :attr:`vpcd_port`.
        """
        workdir.mkdir(parents=True, exist_ok=True)
        workdir.chmod(0o755)  # pcscd reads its config as nobody
        config = write_vpcd_config(workdir / "reader.conf", free_vpcd_port())
        socket = workdir / "pcscd.comm"
        return cls(log_path=log_path, config=config, socket=socket, _own_config=True)

    @property
    def owned(self) -> bool:
        return self.proc is not None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def vpcd_port(self) -> int:
        """Where the virtual card connects: slot 0 of the vpcd reader in this pcscd's config."""
        return vpcd_port_of(self.config)

    def start(self) -> None:
        if self.alive:
            raise RuntimeError("pcscd already started by this process")
        self.stop()  # reap an earlier one that ended by itself
        self.proc = start_pcscd(
            auto_exit=self.auto_exit, log_path=self.log_path, config=self.config, socket=self.socket
        )

    def start_serving(
        self, reader: str | None = VPCD_READER, timeout: float = 15.0, *, attempts: int = 3
    ) -> bool:
        """Start, and wait until pcscd answers and lists ``reader``; False if it does not.

        For this process's socket only (``socket`` None or :func:`client_socket`).
        pcscd answers only once its configured readers are set up, so a first
        answer without the vpcd reader means vpcd could not listen on its
        port: for a configuration of its own (:meth:`private`) it takes
        another free port and starts again, up to ``attempts`` times.
        """
        if (self.socket or DEFAULT_SOCKET) != client_socket():
            raise ValueError(f"this process's PC/SC calls go to {client_socket()}, not here")
        deadline = time.monotonic() + timeout
        pause = threading.Event()  # never set: a bounded pause between polls
        tried: set[int] = set()
        for _ in range(attempts):
            self.start()
            while not _answers():
                if not self.alive or time.monotonic() >= deadline:
                    return False
                pause.wait(0.05)
            if reader is None or reader in readers_now():
                return True
            if not self._own_config or time.monotonic() >= deadline:
                return False
            tried.add(self.vpcd_port)
            log.warning("vpcd could not listen on port %d (taken?): trying another", self.vpcd_port)
            self.stop()
            write_vpcd_config(self.config, free_vpcd_port(avoid=tried))  # type: ignore[arg-type]
        return False

    def stop(self, timeout: float = 5.0) -> None:
        if self.proc is not None:
            stop_pcscd(self.proc, timeout)

    def log_tail(self, chars: int = 2000) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-chars:]


def spawn_pcscd_daemon(
    timeout: float = 10.0, *, config: Path | None = None, socket: Path | None = None
) -> None:
    """Start ``pcscd --auto-exit`` as a daemon (it forks; the child is not ours to reap).

    For the demo and doctor: the daemon outlives the command that started it
    and quits after 60 s without clients.  ``config`` / ``socket`` as for
    :func:`start_pcscd`.  Raises ``OSError`` when pcscd is missing,
    ``subprocess.SubprocessError`` when it fails or hangs at start.
    """
    binary = pcscd_binary()
    if binary is None:
        raise FileNotFoundError("pcscd not installed (Debian: apt-get install pcscd)")
    args = _pcscd_args(binary, foreground=False, auto_exit=True, debug=False, config=config)
    proc = _popen(args, socket, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, session=False)
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    if proc.returncode != 0:
        raise subprocess.SubprocessError(
            f"pcscd exited with status {proc.returncode}: {err.decode(errors='replace').strip()}"
        )
    log.info("started %s (daemon)%s", " ".join(args), f" on {socket}" if socket else "")


def ensure_pcscd(timeout: float = 10.0, *, reader: str | None = None) -> bool:
    """Make sure pcscd runs (start a ``--auto-exit`` daemon if not); True when it answers.

    With ``reader`` set, also wait until that reader is listed (e.g.
    :data:`VPCD_READER` for the demo's virtual card).  False means pcscd is
    missing, could not start (not root?), or did not come up in ``timeout``;
    the reason is logged.  The daemon listens where this process's PC/SC
    calls go (:func:`client_socket`; normally the system's socket), with the
    reader configuration named by ``HALL_PCSCD_CONFIG`` if that is set.
    """
    deadline = time.monotonic() + timeout
    if not pcscd_running():
        socket = client_socket()
        env_config = os.environ.get(CONFIG_ENV)
        config = Path(env_config) if env_config else None
        try:
            spawn_pcscd_daemon(
                timeout, config=config, socket=None if socket == DEFAULT_SOCKET else socket
            )
        except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
            log.error("cannot start pcscd: %s", exc)
            return False
        if not _wait_until(pcscd_running, max(0.0, deadline - time.monotonic())):
            log.error("pcscd started but did not answer within %.0fs", timeout)
            return False
    if reader is not None and not wait_for_reader(reader, max(0.0, deadline - time.monotonic())):
        log.error("pcscd runs but reader %r did not appear (readers: %s)", reader, readers_now())
        return False
    return True

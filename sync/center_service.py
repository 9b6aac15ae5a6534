"""``hall center``: the center's ingest service, several consumers on one shared subscription.

The service is a small supervisor and ``--consumers N`` child processes.
Each child (``hall center --one``) is a :class:`sync.center_pg.PgCenter`
with a stable client id (``{client-id}-{k}``: its persistent session on the
broker survives its restart), subscribed to
``$share/{share}/hall/+/dev/+/sync/events`` (and health and presence) and
storing into PostgreSQL.  The supervisor restarts a child that dies (with a
growing pause when it keeps dying), so a consumer killed mid-batch comes
back on its own session and gets what it had not acknowledged; the agents
send again whatever the center did not confirm.

Processes rather than threads: ingest is CPU work in Python (parsing,
checking the contract, encoding the rows), and a crash or a stuck consumer
takes only its own share.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@dataclass
class Child:
    name: str
    argv: list[str]
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    last_start: float = 0.0
    pause: float = 0.5
    restart_at: float | None = None
    exits: list[int] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None


class Supervisor:
    """Keeps ``len(children)`` consumer processes running until :meth:`stop`."""

    def __init__(
        self,
        children: Sequence[tuple[str, list[str]]],
        *,
        env: dict[str, str] | None = None,
        log_dir: Path | None = None,
        min_pause_s: float = 0.5,
        max_pause_s: float = 10.0,
    ) -> None:
        self.children = [Child(name, argv) for name, argv in children]
        self.env = env
        self.log_dir = log_dir
        self.min_pause_s = min_pause_s
        self.max_pause_s = max_pause_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.restarts = 0

    def _spawn(self, child: Child) -> None:
        out = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            out = open(self.log_dir / f"{child.name}.log", "ab")  # noqa: SIM115 - the child's
        try:
            child.proc = subprocess.Popen(
                child.argv, env=self.env, stdout=out, stderr=out, start_new_session=True
            )
        finally:
            if out is not None:
                out.close()
        child.starts += 1
        child.last_start = time.monotonic()
        child.restart_at = None
        log.info("consumer %s started (pid %d)", child.name, child.proc.pid)

    def start(self) -> Supervisor:
        for child in self.children:
            self._spawn(child)
        self._thread = threading.Thread(target=self._watch, name="center-supervisor", daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._stop.wait(0.1):
            now = time.monotonic()
            for child in self.children:
                if child.proc is None or child.running:
                    continue
                if child.restart_at is None:
                    code = child.proc.returncode
                    child.exits.append(code)
                    # A child that ran for a while gets the short pause again.
                    if now - child.last_start > 30:
                        child.pause = self.min_pause_s
                    log.warning(
                        "consumer %s (pid %d) exited with %s; restarting in %.1fs",
                        child.name,
                        child.proc.pid,
                        code,
                        child.pause,
                    )
                    child.restart_at = now + child.pause
                    child.pause = min(child.pause * 2, self.max_pause_s)
                elif now >= child.restart_at and not self._stop.is_set():
                    self.restarts += 1
                    self._spawn(child)

    def alive(self) -> bool:
        """For the watchdog: the supervisor thread runs (children come back by themselves)."""
        return self._thread is not None and self._thread.is_alive()

    def kill(self, index: int) -> int:
        """SIGKILL one consumer (tests and the bench); the supervisor restarts it."""
        child = self.children[index]
        assert child.proc is not None
        pid = child.proc.pid
        os.kill(pid, signal.SIGKILL)
        return pid

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(5)
        for child in self.children:
            if child.running:
                assert child.proc is not None
                child.proc.terminate()
        deadline = time.monotonic() + timeout
        for child in self.children:
            if child.proc is None:
                continue
            try:
                child.proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.proc.kill()
                child.proc.wait()

    def __enter__(self) -> Supervisor:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ---------------------------------------------------------------------- the command


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from sync.cli import add_center_args

    p = sub.add_parser(
        "center",
        help="the center's ingest service: consumers on a shared subscription storing "
        "every hall's events into PostgreSQL, confirming and asking for gaps",
    )
    p.add_argument(
        "--db",
        default=os.environ.get("HALL_CENTER_DB"),
        required="HALL_CENTER_DB" not in os.environ,
        help="PostgreSQL connection string, e.g. 'host=/run/postgresql dbname=center' "
        "or postgresql://user@host/center (env HALL_CENTER_DB; a password in "
        "~/.pgpass or PGPASSFILE, not here)",
    )
    p.add_argument("--hall", default="+", help="hall id, or + for every hall (default)")
    add_center_args(p)
    p.add_argument(
        "--consumers", type=int, default=2, help="consumer processes (default 2; 0: run one here)"
    )
    p.add_argument("--share", default="center", help="shared-subscription group (default center)")
    p.add_argument(
        "--session-expiry", type=int, default=7 * 24 * 3600, metavar="S", help="default 7 days"
    )
    p.add_argument(
        "--gap-grace",
        type=float,
        default=1.0,
        metavar="S",
        help="how long a gap may last before the device is asked to send again "
        "(a batch may be on its way through another consumer)",
    )
    p.add_argument("--resend-interval", type=float, default=1.0, metavar="S")
    p.add_argument(
        "--no-confirm",
        action="store_true",
        help="store only; do not confirm (agents with --ack center then keep everything)",
    )
    p.add_argument("--status", action="store_true", help="print health and presence lines")
    p.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # a child process
    p.set_defaults(func=center_main)


def consumer_argv(args: argparse.Namespace, index: int) -> list[str]:
    """The command line of consumer ``index`` (``hall center --one``)."""
    base = args.client_id or "center"
    argv = [sys.executable, "-m", "hall.cli", "center", "--one", "--client-id", f"{base}-{index}"]
    argv += ["--db", args.db, "--hall", args.hall, "--center", args.center, "--share", args.share]
    argv += ["--session-expiry", str(args.session_expiry)]
    argv += ["--gap-grace", str(args.gap_grace), "--resend-interval", str(args.resend_interval)]
    for flag, value in (
        ("--center-user", args.center_user),
        ("--center-password-file", args.center_password_file),
        ("--center-ca", args.center_ca),
        ("--center-cert", args.center_cert),
        ("--center-key", args.center_key),
    ):
        if value:
            argv += [flag, value]
    if args.no_confirm:
        argv.append("--no-confirm")
    if args.status:
        argv.append("--status")
    return argv


def center_main(args: argparse.Namespace) -> int:
    from hall.core.appliance import notifier, run_daemon

    if args.one or args.consumers == 0:
        return consumer_main(args)
    if args.center_password and not args.center_password_file:
        # Not on the children's command lines (ps shows them): through the environment.
        os.environ["HALL_CENTER_PASSWORD"] = args.center_password
    sup = Supervisor(
        [
            (f"{args.client_id or 'center'}-{k}", consumer_argv(args, k))
            for k in range(args.consumers)
        ]
    ).start()
    interval = notifier().watchdog_interval_s
    return run_daemon(
        [sup.stop],
        status=f"{args.consumers} consumers on $share/{args.share}, storing into PostgreSQL",
        alive=sup.alive if interval is not None else None,
    )


def _profile(center: Any, name: str) -> list[Callable[[], None]]:
    """With ``HALL_CENTER_PROFILE=DIR``, profile the consumer's loop (cProfile) and
    write ``DIR/NAME.prof`` at stop (``python -m pstats`` reads it)."""
    folder = os.environ.get("HALL_CENTER_PROFILE")
    if not folder:
        return []
    import cProfile

    profile = cProfile.Profile()
    loop = center._run
    center._run = lambda: profile.runcall(loop)

    def dump() -> None:
        Path(folder).mkdir(parents=True, exist_ok=True)
        profile.dump_stats(str(Path(folder) / f"{name}.{os.getpid()}.prof"))

    return [dump]


def consumer_main(args: argparse.Namespace) -> int:
    import functools

    import psycopg

    from hall.core.appliance import notifier, run_daemon
    from sync.center_pg import PgCenter, PgStore
    from sync.cli import _print_line, center_address, center_alive
    from sync.client import CenterLinkError

    name = args.client_id or "center"
    try:
        store = PgStore(
            args.db,
            consumer=name,
            gap_grace_s=args.gap_grace,
            resend_interval_s=args.resend_interval,
        )
    except psycopg.Error as exc:
        log.error("center %s: cannot open the database: %s", name, exc)
        return 3
    center = PgCenter(
        broker=center_address(args),
        hall=args.hall,
        client_id=name,
        store=store,
        share=args.share,
        confirm=not args.no_confirm,
        session_expiry_s=args.session_expiry,
        resend_interval_s=args.resend_interval,
        on_status=(lambda kind, data: _print_line({"type": kind, "data": data}))
        if args.status
        else None,
    )
    profiled = _profile(center, name)
    try:
        center.start(wait=30)
    except CenterLinkError as exc:
        log.error("%s", exc)
        store.close()
        return 3
    log.info("center consumer %s on $share/%s/hall/%s/...", name, args.share, args.hall)
    interval = notifier().watchdog_interval_s
    alive = functools.partial(center_alive, center, max_age=interval) if interval else None
    return run_daemon([*profiled, store.close, center.stop], status=f"consumer {name}", alive=alive)

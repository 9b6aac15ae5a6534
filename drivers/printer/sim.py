"""A thermal printer on a pty: for tests and the demo, speaking real ESC/POS.

The driver opens ``sim.port`` with pyserial exactly as it would open
``/dev/hall-printer``.  The simulator records every byte, answers
``DLE EOT 1/2/3/4`` from its state (paper ok / near_end / out, cover open,
offline, error), and splits what it receives into tickets (a ticket ends at
``GS V`` cut, at the next ``ESC @``, or - for printers without a cutter - when
the stream goes quiet after a final ``ESC d`` feed)::

    with PrinterSimulator() as sim:
        printer = open_printer(f"serial:{sim.port}?profile=58mm")
        sim.set_paper("out")          # next print_ticket raises PaperOut
        sim.pull_cable()              # link lost: PrinterDisconnected
        sim.plug_cable()              # a fresh pty (same ``link`` path if given)
        sim.wait_for_tickets(1, timeout=5)[-1]   # bytes of the last ticket

``PrinterModel`` is the pure part (bytes in, replies out); the simulator only
moves bytes between it and the pty on one reader thread.
"""

from __future__ import annotations

import logging
import os
import select
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from drivers.printer.status import Paper, status_reply
from drivers.printer.stream import next_op
from drivers.serialpty import PtyPair

log = logging.getLogger(__name__)

IDLE_END_SECONDS = 0.3  # quiet time after a final feed that ends a cutter-less ticket
_SETUP_OPS = {"init", "cjk_on", "cjk_off", "status", "truncated"}


class PrinterModel:
    """Printer state and the received stream.  Not thread-safe: the simulator locks."""

    def __init__(self, paper: Paper = "ok") -> None:
        self.paper: Paper = paper
        self.cover_open = False
        self.offline = False
        self.error = False
        self.answers_status = True
        self.received = bytearray()
        self.status_queries = 0
        self.tickets: list[bytes] = []
        self._buf = b""
        self._current = bytearray()
        self._current_prints = False
        self._last_op = ""

    def feed(self, data: bytes) -> tuple[bytes, list[bytes]]:
        """Bytes from the host -> (status replies to send back, tickets completed)."""
        self.received += data
        self._buf += data
        replies = bytearray()
        done: list[bytes] = []
        pos = 0
        while pos < len(self._buf):
            step = next_op(self._buf, pos, final=False)
            if step is None:
                break
            op, pos = step
            self._last_op = op.name
            if op.name == "status":
                self.status_queries += 1
                if self.answers_status and op.n in (1, 2, 3, 4):
                    replies += status_reply(
                        op.n,
                        paper=self.paper,
                        cover_open=self.cover_open,
                        offline=self.offline,
                        error=self.error,
                    )
                continue
            if op.name == "init" and self._current_prints:
                done += self._finish()
            self._current += op.raw
            self._current_prints |= op.name not in _SETUP_OPS
            if op.name == "cut":
                done += self._finish()
        self._buf = self._buf[pos:]
        return bytes(replies), done

    def idle(self) -> list[bytes]:
        """The stream went quiet: a ticket ending in a feed (no cutter) is complete."""
        if self._current_prints and self._last_op == "feed_lines" and not self._buf:
            return self._finish()
        return []

    def _finish(self) -> list[bytes]:
        ticket = bytes(self._current)
        self._current, self._current_prints = bytearray(), False
        self.tickets.append(ticket)
        return [ticket]

    @property
    def print_bytes(self) -> bytes:
        """Everything received except status queries (what would reach the paper)."""
        out = bytearray()
        pos = 0
        data = bytes(self.received)
        while pos < len(data):
            step = next_op(data, pos, final=True)
            assert step is not None
            op, pos = step
            if op.name != "status":
                out += op.raw
        return bytes(out)


class PrinterSimulator:
    """A :class:`PrinterModel` behind a pty (``port``), optionally symlinked at ``link``."""

    def __init__(
        self,
        *,
        link: str | Path | None = None,
        paper: Paper = "ok",
        on_ticket: Callable[[bytes], None] | None = None,
    ) -> None:
        self.model = PrinterModel(paper)
        self.link = Path(link) if link else None
        self.on_ticket = on_ticket
        self._cond = threading.Condition()
        self._pair: PtyPair | None = None
        self._thread: threading.Thread | None = None
        self._wake_r = self._wake_w = -1
        self.plug_cable()

    # -- link --------------------------------------------------------------------
    @property
    def port(self) -> str:
        """The path a driver opens: ``link`` if given, else the pty itself."""
        if self.link is not None:
            return str(self.link)
        if self._pair is None:
            raise RuntimeError("cable pulled: no port")
        return self._pair.port

    @property
    def connected(self) -> bool:
        return self._pair is not None

    def plug_cable(self) -> None:
        """Connect (again): a fresh pty, re-pointed by ``link``."""
        if self._pair is not None:
            return
        self._pair = PtyPair()
        if self.link is not None:
            if self.link.is_symlink():
                self.link.unlink()
            elif self.link.exists():  # never replace a real device or file
                self._pair.close()
                self._pair = None
                raise FileExistsError(f"printer sim: {self.link} exists and is not a symlink")
            self.link.symlink_to(self._pair.port)
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(
            target=self._run, args=(self._pair.fd, self._wake_r), name="printer-sim", daemon=True
        )
        self._thread.start()

    def pull_cable(self) -> None:
        """Disconnect: the driver's next read or write fails with an I/O error."""
        if self._pair is None:
            return
        os.write(self._wake_w, b"x")
        if self._thread is not None:
            self._thread.join(timeout=5)
        os.close(self._wake_r)
        os.close(self._wake_w)
        self._pair.close()
        self._pair, self._thread = None, None

    def close(self) -> None:
        self.pull_cable()
        if self.link is not None and self.link.is_symlink():
            self.link.unlink()

    def __enter__(self) -> PrinterSimulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- scenarios -----------------------------------------------------------------
    def set_paper(self, state: Paper) -> None:
        if state not in ("ok", "near_end", "out"):
            raise ValueError(f"paper must be ok, near_end or out, got {state!r}")
        with self._cond:
            self.model.paper = state

    def set_cover_open(self, is_open: bool = True) -> None:
        with self._cond:
            self.model.cover_open = is_open

    def set_offline(self, offline: bool = True) -> None:
        with self._cond:
            self.model.offline = offline

    def set_error(self, error: bool = True) -> None:
        with self._cond:
            self.model.error = error

    def set_answers_status(self, answers: bool) -> None:
        """False: a printer that never replies (wrong baud, one-way cable)."""
        with self._cond:
            self.model.answers_status = answers

    # -- what arrived ---------------------------------------------------------------
    @property
    def received(self) -> bytes:
        with self._cond:
            return bytes(self.model.received)

    @property
    def print_bytes(self) -> bytes:
        with self._cond:
            return self.model.print_bytes

    @property
    def tickets(self) -> list[bytes]:
        with self._cond:
            return list(self.model.tickets)

    @property
    def status_queries(self) -> int:
        with self._cond:
            return self.model.status_queries

    def last_ticket(self) -> bytes | None:
        tickets = self.tickets
        return tickets[-1] if tickets else None

    def wait_for_tickets(self, count: int, timeout: float) -> list[bytes]:
        """Block until ``count`` tickets have arrived; ``TimeoutError`` otherwise."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.model.tickets) >= count, timeout):
                raise TimeoutError(
                    f"printer sim: {len(self.model.tickets)} of {count} tickets after {timeout} s"
                )
            return list(self.model.tickets)

    def wait_for_queries(self, count: int, timeout: float) -> int:
        with self._cond:
            if not self._cond.wait_for(lambda: self.model.status_queries >= count, timeout):
                raise TimeoutError(f"printer sim: {self.model.status_queries} of {count} queries")
            return self.model.status_queries

    # -- reader thread -----------------------------------------------------------------
    def _run(self, fd: int, wake: int) -> None:
        while True:
            ready, _, _ = select.select([fd, wake], [], [], IDLE_END_SECONDS)
            if wake in ready:
                return
            if not ready:
                self._deliver([], idle=True)
                continue
            try:
                data = os.read(fd, 65536)
            except OSError as exc:
                log.debug("printer sim: read failed: %s", exc)
                return
            with self._cond:
                replies, done = self.model.feed(data)
            if replies:
                try:
                    os.write(fd, replies)
                except OSError as exc:
                    log.debug("printer sim: reply failed: %s", exc)
            self._deliver(done)

    def _deliver(self, done: list[bytes], *, idle: bool = False) -> None:
        with self._cond:
            if idle:
                done = self.model.idle()
            self._cond.notify_all()
        if self.on_ticket is not None:
            for ticket in done:
                try:
                    self.on_ticket(ticket)
                except Exception:  # a failing demo callback must not kill the printer
                    log.exception("printer sim: on_ticket failed")


SIM_COMMANDS = "paper ok|near_end|out, cover open|closed, offline on|off, error on|off, pull, plug"


def apply_command(sim: PrinterSimulator, line: str) -> str:
    """One control line for the standalone simulator (typed on its stdin)."""
    words = line.split()
    try:
        match words:
            case ["paper", state]:
                sim.set_paper(state)  # type: ignore[arg-type]
            case ["cover", ("open" | "closed") as state]:
                sim.set_cover_open(state == "open")
            case ["offline", ("on" | "off") as state]:
                sim.set_offline(state == "on")
            case ["error", ("on" | "off") as state]:
                sim.set_error(state == "on")
            case ["pull"]:
                sim.pull_cable()
            case ["plug"]:
                sim.plug_cable()
                return f"plugged in on {sim.port}"
            case _:
                return f"unknown command {line.strip()!r}; commands: {SIM_COMMANDS}"
    except ValueError as exc:
        return str(exc)
    return "ok: " + " ".join(words)


def run_standalone(
    *,
    link: str | None,
    out: str | None,
    dots: int,
    paper: Paper,
    stop: threading.Event,
    announce: Callable[[str], None] = print,
    commands: TextIO | None = None,
) -> int:
    """``hall printer sim``: serve until ``stop`` is set; save each ticket as PNG in
    ``out``; apply control lines (:data:`SIM_COMMANDS`) read from ``commands``."""
    counter = 0
    out_dir = Path(out) if out else None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)

    def save(ticket: bytes) -> None:
        nonlocal counter
        counter += 1
        if out_dir is None:
            announce(f"ticket {counter}: {len(ticket)} bytes")
            return
        from drivers.printer.render import render_png

        path = render_png(ticket, out_dir / f"ticket-{counter:04d}.png", dots)
        announce(f"ticket {counter}: {len(ticket)} bytes -> {path}")

    with PrinterSimulator(link=link, paper=paper, on_ticket=save) as sim:
        announce(f"printer simulator on {sim.port}  (spec: serial:{sim.port})")
        if commands is not None:
            announce(f"commands: {SIM_COMMANDS}")

            def control() -> None:
                for line in commands:
                    if line.strip():
                        announce(apply_command(sim, line))

            threading.Thread(target=control, name="printer-sim-control", daemon=True).start()
        while not stop.wait(1.0):
            pass
    return 0

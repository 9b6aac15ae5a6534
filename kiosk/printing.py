"""Printing off the GUI thread: tickets, guides, status polls, and reprints.

One worker thread owns the :class:`~drivers.printer.TicketPrinter`; results
come back as Qt signals on the GUI thread.  A ticket that cannot be printed
(paper out, offline ...) stays in ``unprinted`` until a reprint succeeds, so
a number is never lost; staff see the list on the kiosk's staff panel and in
the health file.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hall.ui.qt import QObject, Signal, Slot
from kiosk.catalog import Item, guide_lines
from kiosk.health import HealthBoard
from kiosk.ticketing import IssuedTicket, ticket_data

if TYPE_CHECKING:
    from drivers.printer import TicketPrinter

log = logging.getLogger(__name__)

NO_PRINTER_ZH = "本机未连接打印机，请联系工作人员"


@dataclass(frozen=True)
class PrintOutcome:
    ok: bool
    state: str  # ok | paper_out | cover_open | offline | disconnected | no_answer | error | absent
    user_message: str = ""  # Chinese, for the screen
    detail: str = ""  # English, for logs and staff
    bytes_sent: int = 0


def _classify(exc: Exception) -> PrintOutcome:
    from drivers.printer import (
        CoverOpen,
        PaperOut,
        PrinterError,
        PrinterNotFound,
        PrinterOffline,
        PrinterTimeout,
    )

    state = "error"
    if isinstance(exc, PaperOut):
        state = "paper_out"
    elif isinstance(exc, CoverOpen):
        state = "cover_open"
    elif isinstance(exc, PrinterOffline):
        state = "offline"
    elif isinstance(exc, PrinterNotFound):
        state = "disconnected"
    elif isinstance(exc, PrinterTimeout):
        state = "no_answer"
    message = exc.user_message if isinstance(exc, PrinterError) else "打印机故障，请联系工作人员"
    return PrintOutcome(False, state, message, str(exc))


class PrintService(QObject):
    """``ticket_printed(ticket_id, PrintOutcome, IssuedTicket)``, ``guide_printed(PrintOutcome)``,
    ``state_changed(PrintOutcome)`` arrive on the GUI thread."""

    ticket_printed = Signal(str, object, object)  # (ticket id, PrintOutcome, IssuedTicket)
    guide_printed = Signal(object)
    state_changed = Signal(object)

    def __init__(
        self,
        printer: TicketPrinter | None,
        health: HealthBoard,
        parent: QObject | None = None,
        *,
        on_bytes_sent: Callable[[str], None] | None = None,
        coming: bool = False,
    ) -> None:
        super().__init__(parent)
        self.printer = printer
        self.health = health
        self.unprinted: dict[str, IssuedTicket] = {}
        # coming: configured, opened a moment later (attach), as a printer is made without
        # talking to it: the same state as one given now
        present = printer is not None or coming
        self.last = (
            PrintOutcome(True, "ok")
            if present
            else PrintOutcome(False, "absent", NO_PRINTER_ZH, "no printer configured")
        )
        self._on_bytes_sent = on_bytes_sent
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kiosk-printer")
        self.ticket_printed.connect(self._after_ticket)
        self.state_changed.connect(self._remember_state)
        health.report("printer", "ok" if present else "absent")

    def attach(self, printer: TicketPrinter) -> None:
        """The printer of a service made ``coming`` (GUI thread, before any job)."""
        if self.printer is not None:
            raise RuntimeError("this print service has its printer already")
        self.printer = printer

    @property
    def usable(self) -> bool:
        """Best knowledge without asking: False after a failed print or poll."""
        return self.printer is not None and self.last.ok

    # -- requests (GUI thread) -----------------------------------------------------

    def print_ticket(self, ticket: IssuedTicket) -> None:
        self._submit(self._print_ticket, ticket)

    def reprint(self, ticket_id: str) -> bool:
        ticket = self.unprinted.get(ticket_id)
        if ticket is None:
            return False
        self._submit(self._print_ticket, ticket)
        return True

    def reprint_job(self, ticket_id: str) -> Future[PrintOutcome | None] | None:
        """Reprint an unprinted ticket; the job's future holds its outcome (None: not held,
        or the kiosk is closing)."""
        ticket = self.unprinted.get(ticket_id)
        if ticket is None:
            return None
        return self._submit(self._print_ticket, ticket)

    def print_guide(self, item: Item, hall_name: str) -> None:
        self._submit(self._print_guide, item, hall_name)

    def poll(self) -> None:
        self._submit(self._poll)

    def warm(self) -> None:
        """Load the printer's codec on its thread now (the kiosk calls this after its
        first frame), so that the first ticket does not wait for it."""
        if self.printer is not None:
            self._submit(self.printer.prepare)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self.printer is not None:
            try:
                self.printer.close()
            except Exception:
                log.exception("closing the printer failed")

    def _submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any] | None:
        try:
            return self._pool.submit(self._guarded, fn, *args)
        except RuntimeError:  # shut down: the kiosk is closing
            log.info("printer closed; %s not run", fn.__name__)
            return None

    @staticmethod
    def _guarded(fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(*args)
        except Exception:
            log.exception("printer job %s failed", fn.__name__)
            return None

    # -- worker thread -----------------------------------------------------------

    def _print_ticket(self, ticket: IssuedTicket) -> PrintOutcome:
        if self.printer is None:
            outcome = PrintOutcome(False, "absent", NO_PRINTER_ZH, "no printer configured")
        else:
            try:
                report = self.printer.print_ticket(ticket_data(ticket))
            except Exception as exc:
                outcome = _classify(exc)
                log.warning("ticket %s not printed: %s", ticket.code, outcome.detail)
            else:
                if self._on_bytes_sent is not None:
                    self._on_bytes_sent(ticket.ticket_id)
                warn = ", ".join(w.code for w in report.warnings)
                outcome = PrintOutcome(True, "ok", "", warn, report.bytes_sent)
        self._report(outcome)  # before the screen hears of it
        self.ticket_printed.emit(ticket.ticket_id, outcome, ticket)
        self.state_changed.emit(outcome)
        return outcome

    def _print_guide(self, item: Item, hall_name: str) -> None:
        if self.printer is None:
            outcome = PrintOutcome(False, "absent", NO_PRINTER_ZH, "no printer configured")
        else:
            try:
                self.printer.check()
                data = guide_bytes(item, hall_name, self.printer)
                self.printer.print_raw(data)
            except Exception as exc:
                outcome = _classify(exc)
            else:
                outcome = PrintOutcome(True, "ok", "", "", len(data))
        self._report(outcome)
        self.guide_printed.emit(outcome)
        self.state_changed.emit(outcome)

    def _poll(self) -> None:
        if self.printer is None:
            return
        try:
            status = self.printer.check()
        except Exception as exc:
            outcome = _classify(exc)
        else:
            outcome = PrintOutcome(True, "ok", "", status.describe())
        self._report(outcome)
        self.state_changed.emit(outcome)

    def _report(self, outcome: PrintOutcome) -> None:
        """The printer's state to the health board (the status file staff read), from
        this thread, in the order of the jobs, before the GUI is told the job's outcome:
        by the time the citizen's screen says 打印机缺纸, the status says so too.  (Told
        by the GUI's slot after the outcome, it was a moment behind on a busy box.)"""
        self.health.report("printer", outcome.state, "" if outcome.ok else outcome.detail)

    # -- results (GUI thread) ------------------------------------------------------

    @Slot(str, object, object)
    def _after_ticket(self, ticket_id: str, outcome: PrintOutcome, ticket: IssuedTicket) -> None:
        if outcome.ok:
            self.unprinted.pop(ticket_id, None)
        else:
            self.unprinted[ticket_id] = ticket
        self._publish_unprinted()

    @Slot(object)
    def _remember_state(self, outcome: PrintOutcome) -> None:
        self.last = outcome

    def _publish_unprinted(self) -> None:
        self.health.set_unprinted([t.code for t in self.unprinted.values()])


def guide_bytes(item: Item, hall_name: str, printer: TicketPrinter) -> bytes:
    """The 一次性告知 slip for ``item`` as ESC/POS bytes for this printer."""
    from drivers.printer.escpos_codec import build_lines
    from drivers.printer.ticket import Line, clean_text, wrap

    profile = printer.profile
    cols = profile.columns
    lines: list[Line] = [
        Line("text", "一次性告知", (2, 2), "center", True),
        Line("text", "-" * cols),
    ]
    for text in guide_lines(item):
        for part in wrap(clean_text(text), cols):
            lines.append(Line("text", part))
    lines += [
        Line("text", "-" * cols),
        Line("text", hall_name, (1, 1), "center"),
        Line("text", f"打印时间：{datetime.now():%Y-%m-%d %H:%M}", (1, 1), "center"),
    ]
    return build_lines(lines, profile)

"""``TicketPrinter``: check the printer, then print; never swallow a ticket.

::

    printer = open_printer("serial:/dev/hall-printer?baud=9600&profile=80mm")
    try:
        report = printer.print_ticket(ticket)      # checks DLE EOT 1/2/4 first
    except PrinterError as err:                    # PaperOut, CoverOpen, ...
        screen.show(err.user_message)              # "打印机缺纸，请联系工作人员"
    else:
        if report.warnings:                        # e.g. paper near end
            tell_staff(report.warnings)

The link opens on first use and re-opens after it broke (cable pulled and
plugged back), so the kiosk can keep one ``TicketPrinter`` for its lifetime.
The codec (python-escpos, qrcode, Pillow) loads on the first ticket, or earlier with
:meth:`TicketPrinter.prepare`: a printer is made before a screen's first frame
without loading it.
Calls are serialised by a lock; a status poll from a health thread and a
print from the UI never interleave on the wire.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl

from pydantic import AfterValidator, BeforeValidator, Field

from drivers.printer.errors import (
    PAPER_NEAR_END,
    STATUS_UNKNOWN,
    CoverOpen,
    PaperOut,
    PrinterError,
    PrinterOffline,
    PrinterTimeout,
    PrinterWarning,
)
from drivers.printer.profiles import PROFILES, PrinterProfile, get_profile
from drivers.printer.status import QUERIES, PrinterStatus, is_reply, parse_status
from drivers.printer.ticket import TicketData
from drivers.printer.transport import (
    FileTransport,
    NetworkTransport,
    SerialTransport,
    Transport,
    UsbTransport,
)
from hall.core import schema
from hall.core.net import parse_hostport

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PrintReport:
    """What happened: bytes sent, the status checked before, warnings for staff."""

    bytes_sent: int
    status: PrinterStatus
    warnings: tuple[PrinterWarning, ...] = ()

    @property
    def paper_near_end(self) -> bool:
        return self.status.paper == "near_end"


class TicketPrinter:
    def __init__(
        self,
        transport: Transport,
        profile: PrinterProfile = PROFILES["80mm"],
        *,
        status_timeout: float = 2.0,
        write_timeout: float = 5.0,
        query_status: bool = True,
        on_warning: Callable[[PrinterWarning], None] | None = None,
    ) -> None:
        self.transport = transport
        self.profile = profile
        self.status_timeout = status_timeout
        self.write_timeout = write_timeout
        self.query_status = query_status and transport.can_read
        self.on_warning = on_warning
        self._lock = threading.RLock()

    @property
    def device(self) -> str:
        return self.transport.name

    def __repr__(self) -> str:
        return f"TicketPrinter({self.device!r}, profile={self.profile.name!r})"

    # -- lifecycle -------------------------------------------------------------
    def open(self) -> None:
        with self._lock:
            if not self.transport.is_open:
                self.transport.open()

    def close(self) -> None:
        with self._lock:
            self.transport.close()

    def __enter__(self) -> TicketPrinter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- status ----------------------------------------------------------------
    def status(self, timeout: float | None = None) -> PrinterStatus:
        """Ask the printer (DLE EOT 1, 2, 4).  ``PrinterStatus.unknown()`` on a
        link that cannot answer; :class:`PrinterTimeout` when it should but does not."""
        timeout = self.status_timeout if timeout is None else timeout
        with self._lock:
            self.open()
            if not self.query_status:
                return PrinterStatus.unknown()
            deadline = time.monotonic() + timeout
            self.transport.reset_input()
            replies = [self._ask(query, deadline, timeout) for query in QUERIES]
        return parse_status(*replies)

    def _ask(self, query: bytes, deadline: float, timeout: float) -> bytes:
        self.transport.write(query, max(deadline - time.monotonic(), 0.1))
        noise = b""
        while (left := deadline - time.monotonic()) > 0:
            byte = self.transport.read(1, left)
            if not byte:
                break
            if is_reply(byte):
                return byte
            noise += byte  # XON/XOFF, echo, a late byte: skip it
        what = f"no reply to DLE EOT {query[2]} within {timeout:.1f} s"
        if noise:
            what += f" (got only {noise[:16].hex(' ')})"
        raise PrinterTimeout(what, device=self.device, check=self.transport.check_hint)

    def check(self, timeout: float | None = None) -> PrinterStatus:
        """The status if a ticket can be printed now, else the named error."""
        st = self.status(timeout)
        if st.printable:
            return st
        if st.paper == "out":
            raise PaperOut(
                "paper out", device=self.device, check="load a new paper roll", status=st
            )
        if st.cover_open:
            raise CoverOpen(
                "cover open", device=self.device, check="close the paper cover", status=st
            )
        if st.error:
            raise PrinterOffline(
                "printer reports an error (cutter jam, head too hot)",
                device=self.device,
                check="clear the paper path, then switch the printer off and on",
                status=st,
            )
        raise PrinterOffline(
            "printer offline",
            device=self.device,
            check="the printer's power and error LED",
            status=st,
        )

    # -- printing --------------------------------------------------------------
    def prepare(self) -> None:
        """Load the codec and lay out one sample ticket (nothing is sent): the first
        real ticket then pays no first-use cost (imports, fonts, the QR encoder)."""
        from drivers.printer.escpos_codec import build_ticket
        from drivers.printer.ticket import sample_ticket

        build_ticket(sample_ticket(), self.profile)

    def print_ticket(self, ticket: TicketData) -> PrintReport:
        """Check status, then send the ticket.  Raises a :class:`PrinterError`
        (nothing sent) when the printer cannot print; warns on paper near end.
        A link lost *while* sending raises too: treat the ticket as not printed."""
        from drivers.printer.escpos_codec import build_ticket

        data = build_ticket(ticket, self.profile)
        return self.print_job(data, name=f"ticket {ticket.number}")

    def print_job(self, data: bytes, *, name: str = "job") -> PrintReport:
        """Like :meth:`print_ticket` for ready-made ESC/POS (a guide slip, a reprint)."""
        with self._lock:
            st = self.check()
            self._send(data)
        warnings: list[PrinterWarning] = []
        if st.paper == "near_end":
            warnings.append(PAPER_NEAR_END)
        if not st.verified:
            warnings.append(STATUS_UNKNOWN)
        log.info("printed %s (%d bytes) on %s", name, len(data), self.device)
        for warning in warnings:
            log.warning("%s: %s", self.device, warning.message)
            if self.on_warning is not None:
                self.on_warning(warning)
        return PrintReport(len(data), st, tuple(warnings))

    def print_raw(self, data: bytes) -> None:
        """Send bytes as they are, without a status check (diagnostics)."""
        with self._lock:
            self.open()
            self._send(data)

    def _send(self, data: bytes) -> None:
        self.open()
        timeout = self.write_timeout + 1.5 * self.transport.wire_seconds(len(data))
        self.transport.write(data, timeout)


# -- construction from a config string -------------------------------------------
def _yes_no(value: Any) -> bool:
    text = str(value).lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected a yes/no value, got {value!r}")


def _whole(value: Any) -> int:
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise ValueError(f"expected a whole number, got {value!r}")


def _seconds(value: Any) -> float:
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"expected seconds, like 1.5, got {value!r}") from None


def _hex(value: Any) -> int:
    try:
        return int(str(value), 16)
    except ValueError:
        raise ValueError(f"expected a hex number like 82, got {value!r}") from None


def _profile(name: str) -> str:
    if name not in PROFILES:
        hint = schema.did_you_mean(name, PROFILES)
        raise ValueError(
            f"unknown printer profile {name!r}; known: {', '.join(PROFILES)}"
            + (f" ({hint})" if hint else "")
        )
    return name


YesNo = Annotated[bool, BeforeValidator(_yes_no)]


@schema.schema
@dataclass(frozen=True)
class PrinterOptions:
    """The query parameters of a printer spec (``serial:/dev/x?baud=9600&profile=58mm``)."""

    profile: Annotated[str, AfterValidator(_profile)] = "80mm"  # paper width and cutter
    charset: Literal["gb2312", "gbk", "gb18030"] | None = None  # the printer's Chinese font
    cut: YesNo | None = None  # override: the printer cuts
    qr: YesNo | None = None  # override: the printer draws QR codes itself
    baud: Annotated[int, BeforeValidator(_whole), Field(gt=0)] = 9600  # serial
    rtscts: YesNo = False  # serial: hardware flow control
    status: YesNo | None = None  # no: a one-way link, no status queries
    timeout: Annotated[float, BeforeValidator(_seconds), Field(gt=0)] | None = None  # status
    in_ep: Annotated[int, BeforeValidator(_hex)] = 0x82  # usb endpoints, hex
    out_ep: Annotated[int, BeforeValidator(_hex)] = 0x01


def open_printer(spec: str, **kwargs: object) -> TicketPrinter:
    """A :class:`TicketPrinter` from a spec string (the link opens on first use).

    ``serial:/dev/hall-printer?baud=9600&profile=80mm``, ``usb:0416:5011``,
    ``tcp:192.168.1.50:9100`` (port defaults to 9100), ``file:/dev/usb/lp0``.
    Query parameters: ``profile`` (58mm, 58mm-nocut, 80mm, 80mm-nocut),
    capability overrides ``charset`` (gb2312/gbk/gb18030), ``cut``/``qr``
    (yes/no); ``baud``, ``rtscts`` (serial); ``in_ep``/``out_ep`` (usb, hex);
    ``status=no`` for one-way links; ``timeout`` (status, seconds).  Extra
    keyword arguments go to :class:`TicketPrinter` (e.g. ``on_warning``).
    """
    scheme, sep, rest = spec.partition(":")
    if not sep or not rest:
        raise ValueError(
            f"printer spec {spec!r}: expected serial:PATH, usb:VID:PID, "
            "tcp:HOST[:PORT] or file:PATH"
        )
    target, _, query = rest.partition("?")
    params = dict(parse_qsl(query, keep_blank_values=True))
    opts = schema.check(PrinterOptions, params, source=f"printer spec {spec!r}")
    profile = get_profile(opts.profile)
    if opts.charset is not None:
        profile = profile.with_(charset=opts.charset)
    if opts.cut is not None:
        profile = profile.with_(supports_cut=opts.cut)
    if opts.qr is not None:
        profile = profile.with_(supports_qr=opts.qr)

    transport: Transport
    if scheme == "serial":
        transport = SerialTransport(target, opts.baud, rtscts=opts.rtscts)
    elif scheme == "usb":
        vid, _, pid = target.partition(":")
        try:
            transport = UsbTransport(
                int(vid, 16),
                int(pid, 16),
                in_ep=opts.in_ep,
                out_ep=opts.out_ep,
            )
        except ValueError:
            raise ValueError(
                f"printer spec {spec!r}: expected usb:VID:PID in hex, e.g. usb:0416:5011"
            ) from None
    elif scheme == "tcp":
        try:
            host, port = parse_hostport(target, 9100)
        except ValueError as exc:
            raise ValueError(f"printer spec {spec!r}: {exc}") from None
        transport = NetworkTransport(host, port)
    elif scheme == "file":
        transport = FileTransport(target)
    else:
        raise ValueError(f"printer spec {spec!r}: unknown link {scheme!r} (serial, usb, tcp, file)")

    options: dict[str, object] = dict(kwargs)
    if opts.status is not None:
        options.setdefault("query_status", opts.status)
    if opts.timeout is not None:
        options.setdefault("status_timeout", opts.timeout)
    return TicketPrinter(transport, profile, **options)  # type: ignore[arg-type]


__all__ = ["PrintReport", "PrinterError", "PrinterOptions", "TicketPrinter", "open_printer"]

"""Thermal ticket printer (ESC/POS): ticket layout, codec, status, driver, simulator.

What the kiosk uses::

    from drivers.printer import TicketData, open_printer, PrinterError

    printer = open_printer("serial:/dev/hall-printer?baud=9600&profile=80mm")
    report = printer.print_ticket(TicketData(...))   # raises PaperOut, CoverOpen, ...

Heavy parts (pyserial, python-escpos, Pillow) load with the submodules that
need them; importing this package loads the codec (Pillow, qrcode, escpos).
"""

from drivers.printer import escpos_cache  # noqa: F401  (before python-escpos loads)
from drivers.printer.errors import (
    CoverOpen,
    PaperOut,
    PrinterDisconnected,
    PrinterError,
    PrinterNotFound,
    PrinterOffline,
    PrinterTimeout,
    PrinterWarning,
)
from drivers.printer.escpos_codec import build_ticket
from drivers.printer.printer import PrintReport, TicketPrinter, open_printer
from drivers.printer.profiles import PROFILES, PrinterProfile, get_profile
from drivers.printer.status import PrinterStatus, parse_status
from drivers.printer.ticket import LAYOUTS, LineSpec, TicketData, sample_ticket

__all__ = [
    "LAYOUTS",
    "PROFILES",
    "CoverOpen",
    "LineSpec",
    "PaperOut",
    "PrintReport",
    "PrinterDisconnected",
    "PrinterError",
    "PrinterNotFound",
    "PrinterOffline",
    "PrinterProfile",
    "PrinterStatus",
    "PrinterTimeout",
    "PrinterWarning",
    "TicketData",
    "TicketPrinter",
    "build_ticket",
    "get_profile",
    "open_printer",
    "parse_status",
    "sample_ticket",
]

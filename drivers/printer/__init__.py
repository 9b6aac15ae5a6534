"""Thermal ticket printer (ESC/POS): ticket layout, codec, status, driver, simulator.

What the kiosk uses::

    from drivers.printer import TicketData, open_printer, PrinterError

    printer = open_printer("serial:/dev/hall-printer?baud=9600&profile=80mm")
    report = printer.print_ticket(TicketData(...))   # raises PaperOut, CoverOpen, ...

Heavy parts (pyserial, python-escpos, Pillow, qrcode) load with the submodules that
need them.  The names below load with their submodule on first use (PEP 562), so
importing this package, or a light submodule such as ``drivers.printer.ticket``,
does not load the codec: a screen's first frame does not wait for python-escpos.
The modules that load python-escpos import :mod:`drivers.printer.escpos_cache` first.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

#: Each public name and the submodule it comes from.
_HOMES = {
    "drivers.printer.errors": (
        "CoverOpen",
        "PaperOut",
        "PrinterDisconnected",
        "PrinterError",
        "PrinterNotFound",
        "PrinterOffline",
        "PrinterTimeout",
        "PrinterWarning",
    ),
    "drivers.printer.escpos_codec": ("build_ticket",),
    "drivers.printer.printer": ("PrintReport", "TicketPrinter", "open_printer"),
    "drivers.printer.profiles": ("PROFILES", "PrinterProfile", "get_profile"),
    "drivers.printer.status": ("PrinterStatus", "parse_status"),
    "drivers.printer.ticket": ("LAYOUTS", "LineSpec", "TicketData", "sample_ticket"),
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _HOME_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once loaded, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOME_OF])


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

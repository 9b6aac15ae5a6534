"""A simulated printer on a pty for the printer driver tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from drivers.printer.sim import PrinterSimulator


@pytest.fixture
def printer_sim() -> Iterator[PrinterSimulator]:
    with PrinterSimulator() as sim:
        yield sim


@pytest.fixture
def printer_sim_spec(printer_sim: PrinterSimulator) -> str:
    """The config string a kiosk would use for the simulated 58 mm printer."""
    return f"serial:{printer_sim.port}?profile=58mm"

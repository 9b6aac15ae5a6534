"""`hall printer ...`, `hall bench ticket` and printer specs (`hall ticket preview`: the
kiosk's, tests/kiosk/test_kiosk_cli.py)."""

from __future__ import annotations

import argparse
import queue
import re
import threading
from pathlib import Path

import pytest
from PIL import Image

from drivers.printer import cli
from drivers.printer.printer import open_printer
from drivers.printer.sim import PrinterSimulator, run_standalone
from drivers.printer.transport import (
    FileTransport,
    NetworkTransport,
    SerialTransport,
    UsbTransport,
)
from hall.bench.ticket import run as bench_run


def png_width(path: Path) -> int:
    with Image.open(path) as img:
        return img.width


def hall(*argv: str) -> int:
    """Run a subcommand the way `hall` does (only this package's commands)."""
    parser = argparse.ArgumentParser(prog="hall")
    sub = parser.add_subparsers(dest="command", required=True)
    cli.register(sub)
    args = parser.parse_args(argv)
    return int(args.func(args))


def test_status_and_test_against_simulator(
    printer_sim: PrinterSimulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert hall("printer", "status", "--port", printer_sim.port) == 0
    assert "ok (online=True paper=ok" in capsys.readouterr().out
    assert hall("printer", "test", "--port", printer_sim.port, "--profile", "58mm") == 0
    assert "printed a sample ticket" in capsys.readouterr().out
    (ticket,) = printer_sim.wait_for_tickets(1, timeout=5)
    assert b"A012" in ticket and ticket.endswith(b"\x1dV\x00")


def test_paper_out_is_a_clear_error_and_nonzero_exit(
    printer_sim: PrinterSimulator, capsys: pytest.CaptureFixture[str]
) -> None:
    printer_sim.set_paper("out")
    assert hall("printer", "test", "--spec", f"serial:{printer_sim.port}") == cli.EXIT_PRINTER
    err = capsys.readouterr().err
    assert "paper out" in err and "打印机缺纸" in err
    assert printer_sim.print_bytes == b""
    assert hall("printer", "status", "--port", printer_sim.port) == cli.EXIT_PRINTER


def test_missing_printer_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert hall("printer", "status", "--port", "/dev/hall-no-printer") == cli.EXIT_PRINTER
    assert "/dev/hall-no-printer" in capsys.readouterr().err


def test_usb_printer_not_plugged_in_says_what_to_check(capsys: pytest.CaptureFixture[str]) -> None:
    # pyusb and libusb are installed (the USB path is real); no such device is attached here.
    assert hall("printer", "test", "--usb", "0416:5011") == cli.EXIT_PRINTER
    err = capsys.readouterr().err
    assert "usb:0416:5011" in err and "USB cable" in err and "未连接打印机" in err


def test_standalone_simulator_saves_each_ticket_as_png(tmp_path: Path) -> None:
    lines: queue.Queue[str] = queue.Queue()
    stop = threading.Event()
    link = tmp_path / "hall-printer"
    runner = threading.Thread(
        target=run_standalone,
        kwargs={
            "link": str(link),
            "out": str(tmp_path / "tickets"),
            "dots": 384,
            "paper": "ok",
            "stop": stop,
            "announce": lines.put,
        },
    )
    runner.start()
    try:
        assert f"serial:{link}" in lines.get(timeout=5)
        assert hall("printer", "test", "--port", str(link), "--profile", "58mm") == 0
        announced = lines.get(timeout=10)
        assert announced.startswith("ticket 1:")
        png = tmp_path / "tickets" / "ticket-0001.png"
        assert str(png) in announced and png_width(png) == 384
    finally:
        stop.set()
        runner.join(timeout=10)
    assert not link.exists()


def test_bench_reports_sizes_and_time() -> None:
    result = bench_run(argparse.Namespace(quick=True))
    assert set(result) == {
        "bench",
        "bytes",
        "raster_bytes",
        "render_ms_p99",
        "tickets",
        "max_bytes",
        "median_bytes",
        "max_ticket",
        "raster_ops",
        "floor_bytes",
        "ratio",
        "max_wire_s_9600",
    }
    assert result["bench"] == "ticket"
    assert isinstance(result["bytes"], int) and result["bytes"] <= 1024
    assert isinstance(result["raster_bytes"], int) and result["raster_bytes"] > 20_000
    # every item of the demo hall (10) on every profile (4), GB2312 and GB18030
    assert result["tickets"] == 10 * 4 * 2
    assert result["floor_bytes"] < result["median_bytes"] <= result["max_bytes"]
    assert result["ratio"] == round(result["max_bytes"] / result["floor_bytes"], 2)
    assert result["max_wire_s_9600"] == round(result["max_bytes"] * 10 / 9600, 2)


def test_bench_tickets_are_the_kiosks_own() -> None:
    """Masked name, people ahead, the item's location and the follow-the-queue QR."""
    from hall.bench.ticket import demo_tickets

    tickets = demo_tickets()
    assert len({t.item_id for t in tickets}) == len(tickets) == 10
    by_item = {t.item_id: t.data for t in tickets}
    residence = by_item["hj-residence"]
    assert residence.item_name == "居住证申领" and residence.window_hint == "1—3号综合窗口"
    assert residence.queue_name == "户籍业务" and residence.number.startswith("A")
    assert residence.ahead >= 23 and residence.est_wait_min
    assert residence.masked_name and "*" in residence.masked_name
    assert re.fullmatch(r"http://hall.local/t/[A-Za-z0-9_-]{22}", residence.qr_payload)  # #13
    assert all(t.data.masked_name and t.data.window_hint for t in tickets)


# -- printer specs (the kiosk's config string) -------------------------------------------------
def test_spec_serial_with_params() -> None:
    p = open_printer("serial:/dev/hall-printer?baud=19200&profile=58mm&charset=gbk")
    assert isinstance(p.transport, SerialTransport)
    assert (p.transport.path, p.transport.baud) == ("/dev/hall-printer", 19200)
    assert p.profile.name == "58mm" and p.profile.charset == "gbk" and p.profile.dots == 384
    assert p.device == "serial:/dev/hall-printer"


def test_spec_other_links() -> None:
    usb = open_printer("usb:0416:5011?profile=80mm-nocut")
    assert isinstance(usb.transport, UsbTransport)
    assert (usb.transport.vid, usb.transport.pid) == (0x0416, 0x5011)
    assert usb.profile.supports_cut is False
    tcp = open_printer("tcp:192.168.1.50")
    assert isinstance(tcp.transport, NetworkTransport) and tcp.transport.port == 9100
    assert open_printer("tcp:[fe80::1]:9101").transport.name == "tcp:fe80::1:9101"
    f = open_printer("file:/dev/usb/lp0?cut=no&qr=no&status=no")
    assert isinstance(f.transport, FileTransport)
    assert not f.profile.supports_cut and not f.profile.supports_qr and not f.query_status


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("serial:/dev/x?bud=9600", "did you mean 'baud'"),
        ("serial:/dev/x?profile=76mm", "known: 58mm"),
        ("lpt:/dev/lp0", "unknown link"),
        ("/dev/ttyUSB0", "expected serial:PATH"),
        ("usb:zz:11", "hex"),
        ("file:/x?cut=maybe", "yes/no"),
    ],
)
def test_bad_specs_say_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        open_printer(spec)


def test_simulator_control_lines(printer_sim: PrinterSimulator) -> None:
    from drivers.printer.sim import apply_command

    with open_printer(f"serial:{printer_sim.port}") as printer:
        assert apply_command(printer_sim, "paper near_end") == "ok: paper near_end"
        assert printer.status().paper == "near_end"
        assert apply_command(printer_sim, "cover open").startswith("ok")
        assert printer.status().cover_open
        assert "unknown command" in apply_command(printer_sim, "paper")
        assert "paper must be" in apply_command(printer_sim, "paper wet")
        assert apply_command(printer_sim, "pull").startswith("ok")
        assert not printer_sim.connected
        assert apply_command(printer_sim, "plug").startswith("plugged in on /dev/")

"""TicketPrinter against simulated printers speaking ESC/POS over a pty and TCP."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.printer import (
    CoverOpen,
    PaperOut,
    PrinterDisconnected,
    PrinterNotFound,
    PrinterOffline,
    PrinterTimeout,
    PrinterWarning,
    TicketPrinter,
    build_ticket,
    open_printer,
    sample_ticket,
)
from drivers.printer.profiles import PROFILES
from drivers.printer.sim import PrinterModel, PrinterSimulator
from drivers.printer.status import QUERY_OFFLINE, QUERY_PAPER, QUERY_PRINTER
from drivers.printer.transport import NetworkTransport

QUERIES = QUERY_PRINTER + QUERY_OFFLINE + QUERY_PAPER


@pytest.fixture
def printer(printer_sim: PrinterSimulator) -> Iterator[TicketPrinter]:
    with open_printer(f"serial:{printer_sim.port}?profile=58mm&timeout=2") as p:
        yield p


def test_print_ok_sends_status_queries_then_exactly_the_ticket(
    printer_sim: PrinterSimulator, printer: TicketPrinter
) -> None:
    expected = build_ticket(sample_ticket(), "58mm")
    report = printer.print_ticket(sample_ticket())
    assert report.bytes_sent == len(expected) and report.warnings == ()
    assert printer_sim.wait_for_tickets(1, timeout=5) == [expected]
    assert printer_sim.received == QUERIES + expected


def test_paper_out_raises_and_prints_nothing(
    printer_sim: PrinterSimulator, printer: TicketPrinter
) -> None:
    printer_sim.set_paper("out")
    with pytest.raises(PaperOut) as info:
        printer.print_ticket(sample_ticket())
    err = info.value
    assert err.user_message == "打印机缺纸，请联系工作人员"
    assert printer_sim.port in str(err) and "paper" in str(err)
    assert err.status is not None and err.status.paper == "out"
    # one more round trip: every byte sent before it has reached the printer
    assert printer.status().paper == "out"
    assert printer_sim.print_bytes == b""
    assert printer_sim.tickets == []
    assert printer_sim.received == QUERIES * 2


def test_paper_near_end_prints_and_warns(
    printer_sim: PrinterSimulator, printer_sim_spec: str
) -> None:
    warned: list[PrinterWarning] = []
    printer_sim.set_paper("near_end")
    with open_printer(printer_sim_spec, on_warning=warned.append) as printer:
        report = printer.print_ticket(sample_ticket())
    assert report.paper_near_end
    assert [w.code for w in report.warnings] == ["paper_near_end"]
    assert warned == list(report.warnings)
    assert warned[0].user_message == "打印纸即将用完，请及时更换"
    assert printer_sim.wait_for_tickets(1, timeout=5) == [build_ticket(sample_ticket(), "58mm")]


@pytest.mark.parametrize(
    ("scenario", "error", "user_message"),
    [
        ("cover", CoverOpen, "打印机纸仓盖未关好，请联系工作人员"),
        ("offline", PrinterOffline, "打印机暂停工作，请联系工作人员"),
        ("error", PrinterOffline, "打印机暂停工作，请联系工作人员"),
    ],
)
def test_not_printable_states_raise_named_errors(
    printer_sim: PrinterSimulator,
    printer: TicketPrinter,
    scenario: str,
    error: type[Exception],
    user_message: str,
) -> None:
    {
        "cover": printer_sim.set_cover_open,
        "offline": printer_sim.set_offline,
        "error": printer_sim.set_error,
    }[scenario]()
    with pytest.raises(error) as info:
        printer.print_ticket(sample_ticket())
    assert info.value.user_message == user_message  # type: ignore[attr-defined]
    printer.status()
    assert printer_sim.print_bytes == b""


def test_pulled_cable_is_a_named_error_and_reconnects(tmp_path: Path) -> None:
    link = tmp_path / "hall-printer"
    with PrinterSimulator(link=link) as sim:
        printer = open_printer(f"serial:{link}?profile=58mm")
        printer.print_ticket(sample_ticket())
        sim.wait_for_tickets(1, timeout=5)

        sim.pull_cable()
        with pytest.raises(PrinterDisconnected) as info:
            printer.print_ticket(sample_ticket())
        assert isinstance(info.value, PrinterNotFound)
        assert str(link) in str(info.value) and "cable" in str(info.value)
        assert info.value.user_message == "打印机连接中断，请联系工作人员"

        sim.plug_cable()  # same path, a new pty behind it; the same printer
        printer.print_ticket(sample_ticket())
        assert sim.wait_for_tickets(2, timeout=5) == [build_ticket(sample_ticket(), "58mm")] * 2
        printer.close()


def test_missing_port_names_the_port() -> None:
    printer = open_printer("serial:/dev/hall-printer-missing")
    with pytest.raises(PrinterNotFound, match="/dev/hall-printer-missing") as info:
        printer.status()
    assert "udev" in info.value.check
    assert info.value.user_message == "未连接打印机，请联系工作人员"


def test_silent_printer_times_out(printer_sim: PrinterSimulator) -> None:
    printer_sim.set_answers_status(False)
    printer = open_printer(f"serial:{printer_sim.port}?timeout=0.3")
    with printer, pytest.raises(PrinterTimeout, match=r"no reply to DLE EOT 1 within 0\.3 s"):
        printer.print_ticket(sample_ticket())
    assert printer_sim.print_bytes == b""


def test_two_threads_printing_do_not_interleave(
    printer_sim: PrinterSimulator, printer: TicketPrinter
) -> None:
    errors: list[BaseException] = []

    def job() -> None:
        try:
            printer.print_ticket(sample_ticket())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=job) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert errors == []
    expected = build_ticket(sample_ticket(), "58mm")
    assert printer_sim.wait_for_tickets(3, timeout=5) == [expected] * 3


def test_printer_without_cutter_ticket_ends_on_idle(printer_sim: PrinterSimulator) -> None:
    with open_printer(f"serial:{printer_sim.port}?profile=80mm-nocut") as printer:
        printer.print_ticket(sample_ticket())
    expected = build_ticket(sample_ticket(), "80mm-nocut")
    assert b"\x1dV" not in expected
    assert printer_sim.wait_for_tickets(1, timeout=5) == [expected]


def test_file_link_prints_unchecked_and_says_so(tmp_path: Path) -> None:
    out = tmp_path / "spool.bin"
    with open_printer(f"file:{out}?profile=80mm") as printer:
        assert printer.status().verified is False
        report = printer.print_ticket(sample_ticket())
        printer.print_ticket(sample_ticket())
    assert [w.code for w in report.warnings] == ["status_unknown"]
    assert out.read_bytes() == build_ticket(sample_ticket(), "80mm") * 2


def test_file_link_to_missing_folder_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(PrinterNotFound, match="no-such-dir"):
        open_printer(f"file:{tmp_path}/no-such-dir/lp0").print_raw(b"\x1b@")


def test_model_splits_tickets_fed_one_byte_at_a_time() -> None:
    model = PrinterModel(paper="near_end")
    one = build_ticket(sample_ticket(), "58mm")
    two = build_ticket(sample_ticket(), "58mm-nocut")
    stream = QUERY_PAPER + one + two + QUERY_PAPER + b"\x1b@"
    replies = b""
    for i in range(len(stream)):
        replies += model.feed(stream[i : i + 1])[0]
    assert replies == b"\x1e\x1e"  # near end, twice
    assert model.tickets == [one, two]  # the second ends at the next ESC @


# -- network printers (port 9100) --------------------------------------------------------------
class TcpPrinter:
    """A PrinterModel behind a listening TCP socket: one client at a time."""

    def __init__(self) -> None:
        self.model = PrinterModel()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.got_ticket = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        conn, _ = self.server.accept()
        with conn:
            conn.settimeout(10)
            while data := conn.recv(4096):
                replies, done = self.model.feed(data)
                if replies:
                    conn.sendall(replies)
                if done:
                    self.got_ticket.set()


def test_network_printer_prints_and_reports_paper_out() -> None:
    tcp = TcpPrinter()
    with open_printer(f"tcp:127.0.0.1:{tcp.port}?profile=80mm") as printer:
        assert isinstance(printer.transport, NetworkTransport)
        printer.print_ticket(sample_ticket())
        assert tcp.got_ticket.wait(5)
        assert tcp.model.tickets == [build_ticket(sample_ticket(), "80mm")]
        tcp.model.paper = "out"
        with pytest.raises(PaperOut, match=f"tcp:127.0.0.1:{tcp.port}"):
            printer.print_ticket(sample_ticket())
    tcp.thread.join(timeout=5)
    tcp.server.close()


def test_network_printer_refusing_connections_is_not_found() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    server.close()
    with pytest.raises(PrinterNotFound, match=f"127.0.0.1:{port}"):
        TicketPrinter(NetworkTransport("127.0.0.1", port), PROFILES["80mm"]).status()


def test_simulator_never_replaces_a_real_file(tmp_path: Path) -> None:
    real = tmp_path / "ttyS0"
    real.write_bytes(b"keep")
    with pytest.raises(FileExistsError):
        PrinterSimulator(link=real)
    assert real.read_bytes() == b"keep"


def test_print_job_checks_status_for_other_slips(
    printer_sim: PrinterSimulator, printer: TicketPrinter
) -> None:
    slip = b"\x1b@\x1c&" + "一次性告知".encode("gb18030") + b"\n\x1bd\x04\x1dV\x00"
    assert printer.print_job(slip, name="guide").bytes_sent == len(slip)
    assert printer_sim.wait_for_tickets(1, timeout=5) == [slip]
    printer_sim.set_paper("out")
    with pytest.raises(PaperOut):
        printer.print_job(slip)
    printer.print_raw(b"\x1b@")  # diagnostics: unchecked
    printer.status()
    assert printer_sim.print_bytes == slip + b"\x1b@"


LAZY_CODEC_CHILD = r"""
import sys
from drivers.printer import open_printer, sample_ticket

def heavy():
    return sorted({m.split(".")[0] for m in sys.modules} & {"escpos", "qrcode", "PIL"})

printer = open_printer(sys.argv[1])
print("opened", heavy(), flush=True)
report = printer.print_ticket(sample_ticket())  # the first ticket, right after the start
print("printed", report.bytes_sent, heavy(), flush=True)
"""


def test_a_new_printer_loads_its_codec_with_the_first_ticket_and_prints_it_whole(
    printer_sim: PrinterSimulator,
):
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[3]
    proc = subprocess.run(
        [sys.executable, "-c", LAZY_CODEC_CHILD, f"serial:{printer_sim.port}?profile=58mm"],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    opened, printed = proc.stdout.splitlines()
    assert opened == "opened []"  # a screen built before its first frame does not wait for it
    expected = build_ticket(sample_ticket(), PROFILES["58mm"])
    assert printed == f"printed {len(expected)} ['PIL', 'escpos', 'qrcode']"
    assert printer_sim.wait_for_tickets(1, 5) == [expected]


def test_a_prepared_printer_sends_nothing_and_then_prints_the_same_ticket(
    printer_sim: PrinterSimulator, printer: TicketPrinter
):
    printer.prepare()
    assert printer_sim.received == b""  # loading the codec is not a print
    printer.print_ticket(sample_ticket())
    assert printer_sim.wait_for_tickets(1, 5) == [build_ticket(sample_ticket(), PROFILES["58mm"])]

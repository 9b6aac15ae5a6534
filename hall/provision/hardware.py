"""Finding the hardware: serial ports where a SAM reader or an ESC/POS printer answers,
PC/SC readers, evdev keypads / evaluators / scanners; and the udev line that names a
device found at a USB port.

Every source is injectable through :class:`Probe` (tests pass ptys with the
simulators, the vpcd reader and a simulated keyboard)."""

from __future__ import annotations

import glob
import logging
import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from hall.provision.layout import Layout

# stable names the udev rules give (systemd/udev/99-hall.rules)
STABLE_NAMES = {
    "idcard": "/dev/hall-idcard",
    "printer": "/dev/hall-printer",
    "keypad": "/dev/input/hall-keypad",
    "evaluator": "/dev/input/hall-evaluator",
    "scanner": "/dev/input/hall-scanner",
}
INPUT_KINDS = ("keypad", "evaluator", "scanner")  # evdev devices
PRINTER_BAUDS = (9600, 19200, 38400, 115200)
SERIAL_GLOBS = ("/dev/ttyUSB*", "/dev/ttyACM*", "/dev/ttyS*", "/dev/ttyCH341USB*")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Found:
    """A piece of hardware that answered.  ``spec`` is what goes into the config."""

    kind: str  # idcard | printer | citizencard | keypad | evaluator | scanner
    spec: str
    label: str  # what the technician sees in the menu
    path: str = ""  # the device node (for udev); "" for a PC/SC reader


@dataclass
class Probe:
    """How provisioning looks at the machine's hardware; every source can be replaced
    (tests pass ptys, the vpcd reader and a simulated keyboard)."""

    serial_ports: Callable[[], list[str]] | None = None
    input_devices: Callable[[], list[Any]] | None = None  # -> list[FoundDevice]
    pcsc_readers: Callable[[], list[str]] | None = None
    udev_properties: Callable[[str], dict[str, str]] | None = None
    opener: Callable[[str], Any] | None = None  # evdev opener for the key test
    timeout: float = 0.5
    extra_ports: tuple[str, ...] = ()
    # name devices /dev/hall-* through udev: None = when udev runs this machine
    stable_names: bool | None = None

    def ports(self) -> list[str]:
        found = self.serial_ports() if self.serial_ports else candidate_serial_ports()
        return list(dict.fromkeys([*self.extra_ports, *found]))

    def inputs(self) -> list[Any]:
        if self.input_devices is not None:
            return self.input_devices()
        from drivers.keys.discovery import find_devices

        return find_devices()

    def readers(self) -> list[str]:
        if self.pcsc_readers is not None:
            return self.pcsc_readers()
        return default_pcsc_readers()

    def props(self, path: str) -> dict[str, str]:
        if self.udev_properties is not None:
            return self.udev_properties(path)
        return udev_properties(path)

    def use_stable_names(self, layout: Layout) -> bool:
        if self.stable_names is not None:
            return self.stable_names
        return layout.live and Path("/run/udev/control").exists()


def candidate_serial_ports() -> list[str]:
    """USB-serial and real UARTs; ``ttyS`` placeholders without a UART are skipped."""
    ports: list[str] = []
    for pattern in SERIAL_GLOBS:
        for path in sorted(glob.glob(pattern)):
            name = os.path.basename(path)
            if name.startswith("ttyS"):
                try:
                    if Path(f"/sys/class/tty/{name}/type").read_text().strip() in ("", "0"):
                        continue
                except OSError:
                    continue
            ports.append(path)
    return ports


def default_pcsc_readers() -> list[str]:
    from drivers.citizencard.errors import NoReader
    from drivers.citizencard.pcscd import ensure_pcscd
    from drivers.citizencard.reader import list_readers

    if not ensure_pcscd(timeout=5.0):
        return []
    try:
        return list_readers()
    except NoReader:
        return []


def udev_properties(path: str) -> dict[str, str]:
    """``udevadm info`` properties of a device node; ``{}`` without udev."""
    udevadm = shutil.which("udevadm")
    if not udevadm:
        return {}
    try:
        out = subprocess.run(
            [udevadm, "info", "--query=property", f"--name={path}"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return {}
    return dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)


def probe_printer(port: str, timeout: float) -> tuple[int, Any] | None:
    """(baud, status) if an ESC/POS printer answers ``DLE EOT`` on ``port``, else None."""
    from drivers.printer.errors import PrinterError
    from drivers.printer.printer import open_printer

    for baud in PRINTER_BAUDS:
        printer = open_printer(f"serial:{port}?baud={baud}", status_timeout=timeout)
        try:
            status = printer.status()
            # clear whatever a wrong baud rate left in the print buffer
            printer.print_raw(b"\x1b@")
            return baud, status
        except PrinterError as exc:
            log.debug("no printer on %s at %d baud: %s", port, baud, exc)
            if "cannot open" in str(exc):
                return None
        finally:
            printer.close()
    return None


def probe_sam(port: str, timeout: float) -> str | None:
    """The SAM id if a GA 467 SAM module answers its status command on ``port``."""
    from drivers.idcard.errors import IdCardError
    from drivers.idcard.reader import SamReader

    try:
        with SamReader(port, timeout=timeout, retries=0) as reader:
            reader.status()
            return reader.sam_id()
    except IdCardError as exc:
        log.debug("no SAM reader on %s: %s", port, exc)
        return None


def _input_spec(device: Any) -> str:
    return str(device.by_id[0]) if device.by_id else str(device.path)


def detect(probe: Probe, kinds: Sequence[str], out: TextIO) -> list[Found]:
    """Everything of ``kinds`` that answers, printing what is being tried."""
    found: list[Found] = []
    if {"printer", "idcard"} & set(kinds):
        for port in probe.ports():
            print(f"  探测串口 probing {port} ...", file=out, flush=True)
            hit = probe_printer(port, probe.timeout) if "printer" in kinds else None
            if hit:
                baud, status = hit
                found.append(
                    Found(
                        "printer",
                        f"serial:{port}?baud={baud}",
                        f"ESC/POS 打印机 printer on {port} at {baud} baud ({status.describe()})",
                        port,
                    )
                )
                continue
            sam = probe_sam(port, probe.timeout) if "idcard" in kinds else None
            if sam:
                found.append(
                    Found("idcard", port, f"身份证阅读器 SAM reader on {port} (SAM {sam})", port)
                )
    if "citizencard" in kinds:
        for reader in probe.readers():
            found.append(Found("citizencard", reader, f"PC/SC 读卡器 reader: {reader}"))
    key_kinds = set(INPUT_KINDS) & set(kinds)
    if key_kinds:
        for device in probe.inputs():
            if getattr(device, "error", None):
                print(f"  无法打开 cannot open {device.path}: {device.error}", file=out)
                continue
            kind = device.kind if device.kind in key_kinds else ""
            label = f"{device.name} [{device.kind}] {_input_spec(device)}"
            found.append(Found(kind or "input", _input_spec(device), label, str(device.path)))
    return found


def local_udev_rule(kind: str, props: dict[str, str]) -> str | None:
    """One line of 98-hall-local.rules tagging the device at this USB port (or with this
    serial number) as ``kind``; None when udev gave nothing to match on."""
    subsystem = "input" if kind in INPUT_KINDS else "tty"
    if kind == "printer" and props.get("SUBSYSTEM") == "usbmisc":
        subsystem = "usbmisc"
    if props.get("ID_PATH"):
        match = f'ENV{{ID_PATH}}=="{props["ID_PATH"]}"'
    elif props.get("ID_SERIAL"):
        match = f'ENV{{ID_SERIAL}}=="{props["ID_SERIAL"]}"'
    else:
        return None
    extra = ', KERNEL=="event*", ENV{ID_INPUT_KEY}=="1"' if subsystem == "input" else ""
    return f'SUBSYSTEM=="{subsystem}"{extra}, {match}, ENV{{HALL_DEVICE}}="{kind}"'

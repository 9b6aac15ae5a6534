"""Trying each part, as the technician does when provisioning: read a card, print a
test ticket, press each key, scan a code.  Each returns True when the part worked
and prints what happened (personal data masked)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TextIO

log = logging.getLogger(__name__)


def try_idcard(port: str, wait: float, out: TextIO) -> bool:
    from drivers.idcard.errors import IdCardError, NoCard
    from drivers.idcard.reader import SamReader
    from hall.core.privacy import mask_id, mask_name

    print(
        f"  请在 {wait:.0f} 秒内放上身份证  put an ID card on the reader ...", file=out, flush=True
    )
    deadline = time.monotonic() + wait
    pause = threading.Event()
    try:
        with SamReader(port) as reader:
            while True:
                try:
                    card = reader.read_card()
                    break
                except NoCard:
                    if time.monotonic() >= deadline:
                        print("  ✗ 未放卡 no card within the time", file=out)
                        return False
                    pause.wait(0.3)
    except IdCardError as exc:
        print(f"  ✗ {exc.user_message}  {exc}", file=out)
        return False
    print(
        f"  ✓ 读卡成功 read: {mask_name(card.name)} {mask_id(card.id_number)} ({card.card_type})",
        file=out,
    )
    return True


def try_printer(spec: str, out: TextIO) -> bool:
    from drivers.printer.errors import PrinterError
    from drivers.printer.printer import open_printer
    from drivers.printer.ticket import sample_ticket

    try:
        with open_printer(spec) as printer:
            report = printer.print_ticket(sample_ticket(datetime.now().replace(microsecond=0)))
    except PrinterError as exc:
        print(f"  ✗ {exc.user_message}  {exc}", file=out)
        return False
    print(f"  ✓ 已打印测试票 printed a test ticket ({report.bytes_sent} bytes)", file=out)
    for warning in report.warnings:
        print(f"  ! {warning.user_message}  {warning.message}", file=out)
    return True


def try_citizencard(reader: str, wait: float, out: TextIO) -> bool:
    from drivers.citizencard.errors import CitizenCardError
    from drivers.citizencard.reader import CitizenCardReader

    name = None if reader == "any" else reader
    print(
        f"  请在 {wait:.0f} 秒内插入社保卡/市民卡  insert a citizen card ...", file=out, flush=True
    )
    try:
        card = CitizenCardReader(name).read(timeout=wait)
    except CitizenCardError as exc:
        print(f"  ✗ {exc.user_message}  {exc}", file=out)
        return False
    masked = card.masked()
    print(f"  ✓ 读卡成功 read: {masked['name']} {masked['ssn']}", file=out)
    return True


def try_keys(
    spec: str,
    kind: str,
    wait: float,
    out: TextIO,
    *,
    opener: Callable[[str], Any] | None = None,
) -> bool:
    """Press each key once (keypad, evaluator) or scan one code (scanner) within ``wait``."""
    import queue

    from drivers.keys.device import KeyDevice, open_input_device
    from drivers.keys.events import KeyAction, KeyDecoder, ScannedCode, WedgeAssembler
    from drivers.keys.keymap import ACTION_LABELS, CALLER_DEFAULT, EVALUATOR_DEFAULT
    from hall.core.privacy import redact

    outputs: queue.Queue[Any] = queue.Queue()  # what the device did, from its reader thread
    if kind == "scanner":
        processor: Any = WedgeAssembler()
        wanted: list[str] = []
        print("  请扫描任意条码  scan any barcode ...", file=out, flush=True)
    else:
        keymap = CALLER_DEFAULT if kind == "keypad" else EVALUATOR_DEFAULT
        # a technician presses keys quickly: no storm guard in the test
        processor = KeyDecoder(keymap, max_presses=1000, debounce_s=0.0)
        wanted = sorted(keymap.actions, key=list(ACTION_LABELS).index)
        print("  请依次按每个键  press each key once:", file=out)
        for action in wanted:
            keys = " / ".join(keymap.keys_for(action))
            print(f"    {ACTION_LABELS.get(action, action)} ({action}): {keys}", file=out)
        out.flush()
    device = KeyDevice(
        spec,
        processor,
        on_output=outputs.put,
        on_status=lambda status: outputs.put(("status", status)),
        opener=opener or open_input_device,
    )
    seen: set[str] = set()
    deadline = time.monotonic() + wait
    device.start()
    try:
        while (left := deadline - time.monotonic()) > 0:
            try:
                item = outputs.get(timeout=min(left, 0.2))
            except queue.Empty:
                continue
            if item == ("status", "disconnected"):
                print(f"  ! 设备未连接 {spec} is not there (plugged in?)", file=out, flush=True)
                continue
            if isinstance(item, ScannedCode):
                print(f"  ✓ 扫码 scanned: {redact(item.text)} ({len(item.text)} chars)", file=out)
                return True
            if isinstance(item, KeyAction) and item.action in wanted and item.action not in seen:
                seen.add(item.action)
                label = ACTION_LABELS.get(item.action, item.action)
                print(f"  ✓ {item.key} → {label} ({len(seen)}/{len(wanted)})", file=out, flush=True)
                if len(seen) == len(wanted):
                    return True
    finally:
        device.stop()
    missing = [a for a in wanted if a not in seen] or ["a scanned code"]
    print(f"  ✗ 超时，未收到 not received: {', '.join(missing)}", file=out)
    return False

"""``hall keys``: list input devices and test a keypad, evaluator or scanner.

``hall keys list [--json]`` shows every ``/dev/input/event*`` with a guess of
what it is.  ``hall keys test --device SPEC [--map caller|evaluator|scanner|FILE]``
grabs the device and prints each action (or scanned code) as it is pressed,
until Ctrl-C (or ``--count`` / ``--seconds`` for scripts).
"""

from __future__ import annotations

import argparse
import json
import queue
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

MAP_CHOICES = ("caller", "evaluator", "scanner")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("keys", help="keypads, evaluators and barcode scanners (evdev)")
    ksub = p.add_subparsers(dest="keys_command", metavar="ACTION")
    ksub.required = True

    lp = ksub.add_parser("list", help="list input devices and guess what each one is")
    lp.add_argument("--json", action="store_true", help="one JSON object per device")
    lp.add_argument("--input-dir", default="/dev/input", help=argparse.SUPPRESS)
    lp.set_defaults(func=cmd_list)

    tp = ksub.add_parser("test", help="print each action as keys are pressed (Ctrl-C ends)")
    tp.add_argument(
        "--device",
        required=True,
        metavar="SPEC",
        help="a path (/dev/input/by-id/...), by-id:TEXT or name:TEXT",
    )
    tp.add_argument(
        "--map",
        default="caller",
        metavar="caller|evaluator|scanner|FILE",
        help="built-in key map, 'scanner' for a barcode scanner, or a JSON/YAML key map file",
    )
    tp.add_argument("--no-grab", action="store_true", help="do not take the device exclusively")
    tp.add_argument("--count", type=int, default=0, help="exit after N actions or codes")
    tp.add_argument("--seconds", type=float, default=0.0, help="exit after S seconds")
    tp.set_defaults(func=cmd_test)


def cmd_list(args: argparse.Namespace) -> int:
    from drivers.keys.discovery import find_devices

    devices = find_devices(args.input_dir)
    if args.json:
        for device in devices:
            print(json.dumps(asdict(device), ensure_ascii=False))
        return 0
    if not devices:
        print(f"未发现输入设备（{args.input_dir} 下没有 event 设备）")
        return 0
    for d in devices:
        print(f"{d.path}  [{d.kind}]  {d.name}")
        if d.error:
            print(f"    无法打开: {d.error}")
            continue
        print(f"    {d.summary}" + (f"  phys={d.phys}" if d.phys else ""))
        for link in d.by_id:
            print(f"    {link}")
    return 0


def load_map_file(path: Path) -> Any:
    """A key map file: JSON, or YAML for ``.yaml``/``.yml``."""
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        return yaml.safe_load(text)
    return json.loads(text)


def build_processor(map_arg: str) -> Any:
    """``caller`` / ``evaluator`` / ``scanner`` / a file -> a KeyDecoder or WedgeAssembler."""
    from drivers.keys.events import KeyDecoder, WedgeAssembler
    from drivers.keys.keymap import BUILTIN_MAPS, KeyMapError, keymap_from_config

    if map_arg == "scanner":
        return WedgeAssembler()
    if map_arg in BUILTIN_MAPS:
        return KeyDecoder(BUILTIN_MAPS[map_arg][0])
    path = Path(map_arg)
    if not path.is_file():
        raise KeyMapError(
            [f"--map {map_arg!r} is neither one of {', '.join(MAP_CHOICES)} nor a key map file"]
        )
    return KeyDecoder(keymap_from_config(load_map_file(path), name=path.stem))


def cmd_test(args: argparse.Namespace) -> int:
    return run_test(args)


def _describe(out: Any) -> str | None:
    from drivers.keys.events import KeyAction, ScannedCode, UnmappedKey
    from drivers.keys.keymap import ACTION_LABELS
    from hall.core.privacy import redact

    if isinstance(out, KeyAction):
        label = ACTION_LABELS.get(out.action, "")
        return f"{out.key} → {out.action} {label}".rstrip()
    if isinstance(out, UnmappedKey):
        return f"{out.key} → （未配置动作）"
    if isinstance(out, ScannedCode):
        return f"扫码: {redact(out.text)}  ({len(out.text)} 字符)"
    return None


_STATUS_TEXT = {
    "connected": "已连接 {spec}（按 Ctrl-C 退出）",
    "disconnected": "设备未连接 {spec}，等待插入…",
    "storm": "按键过快（按键卡住或设备故障？），暂时忽略按键",
    "storm_over": "按键恢复正常",
}


def run_test(
    args: argparse.Namespace,
    *,
    opener: Callable[[str], Any] | None = None,
    out: TextIO | None = None,
) -> int:
    """The body of ``hall keys test``; ``opener`` is injectable so tests use a simulator."""
    from drivers.keys.device import KeyDevice, open_input_device

    stream = out or sys.stdout
    processor = build_processor(args.map)
    lines: queue.Queue[tuple[str, bool]] = queue.Queue()

    def on_output(record: Any) -> None:
        text = _describe(record)
        if text is not None:
            lines.put((text, not text.endswith("（未配置动作）")))

    def on_status(status: str) -> None:
        lines.put((_STATUS_TEXT.get(status, status).format(spec=args.device), False))

    device = KeyDevice(
        args.device,
        processor,
        on_output=on_output,
        on_status=on_status,
        opener=opener or open_input_device,
        grab=not args.no_grab,
    )
    deadline = time.monotonic() + args.seconds if args.seconds > 0 else None
    counted = 0
    device.start()
    try:
        while not (args.count and counted >= args.count):
            wait = 0.5 if deadline is None else min(0.5, deadline - time.monotonic())
            if wait <= 0:
                break
            try:
                text, counts = lines.get(timeout=wait)
            except queue.Empty:
                continue
            print(text, file=stream, flush=True)
            counted += counts
    except KeyboardInterrupt:
        print("", file=stream)
    finally:
        device.stop()
    return 0

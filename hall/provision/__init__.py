"""``hall provision``: the technician's tool that turns a Debian box into a hall device.

An interactive wizard (questions with defaults, menus, checks, asked again on a
bad answer), or ``--non-interactive`` with every answer as a flag.  It

1. asks the role, the hall, the window, the hall broker and the center
   (the answers of an earlier run are the defaults: re-running is safe);
2. finds the attached hardware: serial ports where a SAM reader answers its
   status command or an ESC/POS printer its ``DLE EOT`` query, PC/SC readers,
   evdev keypads / evaluators / scanners by their capabilities; and lets the
   technician try each part (read a card, print a test ticket, press each key);
3. writes ``/etc/hall/device.yaml`` (checked, see :mod:`hall.device_config`),
   the units' environment files, the units, udev rules, the ``hall`` user and
   folders, and on the queue host the Mosquitto config;
4. enables the units with ``systemctl enable --now`` when systemd runs the
   machine, and otherwise prints what it would run.

``--root DIR`` provisions a tree (an image, a test) instead of this machine.
Nothing under ``/var/lib/hall`` is ever deleted: the hall's data survives
re-provisioning, a role change and ``--replace`` (a new box taking over a
broken one's device id, optionally importing its databases with
``--import-data``).

Before it asks or writes anything it reads an earlier ``device.yaml`` through
the same check as ``hall doctor`` (:mod:`hall.device_config`): without a
technician (``--non-interactive``) a misspelt key or a bad value there stops it,
so the file is never rewritten without the key the technician meant.  A
kiosk's choice of being the queue host is never guessed in a script
(``--queue-host`` / ``--no-queue-host``), and the demo hall is installed only
when asked for by name (``--hall-config demo``).

Exit codes: 0 done, 1 error, 2 a wrong answer or config, 3 a hardware test
failed (``--test``), 4 the device id is online on another box (``--replace``),
5 written, but the device cannot serve as configured (a kiosk with neither a
ticket printer nor an ID card reader).

Modules: ``layout`` (paths, errors), ``hardware`` (detection), ``tryout`` (trying
each part), ``prompts``, ``wizard`` (the answers), ``install`` (files and units).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from hall import device_config as dc
from hall.provision.hardware import Probe
from hall.provision.install import Installer, apply_units, install
from hall.provision.layout import (
    DEMO_NAME,
    EXIT_CONFIG,
    EXIT_INCOMPLETE,
    EXIT_OK,
    EXIT_TAKEN,
    EXIT_TEST,
    Layout,
    ProvisionError,
    systemd_running,
)
from hall.provision.prompts import Prompter
from hall.provision.tryout import try_citizencard, try_idcard, try_keys, try_printer
from hall.provision.wizard import Wizard

log = logging.getLogger(__name__)


def device_online(
    config: dc.DeviceConfig, password: str | None, timeout: float = 2.0
) -> bool | None:
    """True if the hall broker holds an ``online`` presence for this device id (another box
    runs it), False if not, None if the broker cannot be asked."""
    import queue

    from hall.core.net import parse_hostport
    from sync import topics
    from sync.mqtt import LinkError, MqttLink, TlsSettings

    host, port = parse_hostport(config.broker_address)
    tls = None
    if config.broker_ca_file:
        tls = TlsSettings(config.broker_ca_file, config.broker_cert_file, config.broker_key_file)
    link = MqttLink(
        host=host,
        port=port,
        hall_id=config.hall,
        device_id=f"provision-{os.getpid()}",
        username=config.broker_username,
        password=password,
        tls=tls,
        presence=False,
    )
    seen: queue.Queue[Any] = queue.Queue()
    try:
        link.start(wait=timeout)
    except (LinkError, OSError, ValueError):
        return None
    try:
        link.subscribe(topics.presence(config.hall, config.device), lambda m: seen.put(m.payload))
        try:
            payload = seen.get(timeout=timeout)  # retained: arrives at once if there is one
        except queue.Empty:
            return False
        return isinstance(payload, dict) and payload.get("status") == "online"
    finally:
        link.stop()


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "provision",
        help="set this box up as a hall device: role, hall, hardware, units (a wizard)",
        description="The technician's wizard: asks the role, hall, window, broker and "
        "center, finds and tests the hardware, writes /etc/hall/device.yaml and the units' "
        "environment, installs the units and udev rules and enables them.  Re-running is "
        "safe: the earlier answers are the defaults.  With --non-interactive every answer "
        "comes from a flag (or the earlier config).",
    )
    p.add_argument(
        "--non-interactive",
        action="store_true",
        help="ask nothing: answers from the flags, else the earlier config",
    )
    p.add_argument(
        "--root",
        default="/",
        metavar="DIR",
        help="provision this folder tree instead of the "
        "machine (writes DIR/etc, DIR/var; commands are listed, not run)",
    )
    p.add_argument(
        "--replace",
        metavar="DEVICE",
        help="this box replaces a broken one: take over its device id",
    )
    p.add_argument(
        "--import-data",
        metavar="DIR",
        help="copy the replaced box's databases (*.db) from DIR into /var/lib/hall",
    )
    p.add_argument(
        "--hall-config",
        metavar="FILE",
        help="queue host: the hall config (queues, windows, devices) to install; "
        f"'{DEMO_NAME}': the demo hall (for trying hall-edge out only)",
    )
    p.add_argument(
        "--printer-profile",
        choices=("58mm", "58mm-nocut", "80mm", "80mm-nocut"),
        help="paper width of a detected printer (default 80mm)",
    )
    p.add_argument(
        "--probe-port",
        action="append",
        default=[],
        metavar="PORT",
        help="also probe this serial port for a reader or printer",
    )
    p.add_argument(
        "--probe-timeout",
        type=float,
        default=0.5,
        metavar="S",
        help="seconds a port has to answer a probe (default 0.5)",
    )
    p.add_argument("--no-detect", action="store_true", help="do not probe for hardware")
    p.add_argument(
        "--test",
        action="store_true",
        help="try each configured part (with --non-interactive; the wizard asks)",
    )
    p.add_argument(
        "--test-timeout",
        type=float,
        default=30.0,
        metavar="S",
        help="seconds for each hardware test (default 30)",
    )
    p.add_argument(
        "--no-broker-check",
        action="store_true",
        help="do not ask the broker whether the device id is already online",
    )
    p.add_argument(
        "--broker-password-file",
        metavar="FILE",
        help="read the hall broker password from FILE (stored as /etc/hall/broker.password)",
    )
    p.add_argument(
        "--center-password-file",
        metavar="FILE",
        help="read the center password from FILE (stored as /etc/hall/center.password)",
    )
    pin = p.add_argument_group("kiosk staff PIN and person salt (secrets: never in device.yaml)")
    pin.add_argument(
        "--staff-pin-file",
        metavar="FILE",
        help="kiosk: read its staff PIN (4-8 digits) from FILE; only its hash is stored "
        f"({dc.STAFF_PIN_FILE}).  With --hash-pin: the PIN to hash",
    )
    pin.add_argument(
        "--generate-staff-pin",
        action="store_true",
        help="kiosk: make a random 6-digit staff PIN and show it once",
    )
    pin.add_argument(
        "--person-salt-file",
        metavar="FILE",
        help="copy the hall's person salt from FILE (a copy of the queue host's "
        f"{dc.ETC_DIR}/salt) to this device's salt file",
    )
    pin.add_argument(
        "--hash-pin",
        action="store_true",
        help="only print the stored form of a PIN (asked twice, or --staff-pin-file) for a "
        "clerk's pin_hash in the hall config; writes nothing",
    )
    g = p.add_argument_group("answers (the wizard's questions; 'none' clears a value)")
    for option in dc.OPTIONS:
        if option.key in ("broker.password_file", "center.password_file"):
            continue
        dest = "opt_" + option.field
        if option.boolean:
            g.add_argument(
                option.flag,
                dest=dest,
                action=argparse.BooleanOptionalAction,
                default=None,
                help=option.description,
            )
        else:
            help_text = option.description
            if option.key.startswith("hardware.") and option.key != "hardware.layout":
                help_text += " ('auto': detect, 'none': no such device)"
            name = option.key.rpartition(".")[2]
            metavar = "HOST:PORT" if name == "address" else name.removesuffix("_file").upper()
            g.add_argument(
                option.flag,
                dest=dest,
                default=None,
                choices=option.choices or None,
                metavar=None if option.choices else metavar,
                help=help_text,
            )
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    return provision(args)


def provision(
    args: argparse.Namespace,
    *,
    probe: Probe | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> int:
    """The body of ``hall provision`` (``probe``, ``stdin``, ``stdout`` injectable)."""
    out = stdout or sys.stdout
    layout = Layout(Path(args.root).resolve() if args.root != "/" else Path("/"))
    probe = probe or Probe()
    probe.timeout = args.probe_timeout
    probe.extra_ports = tuple(args.probe_port)
    prompter = None if args.non_interactive else Prompter(stdin or sys.stdin, out)
    try:
        if getattr(args, "hash_pin", False):
            return _hash_pin(args, prompter, out)
        return _provision(args, layout, probe, prompter, out)
    except ProvisionError as exc:
        print(f"hall provision: {exc}", file=sys.stderr if out is sys.stdout else out)
        return exc.code


def _provision(
    args: argparse.Namespace, layout: Layout, probe: Probe, prompter: Prompter | None, out: TextIO
) -> int:
    if layout.live and os.geteuid() != 0:
        raise ProvisionError("run as root: sudo hall provision (it writes /etc and /var/lib)")
    print(f"hall provision — 设备配置向导 device setup ({layout.root})", file=out)
    wizard = Wizard(args, layout, probe, prompter, out)
    old_units = _old_units(wizard.old)
    answers = wizard.run()
    config = answers.config
    if not args.no_broker_check and not config.runs_engine and not args.replace:
        _check_device_id_free(config, answers, wizard.old, layout, out)
    _show(config, out)
    unready = [str(p) for p in dc.hardware_problems(config)]
    for problem in unready:
        print(f"  ✗ 无法服务 cannot serve: {problem}", file=out)
    failed = _try_parts(args, config, answers, probe, prompter, out)
    if prompter is not None:
        question = "写入以上配置? Write this config?"
        if failed:
            question = f"测试未通过 ({', '.join(failed)})，仍然写入? Write the config anyway?"
        elif unready:
            question = "本机按此配置无法服务，仍然写入? The device cannot serve: write anyway?"
        if not prompter.confirm(question, not failed and not unready):
            print("未写入 nothing written", file=out)
            return EXIT_OK
    inst = install(
        answers, layout, out, import_data=Path(args.import_data) if args.import_data else None
    )
    apply_units(inst, config, old_units)
    _report(inst, config, out, unready)
    if answers.staff_pin_shown:  # only now, once: it is written nowhere but as its hash
        print(
            f"\n工作人员密码 staff PIN of {config.device}: {answers.staff_pin_shown}\n"
            "  请记下并交给大厅工作人员，不会再次显示 write it down for the hall's staff: it is "
            "not shown again (hall provision --generate-staff-pin makes a new one)",
            file=out,
        )
    if failed:
        print(f"硬件测试未通过 hardware tests failed: {', '.join(failed)}", file=out)
        return EXIT_TEST
    return EXIT_INCOMPLETE if unready else EXIT_OK


def _hash_pin(args: argparse.Namespace, prompter: Prompter | None, out: TextIO) -> int:
    """``--hash-pin``: the stored form of a PIN, for ``staff[].pin_hash`` in the hall config."""
    from hall.core import pins
    from hall.provision.wizard import read_pin_file

    if args.staff_pin_file:
        pin = read_pin_file(args.staff_pin_file)
    elif prompter is None:
        raise ProvisionError("--hash-pin --non-interactive needs --staff-pin-file FILE")
    else:
        pin = ""
        for _ in range(prompter.MAX_TRIES):
            typed = prompter.secret("密码 PIN, 4-8 digits") or ""
            try:
                pins.check_pin(typed)
            except ValueError as exc:
                print(f"  ✗ {exc}", file=out)
                continue
            if prompter.secret("再输入一次 The same PIN again") != typed:
                print("  ✗ 两次输入不一致 the two PINs differ", file=out)
                continue
            pin = typed
            break
        if not pin:
            raise ProvisionError("no PIN was given", EXIT_CONFIG)
    print(pins.hash_pin(pin), file=out)
    return EXIT_OK


def _check_device_id_free(
    config: dc.DeviceConfig, answers: Any, old: dict[str, Any], layout: Layout, out: TextIO
) -> None:
    """A box must not silently take the id of another one that is running."""
    if old.get("device") == config.device:
        return  # this box is that device (re-provisioning)
    password = answers.broker_password
    if password is None:
        try:
            password = dc.read_secret(config.broker_password_file, layout.root)
        except OSError:
            password = None
    online = device_online(config, password)
    if online:
        raise ProvisionError(
            f"device id {config.device} is online on the hall broker: another box runs it.  "
            f"If this box replaces it, run again with --replace {config.device}",
            EXIT_TAKEN,
        )
    if online is None:
        print(
            f"  ! 无法连接大厅消息服务器 cannot reach the hall broker at "
            f"{config.broker_address} (not checked whether {config.device} is in use)",
            file=out,
        )


def _old_units(old: dict[str, Any]) -> list[str]:
    if not old:
        return []
    data: dict[str, Any] = {}
    for key, value in old.items():
        head, dot, name = key.partition(".")
        if dot:
            data.setdefault(head, {})[name] = value
        else:
            data[key] = value
    try:
        return dc.units_for(dc.parse(data))
    except (dc.ConfigError, ValueError):
        return []


def _show(config: dc.DeviceConfig, out: TextIO) -> None:
    print("\n设备配置 device config:", file=out)
    for option in dc.OPTIONS:
        if option.used_by(config.role, config.runs_engine):
            if option.key == "web.listen" and not config.web_id:
                continue  # no web role here
            value = config.get(option.key)
            if value not in (None, ""):
                print(f"  {option.key}: {value}", file=out)
    print(f"  units: {' '.join(dc.units_for(config))}", file=out)


PARTS = (  # hardware key, name, what the technician does
    ("hardware.printer", "printer", "打印测试票 print a test ticket"),
    ("hardware.idcard", "idcard", "读身份证 read an ID card"),
    ("hardware.citizencard", "citizencard", "读社保卡 read a citizen card"),
    ("hardware.scanner", "scanner", "扫码 scan a code"),
    ("hardware.keys", "keys", "按键测试 press each key"),
)


def _try_parts(
    args: argparse.Namespace,
    config: dc.DeviceConfig,
    answers: Any,
    probe: Probe,
    prompter: Prompter | None,
    out: TextIO,
) -> list[str]:
    """Try each configured part (the wizard asks first; a script with ``--test``); the
    names of those that failed."""
    wait = args.test_timeout
    failed: list[str] = []
    for key, name, what in PARTS:
        spec = answers.try_now.get(key) or config.get(key)
        if not spec:
            continue
        if prompter is None and not args.test:
            continue
        if prompter is not None and not prompter.confirm(f"现在测试 {what}? Test it now?", True):
            continue
        print(f"测试 testing {name}:", file=out, flush=True)
        if name == "printer":
            ok = try_printer(spec, out)
        elif name == "idcard":
            ok = try_idcard(spec, wait, out)
        elif name == "citizencard":
            ok = try_citizencard(spec, wait, out)
        else:
            kind = (
                "scanner"
                if name == "scanner"
                else ("keypad" if config.role == "caller" else "evaluator")
            )
            ok = try_keys(spec, kind, wait, out, opener=probe.opener)
        if not ok:
            failed.append(name)
    return failed


def _report(
    inst: Installer, config: dc.DeviceConfig, out: TextIO, unready: list[str] | None = None
) -> None:
    print("\n已写入 written:" if inst.changed else "\n无变化 nothing changed", file=out)
    for path in inst.changed:
        print(f"  {path}", file=out)
    if inst.unchanged:
        print(f"未变 unchanged: {len(inst.unchanged)} files", file=out)
    for command in inst.commands:
        print(f"已运行 ran: {' '.join(command)}", file=out)
    if inst.skipped:
        if inst.layout.live and not systemd_running():
            print("systemd 未运行本机 (PID 1 is not systemd): run these on the device:", file=out)
        elif not inst.layout.live:
            print(f"provisioned the tree {inst.layout.root}; on the device run:", file=out)
        else:
            print("not run (missing tool); run them by hand:", file=out)
        for command in inst.skipped:
            print(f"  {' '.join(command)}", file=out)
    if unready:
        print(f"\n未完成 not ready: {config.role} {config.device} in hall {config.hall}", file=out)
        for problem in unready:
            print(f"  ✗ {problem}", file=out)
        return
    print(
        f"\n完成 done: {config.role} {config.device} in hall {config.hall}. "
        "检查 check with: hall doctor",
        file=out,
    )

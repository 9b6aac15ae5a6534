"""``hall sync`` (the device's agent) and ``hall monitor`` (the center's side)."""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from hall.core.net import hostport_arg

log = logging.getLogger(__name__)


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def add_center_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("central broker")
    g.add_argument(
        "--center",
        default=os.environ.get("HALL_CENTER", "127.0.0.1:1883"),
        type=hostport_arg,
        help="central broker HOST:PORT (env HALL_CENTER)",
    )
    g.add_argument(
        "--center-user",
        default=os.environ.get("HALL_CENTER_USER"),
        help="username (env HALL_CENTER_USER); with a client certificate the "
        "broker may take the certificate's CN instead",
    )
    g.add_argument(
        "--center-password",
        default=os.environ.get("HALL_CENTER_PASSWORD"),
        help="password (env HALL_CENTER_PASSWORD; prefer --center-password-file)",
    )
    g.add_argument("--center-password-file", default=os.environ.get("HALL_CENTER_PASSWORD_FILE"))
    g.add_argument(
        "--center-ca", default=os.environ.get("HALL_CENTER_CA"), help="CA certificate: turns TLS on"
    )
    g.add_argument(
        "--center-cert",
        default=os.environ.get("HALL_CENTER_CERT"),
        help="this device's certificate",
    )
    g.add_argument(
        "--center-key", default=os.environ.get("HALL_CENTER_KEY"), help="this device's private key"
    )
    g.add_argument("--client-id", help="MQTT client id (stable: it names the persistent session)")


def center_address(args: argparse.Namespace) -> Any:
    from hall.core.net import parse_hostport
    from sync.client import BrokerAddress
    from sync.mqtt import TlsSettings

    host, port = parse_hostport(args.center)
    password = args.center_password
    if args.center_password_file:
        password = Path(args.center_password_file).read_text(encoding="utf-8").strip()
    tls = TlsSettings(args.center_ca, args.center_cert, args.center_key) if args.center_ca else None
    return BrokerAddress(host, port, args.center_user, password, tls)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "sync",
        help="deliver this device's outbox to the center; apply config and commands that come down",
    )
    p.add_argument(
        "--db",
        default=os.environ.get("HALL_SYNC_DB"),
        required="HALL_SYNC_DB" not in os.environ,
        help="the device database with the outbox",
    )
    p.add_argument(
        "--device",
        default=os.environ.get("HALL_DEVICE_ID"),
        required="HALL_DEVICE_ID" not in os.environ,
        help="this device's id",
    )
    p.add_argument("--hall", default=os.environ.get("HALL_ID", "demo-hall"), help="hall id")
    p.add_argument("--role", default=os.environ.get("HALL_ROLE", ""))
    add_center_args(p)
    d = p.add_argument_group("delivery")
    d.add_argument(
        "--ack",
        choices=("broker", "center"),
        default="broker",
        help="delete events at the broker's PUBACK (default) or when the center "
        "confirms it stored them (survives a broker that loses its state)",
    )
    d.add_argument("--session-expiry", type=int, default=7 * 24 * 3600, metavar="S")
    d.add_argument("--batch", type=int, default=500, help="events per message")
    d.add_argument("--window", type=int, default=16, help="messages in flight")
    d.add_argument("--backoff-min", type=float, default=0.5, metavar="S")
    d.add_argument("--backoff-max", type=float, default=60.0, metavar="S")
    d.add_argument("--heartbeat", type=float, default=60.0, metavar="S")
    d.add_argument("--max-events", type=int, default=_env_int("HALL_OUTBOX_MAX_EVENTS", 500_000))
    d.add_argument("--max-bytes", type=int, default=_env_int("HALL_OUTBOX_MAX_BYTES", 512 << 20))
    d.add_argument("--max-age-days", type=float, default=30.0)
    c = p.add_argument_group("config and commands")
    c.add_argument(
        "--config-dir",
        default=os.environ.get("HALL_CONFIG_DIR"),
        help="where pushed config is written (off if not given)",
    )
    c.add_argument(
        "--hall-config",
        default=os.environ.get("HALL_CONFIG"),
        help="the hall config file the engine reads (default CONFIG_DIR/hall.yaml)",
    )
    c.add_argument(
        "--hall-broker",
        default=os.environ.get("HALL_BROKER"),
        type=hostport_arg,
        help="hall broker HOST:PORT for relaying commands to this device's app",
    )
    c.add_argument(
        "--forward",
        default="reprint,message,reload",
        help="commands relayed to the app over the hall plane (with --hall-broker)",
    )
    c.add_argument(
        "--reload-command",
        help="program run for 'reload' instead of relaying it, e.g. 'systemctl reload hall-engine'",
    )
    p.set_defaults(func=sync_main)

    m = sub.add_parser(
        "monitor",
        help="the center's side: watch a hall's events (one JSON line "
        "each), store them de-duplicated, push config, send commands",
    )
    m.add_argument(
        "--hall",
        default=os.environ.get("HALL_ID", "+"),
        help="hall id, or + for every hall (default)",
    )
    add_center_args(m)
    m.add_argument("--store", help="SQLite file to store events into (de-duplicated by id)")
    m.add_argument(
        "--confirm",
        action="store_true",
        help="act as THE center: confirm stored events so agents with --ack center "
        "may delete them, and ask for missing ones",
    )
    m.add_argument(
        "--session-expiry",
        type=int,
        default=None,
        metavar="S",
        help="default: 7 days with --confirm, else 0 (no session kept)",
    )
    m.add_argument("--quiet", action="store_true", help="do not print events")
    m.add_argument("--status", action="store_true", help="also print health and presence")
    m.add_argument(
        "--push-config",
        metavar="FILE",
        help="publish a config (a hall config file, or a whole config document) and exit",
    )
    m.add_argument("--config-version", type=int, help="version for --push-config")
    m.add_argument("--to", metavar="DEVICE", help="device for --command or a device config")
    m.add_argument("--command", metavar="NAME", help="send a command to --to and print the answer")
    m.add_argument("--args", default="{}", help="JSON arguments for --command")
    x = m.add_argument_group("export (reads --store, no broker)")
    x.add_argument(
        "--export",
        choices=("haochaping",),
        help="write the stored ratings as JSON lines for the 好差评 platform and exit "
        "(docs/haochaping.md)",
    )
    x.add_argument("--out", metavar="FILE", help="file for --export (default: stdout)")
    x.add_argument(
        "--since",
        type=_date_arg,
        metavar="YYYY-MM-DD",
        help="with --export: only ratings given on that day or later",
    )
    m.set_defaults(func=monitor_main)


def _date_arg(text: str) -> Any:
    import datetime

    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def sync_main(args: argparse.Namespace) -> int:
    from hall.core.appliance import notifier, run_daemon
    from sync.agent import AgentSettings, SyncAgent
    from sync.commands import CommandRegistry, forward_to_role, run_program
    from sync.config_apply import ConfigApplier
    from sync.outbox import RetentionPolicy

    settings = AgentSettings(
        ack=args.ack,
        session_expiry_s=args.session_expiry,
        batch_events=args.batch,
        window=args.window,
        backoff_min_s=args.backoff_min,
        backoff_max_s=args.backoff_max,
        heartbeat_s=args.heartbeat,
        retention=RetentionPolicy(args.max_events, args.max_bytes, args.max_age_days * 86400),
    )
    config = None
    if args.config_dir or args.hall_config:
        folder = Path(args.config_dir or Path(args.hall_config).parent)
        config = ConfigApplier(
            args.hall,
            args.device,
            folder,
            Path(args.hall_config) if args.hall_config else None,
            hall_check=getattr(args, "hall_check", None),  # handed down by the hall command
        )
    registry = CommandRegistry()
    stops = []
    link = None
    if args.hall_broker:
        from hall.core.net import parse_hostport
        from sync.mqtt import LinkError, MqttLink

        host, port = parse_hostport(args.hall_broker)
        link = MqttLink(
            host=host,
            port=port,
            hall_id=args.hall,
            device_id=args.device,
            role="sync",
            presence=False,
        )
        try:
            link.start(wait=None)
        except LinkError as exc:
            log.error("%s", exc)
            return 3
        stops.append(link.stop)
        for name in filter(None, (n.strip() for n in args.forward.split(","))):
            registry.register(name, forward_to_role(link))
    if args.reload_command:
        registry.register("reload", run_program(shlex.split(args.reload_command)))
    agent = SyncAgent(
        db_path=args.db,
        hall_id=args.hall,
        device_id=args.device,
        center=center_address(args),
        role=args.role,
        settings=settings,
        client_id=args.client_id,
        config=config,
        commands=registry,
    )
    agent.start()
    stops.append(agent.stop)
    alive = None
    interval = notifier().watchdog_interval_s
    if interval is not None:  # under systemd's watchdog: ping only while the agent turns
        alive = functools.partial(agent_alive, agent, max_age=interval, link=link)
    return run_daemon(stops, status=f"delivering to {args.center}", alive=alive)


def center_alive(center: Any, *, max_age: float) -> bool:
    """The center's loop thread (it owns the MQTT client) runs and turned recently.

    It turns every 0.1 s while connected, and between connection attempts
    after at most its longest back-off (5 s) plus one connect.
    """
    thread = center._thread
    return (
        thread is not None and thread.is_alive() and time.monotonic() - center.last_turn < max_age
    )


def agent_alive(agent: Any, *, max_age: float, link: Any = None) -> bool:
    """The sync agent's thread runs and its loop turned less than ``max_age`` seconds
    ago; and the hall link it relays commands on (if any) has its threads running.

    Its loops turn at least every second (``loop(1.0)`` with a window in flight,
    the offline wait); one connection attempt may take ``connect_timeout_s`` plus
    the TCP connect, well under half of the unit's ``WatchdogSec=60``.
    """
    thread = agent._thread
    return (
        thread is not None
        and thread.is_alive()
        and time.monotonic() - agent.last_turn < max_age
        and (link is None or link.alive())
    )


def _print_line(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _config_document(path: str, version: int | None) -> dict[str, Any]:
    import time

    import yaml

    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise SystemExit(f"{path}: expected a mapping")
    if "queues" in data:  # a hall config file: wrap it
        if version is None:
            raise SystemExit("--push-config with a hall config needs --config-version N")
        return {"version": version, "issued_at": time.strftime("%Y-%m-%dT%H:%M:%S"), "hall": data}
    if version is not None:
        data["version"] = version
    return data


def monitor_main(args: argparse.Namespace) -> int:
    from hall.core.appliance import notifier, run_daemon
    from sync.center import Center
    from sync.client import CenterLinkError

    if args.export:
        return export_main(args)
    expiry = args.session_expiry
    if expiry is None:
        expiry = 7 * 24 * 3600 if args.confirm else 0
    one_shot = bool(args.push_config or args.command)
    center = Center(
        broker=center_address(args),
        hall=args.hall,
        client_id=args.client_id,
        store=args.store or ":memory:",
        confirm=args.confirm and not one_shot,
        session_expiry_s=0 if one_shot else expiry,
        on_event=None if (args.quiet or one_shot) else _print_line,
        on_status=(lambda kind, data: _print_line({"type": kind, "data": data}))
        if args.status and not one_shot
        else None,
    )
    try:
        center.start(wait=30)
    except CenterLinkError as exc:
        log.error("%s", exc)
        return 3
    if not one_shot:
        log.info("monitoring hall %s on %s", args.hall, args.center)

        interval = notifier().watchdog_interval_s
        alive = None
        if interval is not None:
            alive = functools.partial(center_alive, center, max_age=interval)
        return run_daemon([center.stop], status=f"monitoring hall {args.hall}", alive=alive)
    try:
        if args.hall == "+":
            raise SystemExit("--push-config and --command need --hall ID")
        if args.push_config:
            doc = _config_document(args.push_config, args.config_version)
            center.publish_config(args.hall, doc, device=args.to)
            _print_line(
                {
                    "published": "config",
                    "hall": args.hall,
                    "device": args.to,
                    "version": doc.get("version"),
                }
            )
        if args.command:
            if not args.to:
                raise SystemExit("--command needs --to DEVICE")
            _print_line(
                center.command(args.hall, args.to, args.command, json.loads(args.args), timeout=10)
            )
    except CenterLinkError as exc:
        log.error("%s", exc)
        return 4
    finally:
        center.stop()
    return 0


def export_main(args: argparse.Namespace) -> int:
    """``hall monitor --export haochaping --store F [--out F] [--since D] [--hall H]``.

    Reads the center's store (it never connects to a broker), writes one line per
    rating (sync/haochaping.py), names on stderr each stored rating it leaves out
    and why, and ends with a summary there.  The lines go out as they are, not
    through the output masking: the export carries no personal data by
    construction (no phone; the comment masked field by field), and the masking
    would take a case number or a code that looks like a phone for one.
    """
    import tempfile

    from hall.core.privacy import unredacted
    from sync import haochaping
    from sync.center import CenterStore

    if not args.store:
        log.error("--export reads the center's store: give --store FILE")
        return 2
    store_path = Path(args.store)
    if not store_path.is_file():
        log.error("no center store at %s", store_path)
        return 2

    def report(event: Any, skip: Any) -> None:
        print(haochaping.describe_skip(event, skip), file=sys.stderr)

    store = CenterStore(store_path)
    try:
        events = store.iter_events(kind="evaluation", hall=None if args.hall == "+" else args.hall)
        if not args.out:
            result = haochaping.export(
                events, unredacted(sys.stdout), since=args.since, report=report
            )
            sys.stdout.flush()
        else:
            out = Path(args.out)
            out.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
                    result = haochaping.export(events, f, since=args.since, report=report)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, out)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
    finally:
        store.close()
    print(result.summary(to=args.out or "stdout"), file=sys.stderr)
    return 0

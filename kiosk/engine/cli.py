"""``hall engine``: run the hall queue engine on the hall broker."""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sync.connect import add_broker_args, link_from_args

if TYPE_CHECKING:
    from hall.core.appliance import Probe
    from kiosk.engine.config import HallConfig
    from kiosk.engine.engine import QueueEngine
    from kiosk.engine.service import EngineService
    from sync.mqtt import MqttLink

log = logging.getLogger(__name__)
DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "assets" / "halls" / "demo.yaml"


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("engine", help="run the hall queue engine (on the queue host)")
    p.add_argument(
        "--config",
        default=os.environ.get("HALL_CONFIG", str(DEFAULT_CONFIG)),
        help="hall config (YAML or JSON)",
    )
    p.add_argument("--db", default=os.environ.get("HALL_ENGINE_DB", "/var/lib/hall/engine.db"))
    p.add_argument("--device", default="engine", help="this engine's device id on the broker")
    p.add_argument(
        "--check",
        action="store_true",
        help="only check the hall config: every problem (exit 2), then the texts shown to "
        "citizens that have no English value (a report, exit 0)",
    )
    add_broker_args(p)
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from hall.core.appliance import notifier, run_daemon
    from hall.core.latency import tune_for_latency
    from kiosk.engine.config import ConfigError, english_gaps, load_hall_config
    from kiosk.engine.engine import QueueEngine
    from kiosk.engine.service import EngineService
    from sync.commands import serve_control
    from sync.mqtt import LinkError

    if args.check:
        return check_config(args.config)
    try:
        config = load_hall_config(args.config)
    except ConfigError as exc:  # names the file and every problem
        log.error("cannot load the hall config: %s", exc)
        return 2
    except OSError as exc:
        log.error("cannot load hall config %s: %s", args.config, exc)
        return 2
    for gap in english_gaps(config):
        log.warning("hall config %s: %s (English mode shows the Chinese)", args.config, gap)
    args.hall = config.hall_id
    engine = QueueEngine(with_own_device(config, args.device), args.db)
    link = link_from_args(args, device_id=args.device, role="engine")
    try:
        link.start(wait=30)
    except LinkError as exc:
        log.error("%s", exc)
        engine.close()
        return 3
    service = EngineService(engine, link)
    service.start()  # also logs idle clerks out (staff_login.idle_logout_min)
    tune_for_latency()  # the state of a call goes out while the dispatcher works on
    # "reload" from the center (relayed by the sync agent): use the config file it wrote.
    serve_control(
        link, {"reload": reload_handler(args.config, engine, service, own_device=args.device)}
    )
    log.info("queue engine for %s serving on %s", config.hall_id, args.broker)
    stops = [engine.close, link.stop, service.stop]
    alive = None
    interval = notifier().watchdog_interval_s
    if interval is not None:  # under systemd's watchdog: ping only while the engine answers
        probe = self_probe(link, config.hall_id, args.device, max_age=interval).start()
        stops.append(probe.stop)
        if not probe.wait(interval):
            log.warning("the engine did not answer its own probe at start-up")

        def alive() -> bool:
            return link.alive() and probe.alive()

    return run_daemon(stops, status=f"serving hall {config.hall_id}", alive=alive)


def check_config(path: str | Path, out: Any = None) -> int:
    """``hall engine --check``: the hall config as the engine loads it.  Every problem
    (each with its path) and exit 2; else the texts shown to citizens without an
    English value, one a line (a warning: the English mode shows the Chinese), exit 0."""
    import sys

    from kiosk.engine.config import ConfigError, english_gaps, load_hall_config

    out = out or sys.stdout
    try:
        config = load_hall_config(path)
    except ConfigError as exc:
        print(f"hall config {path}: refused", file=out)
        for problem in exc.problems:
            print(f"  {problem}", file=out)
        return 2
    except OSError as exc:
        print(f"hall config {path}: {exc}", file=out)
        return 2
    gaps = english_gaps(config)
    print(
        f"hall config {path}: ok (hall {config.hall_id}, {len(config.items)} items, "
        f"{len(config.windows)} windows); {len(gaps)} text(s) without English",
        file=out,
    )
    for gap in gaps:
        print(f"  warning: {gap}", file=out)
    return 0


PROBE_COMMAND = {"cmd": "board"}  # read-only and cheap: two indexed queries


def with_own_device(config: HallConfig, device_id: str) -> HallConfig:
    """``config`` with the engine's own device declared (role ``engine``) if it is not.

    The engine's watchdog probe is a command the engine sends itself on
    ``hall/{hall}/dev/{device_id}/cmd``; the service answers only declared devices,
    and role ``engine`` may send the monitor's read-only commands.  On the hall
    broker only the engine's own account may publish there (the ACL).
    """
    import dataclasses

    from kiosk.engine.config import Device

    if config.device(device_id) is not None:
        return config
    return dataclasses.replace(config, devices=(*config.devices, Device(device_id, "engine")))


def self_probe(link: MqttLink, hall_id: str, device_id: str, *, max_age: float) -> Probe:
    """The engine's watchdog proof: it answers a ``board`` request it sends itself.

    The round trip crosses everything a device's command does: the broker, paho's
    network thread both ways, the link's dispatcher, the service and the database.
    One every ``max_age / 3`` seconds, each waiting at most ``max_age / 2``; the
    probe is alive while the last answer is younger than ``max_age`` (half of
    ``WatchdogSec``).  Excused while the link is disconnected: paho's thread
    reconnects by itself (and :meth:`MqttLink.alive` checks that it runs), and
    restarting the engine would not bring the broker back.
    """
    from hall.core.appliance import Probe
    from sync import topics

    topic = topics.command(hall_id, device_id)
    timeout = max_age / 2

    def check() -> None:
        answer = link.request(topic, dict(PROBE_COMMAND), timeout=timeout)
        if not (isinstance(answer, dict) and answer.get("ok") is True):
            error = answer.get("error") if isinstance(answer, dict) else answer
            raise RuntimeError(f"the engine refused its own {PROBE_COMMAND['cmd']}: {error}")

    return Probe(
        check,
        every=max_age / 3,
        max_age=max_age,
        excused=lambda: not link.connected.is_set(),
        name=f"engine-probe-{device_id}",
    )


def reload_handler(
    config_path: str | Path,
    engine: QueueEngine,
    service: EngineService,
    *,
    own_device: str | None = None,
) -> Callable[[dict[str, Any]], Any]:
    """The engine's ``reload`` command: re-read ``config_path`` and serve the new config.

    A config that does not load is refused (``bad_config``, with the path and the
    reason) and the engine keeps the one it has.  ``own_device``: the engine's
    device id, kept declared in the new config (:func:`with_own_device`).
    """
    from kiosk.engine.config import ConfigError, load_hall_config
    from sync.commands import CommandError

    def reload(_args: dict[str, Any]) -> dict[str, Any]:
        try:
            new = load_hall_config(config_path)
        except (ConfigError, OSError) as exc:
            raise CommandError(
                "bad_config",
                f"hall config {config_path} not loaded, the old one stays: {exc}",
                "新配置无效，仍使用原配置",
            ) from None
        if new.hall_id != engine.config.hall_id:
            raise CommandError(
                "bad_config",
                f"hall config {config_path} is for hall {new.hall_id!r}, this engine serves "
                f"{engine.config.hall_id!r}; the old config stays",
                "新配置不属于本大厅，仍使用原配置",
            )
        engine.reconfigure(with_own_device(new, own_device) if own_device else new)
        service.publish_all()
        log.info("hall config %s reloaded: version %s", config_path, new.version)
        return {"version": new.version}

    return reload

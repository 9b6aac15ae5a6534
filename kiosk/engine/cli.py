"""``hall engine``: run the hall queue engine on the hall broker."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from sync.connect import add_broker_args, link_from_args

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
        "--salt-file",
        default=os.environ.get("HALL_SALT_FILE"),
        help="secret used to hash ID numbers for per-person limits",
    )
    add_broker_args(p)
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from hall.appliance import run_daemon
    from kiosk.engine.config import ConfigError, load_hall_config
    from kiosk.engine.engine import QueueEngine
    from kiosk.engine.service import EngineService
    from sync.mqtt import LinkError

    try:
        config = load_hall_config(args.config)
    except (ConfigError, OSError) as exc:
        log.error("cannot load hall config %s: %s", args.config, exc)
        return 2
    args.hall = config.hall_id
    engine = QueueEngine(config, args.db)
    link = link_from_args(args, device_id=args.device, role="engine")
    try:
        link.start(wait=30)
    except LinkError as exc:
        log.error("%s", exc)
        engine.close()
        return 3
    service = EngineService(engine, link)
    service.start()
    log.info("queue engine for %s serving on %s", config.hall_id, args.broker)
    return run_daemon([engine.close, link.stop], status=f"serving hall {config.hall_id}")

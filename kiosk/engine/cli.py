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
    from kiosk.engine.engine import QueueEngine
    from kiosk.engine.service import EngineService

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
    from sync.commands import serve_control
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
    # "reload" from the center (relayed by the sync agent): use the config file it wrote.
    serve_control(link, {"reload": reload_handler(args.config, engine, service)})
    log.info("queue engine for %s serving on %s", config.hall_id, args.broker)
    return run_daemon([engine.close, link.stop], status=f"serving hall {config.hall_id}")


def reload_handler(
    config_path: str | Path, engine: QueueEngine, service: EngineService
) -> Callable[[dict[str, Any]], Any]:
    """The engine's ``reload`` command: re-read ``config_path`` and serve the new config.

    A config that does not load is refused (``bad_config``, with the path and the
    reason) and the engine keeps the one it has.
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
        engine.reconfigure(new)
        service.publish_all()
        log.info("hall config %s reloaded: version %s", config_path, new.version)
        return {"version": new.version}

    return reload

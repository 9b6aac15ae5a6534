"""Broker options shared by every role's command line, and building a link from them.

Light to import: paho (:mod:`sync.mqtt`) loads when a link is built, so a screen app's
command line can parse its options, and paint, before the network stack loads.
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from hall.core.net import hostport_arg, parse_hostport

if TYPE_CHECKING:
    from sync.mqtt import MqttLink


def add_broker_args(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("hall broker")
    g.add_argument(
        "--broker",
        default=os.environ.get("HALL_BROKER", "127.0.0.1:1883"),
        type=hostport_arg,
        help="hall broker HOST:PORT (default 127.0.0.1:1883, env HALL_BROKER)",
    )
    g.add_argument(
        "--hall", default=os.environ.get("HALL_ID", "demo-hall"), help="hall id (env HALL_ID)"
    )
    g.add_argument("--username", default=os.environ.get("HALL_MQTT_USER"))
    g.add_argument("--password", default=os.environ.get("HALL_MQTT_PASSWORD"))
    g.add_argument("--ca-file", default=os.environ.get("HALL_MQTT_CA"))
    g.add_argument("--cert-file", default=os.environ.get("HALL_MQTT_CERT"))
    g.add_argument("--key-file", default=os.environ.get("HALL_MQTT_KEY"))


def link_from_args(
    args: argparse.Namespace, *, device_id: str, role: str, session_expiry_s: int = 0
) -> MqttLink:
    from sync.mqtt import MqttLink, TlsSettings

    host, port = parse_hostport(args.broker)
    tls = TlsSettings(args.ca_file, args.cert_file, args.key_file) if args.ca_file else None
    return MqttLink(
        host=host,
        port=port,
        hall_id=args.hall,
        device_id=device_id,
        role=role,
        username=args.username,
        password=args.password,
        tls=tls,
        session_expiry_s=session_expiry_s,
    )

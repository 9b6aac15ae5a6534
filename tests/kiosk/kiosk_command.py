"""The ``hall kiosk`` command line the tests start as a process: on the test's broker,
portrait (1080x1920), without voice."""

from __future__ import annotations

from sync.broker import Mosquitto


def kiosk_args(broker: Mosquitto, *extra: str) -> list[str]:
    """``python``'s arguments for ``hall kiosk`` on ``broker``, then ``extra``."""
    return [
        "-m",
        "hall.cli",
        "kiosk",
        "--broker",
        f"{broker.host}:{broker.port}",
        "--no-voice",
        "--window",
        "1080x1920",
        *extra,
    ]

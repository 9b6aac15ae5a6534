"""Topic names of both MQTT planes, in one place (documented in sync/asyncapi.yaml).

Every device publishes only below ``hall/{hall}/dev/{device}/`` (the broker's
ACL pattern ``hall/+/dev/%u/#``); only the engine writes hall-wide state.
"""

from __future__ import annotations


def presence(hall: str, device: str) -> str:
    return f"hall/{hall}/dev/{device}/presence"


def reply(hall: str, device: str) -> str:
    return f"hall/{hall}/dev/{device}/reply"


def command(hall: str, device: str) -> str:
    """Where a device sends its requests to the queue engine."""
    return f"hall/{hall}/dev/{device}/cmd"


def commands_filter(hall: str) -> str:
    return f"hall/{hall}/dev/+/cmd"


def device_of(topic: str) -> str:
    """``hall/h/dev/caller-3/cmd`` -> ``caller-3``."""
    parts = topic.split("/")
    return parts[3] if len(parts) >= 5 and parts[2] == "dev" else ""


def window_state(hall: str, window: str) -> str:
    return f"hall/{hall}/window/{window}/state"


def window_states_filter(hall: str) -> str:
    return f"hall/{hall}/window/+/state"


def board(hall: str) -> str:
    return f"hall/{hall}/board"


def catalog(hall: str) -> str:
    return f"hall/{hall}/catalog"


def calls(hall: str) -> str:
    """Announcements: every call and recall, for displays and the voice."""
    return f"hall/{hall}/event/call"

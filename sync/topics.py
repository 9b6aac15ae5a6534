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


def call(hall: str, window: str) -> str:
    """Announcements of one window's calls and recalls: what its display flashes and says.
    One topic per window, so that a display is not woken by the other windows' calls
    (fifty displays each parsing every call of the hall, #16)."""
    return f"hall/{hall}/event/call/{window}"


def calls(hall: str) -> str:
    """Every window's announcements (a filter): the board's recent calls, the web."""
    return f"hall/{hall}/event/call/+"


# ---------------------------------------------------------------- central plane
# The sync agent's topics live below the device's own subtree
# (``hall/{hall}/dev/{device}/sync/...``) so one ACL pattern covers them on the
# central broker too; only the hall-wide config is shared by a hall's devices.


def sync_events(hall: str, device: str) -> str:
    """Batches of outbox events, device -> center (QoS 1)."""
    return f"hall/{hall}/dev/{device}/sync/events"


def sync_events_filter(hall: str = "+") -> str:
    return f"hall/{hall}/dev/+/sync/events"


def sync_health(hall: str, device: str) -> str:
    """Retained: the device's latest health heartbeat."""
    return f"hall/{hall}/dev/{device}/sync/health"


def sync_presence(hall: str, device: str) -> str:
    """Retained: the sync agent's link to the center; the Last Will sets offline."""
    return f"hall/{hall}/dev/{device}/sync/presence"


def sync_ack(hall: str, device: str) -> str:
    """Retained, center -> device: everything up to this sequence is stored."""
    return f"hall/{hall}/dev/{device}/sync/ack"


def sync_resend(hall: str, device: str) -> str:
    """Center -> device: the center missed events after a sequence; send them again."""
    return f"hall/{hall}/dev/{device}/sync/resend"


def sync_command(hall: str, device: str) -> str:
    """Center -> device commands (MQTT v5 response topic + correlation data)."""
    return f"hall/{hall}/dev/{device}/sync/cmd"


def sync_reply(hall: str, device: str) -> str:
    """Where a device answers the center's commands (the center names it as response topic)."""
    return f"hall/{hall}/dev/{device}/sync/reply"


def hall_config(hall: str) -> str:
    """Retained, versioned configuration for every device of a hall."""
    return f"hall/{hall}/sync/config"


def device_config(hall: str, device: str) -> str:
    """Retained, versioned configuration for one device."""
    return f"hall/{hall}/dev/{device}/sync/config"


def control(hall: str, device: str) -> str:
    """Hall plane: the device's sync agent asks its role app to act (re-print, reload ...)."""
    return f"hall/{hall}/dev/{device}/control"


def sync_parts(topic: str) -> tuple[str, str, str]:
    """``hall/h/dev/d/sync/events`` -> ``("h", "d", "events")``; empty strings if no match."""
    parts = topic.split("/")
    if len(parts) == 6 and parts[0] == "hall" and parts[2] == "dev" and parts[4] == "sync":
        return parts[1], parts[3], parts[5]
    return "", "", ""

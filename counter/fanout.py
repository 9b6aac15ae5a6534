"""Several widgets on one hall link may watch the same topic.

``MqttLink.subscribe`` keeps one handler per topic filter (a second
subscription replaces the first), and the broker sends retained messages
only when a subscription is made.  Widgets sharing a link (the demo; the
bench's fifty displays on one link) therefore subscribe here: one broker
subscription per link and filter, fanned out to every callback in order.
For state topics (``replay=True``) the latest message of each topic is kept
and handed to a widget that subscribes later, marked as retained (old news:
no flashing, no announcement); event topics (calls) are never replayed.
"""

from __future__ import annotations

import dataclasses
import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

from hall.ui.qt import QTimer
from hall.ui.qtlink import QtLink
from sync.mqtt import Message

log = logging.getLogger(__name__)

Callback = Callable[[Message], None]


@dataclass
class _Hub:
    callbacks: list[Callback] = field(default_factory=list)
    latest: dict[str, Message] = field(default_factory=dict)  # topic -> last message
    replay: bool = False


_hubs: weakref.WeakKeyDictionary[QtLink, dict[str, _Hub]] = weakref.WeakKeyDictionary()


def subscribe(
    qtlink: QtLink, topic_filter: str, callback: Callback, *, replay: bool = True
) -> Callable[[], None]:
    """Like ``QtLink.subscribe`` (``callback`` runs on the GUI thread), but shareable.

    Returns a function that stops the deliveries to ``callback`` (a widget's shutdown).
    """
    hubs = _hubs.setdefault(qtlink, {})
    hub = hubs.get(topic_filter)
    if hub is None:
        hub = hubs[topic_filter] = _Hub(replay=replay)

        def deliver(message: Message, hub: _Hub = hub) -> None:
            if hub.replay and message.topic:
                hub.latest[message.topic] = message
            for cb in list(hub.callbacks):
                try:
                    cb(message)
                except Exception:
                    log.exception("handler for %s failed", message.topic)

        qtlink.subscribe(topic_filter, deliver)
    elif hub.replay and hub.latest:
        for message in list(hub.latest.values()):
            old = dataclasses.replace(message, retain=True)
            QTimer.singleShot(0, lambda m=old: callback in hub.callbacks and callback(m))
    hub.callbacks.append(callback)
    return lambda: unsubscribe(qtlink, topic_filter, callback)


def unsubscribe(qtlink: QtLink, topic_filter: str, callback: Callback) -> None:
    """Stop delivering to ``callback`` (the broker subscription stays: others may share it)."""
    hub = _hubs.get(qtlink, {}).get(topic_filter)
    if hub is not None and callback in hub.callbacks:
        hub.callbacks.remove(callback)

"""The hall plane's MQTT link: one small class every role uses.

* MQTT v5 over paho-mqtt 2.x; paho's network thread owns the socket.  The
  client itself (TLS, credentials, session, reconnect delays), JSON, the
  contract checks and closing come from ``sync.client``, the one paho wrapper.
* Requests carry a response topic and correlation data and wait with a
  timeout; a lost connection fails every pending request with the reason.
* Incoming messages are handed to one dispatcher thread, so handlers may
  publish or block briefly without holding paho's locks.  Requests that arrived
  together reach a ``serve_batch`` handler together (the engine's group commit);
  a handler that only hands over (``inline``: a queued Qt signal) runs on paho's
  thread itself.
* Presence: a retained ``online`` on connect, a Last Will sets ``offline``.
* Every message received is bounded, parsed strictly and checked against
  the AsyncAPI contract (``sync/inbound.py``) before a handler sees it; one
  that fails is counted and dropped, or answered with ``bad_request`` when it
  is a request.  No exception raised while receiving reaches paho's thread.
* Answers go only to a response topic in the asker's own subtree.
* With ``HALL_VALIDATE_CONTRACT=1`` (the tests) every message sent is checked
  against the contract too.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties

from sync import client as paho
from sync import topics
from sync.client import MAX_PAYLOAD, LinkError, Message, TlsSettings
from sync.health import report_rejections_to
from sync.inbound import REJECTS, response_topic_allowed

__all__ = [
    "MAX_PAYLOAD",
    "LinkError",
    "Message",
    "MqttLink",
    "RequestTimeout",
    "TlsSettings",
    "bad_request",
]

log = logging.getLogger(__name__)

Handler = Callable[[Message], None]
RequestHandler = Callable[[Message], dict[str, Any]]
Respond = Callable[[Message, dict[str, Any]], None]
BatchHandler = Callable[[list[Message], Respond], None]
#: At most this many waiting messages are taken at once (one group commit's commands).
MAX_BATCH = 64


class RequestTimeout(LinkError):
    """No response arrived in time."""


class MqttLink:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        hall_id: str,
        device_id: str,
        username: str | None = None,
        password: str | None = None,
        password_file: str | Path | None = None,
        tls: TlsSettings | None = None,
        keepalive: int = 15,
        presence: bool = True,
        session_expiry_s: int = 0,
        role: str = "",
    ) -> None:
        self.host, self.port = host, port
        self.hall_id, self.device_id, self.role = hall_id, device_id, role
        password = paho.password_from(password, password_file)
        self._address = paho.BrokerAddress(host, port, username, password, tls, keepalive)
        self._session_expiry_s = session_expiry_s
        self._presence_topic = topics.presence(hall_id, device_id) if presence else None
        will = None
        if self._presence_topic:
            will = paho.Will(self._presence_topic, self._presence_payload("offline"))
        self._client = paho.new_client(
            self._address,
            paho.client_id(device_id, session_expiry_s=session_expiry_s),
            will=will,
            max_queued=10000,
            reconnect_delay=(1, 10),
        )
        self._reply_topic = topics.reply(hall_id, device_id)
        # Roles with a device database count what they drop into its health table.
        report_rejections_to(os.environ.get("HALL_HEALTH_DB"), role or device_id)
        self._subs: dict[str, tuple[int, Handler]] = {}
        self._served: set[str] = set()  # filters answered by serve(): errors reach them
        self._inline: set[str] = set()  # filters whose handler runs on paho's thread
        self._pending: dict[bytes, Future[Message]] = {}
        self._pending_lock = threading.Lock()
        self._inbox: queue.Queue[tuple[Handler, Message] | None] = queue.Queue()
        self._dispatcher: threading.Thread | None = None
        self.connected = threading.Event()
        self._closing = False
        self.on_connection_change: Callable[[bool], None] | None = None
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe
        self._connect_sub_mid: int | None = None
        self._sub_waits: dict[int, threading.Event] = {}
        self._early_subacks: set[int] = set()

    # ------------------------------------------------------------------ lifecycle

    def _presence_payload(self, status: str) -> bytes:
        return paho.encode(
            {
                "device": self.device_id,
                "role": self.role,
                "status": status,
                "ts": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            }
        )

    def start(self, *, wait: float | None = 10.0) -> MqttLink:
        """Connect in the background; with ``wait``, block until connected or raise."""
        self._dispatcher = threading.Thread(
            target=self._dispatch_loop, name=f"mqtt-dispatch-{self.device_id}", daemon=True
        )
        self._dispatcher.start()
        paho.connect_async(self._client, self._address, session_expiry_s=self._session_expiry_s)
        self._client.loop_start()
        if wait is not None and not self.connected.wait(wait):
            self.stop()
            raise LinkError(
                f"cannot reach the MQTT broker at {self.host}:{self.port} within {wait:.0f}s: "
                "check that mosquitto runs and the address in the device config"
            )
        return self

    def stop(self) -> None:
        self._closing = True
        if self._presence_topic and self.connected.is_set():
            info = self._client.publish(
                self._presence_topic, self._presence_payload("offline"), qos=1, retain=True
            )
            try:
                info.wait_for_publish(2)
            except (RuntimeError, ValueError):
                log.warning("could not publish offline presence for %s", self.device_id)
        paho.close(self._client, network_thread=True)
        self._fail_pending("link stopped")
        self._inbox.put(None)
        if self._dispatcher:
            self._dispatcher.join(5)

    # ------------------------------------------------------------------ callbacks (paho thread)

    def _on_connect(
        self, client: mqtt.Client, _ud: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        if reason.is_failure:
            log.error("broker %s:%s refused the connection: %s", self.host, self.port, reason)
            return
        log.info("connected to broker %s:%s as %s", self.host, self.port, self.device_id)
        paho.no_delay(client)
        filters = [(self._reply_topic, 1)] + [
            (topic_filter, qos) for topic_filter, (qos, _handler) in list(self._subs.items())
        ]
        # "Connected" only once the broker confirmed the subscriptions: a
        # request sent before its reply topic is subscribed would be lost.
        _rc, self._connect_sub_mid = paho.subscribe(client, filters)
        if self._presence_topic:
            client.publish(
                self._presence_topic, self._presence_payload("online"), qos=1, retain=True
            )

    def _on_subscribe(
        self, _client: mqtt.Client, _ud: Any, mid: int, _reasons: Any, _props: Any
    ) -> None:
        with self._pending_lock:
            waiter = self._sub_waits.pop(mid, None)
            if waiter is None and mid != self._connect_sub_mid:
                self._early_subacks.add(mid)
        if waiter is not None:
            waiter.set()
        if mid != self._connect_sub_mid:
            return
        self.connected.set()
        if self.on_connection_change:
            self._inbox.put(
                (
                    lambda _m: self.on_connection_change(True),  # type: ignore[misc]
                    Message("", None, b"", False),
                )
            )

    def _on_disconnect(
        self, _client: mqtt.Client, _ud: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        was = self.connected.is_set()
        self.connected.clear()
        if not self._closing:
            log.warning("lost the broker %s:%s (%s); reconnecting", self.host, self.port, reason)
        self._fail_pending(f"connection to the broker lost ({reason})")
        if was and self.on_connection_change:
            self._inbox.put(
                (
                    lambda _m: self.on_connection_change(False),  # type: ignore[misc]
                    Message("", None, b"", False),
                )
            )

    def _on_message(self, _client: mqtt.Client, _ud: Any, msg: mqtt.MQTTMessage) -> None:
        # paho's network thread: nothing raised here may escape, or the loop ends for good.
        try:
            self._receive(msg)
        except Exception as exc:
            REJECTS.count(
                f"link {self.device_id}", "internal", str(msg.topic), f"{type(exc).__name__}"
            )

    def _receive(self, msg: mqtt.MQTTMessage) -> None:
        message = paho.decode_message(msg)
        if message.error:
            REJECTS.count(f"link {self.device_id}", message.error_kind, msg.topic, message.error)
        if msg.topic == self._reply_topic:
            if message.correlation is None:
                return
            with self._pending_lock:
                future = self._pending.pop(message.correlation, None)
            if future is not None and not future.done():
                future.set_result(message)
            return
        for topic_filter, (_qos, handler) in list(self._subs.items()):
            if mqtt.topic_matches_sub(topic_filter, msg.topic):
                if message.error and topic_filter not in self._served:
                    continue  # counted above; a subscriber only ever sees valid messages
                if topic_filter in self._inline:
                    try:  # a hand-over (a queued Qt signal): no thread hop before it
                        handler(message)
                    except Exception:
                        log.exception("handler for %s failed", msg.topic)
                    continue
                self._inbox.put((handler, message))

    def _dispatch_loop(self) -> None:
        while True:
            # What has arrived meanwhile is taken too, so that requests for a batch
            # handler (serve_batch) that came together are handled together; the
            # order of all messages is kept.
            items = [self._inbox.get()]
            while len(items) < MAX_BATCH:
                try:
                    items.append(self._inbox.get_nowait())
                except queue.Empty:
                    break
            i = 0
            while i < len(items):
                item = items[i]
                if item is None:
                    return
                handler, message = item
                i += 1
                if isinstance(handler, _BatchServer):
                    batch = [message]
                    while i < len(items) and items[i] is not None and items[i][0] is handler:  # type: ignore[index]
                        batch.append(items[i][1])  # type: ignore[index]
                        i += 1
                    try:
                        handler.run(batch)
                    except Exception:
                        log.exception("batch handler for %s failed", message.topic)
                    continue
                try:
                    handler(message)
                except Exception:
                    log.exception("handler for %s failed", message.topic or "connection change")

    def _fail_pending(self, reason: str) -> None:
        with self._pending_lock:
            pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(LinkError(reason))

    # ------------------------------------------------------------------ API

    def publish(
        self,
        topic: str,
        payload: Any,
        *,
        qos: int = 1,
        retain: bool = False,
        properties: Properties | None = None,
    ) -> mqtt.MQTTMessageInfo:
        return paho.publish(
            self._client, topic, payload, qos=qos, retain=retain, properties=properties
        )

    def subscribe(
        self,
        topic_filter: str,
        handler: Handler,
        *,
        qos: int = 1,
        timeout: float = 5.0,
        inline: bool = False,
    ) -> None:
        """Route messages on ``topic_filter`` to ``handler`` (on the dispatcher thread).

        ``inline``: call ``handler`` on paho's network thread instead, for a handler
        that only hands the message over and returns at once (``QtLink``'s queued
        signal): one thread hop less for every message.

        When already connected, returns once the broker confirmed the
        subscription (or after ``timeout``), so a request answered on it is not lost.
        """
        self._subs[topic_filter] = (qos, handler)
        if inline:
            self._inline.add(topic_filter)
        else:
            self._inline.discard(topic_filter)
        if not self.connected.is_set():
            return  # subscribed, and confirmed, on connect
        confirmed = threading.Event()
        _rc, mid = paho.subscribe(self._client, [topic_filter], qos=qos)
        if mid is None:  # the connection dropped meanwhile: on_connect subscribes again
            return
        with self._pending_lock:
            if mid in self._early_subacks:  # the SUBACK beat us here
                self._early_subacks.discard(mid)
                confirmed.set()
            else:
                self._sub_waits[mid] = confirmed
        if not confirmed.wait(timeout):
            log.warning("the broker did not confirm the subscription to %s", topic_filter)
        with self._pending_lock:
            self._sub_waits.pop(mid, None)

    def request(self, topic: str, payload: dict[str, Any], *, timeout: float = 3.0) -> Any:
        """Send a request and wait for its response payload (decoded JSON)."""
        if not self.connected.is_set():
            raise LinkError(f"not connected to the broker at {self.host}:{self.port}")
        correlation = uuid.uuid4().bytes
        future: Future[Message] = Future()
        with self._pending_lock:
            self._pending[correlation] = future
        props = paho.publish_props(
            response_topic=self._reply_topic,
            correlation=correlation,
            expiry_s=max(1, int(timeout) + 1),
        )
        self.publish(topic, payload, qos=1, properties=props)
        try:
            message = future.result(timeout)
        except FutureTimeout:
            raise RequestTimeout(
                f"no answer to {payload.get('cmd', 'request')} on {topic} within {timeout}s"
            ) from None
        finally:
            with self._pending_lock:
                self._pending.pop(correlation, None)
        if message.error:
            raise LinkError(f"unreadable response: {message.error}")
        return message.payload

    def serve(self, topic_filter: str, handler: RequestHandler) -> None:
        """Answer requests on ``topic_filter`` with ``handler``'s return value.

        The answer goes to the request's response topic only when that lies in
        the asking device's own subtree (``hall/{hall}/dev/{asker}/``); a
        request naming any other topic is refused, counted and not answered.
        A request that failed the bounds or the contract is answered with a
        ``bad_request`` error without reaching ``handler``.
        """

        def on_request(message: Message) -> None:
            if _screened(self, message):
                self._answer(message, handler(message))

        self._served.add(topic_filter)
        self.subscribe(topic_filter, on_request)

    def serve_batch(self, topic_filter: str, handler: BatchHandler) -> None:
        """Like :meth:`serve`, for requests that arrived together: ``handler(messages,
        respond)`` gets every valid request already waiting (in order, up to
        ``MAX_BATCH``) and calls ``respond(message, answer)`` for each, when it may be
        answered (a group commit: after the one durable commit they share).  A request
        it does not answer gets no answer (it times out at the asker).
        """
        self._served.add(topic_filter)
        self.subscribe(topic_filter, _BatchServer(self, handler))

    def _answer(self, message: Message, response: dict[str, Any]) -> None:
        if message.response_topic:
            props = paho.publish_props(correlation=message.correlation)
            self.publish(message.response_topic, response, qos=1, properties=props)

    def alive(self) -> bool:
        """For a watchdog: paho's network thread and the dispatcher thread both run.

        An exception escaping a paho callback ends paho's thread for good (paho 2.x
        then sets ``_thread`` to None): the link would never receive again, though
        ``connected`` stays set.  A broker that is away does not end it (paho
        reconnects), so this stays True then.  True once :meth:`stop` began.
        """
        if self._closing:
            return True
        network = self._client._thread  # read once: paho clears it when its loop ends
        dispatcher = self._dispatcher
        return (
            network is not None
            and network.is_alive()
            and dispatcher is not None
            and dispatcher.is_alive()
        )

    def waiting(self) -> int:
        """Messages received and not yet handed to their handler (a burst still arriving)."""
        return self._inbox.qsize()

    def add_connection_listener(self, listener: Callable[[bool], None]) -> None:
        """Also call ``listener(up)`` on every connection change, on the dispatcher thread
        (``up`` once the subscriptions are confirmed again, as ``on_connection_change``).

        ``on_connection_change`` set before and earlier listeners are kept, and run
        first; assigning ``on_connection_change`` afterwards replaces them all.
        """
        previous = self.on_connection_change

        def changed(up: bool) -> None:
            try:
                if previous is not None:
                    previous(up)
            finally:
                listener(up)

        self.on_connection_change = changed


class _BatchServer:
    """The dispatcher hands it every request for its filter that is waiting (serve_batch)."""

    def __init__(self, link: MqttLink, handler: BatchHandler) -> None:
        self.link = link
        self.handler = handler

    def __call__(self, message: Message) -> None:  # one request alone
        self.run([message])

    def run(self, messages: list[Message]) -> None:
        valid = [m for m in messages if _screened(self.link, m)]
        if valid:
            self.handler(valid, self.link._answer)


def _screened(link: MqttLink, message: Message) -> bool:
    """Whether a request may reach its handler.  One naming a response topic outside the
    asker's own subtree is counted and not answered; one that failed the bounds or the
    contract is answered ``bad_request``; neither reaches the handler."""
    asker = topics.device_of(message.topic)
    target = message.response_topic
    if target and not response_topic_allowed(target, link.hall_id, asker):
        REJECTS.count(
            f"link {link.device_id}",
            "foreign_response_topic",
            message.topic,
            f"{asker or '?'} named {target[:120]!r} as response topic; not answered",
        )
        return False
    if message.error:
        link._answer(message, bad_request(message.error))
        return False
    return True


def bad_request(reason: str) -> dict[str, Any]:
    """The answer to a request that no valid request looks like."""
    return {
        "ok": False,
        "error": {
            "code": "bad_request",
            "message": f"unreadable request: {reason}"[:300],
            "message_zh": "指令格式错误，已拒绝",
        },
    }

"""The hall plane's MQTT link: one small class every role uses.

* MQTT v5 over paho-mqtt 2.x; paho's network thread owns the socket.
* Requests carry a response topic and correlation data and wait with a
  timeout; a lost connection fails every pending request with the reason.
* Incoming messages are handed to one dispatcher thread, so handlers may
  publish or block briefly without holding paho's locks.
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

import json
import logging
import os
import queue
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from sync import inbound, topics
from sync.health import report_rejections_to
from sync.inbound import REJECTS, response_topic_allowed

log = logging.getLogger(__name__)

MAX_PAYLOAD = 64 * 1024
Handler = Callable[["Message"], None]
RequestHandler = Callable[["Message"], dict[str, Any]]


class LinkError(RuntimeError):
    """The broker could not be reached or the connection dropped."""


class RequestTimeout(LinkError):
    """No response arrived in time."""


@dataclass(frozen=True)
class Message:
    topic: str
    payload: Any  # decoded JSON (dict/list/str/...) or None if not JSON
    raw: bytes
    retain: bool
    response_topic: str | None = None
    correlation: bytes | None = None
    error: str | None = None  # why the payload could not be decoded
    error_kind: str = ""  # sync.inbound's short name for that reason (counted)


@dataclass(frozen=True)
class TlsSettings:
    ca_file: str
    cert_file: str | None = None
    key_file: str | None = None


def _validating() -> bool:
    return os.environ.get("HALL_VALIDATE_CONTRACT") == "1"


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
        tls: TlsSettings | None = None,
        keepalive: int = 15,
        presence: bool = True,
        session_expiry_s: int = 0,
        role: str = "",
    ) -> None:
        self.host, self.port = host, port
        self.hall_id, self.device_id, self.role = hall_id, device_id, role
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"{device_id}-{uuid.uuid4().hex[:6]}" if session_expiry_s == 0 else device_id,
            protocol=mqtt.MQTTv5,
        )
        self._client.max_queued_messages_set(10000)
        self._client.reconnect_delay_set(min_delay=1, max_delay=10)
        if username:
            self._client.username_pw_set(username, password)
        if tls:
            self._client.tls_set(
                ca_certs=tls.ca_file,
                certfile=tls.cert_file,
                keyfile=tls.key_file,
                tls_version=ssl.PROTOCOL_TLS_CLIENT,
            )
        self._keepalive = keepalive
        self._session_expiry_s = session_expiry_s
        self._presence_topic = topics.presence(hall_id, device_id) if presence else None
        if self._presence_topic:
            self._client.will_set(
                self._presence_topic, self._presence_payload("offline"), qos=1, retain=True
            )
        self._reply_topic = topics.reply(hall_id, device_id)
        # Roles with a device database count what they drop into its health table.
        report_rejections_to(os.environ.get("HALL_HEALTH_DB"), role or device_id)
        self._subs: dict[str, tuple[int, Handler]] = {}
        self._served: set[str] = set()  # filters answered by serve(): errors reach them
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

    def _presence_payload(self, status: str) -> str:
        return json.dumps(
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
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self._session_expiry_s
        self._client.connect_async(
            self.host,
            self.port,
            keepalive=self._keepalive,
            clean_start=self._session_expiry_s == 0,
            properties=props,
        )
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
        self._client.disconnect()
        self._client.loop_stop()
        sock = self._client.socket()  # never connected, or the loop ended first
        if sock is not None:
            sock.close()
        reset = getattr(self._client, "_reset_sockets", None)
        if reset is not None:  # paho 2.x keeps its wake-up socketpair open after loop_stop
            reset()
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
        sock = client.socket()
        if isinstance(sock, socket.socket):
            # Small request/response messages: do not let Nagle hold them back.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        filters = [(self._reply_topic, SubscribeOptions(qos=1))] + [
            (topic_filter, SubscribeOptions(qos=qos))
            for topic_filter, (qos, _handler) in list(self._subs.items())
        ]
        # "Connected" only once the broker confirmed the subscriptions: a
        # request sent before its reply topic is subscribed would be lost.
        _rc, self._connect_sub_mid = client.subscribe(filters)
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
        props = getattr(msg, "properties", None)
        response_topic = getattr(props, "ResponseTopic", None) if props else None
        correlation = getattr(props, "CorrelationData", None) if props else None
        message = _decode(msg.topic, msg.payload, bool(msg.retain), response_topic, correlation)
        if message.error:
            REJECTS.count(f"link {self.device_id}", message.error_kind, msg.topic, message.error)
        if msg.topic == self._reply_topic:
            if correlation is None:
                return
            with self._pending_lock:
                future = self._pending.pop(bytes(correlation), None)
            if future is not None and not future.done():
                future.set_result(message)
            return
        for topic_filter, (_qos, handler) in list(self._subs.items()):
            if mqtt.topic_matches_sub(topic_filter, msg.topic):
                if message.error and topic_filter not in self._served:
                    continue  # counted above; a subscriber only ever sees valid messages
                self._inbox.put((handler, message))

    def _dispatch_loop(self) -> None:
        while True:
            item = self._inbox.get()
            if item is None:
                return
            handler, message = item
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
        data = payload if isinstance(payload, bytes) else _encode(payload)
        if _validating() and not isinstance(payload, bytes):
            from sync.contract import validate

            validate(topic, payload)
        return self._client.publish(topic, data, qos=qos, retain=retain, properties=properties)

    def subscribe(
        self, topic_filter: str, handler: Handler, *, qos: int = 1, timeout: float = 5.0
    ) -> None:
        """Route messages on ``topic_filter`` to ``handler`` (on the dispatcher thread).

        When already connected, returns once the broker confirmed the
        subscription (or after ``timeout``), so a request answered on it is not lost.
        """
        self._subs[topic_filter] = (qos, handler)
        if not self.connected.is_set():
            return  # subscribed, and confirmed, on connect
        confirmed = threading.Event()
        _rc, mid = self._client.subscribe(topic_filter, options=SubscribeOptions(qos=qos))
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
        props = Properties(PacketTypes.PUBLISH)
        props.ResponseTopic = self._reply_topic
        props.CorrelationData = correlation
        props.MessageExpiryInterval = max(1, int(timeout) + 1)
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
            asker = topics.device_of(message.topic)
            target = message.response_topic
            if target and not response_topic_allowed(target, self.hall_id, asker):
                REJECTS.count(
                    f"link {self.device_id}",
                    "foreign_response_topic",
                    message.topic,
                    f"{asker or '?'} named {target[:120]!r} as response topic; not answered",
                )
                return
            if message.error:
                response: dict[str, Any] = bad_request(message.error)
            else:
                response = handler(message)
            if target:
                props = Properties(PacketTypes.PUBLISH)
                if message.correlation is not None:
                    props.CorrelationData = message.correlation
                self.publish(target, response, qos=1, properties=props)

        self._served.add(topic_filter)
        self.subscribe(topic_filter, on_request)

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


def _encode(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _decode(
    topic: str,
    raw: bytes | bytearray,
    retain: bool,
    response_topic: str | None,
    correlation: bytes | None,
) -> Message:
    """Bounded, strict decoding and validation against the contract (sync.inbound)."""
    raw = bytes(raw)
    if not raw:  # a cleared retained message
        return Message(topic, None, raw, retain, response_topic, correlation, None)
    try:
        payload = inbound.check(topic, raw)
    except inbound.Rejected as exc:
        kept = raw if len(raw) <= MAX_PAYLOAD else b""
        return Message(topic, None, kept, retain, response_topic, correlation, exc.reason, exc.kind)
    return Message(topic, payload, raw, retain, response_topic, correlation, None)

"""The one paho-mqtt wrapper: every MQTT client of hall-edge is made and closed here.

Both planes build on it: the hall plane's :class:`sync.mqtt.MqttLink` (paho's
network thread, ``connect_async``) and the central plane's sync agent, center
and monitor (one thread owns the client and drives ``client.loop()``; a new
client for every connection, so paho's in-memory session never re-sends on its
own: the outbox decides what goes out again after a reconnect).

What lives here, once:

* client creation: MQTT v5, the client id, clean start and the session expiry,
  inflight and queue bounds, reconnect delays, the Last Will;
* TLS (CA, client certificate and key) and credentials (a password or a
  password file, read once);
* JSON encoding, the contract check of what is sent (``HALL_VALIDATE_CONTRACT=1``)
  and decoding of what is received through ``sync.inbound`` (bounds, strict
  parsing, the AsyncAPI contract) into a :class:`Message`;
* publish / subscribe helpers and MQTT v5 properties;
* closing: paho 2.x keeps its wake-up socketpair (and, after a failed TLS
  handshake, an SSL socket) open unless told; :func:`close` always is.
"""

from __future__ import annotations

import json
import os
import select
import socket
import ssl
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from sync import fastcheck, inbound

MAX_PAYLOAD = 64 * 1024  # a rejected payload larger than this is not kept in its Message


class LinkError(RuntimeError):
    """The broker could not be reached or the connection dropped."""


class CenterLinkError(LinkError):
    """The central broker could not be reached, refused us, or dropped the link."""


@dataclass(frozen=True)
class TlsSettings:
    ca_file: str
    cert_file: str | None = None
    key_file: str | None = None


def read_password_file(path: str | Path) -> str:
    """A password kept in a file (one line; surrounding whitespace is not part of it)."""
    return Path(path).read_text(encoding="utf-8").strip()


def password_from(password: str | None, password_file: str | Path | None) -> str | None:
    """The password to log in with: a password file, read here once (every reconnect
    uses what was read), wins over a password given inline."""
    return read_password_file(password_file) if password_file else password


@dataclass(frozen=True)
class BrokerAddress:
    """Where a broker is and how to prove who we are."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: TlsSettings | None = None
    keepalive: int = 30

    def describe(self) -> str:
        scheme = "mqtts" if self.tls else "mqtt"
        who = f"{self.username}@" if self.username else ""
        return f"{scheme}://{who}{self.host}:{self.port}"


@dataclass(frozen=True)
class Will:
    topic: str
    payload: bytes
    retain: bool = True


@dataclass(frozen=True)
class Message:
    """A received message, decoded and checked (see :func:`decode`)."""

    topic: str
    payload: Any  # decoded JSON (dict/list/str/...) or None if not JSON
    raw: bytes
    retain: bool
    response_topic: str | None = None
    correlation: bytes | None = None
    error: str | None = None  # why the payload could not be decoded
    error_kind: str = ""  # sync.inbound's short name for that reason (counted)
    # checked against the contract on the way in (:func:`decode`): a receiver need not
    # validate it again (a Message built by hand is not)
    validated: bool = field(default=False, compare=False)


# ---------------------------------------------------------------------- JSON, contract


def validating() -> bool:
    """Tests set HALL_VALIDATE_CONTRACT=1: every message is checked against the contract."""
    return os.environ.get("HALL_VALIDATE_CONTRACT") == "1"


def check_contract(topic: str, payload: Any) -> None:
    """With :func:`validating`, check a message sent (an object, or its JSON bytes)."""
    if validating():
        from sync.contract import validate

        validate(topic, json.loads(payload) if isinstance(payload, bytes | bytearray) else payload)


def encode(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def decode(
    topic: str,
    raw: bytes | bytearray,
    *,
    retain: bool = False,
    response_topic: str | None = None,
    correlation: bytes | None = None,
    empty_ok: bool = True,
    check: Callable[[str, bytes], Any] = fastcheck.check,
) -> Message:
    """Bounded, strict decoding and validation against the contract (sync.inbound).

    Never raises for what a peer sent: a payload that fails has ``error`` and
    ``error_kind`` set and ``payload`` None.  An empty payload (a cleared
    retained message) decodes to None, without an error when ``empty_ok``.
    ``check``: :func:`sync.fastcheck.check` (the contract's compiled fast path for
    what is valid; anything else through :func:`sync.inbound.check`, which refuses it
    with its own reason), or another check of the same meaning.
    """
    raw = bytes(raw)
    if not raw and empty_ok:
        return Message(topic, None, raw, retain, response_topic, correlation)
    try:
        payload = check(topic, raw)
    except inbound.Rejected as exc:
        kept = raw if len(raw) <= MAX_PAYLOAD else b""
        return Message(topic, None, kept, retain, response_topic, correlation, exc.reason, exc.kind)
    return Message(topic, payload, raw, retain, response_topic, correlation, validated=True)


def decode_message(
    msg: mqtt.MQTTMessage,
    *,
    empty_ok: bool = True,
    check: Callable[[str, bytes], Any] = fastcheck.check,
) -> Message:
    """:func:`decode` for what paho received, with its response topic and correlation data."""
    props = getattr(msg, "properties", None)
    response_topic = getattr(props, "ResponseTopic", None) if props else None
    correlation = getattr(props, "CorrelationData", None) if props else None
    return decode(
        msg.topic,
        msg.payload,
        retain=bool(msg.retain),
        response_topic=response_topic,
        correlation=None if correlation is None else bytes(correlation),
        empty_ok=empty_ok,
        check=check,
    )


# ---------------------------------------------------------------------- properties


def _properties(packet_type: int) -> Properties:
    return Properties(packet_type)  # type: ignore[no-untyped-call]  # paho leaves it untyped


def publish_props(
    *,
    response_topic: str | None = None,
    correlation: bytes | None = None,
    expiry_s: int | None = None,
) -> Properties | None:
    if response_topic is None and correlation is None and expiry_s is None:
        return None
    props = _properties(PacketTypes.PUBLISH)
    if response_topic is not None:
        props.ResponseTopic = response_topic
    if correlation is not None:
        props.CorrelationData = correlation
    if expiry_s is not None:
        props.MessageExpiryInterval = expiry_s
    return props


def _connect_options(address: BrokerAddress, session_expiry_s: int) -> dict[str, Any]:
    """A session expiry of 0 is a clean start; any other keeps the session that long."""
    props = _properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = session_expiry_s
    return {
        "keepalive": address.keepalive,
        "clean_start": session_expiry_s == 0,
        "properties": props,
    }


# ---------------------------------------------------------------------- clients


def client_id(base: str, *, session_expiry_s: int) -> str:
    """A persistent session is named by a stable id; a clean one gets a unique suffix,
    so two processes of one device never take each other's connection."""
    return base if session_expiry_s else f"{base}-{uuid.uuid4().hex[:6]}"


def new_client(
    address: BrokerAddress,
    client_id: str,
    *,
    will: Will | None = None,
    max_inflight: int = 20,
    max_queued: int = 1000,
    reconnect_delay: tuple[int, int] | None = None,
) -> mqtt.Client:
    """A paho client with the address's credentials and TLS, not yet connected.

    ``reconnect_delay`` (min, max seconds) lets paho's network thread reconnect
    on its own (the hall plane); without it a lost connection stays lost and the
    owner makes a new client (the central plane).
    """
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5,
        reconnect_on_failure=reconnect_delay is not None,
    )
    client.max_inflight_messages_set(max_inflight)
    client.max_queued_messages_set(max_queued)  # paho's default is unlimited RAM
    if reconnect_delay is not None:
        client.reconnect_delay_set(min_delay=reconnect_delay[0], max_delay=reconnect_delay[1])
    if address.username:
        client.username_pw_set(address.username, address.password)
    if address.tls:
        client.tls_set(
            ca_certs=address.tls.ca_file,
            certfile=address.tls.cert_file,
            keyfile=address.tls.key_file,
            tls_version=ssl.PROTOCOL_TLS_CLIENT,
        )
    if will:
        client.will_set(will.topic, will.payload, qos=1, retain=will.retain)
    return client


def connect_async(client: mqtt.Client, address: BrokerAddress, *, session_expiry_s: int) -> None:
    """Connect from paho's network thread (then ``client.loop_start()``): the only way
    paho does not leave a socket behind when the thread is stopped before it connected."""
    client.connect_async(address.host, address.port, **_connect_options(address, session_expiry_s))


def connect(
    client: mqtt.Client, address: BrokerAddress, *, session_expiry_s: int, timeout: float = 10.0
) -> bool:
    """Connect from the calling thread; return the broker's ``session_present``.

    Blocks (driving ``client.loop``) until the CONNACK or ``timeout``; raises
    :class:`CenterLinkError` with what to check.  Sets ``client.on_connect``.
    """
    result: dict[str, Any] = {}

    def on_connect(_c: mqtt.Client, _u: Any, flags: Any, reason: Any, _p: Any) -> None:
        result["reason"] = reason
        result["session_present"] = bool(flags.session_present)

    client.on_connect = on_connect
    where = address.describe()
    try:
        client.connect(address.host, address.port, **_connect_options(address, session_expiry_s))
    except ssl.SSLError as exc:
        _close_failed_tls_socket(exc)
        raise CenterLinkError(
            f"TLS handshake with {where} failed ({exc.reason or exc}): check the CA file, "
            "the device certificate and that the broker's certificate names this host"
        ) from None
    except OSError as exc:
        raise CenterLinkError(f"cannot reach the central broker {where}: {exc}") from None
    deadline = time.monotonic() + timeout
    while "reason" not in result:
        if time.monotonic() > deadline:
            client.disconnect()
            raise CenterLinkError(f"no CONNACK from {where} within {timeout:.0f}s")
        rc = client.loop(0.1)
        if rc != mqtt.MQTT_ERR_SUCCESS and "reason" not in result:
            raise CenterLinkError(
                f"connection to {where} closed during the handshake "
                f"({mqtt.error_string(rc)}): check the credentials and the TLS settings"
            )
    reason = result["reason"]
    if reason.is_failure:
        client.disconnect()
        raise CenterLinkError(
            f"{where} refused the connection: {reason}; check the username/password or "
            "the device certificate, and the broker's password file"
        )
    return bool(result["session_present"])


def read_ready(client: mqtt.Client, limit: int = 1000) -> Any:
    """Read every packet already waiting on the socket (at most ``limit``).

    paho's ``loop()`` reads about one packet per call (one per message it is
    itself sending or receiving at QoS 2); a consumer turning its loop once per
    stored batch would store one message per transaction.  Returns paho's
    code (MQTT_ERR_SUCCESS when all went well).
    """
    rc = mqtt.MQTT_ERR_SUCCESS
    for _ in range(limit):
        sock = client.socket()
        if sock is None:
            return mqtt.MQTT_ERR_NO_CONN
        pending = getattr(sock, "pending", None)  # TLS: decrypted bytes select() cannot see
        if not (pending and pending()) and not select.select([sock], [], [], 0)[0]:
            return rc
        rc = client.loop_read()
        if rc != mqtt.MQTT_ERR_SUCCESS:
            return rc
    return rc


def no_delay(client: mqtt.Client) -> None:
    """Small request/response messages: do not let Nagle hold them back."""
    sock = client.socket()
    if isinstance(sock, socket.socket):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def close(client: mqtt.Client, *, network_thread: bool = False) -> None:
    """Say goodbye if still connected and close every socket paho holds.

    ``network_thread``: the client ran ``loop_start()``; stop its thread too
    (``disconnect()`` first, so a thread still trying to reconnect gives up).
    """
    if network_thread:
        client.disconnect()
        client.loop_stop()
    elif client.is_connected():
        client.disconnect()  # sends DISCONNECT: the broker drops the Last Will
    sock = client.socket()  # never connected, or the loop ended first
    if sock is not None:
        sock.close()
    client._reset_sockets()  # paho 2.x keeps its wake-up socketpair open otherwise


def _close_failed_tls_socket(exc: BaseException) -> None:
    """paho 2.2 leaves the SSLSocket of a failed handshake open (``_ssl_wrap_socket``
    does not close it); close it here instead of leaving it to the garbage collector."""
    tb = exc.__traceback__
    while tb is not None:
        sock = tb.tb_frame.f_locals.get("ssl_sock")
        if isinstance(sock, ssl.SSLSocket):
            sock.close()
        tb = tb.tb_next


# ---------------------------------------------------------------------- publish, subscribe


def publish(
    client: mqtt.Client,
    topic: str,
    payload: Any,
    *,
    qos: int = 1,
    retain: bool = False,
    properties: Properties | None = None,
    check: bool | None = None,
) -> mqtt.MQTTMessageInfo:
    """Publish ``payload``: an object is JSON-encoded; bytes are sent as they are.

    ``check`` (default: for an object, not for bytes) checks it against the
    contract first when :func:`validating`; an empty payload is never checked.
    """
    raw = isinstance(payload, bytes | bytearray)
    if (not raw if check is None else check) and payload != b"":
        check_contract(topic, payload)
    data = bytes(payload) if raw else encode(payload)
    return client.publish(topic, data, qos=qos, retain=retain, properties=properties)


def subscribe(
    client: mqtt.Client,
    topic_filters: Sequence[str | tuple[str, int]],
    *,
    qos: int = 1,
    retain_handling: int = 0,
) -> tuple[Any, int | None]:
    """Subscribe to every filter (each ``qos``, or its own) in one SUBSCRIBE: ``(rc, mid)``.

    ``retain_handling`` (MQTT v5): 0 sends the retained messages at every subscribe,
    1 only when the subscription is new (not on a resumed session), 2 never.
    """
    if not topic_filters:
        return mqtt.MQTT_ERR_SUCCESS, None
    wanted = [(f, qos) if isinstance(f, str) else f for f in topic_filters]
    options = [(f, SubscribeOptions(qos=q, retainHandling=retain_handling)) for f, q in wanted]
    rc, mid = client.subscribe(options)
    return rc, mid

"""A paho client for the central plane, owned by one thread.

The sync agent and the center each drive their client from their own thread
with ``client.loop()``: callbacks run on that same thread, so no lock is held
while publishing and paho's background thread is not used.  A new client is
made for every connection, so paho's in-memory session never re-sends on its
own: the outbox (agent) decides what goes out again after a reconnect.
"""

from __future__ import annotations

import json
import os
import ssl
import time
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from sync.mqtt import TlsSettings


class CenterLinkError(RuntimeError):
    """The central broker could not be reached, refused us, or dropped the link."""


@dataclass(frozen=True)
class BrokerAddress:
    """Where a central broker is and how to prove who we are."""

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


def validating() -> bool:
    """Tests set HALL_VALIDATE_CONTRACT=1: every message is checked against the contract."""
    return os.environ.get("HALL_VALIDATE_CONTRACT") == "1"


def check_contract(topic: str, payload: bytes) -> None:
    if validating():
        from sync.contract import validate

        validate(topic, json.loads(payload))


def encode(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def new_client(
    address: BrokerAddress,
    client_id: str,
    *,
    will: Will | None = None,
    max_inflight: int = 20,
    max_queued: int = 1000,
) -> mqtt.Client:
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5,
        reconnect_on_failure=False,
    )
    client.max_inflight_messages_set(max_inflight)
    client.max_queued_messages_set(max_queued)  # paho's default is unlimited RAM
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


def connect(
    client: mqtt.Client, address: BrokerAddress, *, session_expiry_s: int, timeout: float = 10.0
) -> bool:
    """Connect with a persistent session (clean_start false); return ``session_present``.

    Blocks (driving ``client.loop``) until the CONNACK or ``timeout``; raises
    :class:`CenterLinkError` with what to check.
    """
    result: dict[str, Any] = {}

    def on_connect(_c: mqtt.Client, _u: Any, flags: Any, reason: Any, _p: Any) -> None:
        result["reason"] = reason
        result["session_present"] = bool(flags.session_present)

    client.on_connect = on_connect
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = session_expiry_s
    where = address.describe()
    try:
        client.connect(
            address.host,
            address.port,
            keepalive=address.keepalive,
            clean_start=session_expiry_s == 0,
            properties=props,
        )
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


def close(client: mqtt.Client) -> None:
    """Say goodbye if still connected and make sure the socket is closed."""
    if client.is_connected():
        client.disconnect()  # sends DISCONNECT: the broker drops the Last Will
    sock = client.socket()
    if sock is not None:
        sock.close()


def _close_failed_tls_socket(exc: BaseException) -> None:
    """paho 2.2 leaves the SSLSocket of a failed handshake open (``_ssl_wrap_socket``
    does not close it); close it here instead of leaving it to the garbage collector."""
    tb = exc.__traceback__
    while tb is not None:
        sock = tb.tb_frame.f_locals.get("ssl_sock")
        if isinstance(sock, ssl.SSLSocket):
            sock.close()
        tb = tb.tb_next


def publish_props(
    *,
    response_topic: str | None = None,
    correlation: bytes | None = None,
    expiry_s: int | None = None,
) -> Properties | None:
    if response_topic is None and correlation is None and expiry_s is None:
        return None
    props = Properties(PacketTypes.PUBLISH)
    if response_topic is not None:
        props.ResponseTopic = response_topic
    if correlation is not None:
        props.CorrelationData = correlation
    if expiry_s is not None:
        props.MessageExpiryInterval = expiry_s
    return props

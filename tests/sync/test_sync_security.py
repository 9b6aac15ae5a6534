"""TLS with a CA, per-device credentials, and ACLs: a device publishes only under its own id.

Mosquitto runs with a password file, an ACL file (``pattern write hall/+/dev/%u/sync/#``)
and two TLS listeners: one checking passwords, one requiring a client certificate
whose CN becomes the username.
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid

import pytest
from sync_helpers import FAST, HALL, wait_for

from sync import topics
from sync.client import BrokerAddress, CenterLinkError, connect, new_client
from sync.mqtt import TlsSettings
from sync.outbox import RawEvent
from sync.wire import encode_batch

pytestmark = pytest.mark.broker


def tls_password(secure, pki, user: str, password: str) -> BrokerAddress:
    return BrokerAddress("127.0.0.1", secure.tls_port, user, password, TlsSettings(str(pki.ca)))


def tls_cert(secure, pki, device: str) -> BrokerAddress:
    cert, key = pki.device(device)
    return BrokerAddress(
        "127.0.0.1", secure.cert_port, tls=TlsSettings(str(pki.ca), str(cert), str(key))
    )


def forged_batch(device: str, code: str) -> bytes:
    event = RawEvent(
        1,
        str(uuid.uuid4()),
        "evaluation",
        "2026-11-23T09:30:00",
        json.dumps({"level": 1, "code": code}),
    )
    return encode_batch(
        hall=HALL,
        device=device,
        stream=str(uuid.uuid4()),
        prev=0,
        base=0,
        sent_at="",
        events=[event],
    )


def publish_and_wait(address: BrokerAddress, client_id: str, topic: str, payload: bytes):
    """Publish at QoS 1 as ``address``'s identity; return the PUBACK reason code."""
    client = new_client(address, client_id)
    reasons: dict[int, object] = {}
    client.on_publish = lambda _c, _u, mid, reason, _p: reasons.__setitem__(mid, reason)
    connect(client, address, session_expiry_s=0)
    mid = client.publish(topic, payload, qos=1).mid
    deadline = time.monotonic() + 5
    while mid not in reasons and time.monotonic() < deadline:
        client.loop(0.1)
    client.disconnect()
    return reasons.get(mid)


def test_agent_over_tls_with_a_password(secure_broker, pki, device_db, make_center, make_agent):
    center = make_center(tls_password(secure_broker, pki, "center", "center-secret"))
    ids = device_db.put(50)
    make_agent(tls_password(secure_broker, pki, "engine", "engine-secret"), device_db)
    assert center.wait_until(lambda c: c.store.count(kind="ticket_issued") == 50, 10)
    assert [e["id"] for e in center.store.events(kind="ticket_issued")] == ids


def test_agent_with_a_client_certificate_as_its_identity(
    secure_broker, pki, device_db, make_center, make_agent
):
    center = make_center(tls_password(secure_broker, pki, "center", "center-secret"))
    device_db.put(20)
    make_agent(tls_cert(secure_broker, pki, "engine"), device_db)
    assert center.wait_until(lambda c: c.store.count(kind="ticket_issued") == 20, 10)


def test_a_foreign_publish_is_refused_and_never_reaches_the_center(secure_broker, pki, make_center):
    center = make_center(tls_password(secure_broker, pki, "center", "center-secret"))
    kiosk = tls_password(secure_broker, pki, "kiosk-1", "kiosk-secret")
    # kiosk-1 tries to slip a bad rating into the engine's stream ...
    reason = publish_and_wait(
        kiosk,
        "kiosk-1-forger",
        topics.sync_events(HALL, "engine"),
        forged_batch("engine", "FORGED"),
    )
    assert reason is not None and reason.value == 0x87 and str(reason) == "Not authorized"
    # ... and the same with its certificate identity.
    reason = publish_and_wait(
        tls_cert(secure_broker, pki, "kiosk-1"),
        "kiosk-1-cert",
        topics.sync_events(HALL, "engine"),
        forged_batch("engine", "FORGED"),
    )
    assert reason is not None and reason.value == 0x87
    # Under its own id the same client is accepted; once that arrives, the forged
    # ones published before it on the same connection would have arrived too.
    reason = publish_and_wait(
        kiosk, "kiosk-1-honest", topics.sync_events(HALL, "kiosk-1"), forged_batch("kiosk-1", "OWN")
    )
    assert reason is not None and not reason.is_failure
    assert center.wait_until(lambda c: c.store.count(device="kiosk-1") == 1, 5)
    assert center.store.count(device="engine") == 0
    assert all(e["data"]["code"] != "FORGED" for e in center.store.events())


def test_an_agent_under_the_wrong_identity_keeps_its_events_and_raises_an_alarm(
    secure_broker, pki, device_db, make_agent
):
    device_db.put(10)
    # Device "engine" configured with kiosk-1's credentials: the ACL refuses its batches.
    agent = make_agent(
        tls_password(secure_broker, pki, "kiosk-1", "kiosk-secret"),
        device_db,
        settings=dataclasses.replace(FAST, backoff_min_s=1.0, backoff_max_s=2.0),
    )
    wait_for(lambda: "delivery_refused" in agent.alarms, 10, "the delivery_refused alarm")
    assert "Not authorized" in agent.last_error and "ACL" in agent.last_error
    assert device_db.business_left() == 10 + 1  # nothing deleted; plus the alarm event
    assert agent.stats.events_acked == 0


def test_a_wrong_password_or_an_untrusted_server_is_reported_clearly(secure_broker, pki):
    bad = tls_password(secure_broker, pki, "engine", "guess")
    with pytest.raises(CenterLinkError, match="refused the connection: Not authorized"):
        connect(new_client(bad, "x"), bad, session_expiry_s=0)
    # A client that does not trust the server's certificate stops at the handshake.
    wrong_ca = dataclasses.replace(bad, tls=TlsSettings(str(pki.device("not-a-ca")[0])))
    with pytest.raises(CenterLinkError, match="TLS handshake"):
        connect(new_client(wrong_ca, "y"), wrong_ca, session_expiry_s=0)
    # No certificate on the certificate listener: refused too.
    no_cert = BrokerAddress("127.0.0.1", secure_broker.cert_port, tls=TlsSettings(str(pki.ca)))
    with pytest.raises(CenterLinkError):
        connect(new_client(no_cert, "z"), no_cert, session_expiry_s=0)
    # Plain MQTT without credentials on the password listener: refused.
    anonymous = BrokerAddress("127.0.0.1", secure_broker.broker.port)
    with pytest.raises(CenterLinkError, match="Not authorized"):
        connect(new_client(anonymous, "w"), anonymous, session_expiry_s=0)

"""The sync agent against a real Mosquitto: delivery, config down, commands, health, bounds."""

from __future__ import annotations

import copy
import dataclasses
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from sync_helpers import FAST, HALL, ROOT, wait_for

from kiosk.engine.config import check_hall_document, load_hall_config
from sync import client as paho
from sync import health, inbound, topics
from sync.broker import Mosquitto, free_port
from sync.client import BrokerAddress
from sync.commands import CommandError, CommandRegistry, forward_to_role, serve_control
from sync.config_apply import ConfigApplier
from sync.mqtt import MqttLink
from sync.outbox import RetentionPolicy

pytestmark = pytest.mark.broker
DEMO = yaml.safe_load((ROOT / "assets" / "halls" / "demo.yaml").read_text(encoding="utf-8"))


def test_events_arrive_in_order_once_and_leave_the_outbox(
    address, device_db, make_center, make_agent
):
    ids = device_db.put(300)
    center = make_center(address)
    agent = make_agent(address, device_db)
    assert center.wait_until(lambda c: c.store.count(kind="ticket_issued") == 300, 20)
    wait_for(lambda: device_db.business_left() == 0, 10, "the outbox to empty after PUBACKs")
    events = center.store.events(kind="ticket_issued")
    assert [e["id"] for e in events] == ids
    assert [e["data"]["n"] for e in events] == list(range(300))
    assert {e["device"] for e in events} == {"engine"}
    assert agent.stats.batches_sent >= 300 // FAST.batch_events
    # Events written while the agent runs follow within the idle poll.
    more = device_db.put(5, kind="evaluation", start=300)
    assert center.wait_until(lambda c: c.store.count(kind="evaluation") == 5, 10)
    assert [e["id"] for e in center.store.events(kind="evaluation")] == more


def test_config_down_applied_atomically_and_a_rejection_reported_upstream(
    address, device_db, make_center, make_agent, tmp_path
):
    reloads: list[dict] = []
    reloaded = threading.Event()
    registry = CommandRegistry()

    def reload(cmd):
        reloads.append(cmd.args)
        reloaded.set()

    registry.register("reload", reload)
    applier = ConfigApplier(HALL, "engine", tmp_path / "config", hall_check=check_hall_document)
    center = make_center(address)
    make_agent(address, device_db, config=applier, commands=registry)

    hall = copy.deepcopy(DEMO)
    hall["notices"] = ["系统升级通知"]
    center.publish_config(HALL, {"version": 2, "hall": hall})
    assert center.wait_until(lambda c: c.store.count(kind="config_applied") == 1, 10)
    assert load_hall_config(applier.hall_config_path).notices == ("系统升级通知",)
    assert reloaded.wait(5) and reloads == [{"reason": "config", "scope": "hall", "version": 2}]

    bad = copy.deepcopy(DEMO)
    del bad["queues"][0]["prefix"]
    before = applier.hall_config_path.read_bytes()
    center.publish_config(HALL, {"version": 3, "hall": bad})
    assert center.wait_until(lambda c: c.store.count(kind="config_rejected") == 1, 10)
    [rejected] = center.store.events(kind="config_rejected")
    assert rejected["data"]["version"] == 3
    assert "queues[0]" in rejected["data"]["reason"] and "prefix" in rejected["data"]["reason"]
    assert applier.hall_config_path.read_bytes() == before
    assert applier.applied_version("hall") == 2

    center.publish_config(HALL, {"version": 1, "keys": {"KEY_F1": "call_next"}}, device="engine")
    assert center.wait_until(lambda c: c.store.count(kind="config_applied") == 2, 10)
    assert (tmp_path / "config" / "device" / "keys.json").exists()
    center.clear_config(HALL)


def test_commands_with_response_topics(address, broker, device_db, make_center, make_agent):
    # The display app on the hall plane (same broker in this test) answers "message".
    shown: list[dict] = []
    display_app = MqttLink(
        host=broker.host, port=broker.port, hall_id=HALL, device_id="engine", role="display"
    ).start()
    serve_control(display_app, {"message": lambda args: shown.append(args) or {"shown": True}})
    # The agent's link to the hall plane relays what the role app handles.
    relay = MqttLink(
        host=broker.host,
        port=broker.port,
        hall_id=HALL,
        device_id="engine",
        role="sync",
        presence=False,
    ).start()
    registry = CommandRegistry()
    registry.register("message", forward_to_role(relay, timeout=3))
    registry.register("reprint", forward_to_role(relay, timeout=1))

    def reload(_cmd):
        raise CommandError("reload_failed", "config file missing", "配置文件缺失")

    registry.register("reload", reload)
    health.set_status(device_db.conn, "printer", "paper_out", "DLE EOT 4: paper end")
    center = make_center(address)
    make_agent(address, device_db, commands=registry)
    try:
        answer = center.command(HALL, "engine", "message", {"text": "窗口3暂停服务", "seconds": 30})
        assert answer == {"ok": True, "result": {"shown": True}}
        assert shown == [{"text": "窗口3暂停服务", "seconds": 30}]

        answer = center.command(HALL, "engine", "health")
        assert answer["ok"] and answer["result"]["components"]["printer"]["status"] == "paper_out"
        assert center.wait_until(
            lambda c: (
                (c.store.status(HALL, "engine", "health") or {})
                .get("components", {})
                .get("printer", {})
                .get("status")
                == "paper_out"
            ),
            5,
        )

        answer = center.command(HALL, "engine", "reload")
        assert answer["error"] == {
            "code": "reload_failed",
            "message": "config file missing",
            "message_zh": "配置文件缺失",
        }
        answer = center.command(HALL, "engine", "reprint", {"code": "A001"})
        assert answer["error"]["code"] == "unknown_command"  # the display app cannot print
        answer = center.command(HALL, "engine", "self_destruct")
        assert answer["error"]["code"] == "unknown_command"
        assert "message" in answer["error"]["message"]
    finally:
        relay.stop()
        display_app.stop()


def test_heartbeat_and_presence_reach_the_center(address, device_db, make_center, make_agent):
    health.set_status(device_db.conn, "reader", "absent", "no reply from /dev/hall-idcard")
    center = make_center(address)
    settings = dataclasses.replace(FAST, heartbeat_s=0.3)
    make_agent(address, device_db, settings=settings, role="engine")
    assert center.wait_until(lambda c: c.store.count(kind="health") >= 2, 10)
    beat = center.store.events(kind="health")[-1]["data"]
    assert beat["components"]["reader"] == {
        "status": "absent",
        "detail": "no reply from /dev/hall-idcard",
        "updated_at": beat["components"]["reader"]["updated_at"],
    }
    assert beat["outbox"]["business"] == 0 and beat["link"]["connected"] is True
    assert beat["versions"]["hall-edge"] and beat["uptime_s"] >= 0
    assert center.wait_until(
        lambda c: (c.store.status(HALL, "engine", "presence") or {}).get("status") == "online", 5
    )


def test_offline_the_outbox_stays_bounded_sheds_health_keeps_business_and_alarms(
    device_db, make_center, make_agent, tmp_path
):
    port = free_port()
    address = BrokerAddress("127.0.0.1", port)  # nothing listens yet: the uplink is down
    settings = dataclasses.replace(
        FAST, retention=RetentionPolicy(max_events=30), retention_every_s=0.05
    )
    agent = make_agent(address, device_db, settings=settings, wait=None)
    device_db.put(20, kind="health")
    ids = device_db.put(25, kind="ticket_issued", start=0)
    device_db.put(20, kind="health")
    wait_for(lambda: "outbox_full" in agent.alarms, 10, "the outbox_full alarm")
    wait_for(lambda: len(device_db.kinds()) <= 30, 5, "the outbox back within its bound")
    kinds = device_db.kinds()
    assert kinds.count("ticket_issued") == 25  # never dropped
    assert kinds.count("alarm") == 1 and kinds.count("health") <= 4

    with Mosquitto(port=port, workdir=tmp_path / "late-broker") as broker:
        center = make_center(BrokerAddress(broker.host, broker.port))
        assert center.wait_until(lambda c: c.store.count(kind="ticket_issued") == 25, 15)
        assert [e["id"] for e in center.store.events(kind="ticket_issued")] == ids
        assert center.wait_until(lambda c: c.store.count(kind="alarm") >= 1, 5)
        alarm = center.store.events(kind="alarm")[0]["data"]
        assert alarm["code"] == "outbox_full" and alarm["state"] == "raised"
        assert "health records" in alarm["message"]
        wait_for(lambda: "outbox_full" not in agent.alarms, 10, "the alarm to clear")
        agent.stop()


def test_subscribing_to_every_hall(address, device_db, make_center, make_agent):
    center = make_center(address, hall="+", client_id="all-halls")
    make_agent(address, device_db)
    device_db.put(3)
    assert center.wait_until(lambda c: c.store.count(hall=HALL, device="engine") >= 3, 10)
    assert topics.sync_parts("hall/x/dev/y/sync/events") == ("x", "y", "events")
    assert topics.sync_parts("hall/x/dev/y/cmd") == ("", "", "")


def test_a_missing_db_folder_is_created(address, make_center, tmp_path: Path):
    from sync.agent import SyncAgent

    agent = SyncAgent(
        db_path=tmp_path / "new" / "dev.db",
        hall_id=HALL,
        device_id="kiosk-1",
        center=address,
        settings=FAST,
    ).start(wait=10)
    agent.stop()
    assert (tmp_path / "new" / "dev.db").exists()


@pytest.fixture
def presence(address: BrokerAddress) -> Iterator[Callable[..., None]]:
    """Publish a device's presence (retained, QoS 1) as the devices would, or raw bytes."""
    publisher = paho.new_client(address, "devices")
    paho.connect_async(publisher, address, session_expiry_s=0)
    publisher.loop_start()
    try:
        wait_for(publisher.is_connected, 10, "the devices' publisher connected")

        def publish(device: str, status: str, *, ts: str = "09:30:00", raw: bytes = b"") -> None:
            payload = raw or paho.encode(
                {"device": device, "role": "sync", "status": status, "ts": f"2026-11-23T{ts}+08:00"}
            )
            publisher.publish(
                f"hall/{HALL}/dev/{device}/sync/presence", payload, qos=1, retain=True
            ).wait_for_publish(5)

        yield publish
    finally:
        paho.close(publisher, network_thread=True)


def test_a_shared_consumer_back_on_its_session_is_not_flooded_with_retained_status(
    address, make_center, presence
):
    """Mosquitto hands every retained health/presence to each member of a shared
    subscription when it subscribes: a center of 50,000 devices would get them all again
    at every reconnect.  A consumer gets them once, with its new session."""
    seen: list[str] = []
    for i in range(5):
        presence(f"d{i}", "online")
    on_status = lambda _leaf, payload: seen.append(payload["status"])  # noqa: E731
    first = make_center(address, client_id="consumer-0", share="g", on_status=on_status)
    assert first.wait_until(lambda _c: len(seen) == 5, 10)  # a new session: the state
    first.stop()
    again = make_center(address, client_id="consumer-0", share="g", on_status=on_status)
    presence("d9", "offline")
    assert again.wait_until(lambda _c: "offline" in seen, 10)
    assert seen == ["online"] * 5 + ["offline"]  # not the five retained again


def test_a_backlog_of_status_keeps_each_devices_latest_valid_one(address, make_center, presence):
    """After a center outage its queue holds many presence messages of each device: the
    center keeps the latest one that passes the contract (a malformed last one is
    counted and dropped, not stored over the good one before it)."""
    first = make_center(address, client_id="consumer-0", share="g")
    first.stop()  # down, its session kept: the broker queues what the devices send
    for minute in range(10):
        presence("d1", "online" if minute % 2 else "offline", ts=f"09:{30 + minute}:00")
    presence("d1", "", raw=b'{"device": "d1", "status": ')  # cut off mid-message
    presence("d2", "online", ts="09:45:00")
    rejected = inbound.REJECTS.snapshot().get("not_json", 0)
    again = make_center(address, client_id="consumer-0", share="g")

    def latest(device: str) -> tuple[str, str] | None:
        p = again.store.status(HALL, device, "presence")
        return (p["status"], p["ts"]) if p else None

    assert again.wait_until(
        lambda _c: (
            latest("d1") == ("online", "2026-11-23T09:39:00+08:00")
            and latest("d2") == ("online", "2026-11-23T09:45:00+08:00")
        ),
        10,
    ), (latest("d1"), latest("d2"))
    assert inbound.REJECTS.snapshot().get("not_json", 0) == rejected + 1

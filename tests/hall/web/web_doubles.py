"""What the web role's tests share besides their fixtures: the fake engine link and its
canned answers, and the exact viewport for screenshots.  (A module of its own: test files
import it by this name, as "conftest" can be another folder's.)"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

TOKEN = "Zm9sbG93LXRoZS1xdWV1ZQ"  # 22 characters, as the engine makes them
OTHER = "b3RoZXItdGlja2V0LXRva2Vu"

VIEW = {
    "code": "A012",
    "queue": "A",
    "queue_name": "户籍业务",
    "queue_name_en": "Household registration",
    "item": "hj-proof",
    "item_name": "户籍证明",
    "item_name_en": "Household certificate",
    "status": "waiting",
    "ahead": 3,
    "est_wait_min": 12,
    "window": None,
    "window_name": None,
    "called_at": None,
    "call_count": 0,
    "issued_at": "2026-11-23T09:30:00",
    "rated": False,
}

OVERVIEW = {
    "business_date": "2026-11-23",
    "now": "2026-11-23T09:30:00",
    "queues": [
        {
            "id": "A",
            "name": "户籍业务",
            "name_en": "Household",
            "waiting": 1,
            "longest_wait_min": 2.0,
            "est_wait_min": 5,
            "open_windows": 1,
        },
    ],
    "windows": [],
    "figures": {
        "issued": 1,
        "served": 0,
        "no_show": 0,
        "waiting": 1,
        "avg_wait_min": None,
        "ratings": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0, "satisfied_pct": None},
        "waits_by_hour": {},
    },
    "alerts": [],
    "recommendation": None,
    "notice": None,
}


PHONE = "13812345678"

FOLLOW_UP = {
    "rating_id": "5b0c1f9e-3d2a-4c51-9e51-8d8f6a1b2c3d",
    "case_id": "c1",
    "code": "A012",
    "item_name": "户籍证明",
    "window": "3",
    "clerk_name": "王芳",
    "staff_no": "2001",
    "level": 5,
    "level_name": "非常不满意",
    "reasons": ["服务态度差", "办事效率低"],
    "comment": "等了很久",
    "contact_masked": "138****5678",
    "contact": PHONE,
    "opened_at": "2026-11-23T09:20:00",
    "deadline": "2026-12-14",
    "days_left": 15,
    "status": "open",
    "callback": None,
    "rectification": None,
    "overdue": False,
}


def follow_ups_answer(open_: list[dict[str, Any]], recent: list[dict[str, Any]]) -> dict[str, Any]:
    opened = len(open_) + len(recent)
    called = sum(1 for f in open_ + recent if f["callback"])
    rectified = sum(1 for f in open_ + recent if f["rectification"])
    return {
        "open": open_,
        "recent": recent,
        "rates": {
            "opened": opened,
            "called_back": called,
            "rectified": rectified,
            "overdue": sum(1 for f in open_ if f["overdue"]),
            "callback_rate": called / opened if opened else None,
            "rectification_rate": rectified / opened if opened else None,
        },
    }


class FakeLink:
    """What the gateway uses of an MqttLink, answering like the engine from ``views``."""

    hall_id = "demo-hall"
    device_id = "web-1"

    def __init__(self) -> None:
        self.connected = threading.Event()
        self.connected.set()
        self.views: dict[str, dict[str, Any]] = {TOKEN: dict(VIEW)}
        self.sent: list[dict[str, Any]] = []
        self.handlers: dict[str, Callable[..., None]] = {}
        self.listeners: list[Callable[[bool], None]] = []
        self.lock = threading.Lock()
        self.fail: str | None = None  # "link": the broker is away
        self.follow_ups: list[dict[str, Any]] = [dict(FOLLOW_UP)]
        self.closed: list[dict[str, Any]] = []
        self.no_follow_ups = False  # an engine older than #14

    def subscribe(self, topic_filter: str, handler: Callable[..., None], **_kw: Any) -> None:
        self.handlers[topic_filter] = handler

    def add_connection_listener(self, listener: Callable[[bool], None]) -> None:
        self.listeners.append(listener)

    def alive(self) -> bool:
        return True

    def request(self, _topic: str, payload: dict[str, Any], *, timeout: float = 3.0) -> Any:
        from sync.mqtt import LinkError

        with self.lock:
            self.sent.append(dict(payload))
        if self.fail == "link":
            raise LinkError("not connected")
        cmd = payload["cmd"]
        if cmd == "progress":
            tickets = {t: self.views[t] for t in payload["tokens"] if t in self.views}
            return {
                "ok": True,
                "result": {
                    "business_date": "2026-11-23",
                    "remind_ahead": [5, 2],
                    "tickets": tickets,
                },
            }
        if cmd == "overview":
            return {"ok": True, "result": OVERVIEW}
        if cmd.startswith("follow_up"):
            return self._follow_up(cmd, payload)
        if cmd == "manager_login":
            if payload["account"] == "manager" and payload["password"] == "right-password":
                return {"ok": True, "result": {"manager": {"id": "mgr-1", "name": "刘主任"}}}
            if payload["account"] == "locked":
                return {
                    "ok": False,
                    "error": {
                        "code": "manager_locked",
                        "message": "locked",
                        "data": {"retry_after_s": 900},
                    },
                }
            return {
                "ok": False,
                "error": {"code": "login_failed", "message": "wrong", "data": {"attempts_left": 4}},
            }
        return {"ok": True, "result": {"window": payload.get("window")}}

    def _follow_up(self, cmd: str, payload: dict[str, Any]) -> dict[str, Any]:
        if self.no_follow_ups:
            return {"ok": False, "error": {"code": "bad_request", "message": "unknown command"}}
        if payload.get("manager") != "mgr-1":
            return {"ok": False, "error": {"code": "unknown_manager", "message": "who?"}}
        if cmd == "follow_ups":
            answer = follow_ups_answer(
                [dict(f) for f in self.follow_ups], [dict(f) for f in self.closed]
            )
            return {"ok": True, "result": answer}
        found = [f for f in self.follow_ups if f["rating_id"] == payload["rating_id"]]
        if not found:
            return {"ok": False, "error": {"code": "not_found", "message": "no such follow-up"}}
        f = found[0]
        at = "2026-11-23T10:00:00"
        if cmd == "follow_up_callback":
            f["callback"] = {
                "reached": payload["reached"],
                "answer": payload["answer"],
                "at": at,
                "by": payload["manager"],
            }
            f["status"] = "rectified" if f["rectification"] else "called"
        else:
            f["rectification"] = {"action": payload["action"], "at": at, "by": payload["manager"]}
            f["status"] = "called" if not f["callback"] else "rectified"
        if f["callback"] and f["rectification"]:
            f["status"] = "closed"
            self.follow_ups.remove(f)
            self.closed.append(f)
        return {"ok": True, "result": {"rating_id": f["rating_id"], "status": f["status"]}}

    def commands(self, name: str) -> list[dict[str, Any]]:
        return [p for p in self.sent if p["cmd"] == name]


def viewport(driver: Any, width: int, height: int, *, mobile: bool) -> None:
    """The page's viewport exactly (screenshots at that size)."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
    )

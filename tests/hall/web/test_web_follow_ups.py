"""The console's 回访整改 without a broker (a fake engine link): the follow-ups live without
phone numbers, the number on demand (POST + CSRF, the manager's own), the call-back and
rectification forms through the engine as the logged-in manager, nothing personal logged."""

from __future__ import annotations

import asyncio
import logging

import pytest
from test_web_app import csrf_of, logged_in
from web_doubles import FOLLOW_UP, PHONE, FakeLink

from hall.web.gateway import Gateway, without_contacts

RATING = FOLLOW_UP["rating_id"]


def test_the_follow_ups_need_a_login_and_carry_no_full_number(client, fake_link):
    assert client.get("/console/api/follow_ups").status_code == 401
    logged_in(client)
    answer = client.get("/console/api/follow_ups")
    assert answer.status_code == 200
    data = answer.json()
    (shown,) = data["open"]
    assert shown["contact_masked"] == "138****5678" and "contact" not in shown
    assert PHONE not in answer.text
    assert data["rates"]["opened"] == 1 and data["rates"]["callback_rate"] == 0
    assert fake_link.commands("follow_ups")[-1] == {"cmd": "follow_ups", "manager": "mgr-1"}


def test_the_console_page_has_the_panel_and_no_number(client):
    logged_in(client)
    page = client.get("/console").text
    assert 'id="follow-ups-panel"' in page and "回访整改" in page and 'id="fu-figures"' in page
    assert PHONE not in page


def test_the_number_is_shown_on_demand_to_the_logged_in_manager_only(client, fake_link, caplog):
    body = {"rating_id": RATING}
    assert client.post("/console/api/follow_up_contact", json=body).status_code == 403
    csrf = logged_in(client)
    caplog.set_level(logging.DEBUG)
    asked = len(fake_link.commands("follow_ups"))
    refused = [
        client.post("/console/api/follow_up_contact", json=body),
        client.post("/console/api/follow_up_contact", json=body, headers={"X-CSRF-Token": "x"}),
    ]
    assert [r.status_code for r in refused] == [403, 403]
    assert all(PHONE not in r.text for r in refused)
    assert len(fake_link.commands("follow_ups")) == asked  # refused before the engine
    ok = client.post("/console/api/follow_up_contact", json=body, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200
    assert ok.json()["result"] == {"rating_id": RATING, "contact": PHONE}
    assert ok.headers["cache-control"] == "no-store"
    assert fake_link.commands("follow_ups")[-1]["manager"] == "mgr-1"
    # who looked is logged; the number never is
    assert "looked up the contact" in caplog.text and PHONE not in caplog.text
    assert "5678" not in caplog.text.replace(RATING, "")


@pytest.mark.parametrize("rating_id", ["", "x" * 65, "../etc", "a b", None, 5])
def test_a_bad_rating_id_never_reaches_the_engine(client, fake_link, rating_id):
    csrf = logged_in(client)
    before = len(fake_link.sent)
    answer = client.post(
        "/console/api/follow_up_contact",
        json={"rating_id": rating_id},
        headers={"X-CSRF-Token": csrf},
    )
    assert answer.status_code == 400 and len(fake_link.sent) == before


def test_an_unknown_rating_has_no_number(client):
    csrf = logged_in(client)
    answer = client.post(
        "/console/api/follow_up_contact",
        json={"rating_id": "not-a-follow-up"},
        headers={"X-CSRF-Token": csrf},
    )
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "no_contact"


def test_call_back_and_rectify_close_the_follow_up(client, fake_link, caplog):
    csrf = logged_in(client)
    caplog.set_level(logging.INFO)
    headers = {"X-CSRF-Token": csrf}
    call = client.post(
        "/console/api/follow_up_callback",
        json={
            "rating_id": RATING,
            "reached": True,
            "answer": "  已道歉，群众表示理解\n",
            "manager": "someone-else",
        },
        headers=headers,
    )
    assert call.status_code == 200 and call.json()["result"]["status"] == "called"
    assert fake_link.commands("follow_up_callback") == [
        {
            "cmd": "follow_up_callback",
            "manager": "mgr-1",
            "rating_id": RATING,
            "reached": True,
            "answer": "已道歉，群众表示理解",
        }
    ]
    fix = client.post(
        "/console/api/follow_up_rectify",
        json={"rating_id": RATING, "action": "窗口人员服务规范培训"},
        headers=headers,
    )
    assert fix.status_code == 200 and fix.json()["result"]["status"] == "closed"
    data = client.get("/console/api/follow_ups").json()
    assert data["open"] == [] and [f["rating_id"] for f in data["recent"]] == [RATING]
    assert data["rates"]["callback_rate"] == data["rates"]["rectification_rate"] == 1
    # the log has the steps, not the words (they may name someone)
    assert "follow_up_callback" in caplog.text and "follow_up_rectify" in caplog.text
    assert "已道歉" not in caplog.text and "培训" not in caplog.text
    assert '"answer_chars": 10' in caplog.text


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("follow_up_callback", {"rating_id": RATING, "reached": "yes", "answer": ""}),
        ("follow_up_callback", {"rating_id": RATING, "answer": "ok"}),
        ("follow_up_callback", {"rating_id": RATING, "reached": True, "answer": "x" * 201}),
        ("follow_up_callback", {"rating_id": RATING, "reached": True, "answer": "a\x00b"}),
        ("follow_up_callback", {"rating_id": "../x", "reached": True, "answer": ""}),
        ("follow_up_rectify", {"rating_id": RATING, "action": ""}),
        ("follow_up_rectify", {"rating_id": RATING, "action": "   "}),
        ("follow_up_rectify", {"rating_id": RATING, "action": "x" * 401}),
        ("follow_up_rectify", {"rating_id": RATING}),
    ],
)
def test_bad_follow_up_arguments_are_refused_here(client, fake_link, action, body):
    csrf = logged_in(client)
    answer = client.post(f"/console/api/{action}", json=body, headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 400
    assert fake_link.commands(action) == []


def test_follow_up_actions_need_the_csrf_token(client, fake_link):
    logged_in(client)
    body = {"rating_id": RATING, "action": "培训"}
    answer = client.post("/console/api/follow_up_rectify", json=body)
    assert answer.status_code == 403 and fake_link.commands("follow_up_rectify") == []


def test_an_engine_refusal_is_shown(client):
    csrf = logged_in(client)
    answer = client.post(
        "/console/api/follow_up_rectify",
        json={"rating_id": "gone-already", "action": "培训"},
        headers={"X-CSRF-Token": csrf},
    )
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "not_found"


def test_the_login_page_gives_no_follow_ups(client):
    page = client.get("/console")
    assert "follow-ups-panel" not in page.text
    csrf = csrf_of(page.text)
    refused = client.post(
        "/console/api/follow_up_contact", json={"rating_id": RATING}, headers={"X-CSRF-Token": csrf}
    )
    assert refused.status_code == 401


# ---------------------------------------------------------------- live, through the gateway


def test_without_contacts_drops_only_the_number():
    data = {"open": [dict(FOLLOW_UP)], "recent": [dict(FOLLOW_UP)], "rates": {"opened": 2}}
    shown = without_contacts(data)
    assert all("contact" not in f and f["contact_masked"] for f in shown["open"] + shown["recent"])
    assert data["open"][0]["contact"] == PHONE  # the engine's answer itself untouched
    assert without_contacts({"open": "junk"})["open"] == []


def test_consoles_get_the_follow_ups_live_without_numbers():
    async def scenario():
        link = FakeLink()
        gw = await Gateway(link, refresh_every_s=3600, debounce_s=0.01).start()
        try:
            overview = await gw.overview()
            follow = await gw.follow_ups("mgr-1")
            sub = gw.watch_console(overview, follow, manager="mgr-1")
            kinds = [(await asyncio.wait_for(sub.next(), 2))[0] for _ in range(2)]
            assert kinds == ["overview", "follow_ups"]
            # a call-back recorded elsewhere: the consoles get the new follow-ups
            link.follow_ups[0] = {**link.follow_ups[0], "status": "called", "callback": {}}
            gw.mark_dirty()
            kind, data = await asyncio.wait_for(sub.next(), 2)
            assert kind == "follow_ups" and data["open"][0]["status"] == "called"
            assert PHONE not in repr(data) and PHONE not in repr(gw._follow_ups)
            assert link.commands("follow_ups")[-1]["manager"] == "mgr-1"
            gw.mark_dirty()  # nothing changed: nothing sent
            await asyncio.sleep(0.1)
            assert sub.queue.empty()
        finally:
            await gw.close()

    asyncio.run(scenario())


def test_an_engine_without_follow_ups_leaves_the_console_working(caplog):
    async def scenario():
        link = FakeLink()
        link.no_follow_ups = True
        gw = await Gateway(link, refresh_every_s=3600, debounce_s=0.01).start()
        try:
            sub = gw.watch_console(await gw.overview(), None, manager="mgr-1")
            assert (await asyncio.wait_for(sub.next(), 2))[0] == "overview"
            for _ in range(3):
                await gw.refresh()
            assert sub.queue.empty() and not sub.closed
        finally:
            await gw.close()

    caplog.set_level(logging.INFO)
    asyncio.run(scenario())
    assert caplog.text.count("cannot get the follow-ups") == 1
